"""Domains end to end: the real xvirtd on the simulated Xen host, one real xvirt-helper per guest,
driven by real virsh and python3-libvirt.

Usage (meson does this): test_virsh_domains.py XVIRTD XVIRT_XL. Each test class gets its own daemon
and simulated host in a private directory; waits poll with deadlines, no fixed sleeps.
"""
import os
import pty
import queue
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import tty
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawrpc  # noqa: E402
import test_xvirtd  # noqa: E402
from test_xvirtd import Daemon, wait_for  # noqa: E402

XVIRT_XL = None

DOMAIN_XML = """<domain type='xen'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>{kernel}</kernel>
    <cmdline>console=hvc0 root=/dev/xvda1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{disk}'/>
      <target dev='xvda' bus='xen'/>
    </disk>
    <console type='pty'>
      <target type='xen' port='0'/>
    </console>
  </devices>
</domain>
"""


class RestartableDaemon(Daemon):
    """A Daemon whose process can be stopped and started again over the same directories."""

    def restart(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)
        # A SIGKILLed daemon leaves its pidfile; only the new one's (written once it serves) counts.
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        args = self.proc.args
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or
                 (test_xvirtd.connectable(self.sock) and os.path.exists(self.pidfile)), what="xvirtd's socket")
        if self.proc.poll() is not None:
            raise RuntimeError("xvirtd exited at restart:\n" + self.logtext())


class DomainTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = RestartableDaemon()
        cls.kernel = os.path.join(cls.d.dir, "vmlinuz")
        with open(cls.kernel, "wb") as f:
            f.write(b"\x7fELF-xvirt-test-kernel" + bytes(range(256)) * 64)
        cls.disk = os.path.join(cls.d.dir, "disk.img")
        with open(cls.disk, "wb") as f:
            f.truncate(16 << 20)
        cls.sim_dir = os.path.join(cls.d.run, "xvirt", "sim")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        try:
            assert rc == 0, f"xvirtd exited with {rc} on SIGTERM:\n{cls.d.logtext()}"
        finally:
            cls.d.cleanup()

    def xml_file(self, name, uuid):
        path = os.path.join(self.d.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(DOMAIN_XML.format(name=name, uuid=uuid, kernel=self.kernel, disk=self.disk))
        return path

    def virsh(self, *args, **kw):
        return self.d.virsh(*args, **kw)

    def state(self, name):
        return self.virsh("domstate", "--reason", name).stdout.strip()

    def wait_state(self, name, expected, timeout=20):
        wait_for(lambda: self.state(name) == expected, timeout=timeout, what=f"{name} to be {expected!r}")

    def sim_domids(self):
        out = subprocess.run([XVIRT_XL, "--hypervisor", "sim", "--sim-dir", self.sim_dir, "list"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        ids = set()
        for line in out.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                ids.add(int(fields[1]))
        return ids

    def helper_pid(self, name):
        status = os.path.join(self.d.run, "xvirt", "domains", name + ".xml")
        with open(status) as f:
            return int(re.search(r"pid='(\d+)'", f.read()).group(1))

    def cleanup_domain(self, name):
        self.virsh("destroy", name, check=False)
        self.virsh("undefine", name, check=False)


class VirshLifecycleTest(DomainTestCase):
    def test_define_start_suspend_resume_shutdown_undefine(self):
        name, uuid = "lc1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c01"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.assertRegex(self.virsh("list", "--all").stdout, rf"-\s+{name}\s+shut off")
        self.assertEqual(self.state(name), "shut off (unknown)")
        info = self.virsh("dominfo", name).stdout
        self.assertRegex(info, r"OS Type:\s+linux")
        self.assertRegex(info, r"Persistent:\s+yes")
        self.assertIn(uuid, info)

        self.virsh("start", name)
        self.assertEqual(self.state(name), "running (booted)")
        domid = int(self.virsh("domid", name).stdout.strip())
        self.assertGreater(domid, 0)
        self.assertIn(domid, self.sim_domids())
        self.assertRegex(self.virsh("list").stdout, rf"{domid}\s+{name}\s+running")
        self.assertRegex(self.virsh("dominfo", name).stdout, r"CPU\(s\):\s+2")
        live = self.virsh("dumpxml", name).stdout
        self.assertIn(f"<domain type='xen' id='{domid}'>", live)
        self.assertIn(f"<name>{name}</name>", live)

        self.virsh("suspend", name)
        self.assertEqual(self.state(name), "paused (user)")
        self.virsh("resume", name)
        self.assertEqual(self.state(name), "running (unpaused)")

        # A graceful shutdown goes through the guest: control/shutdown, the guest powers off, the
        # helper exits, and xvirtd reports the reason.
        self.virsh("shutdown", name)
        self.wait_state(name, "shut off (shutdown)")
        wait_for(lambda: domid not in self.sim_domids(), what="the domain to leave the hypervisor")

        self.virsh("undefine", name)
        r = self.virsh("dominfo", name, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("failed to get domain 'lc1'", r.stderr)

    def test_destroy_removes_the_domain_from_the_hypervisor(self):
        name, uuid = "lc2", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c02"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("start", "--paused", name)
        self.assertEqual(self.state(name), "paused (user)")
        domid = int(self.virsh("domid", name).stdout.strip())
        self.virsh("destroy", name)
        self.assertEqual(self.state(name), "shut off (destroyed)")
        self.assertNotIn(domid, self.sim_domids())
        r = self.virsh("destroy", name, check=False)
        self.assertIn("domain is not running", r.stderr)

    def test_create_transient_domain(self):
        name, uuid = "tr1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c03"
        self.virsh("create", self.xml_file(name, uuid))
        self.assertEqual(self.state(name), "running (booted)")
        self.assertRegex(self.virsh("dominfo", name).stdout, r"Persistent:\s+no")
        self.virsh("destroy", name)
        r = self.virsh("domstate", name, check=False)
        self.assertNotEqual(r.returncode, 0, "a destroyed transient domain must be gone")

    def test_errors_for_missing_and_duplicate_domains(self):
        name, uuid = "dup1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c04"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        other = self.xml_file("dup2", uuid)  # a new name with the same UUID
        r = self.virsh("define", other, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"domain '{name}' is already defined with uuid {uuid}", r.stderr)
        r = self.virsh("start", "no-such-domain", check=False)
        self.assertIn("failed to get domain 'no-such-domain'", r.stderr)
        self.virsh("start", name)
        r = self.virsh("start", name, check=False)
        self.assertIn("Domain is already active", r.stderr)  # virsh checks IS_ACTIVE first
        r = self.virsh("undefine", name, check=False)  # running: undefine makes it transient
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(self.virsh("dominfo", name).stdout, r"Persistent:\s+no")

    def test_start_failure_reports_the_helpers_reason(self):
        name, uuid = "bad1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c08"
        self.addCleanup(self.cleanup_domain, name)
        path = self.xml_file(name, uuid)
        missing = os.path.join(self.d.dir, "no-such-vmlinuz")
        with open(path) as f:
            xml = f.read().replace(self.kernel, missing)
        with open(path, "w") as f:
            f.write(xml)
        self.virsh("define", path)
        before = self.sim_domids()
        r = self.virsh("start", name, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"Failed to start domain '{name}'", r.stderr)
        self.assertIn(missing, r.stderr)  # the helper's own sentence, from its log
        self.assertEqual(self.state(name), "shut off (unknown)")
        self.assertEqual(self.sim_domids(), before, "a failed start leaves no domain behind")
        self.assertFalse(os.path.exists(os.path.join(self.d.run, "xvirt", "domains", name + ".xml")))

    def test_read_only_connection_cannot_start(self):
        name, uuid = "ro1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c05"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        r = self.virsh("start", name, ro=True, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("read only access prevents", r.stderr)
        self.assertEqual(self.state(name), "shut off (unknown)")
        self.assertRegex(self.virsh("list", "--all", ro=True).stdout, rf"{name}\s+shut off")

    def test_guest_powering_off_by_itself(self):
        name, uuid = "self1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c06"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("start", name)
        domid = int(self.virsh("domid", name).stdout.strip())
        # What a guest's own `poweroff` does: the xenstore control node, written inside the guest's tree.
        env = dict(self.d.env, XENSTORED_PATH=os.path.join(self.sim_dir, "xenstored", "socket"))
        subprocess.run(["xenstore-write", f"/local/domain/{domid}/control/shutdown", "poweroff"],
                       env=env, check=True, timeout=30)
        self.wait_state(name, "shut off (shutdown)")

    def test_killed_helper_marks_the_domain_crashed_and_destroys_the_orphan(self):
        name, uuid = "kill1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c07"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("start", name)
        domid = int(self.virsh("domid", name).stdout.strip())
        env = dict(self.d.env, XENSTORED_PATH=os.path.join(self.sim_dir, "xenstored", "socket"))

        def xs_exists(path):
            return subprocess.run(["xenstore-exists", path], env=env, timeout=30).returncode == 0

        self.assertTrue(xs_exists(f"/local/domain/0/backend/vbd/{domid}") or
                        xs_exists(f"/local/domain/0/backend/qdisk/{domid}"), "the guest has a disk")
        os.kill(self.helper_pid(name), signal.SIGKILL)
        self.wait_state(name, "shut off (crashed)")
        wait_for(lambda: domid not in self.sim_domids(), what="the orphan domain to be destroyed")
        # As libxl at a destroy: nothing of the domain stays in xenstore, its disk's backend included.
        for path in (f"/local/domain/0/backend/vbd/{domid}", f"/local/domain/0/backend/qdisk/{domid}",
                     f"/local/domain/0/backend/console/{domid}", f"/local/domain/{domid}", f"/vm/{uuid}"):
            self.assertFalse(xs_exists(path), f"{path} is left in xenstore")


class DaemonRestartTest(DomainTestCase):
    def test_running_guest_survives_a_restart_and_autostart_starts_a_guest(self):
        keep, auto = "keep1", "auto1"
        self.addCleanup(self.cleanup_domain, keep)
        self.addCleanup(self.cleanup_domain, auto)
        self.virsh("define", self.xml_file(keep, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c11"))
        self.virsh("define", self.xml_file(auto, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c12"))
        self.virsh("start", keep)
        domid = int(self.virsh("domid", keep).stdout.strip())
        self.virsh("autostart", auto)
        self.assertRegex(self.virsh("dominfo", auto).stdout, r"Autostart:\s+enable")
        self.assertEqual(self.state(auto), "shut off (unknown)")

        self.d.restart()
        self.assertEqual(self.state(keep), "running (booted)")
        self.assertEqual(int(self.virsh("domid", keep).stdout.strip()), domid)
        self.assertEqual(self.state(auto), "running (booted)")
        self.virsh("suspend", keep)  # the reconnected monitor still works
        self.assertEqual(self.state(keep), "paused (user)")


    def test_sigkill_restart_reconnects_and_cleans_up(self):
        keep, lost, gone = "kill2", "kill3", "kill4"
        for i, n in enumerate((keep, lost, gone)):
            self.addCleanup(self.cleanup_domain, n)
            self.virsh("define", self.xml_file(n, f"5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c1{i + 3}"))
            self.virsh("start", n)
        self.virsh("suspend", keep)
        ids = {n: int(self.virsh("domid", n).stdout.strip()) for n in (keep, lost, gone)}
        lost_helper = self.helper_pid(lost)
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(timeout=20)
        # While xvirtd is away: one helper dies (its domain stays behind), one domain is destroyed
        # (its helper notices and exits).
        os.kill(lost_helper, signal.SIGKILL)
        subprocess.run([XVIRT_XL, "--hypervisor", "sim", "--sim-dir", self.sim_dir, "destroy", str(ids[gone])],
                       check=True, timeout=30)
        self.d.restart(signal.SIGKILL)
        self.assertEqual(self.state(keep), "paused (user)")
        self.assertEqual(int(self.virsh("domid", keep).stdout.strip()), ids[keep])
        self.assertEqual(self.state(lost), "shut off (crashed)")
        self.assertTrue(self.state(gone).startswith("shut off"))
        self.assertEqual(self.sim_domids() - {0}, {ids[keep]}, "the orphan domain is destroyed")
        status = os.path.join(self.d.run, "xvirt", "domains")
        self.assertEqual(sorted(os.listdir(status)), [keep + ".xml"])
        log = self.d.logtext()
        self.assertIn(f"Domain '{lost}' was stopped at daemon start-up: its helper process {lost_helper} is gone.", log)
        self.assertIn(f"Destroyed domain {ids[lost]} of '{lost}', which no helper owns any more.", log)
        self.virsh("resume", keep)  # the reconnected monitor works
        self.assertEqual(self.state(keep), "running (unpaused)")

    def test_domain_destroyed_outside_xvirtd_is_noticed_without_restart(self):
        name = "xd1"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c19"))
        self.virsh("start", name)
        domid = int(self.virsh("domid", name).stdout.strip())
        subprocess.run([XVIRT_XL, "--hypervisor", "sim", "--sim-dir", self.sim_dir, "destroy", str(domid)],
                       check=True, timeout=30)
        self.wait_state(name, "shut off (destroyed)")
        self.assertFalse(os.path.exists(os.path.join(self.d.run, "xvirt", "domains", name + ".xml")))
        self.virsh("start", name)  # and it starts again, with one helper
        self.assertEqual(self.state(name), "running (booted)")


class EventLoopTest(DomainTestCase):
    def test_virsh_event_loop_sees_the_lifecycle(self):
        name, uuid = "ev1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c21"
        self.addCleanup(self.cleanup_domain, name)
        p = subprocess.Popen(["virsh", "-c", self.d.uri, "event", "--event", "lifecycle", "--loop"],
                             env=self.d.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.wait, 20)
        self.addCleanup(p.terminate)
        lines = queue.Queue()

        def reader():
            for line in p.stdout:
                lines.put(line.strip())
        threading.Thread(target=reader, daemon=True).start()

        def expect(text):
            wait_for(lambda: any(text in line for line in drain(lines, seen)), what=f"event {text!r}")
        seen = []
        # The registration is live once an event gets through: define until the first one does.
        xml = self.xml_file(name, uuid)

        def defined():
            self.virsh("define", xml)
            try:
                return lines.get(timeout=0.2)
            except queue.Empty:
                return None
        first = wait_for(defined, what="the first event")
        self.assertIn(f"event 'lifecycle' for domain '{name}': Defined", first)
        self.virsh("start", name)
        expect(f"domain '{name}': Started Booted")
        self.virsh("suspend", name)
        expect(f"domain '{name}': Suspended Paused")
        self.virsh("resume", name)
        expect(f"domain '{name}': Resumed Unpaused")
        self.virsh("destroy", name)
        expect(f"domain '{name}': Stopped Destroyed")
        self.virsh("undefine", name)
        expect(f"domain '{name}': Undefined Removed")


def drain(q, seen):
    while True:
        try:
            seen.append(q.get_nowait())
        except queue.Empty:
            return seen


class PythonLibvirtDomainTest(DomainTestCase):
    def test_python_client_runs_a_guest(self):
        import libvirt
        name, uuid = "py1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c31"
        self.addCleanup(self.cleanup_domain, name)
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        with open(self.xml_file(name, uuid)) as f:
            dom = conn.defineXML(f.read())
        self.assertFalse(dom.isActive())
        self.assertTrue(dom.isPersistent())
        dom.create()
        self.assertTrue(dom.isActive())
        self.assertGreater(dom.ID(), 0)
        state, reason = dom.state()
        self.assertEqual((state, reason), (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED))
        info = dom.info()
        self.assertEqual(info[1], 128 * 1024)
        self.assertEqual(info[3], 2)
        names = [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
        self.assertIn(name, names)
        self.assertNotIn(name, [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)])
        self.assertIn(name, [conn.lookupByID(i).name() for i in conn.listDomainsID()])
        dom.destroy()
        self.assertIn(name, conn.listDefinedDomains())
        with self.assertRaises(libvirt.libvirtError) as e:
            conn.lookupByName("nope")
        self.assertEqual(e.exception.get_error_code(), libvirt.VIR_ERR_NO_DOMAIN)



STREAM, CONTINUE = 3, 2
OPEN_CONSOLE = 201


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
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("start", name)
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


# --- CPU and memory tuning, statistics, native formats (issue 7 parts 4 and 5) ---

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sim_call(sim_dir, request):
    """One request on the simulated host's hypercall socket (docs/sim.md), e.g. set_load."""
    import json
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
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


def vcpuinfo(text):
    """virsh vcpuinfo output -> {vcpu: {"CPU": ..., "State": ..., "CPU Affinity": ...}}."""
    out, cur = {}, None
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if key == "VCPU":
            cur = out.setdefault(int(value), {})
        elif cur is not None:
            cur[key] = value
    return out


def key_values(text):
    """virsh domstats / dommemstat output -> {key: value}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
        elif line and len(line.split()) == 2 and not line.startswith("Domain"):
            k, v = line.split()
            out[k] = v
    return out


class FourCpuTestCase(DomainTestCase):
    """A simulated host with 4 CPUs, whatever the machine has, so pinning has room to move."""

    @classmethod
    def setUpClass(cls):
        old = os.environ.get("XVIRT_SIM_CPUS")
        os.environ["XVIRT_SIM_CPUS"] = "4"
        try:
            super().setUpClass()
        finally:
            if old is None:
                del os.environ["XVIRT_SIM_CPUS"]
            else:
                os.environ["XVIRT_SIM_CPUS"] = old

    def start_domain(self, name, uuid, xml_edit=None):
        path = self.xml_file(name, uuid)
        if xml_edit:
            with open(path) as f:
                text = xml_edit(f.read())
            with open(path, "w") as f:
                f.write(text)
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", path)
        self.virsh("start", name)
        return int(self.virsh("domid", name).stdout.strip())


class VcpuPinningTest(FourCpuTestCase):
    def test_vcpupin_live_moves_the_vcpu_and_vcpuinfo_shows_it(self):
        name = "pin1"
        self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c41")
        info = vcpuinfo(self.virsh("vcpuinfo", name).stdout)
        self.assertEqual(sorted(info), [0, 1])
        # The sim puts vCPU v on the (v mod k)-th of its k allowed CPUs: 0 and 1 with no pinning.
        self.assertEqual((info[0]["CPU"], info[1]["CPU"]), ("0", "1"))
        self.assertEqual(info[0]["CPU Affinity"], "yyyy")

        self.virsh("vcpupin", name, "0", "2")             # PIN_VCPU: the running guest
        self.virsh("vcpupin", name, "1", "3", "--live")   # PIN_VCPU_FLAGS LIVE
        info = vcpuinfo(self.virsh("vcpuinfo", name).stdout)
        self.assertEqual((info[0]["CPU"], info[1]["CPU"]), ("2", "3"))
        self.assertEqual((info[0]["CPU Affinity"], info[1]["CPU Affinity"]), ("--y-", "---y"))
        self.assertRegex(self.virsh("vcpupin", name).stdout, r"0\s+2\s*\n\s*1\s+3")
        live = self.virsh("dumpxml", name).stdout
        self.assertIn("<vcpupin vcpu='0' cpuset='2'/>", live)
        self.assertNotIn("vcpupin", self.virsh("dumpxml", "--inactive", name).stdout)

        # CONFIG changes the persistent definition only; the next start honours it.
        self.virsh("vcpupin", name, "1", "0-1", "--config")
        self.assertIn("<vcpupin vcpu='1' cpuset='0-1'/>", self.virsh("dumpxml", "--inactive", name).stdout)
        self.assertEqual(vcpuinfo(self.virsh("vcpuinfo", name).stdout)[1]["CPU"], "3")
        self.assertRegex(self.virsh("vcpupin", name, "--config").stdout, r"0\s+0-3\s*\n\s*1\s+0-1")
        self.virsh("destroy", name)
        off = vcpuinfo(self.virsh("vcpuinfo", name).stdout)  # shut off: the config's pinning
        self.assertEqual(off[1]["CPU Affinity"], "yy--")
        self.virsh("start", name)
        info = vcpuinfo(self.virsh("vcpuinfo", name).stdout)
        self.assertEqual((info[0]["CPU"], info[1]["CPU"]), ("0", "1"))
        self.assertEqual(info[1]["CPU Affinity"], "yy--")

    def test_vcpu_cpuset_is_honoured_at_start(self):
        name = "pin2"
        self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c42",
                          lambda x: x.replace("<vcpu>2</vcpu>", "<vcpu cpuset='1'>2</vcpu>"))
        info = vcpuinfo(self.virsh("vcpuinfo", name).stdout)
        self.assertEqual((info[0]["CPU"], info[1]["CPU"]), ("1", "1"))
        self.assertEqual(info[0]["CPU Affinity"], "-y--")
        # A <vcpupin> wins over the domain-wide cpuset for its vCPU.
        name3 = "pin3"
        self.start_domain(name3, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c43",
                          lambda x: x.replace("<vcpu>2</vcpu>", "<vcpu cpuset='1'>2</vcpu>"
                                              "<cputune><vcpupin vcpu='1' cpuset='3'/></cputune>"))
        info = vcpuinfo(self.virsh("vcpuinfo", name3).stdout)
        self.assertEqual((info[0]["CPU"], info[1]["CPU"]), ("1", "3"))

    def test_pinning_errors(self):
        name = "pin4"
        self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c44")
        r = self.virsh("vcpupin", name, "5", "1", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"Domain '{name}' has no vCPU 5", r.stderr)
        r = self.virsh("vcpupin", name, "0", "1", "--live", "--config", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<vcpupin vcpu='0' cpuset='1'/>", self.virsh("dumpxml", "--inactive", name).stdout)
        self.virsh("destroy", name)
        r = self.virsh("vcpupin", name, "0", "2", "--live", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Requested operation is not valid: domain is not running", r.stderr)

    def test_python_vcpus_and_pin_info(self):
        import libvirt
        name = "pin5"
        self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c45")
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        dom = conn.lookupByName(name)
        dom.pinVcpuFlags(1, (False, False, True, False), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        info, maps = dom.vcpus()
        self.assertEqual([(v[0], v[3]) for v in info], [(0, 0), (1, 2)])
        self.assertEqual(info[0][1], libvirt.VIR_VCPU_RUNNING)
        self.assertEqual(maps[1], (False, False, True, False))
        self.assertEqual(dom.vcpuPinInfo(libvirt.VIR_DOMAIN_AFFECT_CONFIG)[1], (True, True, True, True))
        self.assertEqual(dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_VCPU_MAXIMUM), 2)
        self.assertEqual(dom.maxVcpus(), 2)


class CpuStatsTest(FourCpuTestCase):
    def test_cpu_stats_grow_while_the_guest_runs(self):
        import libvirt
        name = "cpu1"
        domid = self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c51")
        sim_call(self.sim_dir, {"op": "set_load", "domid": domid, "load": 100})

        def total():
            out = self.virsh("cpu-stats", "--total", name).stdout
            return float(re.search(r"cpu_time\s+([\d.]+) seconds", out).group(1))

        t0 = total()
        wait_for(lambda: total() > t0 + 0.05, what="cpu-stats to grow")
        out = self.virsh("cpu-stats", name).stdout
        per_cpu = {int(m.group(1)): float(m.group(2))
                   for m in re.finditer(r"CPU(\d+):\s*\n\s*cpu_time\s+([\d.]+) seconds", out)}
        self.assertEqual(sorted(per_cpu), [0, 1, 2, 3])
        # vCPU 0 runs on host CPU 0, vCPU 1 on host CPU 1; nothing runs on 2 and 3.
        self.assertGreater(per_cpu[0], 0)
        self.assertGreater(per_cpu[1], 0)
        self.assertEqual((per_cpu[2], per_cpu[3]), (0, 0))
        self.assertRegex(out, r"Total:\s*\n\s*cpu_time\s+[\d.]+ seconds")

        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        dom = conn.lookupByName(name)
        totals = dom.getCPUStats(True)
        self.assertEqual(len(totals), 1)
        self.assertGreater(totals[0]["cpu_time"], int(t0 * 1e9))
        cpus = dom.getCPUStats(False)
        self.assertEqual(len(cpus), 4)
        self.assertGreater(cpus[0]["cpu_time"], 0)
        self.assertEqual(cpus[3]["cpu_time"], 0)
        # Paused, the time stands still.
        self.virsh("suspend", name)
        t1 = dom.getCPUStats(True)[0]["cpu_time"]
        self.assertEqual(conn.lookupByName(name).info()[4], t1)
        self.virsh("resume", name)

    def test_cpu_stats_of_a_stopped_domain_is_an_error(self):
        name = "cpu2"
        self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c52")
        self.virsh("destroy", name)
        r = self.virsh("cpu-stats", name, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not running", r.stderr)


class DomainStatsTest(DomainTestCase):
    def test_domstats_matches_dominfo(self):
        name, uuid = "st1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c61"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        off = key_values(self.virsh("domstats", name).stdout)
        self.assertEqual(off["state.state"], "5")
        self.assertNotIn("cpu.time", off)
        self.assertEqual(off["vcpu.maximum"], "2")
        self.virsh("start", name)
        stats = key_values(self.virsh("domstats", name).stdout)
        info = self.virsh("dominfo", name).stdout
        self.assertRegex(info, r"State:\s+running")
        self.assertEqual(stats["state.state"], "1")
        self.assertEqual(stats["state.reason"], "1")  # booted
        self.assertEqual(stats["vcpu.current"], re.search(r"CPU\(s\):\s+(\d+)", info).group(1))
        self.assertEqual(stats["balloon.maximum"], re.search(r"Max memory:\s+(\d+) KiB", info).group(1))
        self.assertEqual(stats["balloon.current"], re.search(r"Used memory:\s+(\d+) KiB", info).group(1))
        self.assertIn("cpu.time", stats)
        self.assertEqual((stats["vcpu.0.state"], stats["vcpu.1.state"]), ("1", "1"))
        self.assertEqual((stats["block.count"], stats["block.0.name"], stats["block.0.path"]),
                         ("1", "xvda", self.disk))
        self.assertEqual(stats["net.count"], "0")
        # All domains, and the groups virt-manager polls (state, cpu-total, vcpu = 0xb).
        self.assertIn(f"Domain: '{name}'", self.virsh("domstats").stdout)
        only = key_values(self.virsh("domstats", "--state", "--cpu-total", "--vcpu", name).stdout)
        self.assertNotIn("balloon.current", only)
        self.assertIn("vcpu.1.time", only)
        mem = key_values(self.virsh("dommemstat", name).stdout)
        self.assertEqual(mem["actual"], stats["balloon.current"])

    def test_python_get_all_domain_stats(self):
        import libvirt
        name, uuid = "st2", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c62"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("start", name)
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        records = {d.name(): s for d, s in conn.getAllDomainStats()}
        self.assertIn(name, records)
        s = records[name]
        self.assertEqual(s["state.state"], libvirt.VIR_DOMAIN_RUNNING)
        self.assertEqual(s["vcpu.current"], 2)
        self.assertEqual(s["balloon.maximum"], 128 * 1024)
        self.assertGreaterEqual(s["cpu.time"], s["vcpu.0.time"])
        self.assertEqual(s["block.0.name"], "xvda")
        active = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
        self.assertEqual([d.name() for d, _ in active], [name])
        self.assertEqual(set(active[0][1]), {"state.state", "state.reason"})
        listed = conn.domainListGetStats([conn.lookupByName(name)], libvirt.VIR_DOMAIN_STATS_BALLOON)
        self.assertEqual(listed[0][1]["balloon.current"], 128 * 1024)


class MemoryAndVcpuConfigTest(DomainTestCase):
    def test_setmem_setmaxmem_setvcpus_config(self):
        name, uuid = "cfg1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c71"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("setmaxmem", name, "262144", "--config")
        self.virsh("setmem", name, "65536", "--config")
        self.virsh("setvcpus", name, "4", "--config", "--maximum")
        self.virsh("setvcpus", name, "3", "--config")
        xml = self.virsh("dumpxml", "--inactive", name).stdout
        self.assertIn("<memory unit='KiB'>262144</memory>", xml)
        self.assertIn("<currentMemory unit='KiB'>65536</currentMemory>", xml)
        self.assertRegex(xml, r"<vcpu[^>]* current='3'[^>]*>4</vcpu>")
        count = self.virsh("vcpucount", name).stdout
        self.assertRegex(count, r"maximum\s+config\s+4")
        self.assertRegex(count, r"current\s+config\s+3")
        # Lowering the maximum takes the online count with it.
        self.virsh("setvcpus", name, "2", "--config", "--maximum")
        self.assertRegex(self.virsh("dumpxml", "--inactive", name).stdout, r"<vcpu placement='static'>2</vcpu>")

        r = self.virsh("setmem", name, "524288", "--config", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("more than its maximum of 262144 KiB", r.stderr)
        r = self.virsh("setvcpus", name, "3", "--config", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("at most 2 vCPUs", r.stderr)

        # The change is on disk: a restarted daemon loads it, and the guest starts with it.
        self.d.restart()
        self.assertIn("<currentMemory unit='KiB'>65536</currentMemory>",
                      self.virsh("dumpxml", "--inactive", name).stdout)
        self.virsh("start", name)
        info = self.virsh("dominfo", name).stdout
        self.assertRegex(info, r"Max memory:\s+262144 KiB")

    def test_live_maximum_fails_and_changes_nothing(self):
        name, uuid = "cfg2", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c72"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("start", name)
        # As libvirt's libxl driver: the maximum of a running guest is fixed (live hotplug and
        # ballooning are in test_virsh_hotplug.py).
        r = self.virsh("setmaxmem", name, "262144", "--live", "--config", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Cannot resize the maximum memory", r.stderr)
        # --live --config fails as a whole: the config is left as it was.
        self.assertIn("<memory unit='KiB'>131072</memory>", self.virsh("dumpxml", "--inactive", name).stdout)
        r = self.virsh("setvcpus", name, "4", "--live", "--maximum", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.virsh("setmem", name, "65536", "--config")
        self.assertIn("<currentMemory unit='KiB'>65536</currentMemory>", self.virsh("dumpxml", "--inactive", name).stdout)
        self.assertIn("<currentMemory unit='KiB'>131072</currentMemory>", self.virsh("dumpxml", name).stdout)


class NativeFormatTest(DomainTestCase):
    def native_round_trip(self, fmt, cfg, name):
        self.addCleanup(self.virsh, "undefine", name, check=False)
        xml = self.virsh("domxml-from-native", fmt, os.path.join(REPO, "examples", cfg)).stdout
        self.assertIn(f"<name>{name}</name>", xml)
        path = os.path.join(self.d.dir, f"{name}-native.xml")
        with open(path, "w") as f:
            f.write(xml)
        self.virsh("define", path)
        self.assertIn(name, self.virsh("list", "--all", "--name").stdout.split())
        native = self.virsh("domxml-to-native", fmt, path).stdout
        self.assertIn(f'name = "{name}"', native)
        again = os.path.join(self.d.dir, f"{name}.cfg")
        with open(again, "w") as f:
            f.write(native)
        self.assertEqual(self.virsh("domxml-from-native", fmt, again).stdout, xml)
        return xml

    def test_xl_config_to_xml_and_back(self):
        xml = self.native_round_trip("xen-xl", "linux-pv.cfg", "linux")
        self.assertIn("<kernel>/mnt/xen/linux/vmlinux</kernel>", xml)
        self.assertIn("<source dev='/dev/vg01/linux0'/>", xml)

    def test_xm_config_to_xml_and_back(self):
        xml = self.native_round_trip("xen-xm", "winxp-hvm.cfg", "winxp")
        self.assertIn(">hvm</type>", xml)

    def test_both_example_configs_define_through_xen_xl(self):
        # The xm-era HVM example is also valid xl syntax: xl reads both.
        for cfg, name, ostype in (("linux-pv.cfg", "linux", "linux"), ("winxp-hvm.cfg", "winxp", "hvm")):
            with self.subTest(cfg=cfg):
                self.addCleanup(self.virsh, "undefine", name, check=False)
                xml = self.virsh("domxml-from-native", "xen-xl", os.path.join(REPO, "examples", cfg)).stdout
                path = os.path.join(self.d.dir, f"{name}-xl.xml")
                with open(path, "w") as f:
                    f.write(xml)
                self.virsh("define", path)
                self.assertIn(f">{ostype}</type>", self.virsh("dumpxml", "--inactive", name).stdout)

    def test_unknown_format_and_read_only(self):
        r = self.virsh("domxml-from-native", "qemu-argv", os.path.join(REPO, "examples", "linux-pv.cfg"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not one of xen-xl or xen-xm", r.stderr)
        bad = os.path.join(self.d.dir, "bad.cfg")
        with open(bad, "w") as f:
            f.write('memory = 256\nvcpus = "two\n')
        r = self.virsh("domxml-from-native", "xen-xl", bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        # As in libvirt, a read-only connection may not convert (the client library refuses first).
        r = self.virsh("domxml-from-native", "xen-xl", os.path.join(REPO, "examples", "linux-pv.cfg"),
                       ro=True, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("read only", r.stderr)


if __name__ == "__main__":
    test_xvirtd.DAEMON, test_xvirtd.BACKEND, XVIRT_XL = sys.argv[1], "sim", sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
