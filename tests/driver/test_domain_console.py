"""Guest consoles through xvirtd: virsh console under a pty, python3-libvirt streams, and the stream
packets themselves (data, finish, abort, FORCE takeover, EOF) from a raw-protocol client.

Usage: test_domain_console.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md).
"""
import os
import pty
import queue
import struct
import subprocess
import sys
import threading
import time
import tty

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import rawrpc, runner  # noqa: E402
from xvirt_test.domains import DomainTestCase  # noqa: E402
from xvirt_test.wait import read_until, wait_for  # noqa: E402

STREAM, CONTINUE = 3, 2
OPEN_CONSOLE = 201


class RawConsole:
    """A raw-protocol client with a console stream, for checking the stream packets themselves."""

    def __init__(self, sock, name):
        self.c = rawrpc.Client(sock)
        self.c.handshake()
        self.serial = 10
        self.c.send(rawrpc.call(23, 2, rawrpc.xdr_str(name)))
        hdr, payload = self.c.read_reply()
        assert hdr[5] == rawrpc.OK, self.c.error_of(payload)
        self.dom = payload  # remote_nonnull_domain, exactly as the daemon encoded it

    def open(self, dev=None, flags=0):
        self.serial += 1
        dev_arg = struct.pack(">I", 0) if dev is None else struct.pack(">I", 1) + rawrpc.xdr_str(dev)
        self.c.send(rawrpc.call(OPEN_CONSOLE, self.serial, self.dom + dev_arg + struct.pack(">I", flags)))
        hdr, payload = self.c.read_reply()
        return (None if hdr[5] == rawrpc.OK else self.c.error_of(payload))

    def stream(self, status, data=b""):
        self.c.send(rawrpc.packet(rawrpc.REMOTE, OPEN_CONSOLE, STREAM, self.serial, status, data))

    def next_stream_packet(self):
        while True:
            p = self.c.read_packet()
            assert p is not None, "the daemon closed the connection"
            hdr, payload = p
            if hdr[0] == rawrpc.REMOTE and hdr[3] == STREAM:
                assert hdr[2] == OPEN_CONSOLE and hdr[4] == self.serial, hdr
                return hdr[5], payload

    def next_control_packet(self):
        """Skips guest output; returns the first stream packet that is not data."""
        while True:
            status, payload = self.next_stream_packet()
            if status != CONTINUE:
                return status, payload

    def read_data_until(self, needle):
        got = b""
        while needle not in got:
            status, payload = self.next_stream_packet()
            assert status == CONTINUE and payload, (status, payload, got)
            assert len(payload) <= 262120
            got += payload
        return got

    def close(self):
        self.c.close()


class ConsoleTest(DomainTestCase):
    def running(self, name, uuid):
        self.start_domain(name, uuid)
        return name

    def test_virsh_console_under_a_pty(self):
        name = self.running("con1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c41")
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        tty.setraw(slave)  # no echo from our own terminal: every echo seen comes from the guest
        cmd = ["virsh", "-c", self.d.uri, "console", name]
        p = subprocess.Popen(cmd, env=self.d.env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        out = read_until(master, b"Escape character")
        # The boot lines went out before we attached; what the pty kept may or may not include
        # them, so type a line and wait for the guest's echo. virsh flushes its terminal's input
        # when it switches it to raw mode, after printing the banner: a line typed before that is
        # lost, so type it again until the echo comes (each wait has its own deadline).
        for _ in range(10):
            os.write(master, b"hello-from-virsh\r")
            try:
                out += read_until(master, b"hello-from-virsh\r\n", timeout=2)
                break
            except TimeoutError:
                continue
        self.assertIn(b"hello-from-virsh\r\n", out)
        os.write(master, b"\x1d")  # Ctrl+]
        self.assertEqual(p.wait(timeout=20), 0, out)
        self.assertEqual(self.state(name), "running (booted)")
        self.assertRegex(self.virsh("dumpxml", name).stdout, r"<console type='pty' tty='/dev/pts/\d+'>")

    def test_boot_lines_reach_a_python_stream(self):
        import libvirt
        name = self.running("con2", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c42")
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        dom = conn.lookupByName(name)
        st = conn.newStream(0)
        dom.openConsole(None, st, 0)
        got = queue.Queue()

        def reader():  # blocking recv in a thread, so the test waits with a deadline
            seen = b""
            while b"from-python\r\n" not in seen:
                data = st.recv(4096)
                got.put(data)
                if not isinstance(data, bytes) or not data:
                    return
                seen += data
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        seen = b""
        deadline = time.monotonic() + 20
        while b"login: " not in seen:
            seen += got.get(timeout=max(0.01, deadline - time.monotonic()))
        self.assertIn(b"Linux version", seen)
        st.send(b"from-python\r")
        while b"from-python\r\n" not in seen:
            seen += got.get(timeout=max(0.01, deadline - time.monotonic()))
        t.join(timeout=20)
        st.finish()

    def test_shut_off_domain_is_refused(self):
        import libvirt
        name, uuid = "con3", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c43"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        st = conn.newStream(0)
        with self.assertRaises(libvirt.libvirtError) as e:
            conn.lookupByName(name).openConsole(None, st, 0)
        self.assertEqual(e.exception.get_error_code(), libvirt.VIR_ERR_OPERATION_INVALID)
        self.assertIn("domain is not running", str(e.exception))
        r = self.virsh("console", name, check=False)  # virsh refuses on its side (GET_STATE)
        self.assertNotEqual(r.returncode, 0)

    def test_raw_stream_data_finish_abort_and_force(self):
        name = self.running("con4", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c44")
        a = RawConsole(self.d.sock, name)
        self.addCleanup(a.close)
        self.assertIsNone(a.open())
        a.stream(CONTINUE, b"raw-one\r")
        a.read_data_until(b"raw-one\r\n")

        # A second session without FORCE is refused with libvirt's sentence; the first keeps working.
        b = RawConsole(self.d.sock, name)
        self.addCleanup(b.close)
        err = b.open()
        self.assertEqual(err["code"], 9)
        self.assertEqual(err["message"], "Active console session exists for this domain")
        a.stream(CONTINUE, b"raw-two\r")
        a.read_data_until(b"raw-two\r\n")

        # With FORCE it takes over: the first stream ends with a STREAM ERROR.
        self.assertIsNone(b.open(flags=1))
        status, payload = a.next_control_packet()
        self.assertEqual(status, rawrpc.ERROR)
        self.assertIn("taken over", a.c.error_of(payload)["message"])
        a.stream(CONTINUE, b"ignored\r")  # packets for a closed stream are ignored
        a.stream(rawrpc.OK)
        b.stream(CONTINUE, b"raw-three\r")
        b.read_data_until(b"raw-three\r\n")

        # Finish: the daemon confirms with STREAM OK, then the connection serves calls as before.
        b.stream(rawrpc.OK)
        status, payload = b.next_control_packet()
        self.assertEqual((status, payload), (rawrpc.OK, b""))
        b.stream(CONTINUE, b"after-finish\r")  # ignored too
        for client in (a, b):
            client.c.send(rawrpc.call(212, 99, client.dom + struct.pack(">I", 0)))
            hdr, payload = client.c.read_reply()
            self.assertEqual((hdr[4], hdr[5]), (99, rawrpc.OK))
            self.assertEqual(struct.unpack(">ii", payload)[0], 1)  # running

        # Abort: confirmed with STREAM OK as well. The console is free again, without FORCE.
        self.assertIsNone(a.open(dev="console0"))
        a.stream(rawrpc.ERROR)
        status, payload = a.next_control_packet()
        self.assertEqual((status, payload), (rawrpc.OK, b""))

        err = a.open(dev="serial7")
        self.assertEqual(err["code"], 99)
        self.assertEqual(err["message"], f"Domain '{name}' has no console named 'serial7'; it has console0.")

    def test_guest_destroyed_under_an_open_console_gives_eof(self):
        name = self.running("con5", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c45")
        a = RawConsole(self.d.sock, name)
        self.addCleanup(a.close)
        self.assertIsNone(a.open())
        self.virsh("destroy", name)
        while True:
            status, payload = a.next_stream_packet()
            if status != CONTINUE or not payload:
                break
        self.assertEqual((status, payload), (CONTINUE, b""))  # EOF
        a.stream(rawrpc.OK)
        self.assertEqual(a.next_stream_packet(), (rawrpc.OK, b""))

    def test_daemon_serves_others_while_a_console_is_open_and_leaks_nothing(self):
        name = self.running("con6", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c46")
        pid = self.d.proc.pid

        def counts():
            return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))

        def cycle():
            a = RawConsole(self.d.sock, name)
            self.assertIsNone(a.open(flags=1))
            a.stream(CONTINUE, b"leak-check\r")
            a.read_data_until(b"leak-check\r\n")
            # Other clients are served while the stream is open.
            self.assertRegex(self.virsh("list").stdout, rf"\d+\s+{name}\s+running")
            a.close()  # mid-stream: no finish, no abort, just gone

        cycle()  # warm-up: anything created once per daemon or domain exists from here on
        # A connection that just ended may still be reaped (one fd, two threads); a leak of one fd
        # or one thread per stream over four streams still shows.
        before = counts()
        for _ in range(4):
            cycle()

        def back():
            now = counts()
            return now[0] <= before[0] and now[1] <= before[1]
        wait_for(back, what=f"fd and thread counts back to {before}")


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
