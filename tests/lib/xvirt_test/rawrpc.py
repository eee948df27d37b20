"""A minimal libvirt RPC client for byte-level tests: framing, XDR helpers, packet reading.

It speaks libvirt's wire protocol as docs/rpc.md describes it, so tests can send what real clients send
(and malformed things they never would) and check the daemon's replies field by field.
"""
import socket
import struct

REMOTE = 0x20008086
KEEPALIVE = 0x6B656570
CALL, REPLY, MESSAGE = 0, 1, 2
OK, ERROR = 0, 1


def xdr_str(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def packet(prog, proc, mtype, serial, status=OK, payload=b"", vers=1):
    body = struct.pack(">IIiiIi", prog, vers, proc, mtype, serial, status) + payload
    return struct.pack(">I", len(body) + 4) + body


def call(proc, serial, payload=b""):
    return packet(REMOTE, proc, CALL, serial, OK, payload)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def u32(self):
        v = struct.unpack_from(">I", self.data, self.pos)[0]
        self.pos += 4
        return v

    def i32(self):
        v = struct.unpack_from(">i", self.data, self.pos)[0]
        self.pos += 4
        return v

    def u64(self):
        v = struct.unpack_from(">Q", self.data, self.pos)[0]
        self.pos += 8
        return v

    def str(self):
        n = self.u32()
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n + (4 - n % 4) % 4
        return s

    def ostr(self):
        return self.str() if self.u32() else None


class Client:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                return None  # closed with our unread bytes still queued: a reset, still a close
            if not chunk:
                return None
            buf += chunk
        return buf

    def read_packet(self):
        """Returns (header tuple, payload) or None on EOF."""
        head = self.recv_exact(4)
        if head is None:
            return None
        (length,) = struct.unpack(">I", head)
        body = self.recv_exact(length - 4)
        if body is None:
            return None
        return struct.unpack(">IIiiIi", body[:24]), body[24:]

    def read_reply(self):
        """Skips keepalive and event messages, returns the next reply."""
        while True:
            p = self.read_packet()
            if p is None or p[0][3] == REPLY:
                return p

    def error_of(self, payload):
        r = Reader(payload)
        return {"code": r.i32(), "domain": r.i32(), "message": r.ostr()}

    def handshake(self, name="", flags=0):
        self.send(call(66, 0))
        assert self.read_reply()[0][5] == OK
        self.send(call(1, 1, struct.pack(">I", 1) + xdr_str(name) + struct.pack(">I", flags)))
        hdr, payload = self.read_reply()
        assert hdr[5] == OK, self.error_of(payload)

    def close(self):
        self.sock.close()
