"""Shared pieces of the integration tests: temporary hosts, processes, waiting without sleeps.

Every test gets its own directory with its own simulated Xen host, so tests are hermetic and can
run in parallel. Waiting is done by polling a condition with a deadline (socket present, process
exited, line seen), never by fixed sleeps.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SOURCE = os.environ.get("XVIRT_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("XVIRT_BUILD_ROOT", os.path.join(SOURCE, "build"))

HELPER = os.path.join(BUILD, "helper", "xvirt-helper")
SIMXEN = os.path.join(BUILD, "hypervisor", "sim", "daemon", "xvirt-simxen")
XVIRT_XL = os.path.join(BUILD, "hypervisor", "tools", "xvirt-xl")
XVIRTD = os.path.join(BUILD, "driver", "xvirtd")


def wait_for(predicate, timeout=20.0, what="condition"):
    """Polls `predicate` until it returns something truthy; raises after `timeout` seconds.

    The one deadline wait of the tests and of scripts/demo.py (they import it from here)."""
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


class TempHost:
    """A private directory with a simulated Xen host in it (started on demand by the tools)."""

    def __init__(self, prefix="xvirt-it-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.sim_dir = os.path.join(self.dir, "sim")
        self.procs = []

    @property
    def env(self):
        env = dict(os.environ)
        env["XVIRT_SIM_DIR"] = self.sim_dir
        env["XENSTORED_PATH"] = os.path.join(self.sim_dir, "xenstored", "socket")
        env["XDG_RUNTIME_DIR"] = os.path.join(self.dir, "run")
        env["XDG_CONFIG_HOME"] = os.path.join(self.dir, "config")
        env["XDG_DATA_HOME"] = os.path.join(self.dir, "data")
        env["XDG_CACHE_HOME"] = os.path.join(self.dir, "cache")
        env["HOME"] = os.path.join(self.dir, "home")
        return env

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p

    def spawn(self, argv, log_name=None, **kw):
        log = open(self.path(log_name or (os.path.basename(argv[0]) + ".log")), "ab")
        p = subprocess.Popen(argv, env=kw.pop("env", self.env), stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def run(self, argv, check=True, **kw):
        return subprocess.run(argv, env=kw.pop("env", self.env), capture_output=True, text=True,
                              check=check, timeout=kw.pop("timeout", 60), **kw)

    def xenstore(self, tool, *args, check=True):
        return self.run([f"xenstore-{tool}", *args], check=check)

    def xl(self, *args):
        return self.run([XVIRT_XL, "--hypervisor", "sim", "--sim-dir", self.sim_dir, *args])

    def domain_ids(self):
        out = self.xl("list").stdout.splitlines()[1:]
        return [int(line.split()[1]) for line in out if line.strip()]

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        pidfile = os.path.join(self.sim_dir, "simxen.pid")
        if os.path.exists(pidfile):
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10, "the sim host to exit")
            except (ValueError, ProcessLookupError, TimeoutError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class QmpClient:
    """A plain socket + json QMP client: nothing of xvirt's own code."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        self.greeting = self._read()

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("monitor closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_message(self):
        return self._read()

    def execute(self, command, arguments=None, id=None):
        msg = {"execute": command}
        if arguments is not None:
            msg["arguments"] = arguments
        if id is not None:
            msg["id"] = id
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            return reply

    def wait_event(self, name, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name:
                    return self.events.pop(i)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {name} event")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            msg = self._read()
            if "event" in msg:
                self.events.append(msg)

    def close(self):
        self.sock.close()
