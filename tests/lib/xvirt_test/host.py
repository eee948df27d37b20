"""A simulated Xen host in a private directory, and what tests ask of a host.

Every test gets its own directory with its own simulated Xen host, so tests are hermetic and can
run in parallel.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile

from . import paths
from .qmp import QmpClient
from .wait import wait_for


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

    def read(self, name):
        """A file of this directory (a process's log, say) as text."""
        with open(self.path(name), errors="replace") as f:
            return f.read()

    def helper_args(self, mon):
        """The arguments that put an xvirt-helper on this host with its QMP monitor at `mon`."""
        return ["-qmp", f"unix:{mon},server,nowait", "--hypervisor", "sim", "--sim-dir", self.sim_dir]

    def start_helper(self, args, mon, log_name, timeout=30, qmp_timeout=10, env=None):
        """Starts xvirt-helper with `args` on this host and connects to its monitor, past
        qmp_capabilities; returns (process, QmpClient). Fails with the helper's log if it exits first."""
        proc = self.spawn([paths.HELPER, *args, *self.helper_args(mon)], log_name=log_name, env=env or self.env)
        wait_for(lambda: os.path.exists(mon) or proc.poll() is not None, timeout, "the monitor socket")
        if proc.poll() is not None:
            raise AssertionError(f"xvirt-helper exited with status {proc.returncode}:\n{self.read(log_name)}")
        qmp = QmpClient(mon, timeout=qmp_timeout)
        reply = qmp.execute("qmp_capabilities")
        if reply != {"return": {}}:
            raise AssertionError(f"qmp_capabilities answered {reply}")
        return proc, qmp

    def run(self, argv, check=True, **kw):
        return subprocess.run(argv, env=kw.pop("env", self.env), capture_output=True, text=True,
                              check=check, timeout=kw.pop("timeout", 60), **kw)

    def xenstore(self, tool, *args, check=True):
        return self.run([f"xenstore-{tool}", *args], check=check)

    def xl(self, *args):
        return self.run([paths.XVIRT_XL, "--hypervisor", "sim", "--sim-dir", self.sim_dir, *args])

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


def guest_ram_path(sim_dir, domid):
    """The file that is a guest's RAM on the simulated host."""
    return os.path.join(sim_dir, "mem", f"dom{domid}.ram")


def guest_ram(sim_dir, domid, offset, length):
    """`length` bytes of a guest's RAM from guest-physical `offset`."""
    with open(guest_ram_path(sim_dir, domid), "rb") as f:
        f.seek(offset)
        return f.read(length)


def guest_ram_digest(sim_dir, domid):
    """SHA-256 of a guest's whole RAM."""
    h = hashlib.sha256()
    with open(guest_ram_path(sim_dir, domid), "rb") as f:
        for chunk in iter(lambda: f.read(16 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sim_call(sim_dir, request):
    """One request on the simulated host's hypercall socket (docs/sim.md), e.g. set_load; returns
    the reply's "ok" part (an "error" reply fails the assertion)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(os.path.join(sim_dir, "hypercall.sock"))
        s.sendall((json.dumps(request) + "\n").encode())
        line = b""
        while not line.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            line += chunk
    reply = json.loads(line)
    assert "ok" in reply, reply
    return reply["ok"]


def proc_kib(pid, key, name="status"):
    """The KiB figure `key` (VmRSS, RssAnon, Pss, ...) of /proc/PID/NAME; 0 once the process or the
    line is gone."""
    try:
        with open(f"/proc/{pid}/{name}") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def proc_figures(pid):
    """(VmRSS KiB, open fds, threads) of a process, from /proc."""
    rss = threads = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    if rss is None or threads is None:
        raise AssertionError(f"/proc/{pid}/status has no VmRSS or Threads line")
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads
