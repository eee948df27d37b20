"""Save and restore end to end (issue 7, item 1): the real xvirtd on the simulated Xen host, a real
helper per guest, real virsh and python3-libvirt. The guest's memory (the simulated host's RAM
file), its xenstore devices and its console survive; flags, managed save, undefine rules, events,
damaged images and managed save at daemon stop/start behave as libvirt's do.

Usage (meson does this): test_virsh_save.py [XVIRTD [XVIRT_XL]]."""
import os
import queue
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import runner  # noqa: E402
from xvirt_test.daemon import start_libvirt_event_loop  # noqa: E402
from xvirt_test.domains import DomainTestCase  # noqa: E402
from xvirt_test.host import guest_ram_digest, guest_ram_path  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402


class SaveTestCase(DomainTestCase):
    def setUp(self):
        self.images = os.path.join(self.d.dir, "images-" + self.id().rsplit(".", 1)[-1])
        os.makedirs(self.images, exist_ok=True)

    def digest(self, domid):
        return guest_ram_digest(self.sim_dir, domid)

    def scribble(self, domid):
        with open(guest_ram_path(self.sim_dir, domid), "r+b") as f:
            for i in range(4):
                f.seek((8 + 16 * i) << 20)
                f.write(os.urandom(1 << 20))

    def disk_backend(self, domid):
        r = self.d.xs("read", f"/local/domain/0/backend/qdisk/{domid}/51712/params", check=False)
        if r.returncode != 0:
            r = self.d.xs("read", f"/local/domain/0/backend/vbd/{domid}/51712/params", check=False)
        return r.stdout.strip()

    def started(self, name, uuid, *flags):
        domid = self.start_domain(name, uuid, None, *flags)
        self.addCleanup(self.virsh, "managedsave-remove", name, check=False)
        return domid

    def no_temp_files(self, directory):
        return [f for f in os.listdir(directory) if ".tmp-" in f]


class VirshSaveTest(SaveTestCase):
    def test_save_restore_keeps_memory_devices_and_console(self):
        name = "sv1"
        domid = self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c01")
        wait_for(lambda: self.d.xs("read", f"/local/domain/{domid}/device/vbd/51712/state", check=False).stdout.strip() == "4",
                 what="xvda to connect")
        self.scribble(domid)
        self.virsh("suspend", name)  # so the memory cannot change between the two digests
        before = self.digest(domid)
        image = os.path.join(self.images, "sv1.save")
        self.virsh("save", name, image)
        self.assertEqual(self.state(name), "shut off (saved)")
        self.assertNotIn(domid, self.sim_domids())
        self.assertEqual(self.no_temp_files(self.images), [])
        self.assertIn(f"<name>{name}</name>", self.virsh("save-image-dumpxml", image).stdout)

        self.virsh("restore", image, "--paused")
        self.assertEqual(self.state(name), "paused (user)")
        domid2 = self.domid(name)
        self.assertNotEqual(domid2, domid)
        self.assertEqual(self.digest(domid2), before)
        self.assertEqual(self.disk_backend(domid2), self.disk)
        self.virsh("resume", name)
        self.assertEqual(self.state(name), "running (unpaused)")
        wait_for(lambda: self.d.xs("read", f"/local/domain/{domid2}/device/vbd/51712/state", check=False).stdout.strip() == "4",
                 what="xvda to connect again")
        # The console answers the restored guest, which did not boot again.
        pty = self.virsh("ttyconsole", name).stdout.strip()
        fd = os.open(pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.addCleanup(os.close, fd)
        os.write(fd, b"after-restore\n")
        seen = b""

        def echoed():
            nonlocal seen
            try:
                seen += os.read(fd, 65536)
            except BlockingIOError:
                pass
            return b"after-restore\r\n" in seen
        wait_for(echoed, what="the console echo")
        self.assertNotIn(b"Linux version", seen)

    def test_save_flags_decide_the_state_after_restore(self):
        name = "sv2"
        self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c02")
        image = os.path.join(self.images, "sv2.save")
        self.virsh("save", name, image, "--paused")
        self.virsh("restore", image)
        self.assertEqual(self.state(name), "paused (user)")
        # A paused guest can be saved (libxl refuses); --running makes the restore run it.
        self.virsh("save", name, image, "--running")
        self.virsh("restore", image)
        self.assertEqual(self.state(name), "running (restored)")
        # Without a flag the image keeps the state the guest had: running.
        self.virsh("save", name, image)
        self.virsh("restore", image)
        self.assertEqual(self.state(name), "running (restored)")
        r = self.virsh("save", name, image, "--running", "--paused", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.state(name), "running (restored)")

    def test_replacement_xml_compatible_changes_only(self):
        name, uuid = "sv3", "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c03"
        self.started(name, uuid)
        other_disk = os.path.join(self.d.dir, "other.img")
        with open(other_disk, "wb") as f:
            f.truncate(16 << 20)
        xml = self.virsh("dumpxml", "--inactive", name).stdout.replace(self.disk, other_disk)
        new_xml = os.path.join(self.images, "sv3-new.xml")
        with open(new_xml, "w") as f:
            f.write(xml)
        bad_xml = os.path.join(self.images, "sv3-bad.xml")
        with open(bad_xml, "w") as f:
            f.write(xml.replace("<memory unit='KiB'>131072</memory>", "<memory unit='KiB'>262144</memory>")
                       .replace("<currentMemory unit='KiB'>131072</currentMemory>",
                                "<currentMemory unit='KiB'>262144</currentMemory>"))
        image = os.path.join(self.images, "sv3.save")
        r = self.virsh("save", name, image, "--xml", bad_xml, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("changes the memory size", r.stderr)
        self.assertEqual(self.state(name), "running (booted)")
        self.assertFalse(os.path.exists(image))

        self.virsh("save", name, image, "--xml", new_xml)
        self.assertIn(other_disk, self.virsh("save-image-dumpxml", image).stdout)
        self.virsh("restore", image)
        domid = self.domid(name)
        self.assertEqual(self.disk_backend(domid), other_disk)
        # restore --xml: back to the first disk.
        self.virsh("save", name, image)
        with open(new_xml, "w") as f:
            f.write(xml.replace(other_disk, self.disk))
        self.virsh("restore", image, "--xml", new_xml)
        domid = self.domid(name)
        self.assertEqual(self.disk_backend(domid), self.disk)
        # save-image-define: the image itself gets the other disk, and restores paused.
        self.virsh("save", name, image)
        with open(new_xml, "w") as f:
            f.write(xml)
        self.virsh("save-image-define", image, new_xml, "--paused")
        self.assertIn(other_disk, self.virsh("save-image-dumpxml", image).stdout)
        self.virsh("restore", image)
        self.assertEqual(self.state(name), "paused (user)")
        domid = self.domid(name)
        self.assertEqual(self.disk_backend(domid), other_disk)

    def test_damaged_image_gives_one_clear_error_and_loses_nothing(self):
        name = "sv4"
        self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c04")
        image = os.path.join(self.images, "sv4.save")
        self.virsh("save", name, image)
        with open(image, "rb") as f:
            data = bytearray(f.read())
        bad = os.path.join(self.images, "sv4-bad.save")
        data[len(data) // 2] ^= 0x40
        with open(bad, "wb") as f:
            f.write(data)
        ids = self.sim_domids()
        r = self.virsh("restore", bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"The save image {bad} does not match its checksum", r.stderr)
        # The helper's own sentence, not the guest log's earlier lines (xvirtd checks only the
        # structure; the checksum is the helper's, before it creates a domain).
        self.assertNotIn("info:", r.stderr)
        self.assertNotIn("starting:", r.stderr)
        self.assertEqual(self.sim_domids(), ids)
        self.assertEqual(self.state(name), "shut off (saved)")
        cut = os.path.join(self.images, "sv4-cut.save")
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 3])
        r = self.virsh("restore", cut, check=False)
        self.assertIn("is truncated", r.stderr)
        # The good image is untouched and restores.
        self.virsh("restore", image)
        self.assertEqual(self.state(name), "running (restored)")

    def test_failed_save_keeps_the_guest_running(self):
        name = "sv5"
        domid = self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c05")
        image = os.path.join(self.d.dir, "no-such-dir", "sv5.save")
        r = self.virsh("save", name, image, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(image, r.stderr)
        self.assertEqual(self.state(name), "running (unpaused)")
        self.assertIn(domid, self.sim_domids())


class ManagedSaveTest(SaveTestCase):
    def test_managedsave_start_resumes_and_removes_the_image(self):
        name = "ms1"
        domid = self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c11")
        self.scribble(domid)
        self.virsh("suspend", name)
        before = self.digest(domid)
        self.virsh("resume", name)
        self.virsh("managedsave", name, "--paused")
        self.assertEqual(self.state(name), "shut off (saved)")
        self.assertRegex(self.virsh("dominfo", name).stdout, r"Managed save:\s+yes")
        self.assertIn(name, self.virsh("list", "--all", "--managed-save").stdout)
        self.assertRegex(self.virsh("list", "--all", "--managed-save").stdout, rf"{name}\s+saved")
        image = os.path.join(self.d.dir, "data", "xvirt", "save", name + ".save")
        self.assertTrue(os.path.exists(image))

        self.virsh("start", name)  # resumes from the image, paused as managedsave --paused asked
        self.assertEqual(self.state(name), "paused (user)")
        domid2 = self.domid(name)
        self.assertEqual(self.digest(domid2), before)
        self.assertFalse(os.path.exists(image))
        self.assertRegex(self.virsh("dominfo", name).stdout, r"Managed save:\s+no")

    def test_undefine_refused_while_a_managed_image_exists(self):
        name = "ms2"
        self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c12")
        self.virsh("managedsave", name)
        r = self.virsh("undefine", name, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Refusing to undefine while domain managed save image exists", r.stderr)
        self.virsh("managedsave-remove", name)
        self.assertRegex(self.virsh("dominfo", name).stdout, r"Managed save:\s+no")
        self.virsh("start", name)
        self.assertEqual(self.state(name), "running (booted)")  # booted afresh: the image is gone
        self.virsh("managedsave", name)
        self.virsh("undefine", "--managed-save", name)
        self.assertNotEqual(self.virsh("dominfo", name, check=False).returncode, 0)

    def test_transient_domain_has_no_managed_save(self):
        import libvirt
        name, uuid = "ms3", "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c13"
        self.virsh("create", self.xml_file(name, uuid))
        self.addCleanup(self.virsh, "destroy", name, check=False)
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        with self.assertRaises(libvirt.libvirtError) as ctx:
            conn.lookupByName(name).managedSave(0)
        self.assertEqual(ctx.exception.get_error_code(), libvirt.VIR_ERR_OPERATION_INVALID)

    def test_python_save_restore_events(self):
        import libvirt
        name = "ms4"
        self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c14")
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        events = queue.Queue()
        cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         lambda c, d, ev, detail, opaque: events.put((d.name(), ev, detail)), None)
        self.addCleanup(conn.domainEventDeregisterAny, cb)
        image = os.path.join(self.images, "ms4.save")
        conn.lookupByName(name).save(image)
        conn.restoreFlags(image, None, libvirt.VIR_DOMAIN_SAVE_RUNNING)
        seen = []

        def got(expected):
            while True:
                try:
                    seen.append(events.get_nowait())
                except queue.Empty:
                    return expected in seen
        wait_for(lambda: got((name, libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED)),
                 what="Stopped Saved")
        wait_for(lambda: got((name, libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_RESTORED)),
                 what="Started Restored")
        self.assertEqual(conn.lookupByName(name).state(), [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_RESTORED])


class ManagedSaveOnStopTest(SaveTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The same daemon, started again with the option (the setting libvirt-guests' ON_SHUTDOWN=suspend gives).
        cls.d.restart(add_args=["--managed-save-on-stop"])

    def test_guests_are_saved_at_stop_and_resumed_at_start(self):
        name = "st1"
        domid = self.started(name, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c21")
        other = "st2"
        self.started(other, "6b0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c22", "--paused")
        self.scribble(domid)
        self.virsh("suspend", name)
        before = self.digest(domid)
        self.virsh("resume", name)
        self.d.restart()
        # Both come back from their managed images (resumed once the daemon serves), in the state
        # they had, and the images are gone.
        self.wait_state(name, "running (restored)")
        self.wait_state(other, "paused (user)")
        domid2 = self.domid(name)
        self.assertNotIn(domid, self.sim_domids() - {domid2})
        self.virsh("suspend", name)
        self.assertEqual(self.digest(domid2), before)
        self.assertRegex(self.virsh("dominfo", name).stdout, r"Managed save:\s+no")
        save_dir = os.path.join(self.d.dir, "data", "xvirt", "save")
        self.assertEqual(sorted(os.listdir(save_dir)), [])


if __name__ == "__main__":
    start_libvirt_event_loop()
    runner.main("XVIRTD", "XVIRT_XL")
