"""Debian's real xenstore-* tools and raw protocol bytes against XsServer (xs-test-server).

Usage (meson does this): test_xenstore_tools.py XS_TEST_SERVER. Each test class starts its own
server in a temporary directory; every wait is on an event (a pipe line, a socket read, a process
exit) with a timeout, never a sleep.
"""
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from xvirt_test.wait import recv_exact  # noqa: E402

SERVER = sys.argv.pop(1) if __name__ == "__main__" and len(sys.argv) > 1 else os.environ.get("XS_TEST_SERVER")
TIMEOUT = 10

# xs_wire.h
XS_CONTROL, XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH = 0, 1, 2, 3, 4, 5
XS_TRANSACTION_START, XS_TRANSACTION_END, XS_WRITE, XS_RM, XS_WATCH_EVENT, XS_ERROR = 6, 7, 11, 13, 15, 16
HEADER = struct.Struct("<IIII")


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="xvirt-xs-")
        self.socket = os.path.join(self.dir, "socket")
        self.proc = subprocess.Popen([SERVER, self.socket], stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        if not ready or self.proc.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError("xs-test-server did not become ready")
        self.env = dict(os.environ, XENSTORED_PATH=self.socket)

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(TIMEOUT)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


class RawClient:
    """A hand-written client that speaks the wire protocol byte for byte."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)

    def send(self, op, payload=b"", tx=0, req=7, length=None):
        n = len(payload) if length is None else length
        self.sock.sendall(HEADER.pack(op, req, tx, n) + payload)

    def recv_exact(self, n):
        return recv_exact(self.sock, n, "xs-test-server")

    def recv(self):
        op, req, tx, n = HEADER.unpack(self.recv_exact(HEADER.size))
        return op, req, tx, self.recv_exact(n)

    def call(self, op, payload=b"", tx=0):
        self.send(op, payload, tx)
        while True:
            reply = self.recv()
            if reply[0] != XS_WATCH_EVENT:
                return reply

    def stats(self):
        op, _, _, body = self.call(XS_CONTROL, b"stats\0")
        assert op == XS_CONTROL, body
        return body.rstrip(b"\0").decode()

    def closed_by_peer(self):
        try:
            while self.sock.recv(4096):
                pass
            return True
        except (ConnectionError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


class ToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def tool(self, name, *args, check=True):
        r = subprocess.run([name, *args], env=self.server.env, capture_output=True, text=True, timeout=TIMEOUT)
        if check:
            self.assertEqual(r.returncode, 0, f"{name} {args}: {r.stderr}")
        return r

    def test_nested_write_read_list_ls(self):
        self.tool("xenstore-write", "/tools/a/b/c", "deep", "/tools/a/x", "1")
        self.assertEqual(self.tool("xenstore-read", "/tools/a/b/c").stdout, "deep\n")
        self.assertEqual(self.tool("xenstore-read", "/tools/a/b").stdout, "\n")
        self.assertEqual(self.tool("xenstore-list", "/tools/a").stdout.split(), ["b", "x"])
        ls = self.tool("xenstore-ls", "/tools").stdout
        self.assertIn('a = ""', ls)
        self.assertIn('  c = "deep"', ls)
        self.assertEqual(self.tool("xenstore-exists", "/tools/a/b/c").returncode, 0)
        self.assertNotEqual(self.tool("xenstore-exists", "/tools/nothing", check=False).returncode, 0)
        self.assertNotEqual(self.tool("xenstore-read", "/tools/nothing", check=False).returncode, 0)
        self.tool("xenstore-rm", "/tools/a/b")
        self.assertNotEqual(self.tool("xenstore-exists", "/tools/a/b/c", check=False).returncode, 0)
        self.assertEqual(self.tool("xenstore-list", "/tools/a").stdout.split(), ["x"])

    def test_relative_paths_resolve_under_dom0(self):
        self.tool("xenstore-write", "name", "Domain-0")
        self.assertEqual(self.tool("xenstore-read", "/local/domain/0/name").stdout, "Domain-0\n")

    def test_relative_watch_hears_relative_paths(self):
        client = RawClient(self.server.socket)
        try:
            client.send(XS_WATCH, b"rel\0tok\0")
            self.assertEqual(client.recv()[0], XS_WATCH)
            self.assertEqual(client.recv()[3], b"rel\0tok\0")
            self.tool("xenstore-write", "/local/domain/0/rel/x", "1")
            op, _, _, body = client.recv()
            self.assertEqual((op, body), (XS_WATCH_EVENT, b"rel/x\0tok\0"))
        finally:
            client.close()

    def test_chmod_and_ls_perms(self):
        self.tool("xenstore-write", "/perm/node", "v")
        self.tool("xenstore-chmod", "/perm/node", "n5", "r7", "b9")
        ls = self.tool("xenstore-ls", "-p", "/perm").stdout
        self.assertIn("(n5,r7,b9)", ls)
        self.tool("xenstore-chmod", "-r", "/perm", "r3")
        self.assertIn("(r3)", self.tool("xenstore-ls", "-p", "/perm").stdout)
        self.assertNotEqual(self.tool("xenstore-chmod", "/perm/node", "x1", check=False).returncode, 0)

    def test_watch_fires_for_write_and_removal(self):
        self.tool("xenstore-write", "/wt/leaf", "0")
        watch = subprocess.Popen(["xenstore-watch", "-n", "3", "/wt"], env=self.server.env,
                                 stdout=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([watch.stdout], [], [], TIMEOUT)
            self.assertTrue(ready)
            self.assertEqual(watch.stdout.readline().strip(), "/wt")  # fired at registration
            self.tool("xenstore-write", "/wt/leaf", "1")
            ready, _, _ = select.select([watch.stdout], [], [], TIMEOUT)
            self.assertTrue(ready)
            self.assertEqual(watch.stdout.readline().strip(), "/wt/leaf")
            self.tool("xenstore-rm", "/wt")
            self.assertEqual(watch.wait(TIMEOUT), 0)
            self.assertEqual(watch.stdout.readline().strip(), "/wt")
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait()
            watch.stdout.close()


class BadInputTest(unittest.TestCase):
    def setUp(self):
        self.server = Server()
        self.good = RawClient(self.server.socket)
        self.baseline = self.good.stats()

    def tearDown(self):
        self.good.close()
        self.assertEqual(self.server.stop(), 0)

    def assert_still_serving(self):
        op, _, _, _ = self.good.call(XS_WRITE, b"/alive\0yes")
        self.assertEqual(op, XS_WRITE)
        self.assertEqual(self.good.call(XS_READ, b"/alive\0")[3], b"yes")
        self.good.call(XS_RM, b"/alive\0")

    def wait_baseline(self):
        # The server notices a closed client in its next loop iteration; a stats request queued
        # behind it can still arrive first, so re-ask (each ask is a round trip, not a sleep).
        for _ in range(1000):
            if self.good.stats() == self.baseline:
                return
        self.assertEqual(self.good.stats(), self.baseline)

    def test_error_replies(self):
        bad = RawClient(self.server.socket)
        cases = [
            (XS_READ, b"/nothing\0", b"ENOENT\0"),
            (XS_READ, b"/a//b\0", b"EINVAL\0"),
            (XS_READ, b"/a b\0", b"EINVAL\0"),
            (XS_READ, b"/no-terminator", b"EINVAL\0"),
            (XS_WRITE, b"/" + b"a" * 3100 + b"\0v", b"EINVAL\0"),
            (XS_RM, b"/\0", b"EINVAL\0"),
            (XS_WATCH, b"/only-path\0", b"EINVAL\0"),
            (999, b"", b"ENOSYS\0"),
            (XS_WATCH_EVENT, b"/x\0t\0", b"ENOSYS\0"),
            (XS_TRANSACTION_END, b"T\0", b"ENOENT\0"),
        ]
        for op, payload, err in cases:
            with self.subTest(op=op, payload=payload[:20]):
                rop, req, _, body = bad.call(op, payload)
                self.assertEqual((rop, req, body), (XS_ERROR, 7, err))
        op, _, _, body = bad.call(XS_READ, b"/x\0", tx=12345)
        self.assertEqual((op, body), (XS_ERROR, b"ENOENT\0"))
        bad.close()
        self.wait_baseline()
        self.assert_still_serving()

    def test_truncated_header_then_disconnect(self):
        bad = RawClient(self.server.socket)
        bad.sock.sendall(HEADER.pack(XS_READ, 1, 0, 10)[:9])
        bad.close()
        bad = RawClient(self.server.socket)
        bad.sock.sendall(HEADER.pack(XS_READ, 1, 0, 10) + b"/ab")  # header, half the payload
        self.assert_still_serving()
        bad.close()
        self.wait_baseline()

    def test_oversized_payload_closes_connection(self):
        bad = RawClient(self.server.socket)
        bad.send(XS_WRITE, b"", length=4097)
        op, _, _, body = bad.recv()
        self.assertEqual((op, body), (XS_ERROR, b"E2BIG\0"))
        self.assertTrue(bad.closed_by_peer())
        bad.close()
        self.wait_baseline()
        self.assert_still_serving()

    def test_disconnect_mid_transaction_and_with_watches(self):
        bad = RawClient(self.server.socket)
        op, _, _, body = bad.call(XS_TRANSACTION_START, b"\0")
        self.assertEqual(op, XS_TRANSACTION_START)
        tx = int(body.rstrip(b"\0"))
        self.assertEqual(bad.call(XS_WRITE, b"/txnode/a\0v", tx=tx)[0], XS_WRITE)
        self.assertEqual(bad.call(XS_WATCH, b"/\0tok\0")[0], XS_WATCH)
        self.assertIn("transactions=1", self.good.stats())
        bad.close()
        self.wait_baseline()
        self.assertEqual(self.good.call(XS_READ, b"/txnode/a\0")[3], b"ENOENT\0")
        self.assert_still_serving()

    def test_limits_on_transactions_and_watches(self):
        bad = RawClient(self.server.socket)
        errors = set()
        for _ in range(11):
            op, _, _, body = bad.call(XS_TRANSACTION_START, b"\0")
            if op == XS_ERROR:
                errors.add(body)
        self.assertEqual(errors, {b"ENOSPC\0"})
        for i in range(129):
            op, _, _, body = bad.call(XS_WATCH, b"/w%d\0t\0" % i)
        self.assertEqual((op, body), (XS_ERROR, b"E2BIG\0"))
        self.assertEqual(bad.call(XS_WATCH, b"/w0\0t\0")[3], b"EEXIST\0")
        bad.close()
        self.wait_baseline()

    def test_client_that_never_reads_is_disconnected(self):
        bad = RawClient(self.server.socket)
        bad.sock.setblocking(False)
        self.assertEqual(self.good.call(XS_WRITE, b"/big\0" + b"x" * 4000)[0], XS_WRITE)
        request = HEADER.pack(XS_READ, 1, 0, 5) + b"/big\0"
        sent = 0
        # Keep asking for 4 KB replies without reading any: the server must give up on us.
        while sent < 64 * 1024 * 1024:
            try:
                sent += bad.sock.send(request * 64)
            except BlockingIOError:
                select.select([], [bad.sock], [], TIMEOUT)
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            self.fail("the server kept accepting requests from a client that never reads")
        bad.close()
        self.good.call(XS_RM, b"/big\0")
        self.wait_baseline()
        self.assert_still_serving()


if __name__ == "__main__":
    if not SERVER:
        sys.exit("usage: test_xenstore_tools.py XS_TEST_SERVER")
    unittest.main(verbosity=2)
