"""xvirtd's limits (docs/hardening.md "Concurrency and limits"), configured the way libvirtd.conf
names them: max_clients, max_client_requests; the 32 MiB message maximum; clients that send half a
packet and stall; memory held for a packet that has not arrived; the config file's errors; and the
peer credentials logged for every client.

Usage (meson does this): test_limits.py [XVIRTD]
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys
import termios
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths, rawrpc, runner  # noqa: E402
from xvirt_test.daemon import Daemon, XvirtdTestCase  # noqa: E402
from xvirt_test.host import proc_figures  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

HOSTNAME = 59  # CONNECT_GET_HOSTNAME: no arguments, answers at once


def unread_bytes(sock):
    """Bytes this socket sent that the peer has not read yet (SIOCOUTQ on a UNIX socket)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


class LimitsFromConfig(XvirtdTestCase):
    daemon_config = ("# libvirtd.conf names\nmax_clients = 4\nmax_client_requests = 2\n"
                     "listen_tls = 0   # libvirtd's, ignored here\nunix_sock_ro_perms = \"0666\"\n")
    strict_stop = False

    def admitted(self):
        """A client past CONNECT_OPEN. Connections that just closed (other tests', the start-up
        probe's) hold their slot until the daemon reaped them, so this waits for a free one."""
        def attempt():
            c = rawrpc.Client(self.d.sock, timeout=20)
            try:
                c.send(rawrpc.call(66, 0))
                if c.read_reply() is not None:
                    return c
            except OSError:
                pass
            c.close()
            return None
        c = wait_for(attempt, what="a free client slot")
        self.addCleanup(c.close)
        c.send(rawrpc.call(1, 1, struct.pack(">I", 1) + rawrpc.xdr_str("") + struct.pack(">I", 0)))
        self.assertEqual(c.read_reply()[0][5], rawrpc.OK)
        return c

    def test_ignored_settings_are_named_in_the_log(self):
        wait_for(lambda: "ignores the settings listen_tls" in self.d.logtext(), what="the ignored setting in the log")

    def test_max_clients_refuses_the_next_one_and_frees_the_slot_on_close(self):
        held = [self.admitted() for _ in range(4)]
        extra = rawrpc.Client(self.d.sock, timeout=20)
        self.addCleanup(extra.close)
        self.assertIsNone(extra.read_packet(), "the fifth client must be closed at once")
        self.assertIn("already serving 4 clients, the limit", self.d.logtext())
        held[0].close()
        # The slot comes back once the daemon reaped the connection; until then a new client is
        # closed at once, which a slow daemon (the sanitizer build) may do before our call is sent.
        def served():
            c = rawrpc.Client(self.d.sock, timeout=20)
            try:
                c.send(rawrpc.call(66, 0))
                return c.read_reply() is not None
            except (BrokenPipeError, ConnectionResetError):
                return False
            finally:
                c.close()
        wait_for(served, what="a client slot to be freed")

    def test_pipelined_calls_beyond_max_client_requests_are_all_answered(self):
        c = self.admitted()
        c.send(b"".join(rawrpc.call(HOSTNAME, serial) for serial in range(10, 30)))
        serials = set()
        for _ in range(20):
            hdr, _ = c.read_reply()
            self.assertEqual(hdr[5], rawrpc.OK)
            serials.add(hdr[4])
        self.assertEqual(serials, set(range(10, 30)))


class MessageLimits(XvirtdTestCase):
    strict_stop = False

    def served(self):
        c = rawrpc.Client(self.d.sock, timeout=30)
        try:
            c.handshake()
            c.send(rawrpc.call(HOSTNAME, 7))
            hdr, _ = c.read_reply()
            return hdr[5] == rawrpc.OK
        finally:
            c.close()

    def test_a_length_over_32_mib_closes_that_connection_only(self):
        c = rawrpc.Client(self.d.sock)
        self.addCleanup(c.close)
        c.send(struct.pack(">I", (32 << 20) + 5) + b"\0" * 24)
        self.assertIsNone(c.read_packet())
        self.assertTrue(self.served())

    def test_a_whole_32_mib_packet_is_read_and_answered(self):
        c = rawrpc.Client(self.d.sock, timeout=60)
        self.addCleanup(c.close)
        c.handshake()
        body = struct.pack(">IIiiIi", rawrpc.REMOTE, 1, HOSTNAME, 0, 9, 0)
        c.send(struct.pack(">I", 32 << 20) + body + b"\0" * ((32 << 20) - 4 - len(body)))
        hdr, payload = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.ERROR)  # CONNECT_GET_HOSTNAME takes no arguments
        self.assertTrue(self.served())

    def test_half_packets_that_stall_do_not_block_other_clients(self):
        stalls = []
        for data in (b"\0\0", struct.pack(">I", 64) + b"\x20\x00\x80\x86",
                     struct.pack(">I", 428) + struct.pack(">IIiiIi", rawrpc.REMOTE, 1, 1, 0, 1, 0) + b"\0" * 100):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            s.connect(self.d.sock)
            s.sendall(data)
            stalls.append(s)
        for s in stalls:
            wait_for(lambda: unread_bytes(s) == 0, what="the daemon to read the half packet")
        for _ in range(5):
            self.assertTrue(self.served())

    def test_announced_but_unsent_megabytes_cost_no_memory(self):
        # Each staller announces the 32 MiB maximum and sends 1 KiB of it. A daemon that sized its
        # buffer from the length would hold 16 x 32 MiB now; this one holds what arrived.
        pid = self.d.proc.pid
        before = proc_figures(pid)[0]
        stalls = []
        for _ in range(16):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            s.connect(self.d.sock)
            s.sendall(struct.pack(">I", 32 << 20) + struct.pack(">IIiiIi", rawrpc.REMOTE, 1, 1, 0, 1, 0) + b"\0" * 1000)
            stalls.append(s)
        for s in stalls:
            wait_for(lambda: unread_bytes(s) == 0, what="the daemon to read what was sent")
        self.assertTrue(self.served())
        grown = proc_figures(pid)[0] - before
        self.assertLess(grown, 64 << 10, f"RSS grew by {grown} KiB for 16 KiB of half packets")


class ConfigErrors(unittest.TestCase):
    def start(self, text):
        d = Daemon(config=text, wait=False)
        self.addCleanup(d.cleanup)
        self.addCleanup(d.log.close)
        rc = d.proc.wait(timeout=30)
        return rc, d.logtext()

    def test_a_bad_value_is_one_error_naming_the_line(self):
        rc, log = self.start("max_clients = 10\nmax_client_requests = lots\n")
        self.assertEqual(rc, 1)
        self.assertIn("Line 2 of", log)
        self.assertIn("max_client_requests must be a whole number from 1 to 10000, not 'lots'.", log)

    def test_a_line_without_a_value_is_refused(self):
        rc, log = self.start("max_clients\n")
        self.assertEqual(rc, 1)
        self.assertIn("is not of the form 'name = value'", log)

    def test_a_missing_explicit_config_file_is_an_error(self):
        d = Daemon(wait=False)
        self.addCleanup(d.cleanup)
        self.addCleanup(d.log.close)
        d.proc.kill()
        d.proc.wait()
        p = subprocess.run([paths.XVIRTD, "--session", "-f", os.path.join(d.dir, "nope.conf")],
                           env=d.env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("nope.conf", p.stderr)


class PeerCredentials(unittest.TestCase):
    def test_every_client_is_logged_with_pid_uid_and_gid(self):
        d = Daemon()
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        for path, kind in ((d.sock, "read-write"), (d.sock_ro, "read-only")):
            c = rawrpc.Client(path)
            c.handshake()
            c.close()
            line = f"pid {os.getpid()}, uid {os.getuid()}, gid {os.getgid()}, {kind} socket."
            wait_for(lambda: line in d.logtext(), what=f"the {kind} client's credentials in the log")


if __name__ == "__main__":
    runner.main("XVIRTD")
