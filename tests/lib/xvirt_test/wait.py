"""Waiting without sleeps: poll a condition with a deadline, or block on a descriptor with one."""
import os
import queue
import select
import socket
import time


def wait_for(predicate, timeout=20.0, what="condition"):
    """Polls `predicate` until it returns something truthy; raises after `timeout` seconds.

    The one deadline wait of the tests, the benchmarks and scripts/demo.py."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def connectable(path):
    """Whether a UNIX stream socket at `path` accepts a connection now."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def recv_exact(sock, n, what="the peer"):
    """Exactly n bytes from a stream socket (its own timeout applies); EOFError if it closes first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"{what} closed the connection")
        data += chunk
    return data


def read_until(fd, needle, timeout=20.0):
    """Reads fd (a pty master or socket-like fd) until needle appears; returns everything read."""
    out = b""
    deadline = time.monotonic() + timeout
    while needle not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out waiting for {needle!r}; got {out[-500:]!r}")
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side of the pty closed
                chunk = b""
            if not chunk:
                raise EOFError(f"EOF while waiting for {needle!r}; got {out[-500:]!r}")
            out += chunk
    return out


def drain(q, seen):
    """Moves everything queued in `q` to the list `seen`; returns `seen`."""
    while True:
        try:
            seen.append(q.get_nowait())
        except queue.Empty:
            return seen
