"""Domain lifecycle end to end: define, start, suspend, resume, shutdown, destroy, undefine and
their errors through real virsh and python3-libvirt, and the lifecycle events clients see.

Usage: test_domain_lifecycle.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md).
"""
import os
import queue
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import runner  # noqa: E402
from xvirt_test.daemon import start_libvirt_event_loop  # noqa: E402
from xvirt_test.domains import DomainTestCase  # noqa: E402
from xvirt_test.wait import drain, wait_for  # noqa: E402


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
        domid = self.domid(name)
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
        domid = self.domid(name)
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
        domid = self.start_domain(name, uuid)
        # What a guest's own `poweroff` does: the xenstore control node, written inside the guest's tree.
        self.d.xs("write", f"/local/domain/{domid}/control/shutdown", "poweroff")
        self.wait_state(name, "shut off (shutdown)")

    def test_killed_helper_marks_the_domain_crashed_and_destroys_the_orphan(self):
        name, uuid = "kill1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c07"
        domid = self.start_domain(name, uuid)

        def xs_exists(path):
            return self.d.xs("exists", path, check=False).returncode == 0

        self.assertTrue(xs_exists(f"/local/domain/0/backend/vbd/{domid}") or
                        xs_exists(f"/local/domain/0/backend/qdisk/{domid}"), "the guest has a disk")
        os.kill(self.helper_pid(name), signal.SIGKILL)
        self.wait_state(name, "shut off (crashed)")
        wait_for(lambda: domid not in self.sim_domids(), what="the orphan domain to be destroyed")
        # As libxl at a destroy: nothing of the domain stays in xenstore, its disk's backend included.
        for path in (f"/local/domain/0/backend/vbd/{domid}", f"/local/domain/0/backend/qdisk/{domid}",
                     f"/local/domain/0/backend/console/{domid}", f"/local/domain/{domid}", f"/vm/{uuid}"):
            self.assertFalse(xs_exists(path), f"{path} is left in xenstore")


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

    def test_python_callback_receives_lifecycle(self):
        # Was the fake daemon's injected event (xvirtd-fake); now a real guest's start and destroy.
        import libvirt
        start_libvirt_event_loop()
        name, uuid = "ev2", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c22"
        self.addCleanup(self.cleanup_domain, name)
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        got = queue.Queue()

        def cb(c, dom, event, detail, opaque):
            got.put((dom.name(), dom.UUIDString(), event, detail))
        cb_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
        self.addCleanup(conn.domainEventDeregisterAny, cb_id)
        self.virsh("define", self.xml_file(name, uuid))
        self.virsh("start", name)
        self.virsh("destroy", name)
        seen = []
        wait_for(lambda: (name, uuid, libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
                 in drain(got, seen), what="the python lifecycle callback for the destroy")
        self.assertIn((name, uuid, libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED), seen)


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
