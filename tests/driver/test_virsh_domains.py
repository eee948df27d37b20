"""Domains end to end: the real xvirtd on the simulated Xen host, one real xvirt-helper per guest,
driven by real virsh and python3-libvirt.

Usage (meson does this): test_virsh_domains.py XVIRTD XVIRT_XL. Each test class gets its own daemon
and simulated host in a private directory; waits poll with deadlines, no fixed sleeps.
"""
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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

    def restart(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
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
        os.kill(self.helper_pid(name), signal.SIGKILL)
        self.wait_state(name, "shut off (crashed)")
        wait_for(lambda: domid not in self.sim_domids(), what="the orphan domain to be destroyed")


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


if __name__ == "__main__":
    test_xvirtd.DAEMON, test_xvirtd.BACKEND, XVIRT_XL = sys.argv[1], "sim", sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
