"""xvirtd in a private directory (its own XDG dirs, sockets and simulated host), and the test case
that runs one daemon per class.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest

from . import paths, rawrpc
from .wait import connectable, wait_for

_event_loop_started = False


@contextlib.contextmanager
def environment(name, value):
    """Sets the environment variable `name` for what starts inside (a Daemon copies os.environ),
    then puts back what was there."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def start_libvirt_event_loop():
    """Event registration needs libvirt's event loop, run the way python clients run it (once per process)."""
    global _event_loop_started
    if _event_loop_started:
        return
    import libvirt
    libvirt.virEventRegisterDefaultImpl()

    def run():
        while True:
            libvirt.virEventRunDefaultImpl()
    threading.Thread(target=run, daemon=True).start()
    _event_loop_started = True


class Daemon:
    """xvirtd --session on the simulated host, with every directory under a fresh temporary one.

    The daemon serves when its pidfile names it and its socket accepts (Daemon waits for both);
    `restart` stops it and starts it again over the same directories."""

    def __init__(self, config=None, wait=True):
        self.dir = tempfile.mkdtemp(prefix="xvirtd-it-")
        self.run = os.path.join(self.dir, "run")
        os.mkdir(self.run, 0o700)
        self.env = dict(os.environ)
        self.env.update({
            "XDG_RUNTIME_DIR": self.run,
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "XDG_DATA_HOME": os.path.join(self.dir, "data"),
            "XDG_CACHE_HOME": os.path.join(self.dir, "cache"),
            "HOME": os.path.join(self.dir, "home"),
            "LIBVIRT_DEFAULT_URI": "",
        })
        self.sock = os.path.join(self.run, "xvirt", "xvirtd-sock")
        self.sock_ro = self.sock + "-ro"
        self.pidfile = os.path.join(self.dir, "xvirtd.pid")
        self.sim_dir = os.path.join(self.run, "xvirt", "sim")
        self.uri = f"xen+unix:///session?socket={self.sock}"
        self.uri_ro = f"xen+unix:///session?socket={self.sock_ro}"
        if config is not None:  # xvirtd.conf at the session default, $XDG_CONFIG_HOME/xvirt/xvirtd.conf
            os.makedirs(os.path.join(self.dir, "config", "xvirt"))
            with open(os.path.join(self.dir, "config", "xvirt", "xvirtd.conf"), "w") as f:
                f.write(config)
        self.log = open(os.path.join(self.dir, "xvirtd.log"), "w+")
        self.args = [paths.XVIRTD, "--session", "--pidfile", self.pidfile, "-v", "-v", "--hypervisor", "sim"]
        self.proc = None
        self.start(wait=wait)

    def start(self, wait=True, timeout=20):
        """Starts the daemon (again); with `wait`, returns once it serves."""
        # A SIGKILLed daemon leaves its pidfile; only the new one's (written once it serves) counts.
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            wait_for(lambda: self.proc.poll() is not None or (self.serving_pid() == self.proc.pid and
                                                               connectable(self.sock)),
                     timeout=timeout, what="xvirtd's socket")
            if self.proc.poll() is not None:
                raise RuntimeError("xvirtd exited at start:\n" + self.logtext()[-3000:])

    def serving_pid(self):
        """The pid in xvirtd's pidfile (written once it serves), or None."""
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill(self, sig=signal.SIGTERM):
        """Sends `sig` and waits for the process to exit (the directories stay)."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=20)

    def restart(self, sig=signal.SIGTERM, add_args=()):
        """Stops the daemon with `sig` and starts it again, with `add_args` from now on."""
        self.kill(sig)
        self.args += list(add_args)
        self.start()

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def virsh(self, *args, ro=False, check=True):
        cmd = ["virsh", "-q"] + (["-r"] if ro else []) + ["-c", self.uri_ro if ro else self.uri] + list(args)
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} failed ({p.returncode}): {p.stderr}\nxvirtd log:\n{self.logtext()[-3000:]}")
        return p

    def xl(self, *args, check=True):
        """xvirt-xl on this daemon's simulated host."""
        return subprocess.run([paths.XVIRT_XL, "--hypervisor", "sim", "--sim-dir", self.sim_dir, *args],
                              capture_output=True, text=True, timeout=30, check=check)

    def xs(self, tool, *args, check=True):
        """Debian's xenstore-TOOL on this daemon's simulated host."""
        env = dict(self.env, XENSTORED_PATH=os.path.join(self.sim_dir, "xenstored", "socket"))
        return subprocess.run([f"xenstore-{tool}", *args], env=env, capture_output=True, text=True, timeout=30,
                              check=check)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.log.close()
        return rc

    def cleanup(self):
        # The simulated host outlives xvirtd by design (as Xen would); stop the ones this test's
        # daemon started, recognised by our private directory on their command line.
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except OSError:
                continue
            if self.dir in cmdline:
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)


class XvirtdTestCase(unittest.TestCase):
    """One daemon per class (`daemon_config` is its xvirtd.conf). At the end SIGTERM must stop it
    with status 0; with `strict_stop`, it must also have removed its socket and pidfile."""
    daemon_config = None
    strict_stop = True

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(config=cls.daemon_config)

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        try:
            if cls.strict_stop:
                assert rc == 0, f"xvirtd exited with {rc} on SIGTERM:\n{cls.d.logtext()}"
                assert not os.path.exists(cls.d.sock), "xvirtd left its socket behind"
                assert not os.path.exists(cls.d.pidfile), "xvirtd left its pidfile behind"
        finally:
            cls.d.cleanup()

    def virsh(self, *args, **kw):
        return self.d.virsh(*args, **kw)

    def raw(self, ro=False):
        """A raw-protocol client of this class's daemon, closed at the end of the test."""
        c = rawrpc.Client(self.d.sock_ro if ro else self.d.sock)
        self.addCleanup(c.close)
        return c
