"""VNC (issue 5, item 6): the helper serves the guest's screen with libvncserver; on the simulated host
the guest's console text is drawn on it. A real VNC client (Debian's vncsnapshot) captures it; the
picture is kept in the build directory (test-artifacts/vnc-console.png) for people to look at."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths  # noqa: E402
from xvirt_test.host import TempHost  # noqa: E402
from xvirt_test.wait import recv_exact, wait_for  # noqa: E402

MODULE = os.path.join(paths.BUILD, "helper", "xvirt-helper-vnc.so")


def free_display():
    """A VNC display number whose port (5900+N) is free on 127.0.0.1 right now."""
    for n in range(40 + os.getpid() % 50, 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", 5900 + n))
                return n
            except OSError:
                continue
    raise RuntimeError("no free VNC port between 5940 and 5999")


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6", parts[0]
    width, height, maxval = int(parts[1]), int(parts[2]), int(parts[3])
    assert maxval == 255
    return width, height, parts[4][: width * height * 3]


def write_png(path, width, height, rgb):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


class RfbKeyboard:
    """The smallest RFB 3.8 client that types: handshake without authentication, then KeyEvents."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        version = self._read(12)
        assert version.startswith(b"RFB 003."), version
        self.sock.sendall(b"RFB 003.008\n")
        count = self._read(1)[0]
        types = self._read(count)
        assert 1 in types, types  # None
        self.sock.sendall(b"\x01")
        assert struct.unpack(">I", self._read(4))[0] == 0, "security handshake failed"
        self.sock.sendall(b"\x01")  # ClientInit: shared
        init = self._read(24)
        self.name = self._read(struct.unpack(">I", init[20:24])[0])

    def _read(self, n):
        return recv_exact(self.sock, n, "the VNC server")

    def type(self, text):
        for ch in text:
            key = 0xFF0D if ch == "\r" else ord(ch)
            for down in (1, 0):
                self.sock.sendall(struct.pack(">BBxxI", 4, down, key))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


@unittest.skipUnless(shutil.which("vncsnapshot") and shutil.which("djpeg") and os.path.exists(MODULE),
                     "needs vncsnapshot, djpeg (libjpeg-turbo-progs) and the VNC module (libvncserver-dev)")
class VncTest(unittest.TestCase):
    def setUp(self):
        self.host = TempHost(prefix="xvirt-vnc-")
        self.kernel = self.host.write("vmlinuz", os.urandom(100 * 1024))
        self.mon = self.host.path("v.qmp")

    def tearDown(self):
        self.host.close()

    def log(self):
        return self.host.read("vnc.log")

    def test_console_text_on_the_vnc_screen(self):
        display = free_display()
        proc, qmp = self.host.start_helper(["-name", "vncguest", "-M", "xenpv", "-m", "64", "-kernel", self.kernel,
                                            "-append", "console=hvc0 drawn-on-vnc", "-serial", "null",
                                            "-vnc", f"127.0.0.1:{display}"], self.mon, "vnc.log")
        self.assertEqual(qmp.execute("query-status")["return"]["status"], "running")

        jpeg, ppm = self.host.path("screen.jpg"), self.host.path("screen.ppm")

        def text_on_screen():
            # The boot lines reach the screen as the guest writes them; capture until they are there.
            r = subprocess.run(["vncsnapshot", "-quiet", "-allowblank", f"127.0.0.1:{display}", jpeg],
                               capture_output=True, timeout=30)
            if r.returncode != 0 or not os.path.exists(jpeg):
                return False
            with open(ppm, "wb") as out:
                subprocess.run(["djpeg", "-pnm", jpeg], stdout=out, check=True, timeout=30)
            w, h, rgb = read_ppm(ppm)
            text_rows = self.text_rows(w, h, rgb)
            return (w, h, rgb) if len(text_rows) >= 3 else False

        w, h, rgb = wait_for(text_on_screen, 30, "console text on the VNC screen")
        self.assertEqual((w, h), (960, 472))
        os.makedirs(paths.ARTIFACTS, exist_ok=True)
        png = os.path.join(paths.ARTIFACTS, "vnc-console.png")
        write_png(png, w, h, rgb)
        self.assertGreater(os.path.getsize(png), 1000)
        qmp.execute("quit")
        self.assertEqual(proc.wait(20), 4)
        qmp.close()

    def test_keys_typed_over_vnc_reach_the_guest_console(self):
        display = free_display()
        console = self.host.path("console.log")
        proc, qmp = self.host.start_helper(["-name", "typist", "-M", "xenpv", "-m", "64", "-kernel", self.kernel,
                                            "-serial", f"file:{console}", "-vnc", f"127.0.0.1:{display}"],
                                           self.mon, "vnc.log")

        def console_has(text):
            with open(console, "rb") as f:
                return text in f.read()

        wait_for(lambda: console_has(b"login: "), 10, "the guest's login prompt")
        with RfbKeyboard("127.0.0.1", 5900 + display) as kbd:
            self.assertEqual(kbd.name, b"typist")
            kbd.type("root-Typed 1\r")
            # The simulated guest echoes each line it reads from its console.
            wait_for(lambda: console_has(b"root-Typed 1\r\n"), 10, "the typed line echoed by the guest")
        qmp.execute("quit")
        self.assertEqual(proc.wait(20), 4)
        qmp.close()

    def test_only_vnc_helpers_map_libvncserver(self):
        for name, extra in (("plain", []), ("withvnc", ["-vnc", f"127.0.0.1:{free_display()}"])):
            mon = self.host.path(f"{name}.qmp")
            proc, qmp = self.host.start_helper(["-name", name, "-kernel", self.kernel, "-serial", "null", *extra],
                                               mon, f"{name}.log")
            with open(f"/proc/{proc.pid}/maps") as f:
                maps = f.read()
            self.assertEqual("libvncserver" in maps, name == "withvnc", name)
            qmp.execute("quit")
            self.assertEqual(proc.wait(20), 4)
            qmp.close()

    @staticmethod
    def text_rows(w, h, rgb):
        """Character rows (18 px high, below the 22 px title bar) holding bright text pixels."""
        rows = []
        for r in range(25):
            y0 = 22 + r * 18
            bright = 0
            for y in range(y0, min(y0 + 18, h)):
                line = rgb[y * w * 3:(y + 1) * w * 3]
                bright += sum(1 for i in range(0, len(line), 3) if line[i] > 150 and line[i + 1] > 150)
            if bright > 40:
                rows.append(r)
        return rows

    def test_a_busy_port_is_refused_clearly(self):
        display = free_display()
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 5900 + display))
            s.listen()
            r = self.host.run([paths.HELPER, "-name", "busy", "-kernel", self.kernel, "-serial", "null",
                               "-vnc", f"127.0.0.1:{display}", "--hypervisor", "sim", "--sim-dir", self.host.sim_dir],
                              check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"Guest 'busy': Cannot serve VNC on 127.0.0.1:{5900 + display}", r.stderr)


if __name__ == "__main__":
    unittest.main()
