"""Hotplug and live tuning end to end (issue 7, items 2 and 4): real virsh and python3-libvirt against
the real xvirtd on the simulated Xen host, one real xvirt-helper per guest, and Debian's xenstore
tools to see what the guest sees.

Usage (meson does this): test_virsh_hotplug.py [XVIRTD [XVIRT_XL]].
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
from xvirt_test.domains import HVM_DOMAIN_XML, DomainTestCase, write_file  # noqa: E402
from xvirt_test.host import sim_call  # noqa: E402
from xvirt_test.wait import drain, wait_for  # noqa: E402

XVDB, XVDC = 51728, 51744


class HotplugTestCase(DomainTestCase):
    def image(self, name, size=1 << 20):
        return write_file(os.path.join(self.d.dir, name), size=size)

    def xs_read(self, path):
        r = self.d.xs("read", path, check=False)
        return r.stdout.strip() if r.returncode == 0 else None

    def python_events(self):
        """A python3-libvirt connection with the default event loop running, and a queue for its events."""
        import libvirt
        start_libvirt_event_loop()
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        return conn, queue.Queue()

    def live_xml(self, name):
        return self.virsh("dumpxml", name).stdout

    def config_xml(self, name):
        return self.virsh("dumpxml", "--inactive", name).stdout


class DiskHotplugTest(HotplugTestCase):
    def test_attach_disk_connects_and_detach_disk_removes(self):
        name = "hp1"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d01")
        img = self.image("hp1-data.img")
        self.virsh("attach-disk", name, img, "xvdb")
        # A file with no driver goes to qdisk, as at start (domain-xml/GuestConfigBuilder.cc).
        be = f"/local/domain/0/backend/qdisk/{domid}/{XVDB}"
        fe = f"/local/domain/{domid}/device/vbd/{XVDB}"
        self.assertEqual(self.xs_read(be + "/params"), img)
        self.assertEqual(self.xs_read(be + "/state"), "4")
        self.assertEqual(self.xs_read(fe + "/state"), "4")
        self.assertIn(f"<source file='{img}'/>", self.live_xml(name))
        self.assertIn("xvdb", self.virsh("domblklist", name).stdout)
        self.assertNotIn("xvdb", self.config_xml(name))  # live only

        self.virsh("detach-disk", name, "xvdb")
        self.assertNotIn("xvdb", self.live_xml(name))
        self.assertIsNone(self.xs_read(be + "/state"))
        self.assertIsNone(self.xs_read(fe + "/state"))

        # A block source (raw) is served by blkback: backend/vbd, where `xl block-list` looks.
        self.virsh("attach-disk", name, img, "xvdc", "--sourcetype", "block")
        self.assertIn(f"<source dev='{img}'/>", self.live_xml(name))
        tree = self.d.xs("ls", f"/local/domain/0/backend/vbd/{domid}/{XVDC}").stdout
        self.assertIn(f'params = "{img}"', tree)
        self.assertIn('state = "4"', tree)
        self.virsh("detach-disk", name, "xvdc")
        self.assertIsNone(self.xs_read(f"/local/domain/0/backend/vbd/{domid}/{XVDC}/state"))

    def test_a_disk_with_a_block_script_goes_to_blkback_with_its_script(self):
        # xl's script= (<xvirt:script>): the phy backend, the script's absolute path in the backend,
        # where Xen's toolstack puts it; on real Xen the helper runs it (the Xen harness's
        # helper-block-script step), the sim's backend connects by itself.
        name = "hp11"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d11")
        img = self.image("hp11-data.img")
        disk_xml = os.path.join(self.d.dir, "hp11-xvdb.xml")
        with open(disk_xml, "w") as f:
            f.write(f"<disk type='file' device='disk' xmlns:xvirt='http://xvirt.org/schemas/domain/1.0'>"
                    f"<source file='{img}'/><target dev='xvdb' bus='xen'/><xvirt:script path='block'/></disk>")
        self.virsh("attach-device", name, disk_xml, "--live")
        be = f"/local/domain/0/backend/vbd/{domid}/{XVDB}"
        self.assertEqual(self.xs_read(be + "/script"), "/etc/xen/scripts/block")
        self.assertEqual(self.xs_read(be + "/params"), img)
        self.assertEqual(self.xs_read(be + "/state"), "4")
        self.assertIn("<xvirt:script path='block'/>", self.live_xml(name))
        self.virsh("detach-disk", name, "xvdb")
        self.assertIsNone(self.xs_read(be + "/state"))

    def test_config_only_changes_the_persistent_definition(self):
        name = "hp2"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d02")
        img = self.image("hp2-data.img")
        self.virsh("attach-disk", name, img, "xvdc", "--config")
        self.assertIn("xvdc", self.config_xml(name))
        self.assertNotIn("xvdc", self.live_xml(name))
        self.assertIsNone(self.xs_read(f"/local/domain/{domid}/device/vbd/{XVDC}/state"))
        self.virsh("detach-disk", name, "xvdc", "--config")
        self.assertNotIn("xvdc", self.config_xml(name))

        # --live --config: both, and a shut-off guest takes --config (CURRENT) alone.
        self.virsh("attach-disk", name, img, "xvdc", "--live", "--config")
        self.assertIn("xvdc", self.config_xml(name))
        self.assertIn("xvdc", self.live_xml(name))
        self.virsh("destroy", name)
        self.virsh("detach-disk", name, "xvdc", "--current")
        self.assertNotIn("xvdc", self.config_xml(name))

    def test_errors_are_one_sentence_and_change_nothing(self):
        name = "hp3"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d03")
        img = self.image("hp3-data.img")
        before_live, before_config = self.live_xml(name), self.config_xml(name)
        r = self.virsh("attach-disk", name, img, "xvda", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"Domain '{name}' already has a disk with target xvda", r.stderr)
        r = self.virsh("attach-disk", name, img, "floppy0", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("floppy0", r.stderr)
        r = self.virsh("detach-disk", name, "xvdq", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("xvdq", r.stderr)
        r = self.virsh("attach-disk", name, os.path.join(self.d.dir, "missing.img"), "xvdb", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing.img", r.stderr)
        self.assertEqual(self.live_xml(name), before_live)
        self.assertEqual(self.config_xml(name), before_config)
        self.assertEqual(self.d.xs("list", f"/local/domain/{domid}/device/vbd").stdout.split(), ["51712"])
        # A shut-off guest has nothing live to change.
        self.virsh("destroy", name)
        r = self.virsh("attach-disk", name, img, "xvdb", "--live", check=False)
        self.assertIn("not running", r.stderr)

    def test_cdrom_media_change_with_update_device(self):
        name = "hp4"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d04")
        iso1, iso2 = self.image("one.iso"), self.image("two.iso")
        self.virsh("attach-disk", name, iso1, "xvdc", "--type", "cdrom", "--mode", "readonly")
        be = f"/local/domain/0/backend/qdisk/{domid}/{XVDC}"
        self.assertEqual(self.xs_read(be + "/params"), iso1)
        self.assertEqual(self.xs_read(be + "/device-type"), "cdrom")
        self.virsh("change-media", name, "xvdc", iso2, "--update")
        self.assertEqual(self.xs_read(be + "/params"), iso2)
        self.assertIn(f"<source file='{iso2}'/>", self.live_xml(name))
        r = self.virsh("change-media", name, "xvda", iso2, "--update", check=False)
        self.assertNotEqual(r.returncode, 0)
        disk_xml = os.path.join(self.d.dir, "hp4-xvda.xml")
        with open(disk_xml, "w") as f:
            f.write(f"<disk type='file' device='disk'><source file='{iso2}'/><target dev='xvda'/></disk>")
        r = self.virsh("update-device", name, disk_xml, check=False)
        self.assertIn("Only the medium of a cdrom can change", r.stderr)
        self.assertIn(self.disk, self.live_xml(name))
        self.virsh("change-media", name, "xvdc", "--eject")
        self.assertEqual(self.xs_read(be + "/params"), "")
        self.assertNotIn(iso2, self.live_xml(name))
        self.virsh("change-media", name, "xvdc", iso1, "--insert")
        self.assertEqual(self.xs_read(be + "/params"), iso1)


class HvmHotplugTest(HotplugTestCase):
    def test_emulated_disks_are_refused_live_and_pv_disks_plug(self):
        name = "hp8"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d08", template=HVM_DOMAIN_XML)
        img = self.image("hp8-data.img")
        r = self.virsh("attach-disk", name, img, "hdb", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Disk hdb cannot be plugged into or out of running HVM domain 'hp8'", r.stderr)
        self.assertNotIn("hdb", self.live_xml(name))
        r = self.virsh("detach-disk", name, "hda", check=False)
        self.assertIn("emulated by its device model", r.stderr)
        import libvirt
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        with self.assertRaises(libvirt.libvirtError) as caught:
            conn.lookupByName(name).attachDevice(
                f"<disk type='file'><source file='{img}'/><target dev='sdb'/></disk>")
        self.assertEqual(caught.exception.get_error_code(), libvirt.VIR_ERR_CONFIG_UNSUPPORTED)
        # The configuration may change, and PV disks plug into HVM guests as into PV ones.
        self.virsh("attach-disk", name, img, "hdb", "--config")
        self.assertIn("hdb", self.config_xml(name))
        self.virsh("attach-disk", name, img, "xvdb")
        self.assertEqual(self.xs_read(f"/local/domain/{domid}/device/vbd/{XVDB}/state"), "4")


class InterfaceHotplugTest(HotplugTestCase):
    def test_attach_and_detach_interface(self):
        name = "hp5"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d05")
        mac = "00:16:3e:5a:00:01"
        self.virsh("attach-interface", name, "bridge", "xenbr0", "--mac", mac)
        be = f"/local/domain/0/backend/vif/{domid}/0"
        self.assertEqual(self.xs_read(be + "/mac"), mac)
        self.assertEqual(self.xs_read(be + "/bridge"), "xenbr0")
        self.assertEqual(self.xs_read(be + "/state"), "4")
        self.assertEqual(self.xs_read(f"/local/domain/{domid}/device/vif/0/state"), "4")
        self.assertIn(f"<mac address='{mac}'/>", self.live_xml(name))
        self.assertRegex(self.virsh("domiflist", name).stdout, rf"vif{domid}\.0\s+bridge\s+xenbr0\s+\S+\s+{mac}")
        self.assertNotIn(f"vif{domid}.0", self.config_xml(name))
        r = self.virsh("attach-interface", name, "bridge", "xenbr1", "--mac", mac, check=False)
        self.assertIn("already has an interface with MAC", r.stderr)

        self.virsh("detach-interface", name, "bridge", "--mac", mac)
        self.assertNotIn(mac, self.live_xml(name))
        self.assertIsNone(self.xs_read(be + "/state"))
        r = self.virsh("detach-interface", name, "bridge", "--mac", mac, check=False)
        self.assertNotEqual(r.returncode, 0)


class DeviceEventTest(HotplugTestCase):
    def test_virsh_event_loop_and_python_callbacks_see_devices(self):
        import libvirt
        name = "hp6"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d06")
        p = subprocess.Popen(["virsh", "-c", self.d.uri, "event", "--all", "--loop"],
                             env=self.d.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.wait, 20)
        self.addCleanup(p.terminate)
        lines, seen = queue.Queue(), []
        threading.Thread(target=lambda: [lines.put(x.strip()) for x in p.stdout], daemon=True).start()

        # virsh's registrations are live once a lifecycle event gets through.
        def virsh_listening():
            self.virsh("suspend", name)
            self.virsh("resume", name)
            return any("lifecycle" in x for x in drain(lines, seen))
        wait_for(virsh_listening, what="virsh event to listen")

        conn, got = self.python_events()
        dom = conn.lookupByName(name)
        ids = [conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                           lambda c, d, alias, o: got.put(("added", d.name(), alias)), None),
               conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                           lambda c, d, alias, o: got.put(("removed", d.name(), alias)), None)]
        self.addCleanup(lambda: [conn.domainEventDeregisterAny(i) for i in ids])

        img = self.image("hp6-data.img")
        xml = f"<disk type='file' device='disk'><source file='{img}'/><target dev='xvdb'/></disk>"
        dom.attachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        self.assertEqual(got.get(timeout=20), ("added", name, "xvdb"))
        wait_for(lambda: any("device-added" in x and "xvdb" in x for x in drain(lines, seen)),
                 what="virsh event to print device-added")

        # The backend removed behind xvirtd's back (as `xl block-detach` from another toolstack, or
        # an admin's xenstore-rm would): the device leaves the live XML and the event is raised.
        self.d.xs("rm", f"/local/domain/0/backend/qdisk/{domid}/{XVDB}")
        self.assertEqual(got.get(timeout=20), ("removed", name, "xvdb"))
        wait_for(lambda: "xvdb" not in self.live_xml(name), what="xvdb to leave the live XML")
        wait_for(lambda: any("device-removed" in x and "xvdb" in x for x in drain(lines, seen)),
                 what="virsh event to print device-removed")
        # virsh no longer finds it, and the same target can be attached again (libxl users cannot).
        r = self.virsh("detach-disk", name, "xvdb", check=False)
        self.assertIn("No disk found whose source path or target is xvdb", r.stderr)
        self.virsh("attach-disk", name, img, "xvdb")
        self.assertEqual(got.get(timeout=20), ("added", name, "xvdb"))
        self.assertEqual(self.xs_read(f"/local/domain/0/backend/qdisk/{domid}/{XVDB}/state"), "4")

        # A NIC's alias is net<devid>.
        self.virsh("attach-interface", name, "bridge", "xenbr0", "--mac", "00:16:3e:5a:00:06")
        self.assertEqual(got.get(timeout=20), ("added", name, "net0"))
        self.virsh("detach-interface", name, "bridge", "--mac", "00:16:3e:5a:00:06")
        self.assertEqual(got.get(timeout=20), ("removed", name, "net0"))


class HotplugRestartTest(HotplugTestCase):
    def test_hotplugged_disk_survives_a_daemon_restart(self):
        name = "hp9"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d09")
        img = self.image("hp9-data.img")
        self.virsh("attach-disk", name, img, "xvdb")
        self.d.restart()
        # The live definition came back from the status file; the helper still has the disk.
        self.assertIn(f"<source file='{img}'/>", self.live_xml(name))
        self.virsh("detach-disk", name, "xvdb")
        self.assertNotIn("xvdb", self.live_xml(name))
        self.assertIsNone(self.xs_read(f"/local/domain/0/backend/qdisk/{domid}/{XVDB}/state"))


class RemovedWhileAwayTest(HotplugTestCase):
    def test_devices_removed_while_xvirtd_was_down_leave_the_live_xml(self):
        name = "hp10"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d10")
        img = self.image("hp10-data.img")
        self.virsh("attach-disk", name, img, "xvdb")
        self.virsh("attach-interface", name, "bridge", "xenbr0", "--mac", "00:16:3e:5a:00:10")
        self.d.kill(signal.SIGTERM)
        self.d.xs("rm", f"/local/domain/0/backend/qdisk/{domid}/{XVDB}")
        self.d.xs("rm", f"/local/domain/0/backend/vif/{domid}/0")
        self.d.start()
        xml = self.live_xml(name)
        self.assertNotIn("xvdb", xml)
        self.assertNotIn("00:16:3e:5a:00:10", xml)
        self.assertIn("xvda", xml)
        self.assertIn("running", self.state(name))


class ConcurrentRemovalTest(HotplugTestCase):
    def test_removal_during_an_attach_is_not_undone(self):
        import libvirt
        name = "hp11"
        domid = self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d11")
        img = self.image("hp11-data.img")
        self.virsh("attach-disk", name, img, "xvdb")
        conn, got = self.python_events()
        cb = conn.domainEventRegisterAny(conn.lookupByName(name), libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                         lambda c, d, alias, o: got.put(alias), None)
        self.addCleanup(conn.domainEventDeregisterAny, cb)
        # The guest stops answering, so attaching xvdc waits in the helper while xvdb is removed
        # behind xvirtd's back; then the guest answers and the attach completes.
        sim_call(self.sim_dir, {"op": "fault", "stall_frontend": domid})
        attach = threading.Thread(target=self.virsh, args=("attach-disk", name, img, "xvdc"))
        attach.start()
        wait_for(lambda: self.xs_read(f"/local/domain/{domid}/device/vbd/{XVDC}/state") == "1",
                 what="xvdc waiting for the guest")
        self.d.xs("rm", f"/local/domain/0/backend/qdisk/{domid}/{XVDB}")
        self.assertEqual(got.get(timeout=20), "xvdb")
        sim_call(self.sim_dir, {"op": "fault", "stall_frontend": domid, "stall": False})
        attach.join(30)
        xml = self.live_xml(name)
        self.assertIn("xvdc", xml)
        self.assertNotIn("xvdb", xml)

class LiveTuningTest(HotplugTestCase):
    def test_setmem_balloons_and_setvcpus_changes_online_vcpus(self):
        name = "hp7"
        self.start_domain(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4d07")
        import libvirt
        self.assertRegex(self.virsh("dominfo", name).stdout, r"Used memory:\s+131072 KiB")
        conn, got = self.python_events()
        cb = conn.domainEventRegisterAny(conn.lookupByName(name), libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                         lambda c, d, actual, o: got.put((d.name(), actual)), None)
        self.addCleanup(conn.domainEventDeregisterAny, cb)
        self.virsh("setmem", name, "65536")
        self.assertEqual(got.get(timeout=20), (name, 65536))
        wait_for(lambda: "65536 KiB" in self.virsh("dominfo", name).stdout, what="the guest to balloon down")
        self.assertIn("<currentMemory unit='KiB'>65536</currentMemory>", self.live_xml(name))
        self.assertIn("<currentMemory unit='KiB'>131072</currentMemory>", self.config_xml(name))
        stats = self.virsh("dommemstat", name).stdout
        self.assertRegex(stats, r"actual 65536")
        r = self.virsh("setmem", name, "262144", check=False)
        self.assertIn("more than its maximum of 131072 KiB", r.stderr)
        r = self.virsh("setmaxmem", name, "262144", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Cannot resize the maximum memory of running domain", r.stderr)
        # --live --config: both change.
        self.virsh("setmem", name, "98304", "--live", "--config")
        wait_for(lambda: "98304 KiB" in self.virsh("dominfo", name).stdout, what="the guest to balloon up")
        self.assertIn("<currentMemory unit='KiB'>98304</currentMemory>", self.config_xml(name))

        self.virsh("setvcpus", name, "1")
        wait_for(lambda: "current         live           1" in self.virsh("vcpucount", name).stdout
                 or self.vcpus(name) == 1, what="one vCPU online")
        self.assertEqual(self.vcpus(name), 1)
        self.assertRegex(self.live_xml(name), r"<vcpu[^>]* current='1'[^>]*>2</vcpu>")
        self.assertRegex(self.virsh("vcpucount", name).stdout, r"current\s+config\s+2")
        r = self.virsh("setvcpus", name, "3", check=False)
        self.assertIn("at most 2 vCPUs", r.stderr)
        r = self.virsh("setvcpus", name, "1", "--guest", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.virsh("setvcpus", name, "2", "--live")
        wait_for(lambda: self.vcpus(name) == 2, what="two vCPUs online")

    def vcpus(self, name):
        for line in self.virsh("vcpucount", name, "--live", "--active").stdout.splitlines():
            if line.strip():
                return int(line.split()[-1])
        return None


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
