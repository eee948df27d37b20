"""Host facts and disk sizes (issue 23): virsh nodememstats, freecell, nodecpustats, sysinfo and
domblkinfo against the real xvirtd on a simulated Xen host, with python3-libvirt and raw protocol
bytes where virsh refuses on its side first. Every figure is checked against the host it comes
from, and moves when the host does: a guest that starts takes memory, a guest that runs takes a
CPU's idle time, a disk that fills gains allocation, a DMI attribute that changes changes sysinfo.

Usage: test_host_info.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md)."""
import os
import re
import shutil
import struct
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import rawrpc, runner  # noqa: E402
from xvirt_test.daemon import XvirtdTestCase, environment  # noqa: E402
from xvirt_test.domains import SMALL_DOMAIN_XML, FourCpuTestCase, write_file  # noqa: E402
from xvirt_test.host import sim_call  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

def kib_lines(text):
    """virsh nodememstats / freecell output -> {label: KiB}."""
    return {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"^\s*([\w ]+?)\s*:\s*(\d+) KiB", text, re.M)}


def cpu_lines(text):
    """virsh nodecpustats output -> {field: value}."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+)\s*$", text, re.M)}


class HostMemoryAndCpuTest(FourCpuTestCase):
    def setUp(self):
        import libvirt
        self.libvirt = libvirt
        self.conn = libvirt.open(self.d.uri)
        self.addCleanup(self.conn.close)

    def assert_error(self, call, code, message):
        with self.assertRaises(self.libvirt.libvirtError) as e:
            call()
        self.assertEqual((e.exception.get_error_code(), e.exception.get_error_message()), (code, message))

    def small_guest(self, name):
        return self.start_domain(name, str(uuid.uuid4()), template=SMALL_DOMAIN_XML)

    def test_nodememstats_is_the_hosts_memory_and_moves_with_guests(self):
        total_kib = int(re.search(r"Memory size:\s+(\d+) KiB", self.virsh("nodeinfo").stdout).group(1))
        before = kib_lines(self.virsh("nodememstats").stdout)
        self.assertEqual(sorted(before), ["free", "total"])
        self.assertEqual(before["total"], total_kib)
        self.assertEqual(before["free"], self.conn.getFreeMemory() // 1024)
        self.assertEqual(kib_lines(self.virsh("nodememstats", "--cell", "0").stdout), before)  # one NUMA node
        self.small_guest("mem1")
        after = kib_lines(self.virsh("nodememstats").stdout)
        self.assertEqual(after["total"], before["total"])
        self.assertLessEqual(after["free"], before["free"] - 64 * 1024, "a 64 MiB guest took no memory")
        self.assertEqual(self.conn.getMemoryStats(-1), after)
        self.assertEqual(self.conn.getMemoryStats(0), after)
        lv = self.libvirt
        self.assert_error(lambda: self.conn.getMemoryStats(1), lv.VIR_ERR_INVALID_ARG,
                          "invalid argument: cellNum in libxlNodeGetMemoryStats must be less than or equal to 0")
        err = self.virsh("nodememstats", "--cell", "1", check=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("cellNum in libxlNodeGetMemoryStats must be less than or equal to 0", err.stderr)
        # Raw: the two-call protocol (nparams 0 asks for the count) and the public API's checks.
        c = self.raw()
        c.handshake()
        c.send(rawrpc.call(228, 3, struct.pack(">iiI", 0, -1, 0)))
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK)
        self.assertEqual(body, struct.pack(">Ii", 0, 2))  # no fields, nparams 2
        c.send(rawrpc.call(228, 4, struct.pack(">iiI", 1, -1, 0)))
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"], "invalid argument: nparams in libxlNodeGetMemoryStats must be 2")
        c.send(rawrpc.call(228, 5, struct.pack(">iiI", 2, -2, 0)))
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"],
                         "invalid argument: cellNum in virNodeGetMemoryStats only accepts -1 as a negative value")

    def test_freecell_per_node_and_total(self):
        out = self.virsh("freecell", "--all").stdout
        cells = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"^\s*(\d+):\s+(\d+) KiB", out, re.M)}
        self.assertEqual(list(cells), [0])  # (virsh -q leaves out the total line)
        self.assertEqual(cells[0], self.conn.getFreeMemory() // 1024)
        self.assertEqual(self.conn.getCellsFreeMemory(0, 8), [cells[0] * 1024])  # as many as there are
        self.small_guest("cell1")
        after = kib_lines(self.virsh("freecell", "0").stdout)
        self.assertLessEqual(after["0"], cells[0] - 64 * 1024)
        self.assertEqual(after["0"], self.conn.getFreeMemory() // 1024)
        err = self.virsh("freecell", "1", check=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("internal error: start cell 1 out of range (0-0)", err.stderr)
        # virsh and libvirt's client check these before sending; raw clients hear the server.
        c = self.raw()
        c.handshake()
        for serial, (start, count, message) in enumerate([
                (0, 0, "invalid argument: maxCells in virNodeGetCellsFreeMemory must be greater than zero"),
                (-1, 1, "invalid argument: startCell in virNodeGetCellsFreeMemory must be zero or greater")], 3):
            c.send(rawrpc.call(101, serial, struct.pack(">ii", start, count)))
            hdr, body = c.read_reply()
            self.assertEqual(hdr[5], rawrpc.ERROR)
            self.assertEqual((c.error_of(body)["code"], c.error_of(body)["message"]),
                             (self.libvirt.VIR_ERR_INVALID_ARG, message))

    def test_nodecpustats_idle_time_follows_what_runs_where(self):
        def idle(*args):
            stats = cpu_lines(self.virsh("nodecpustats", *args).stdout)
            self.assertEqual(sorted(stats), ["idle"], "Xen accounts only idle time per CPU")
            return stats["idle"]

        t0 = idle()
        wait_for(lambda: idle() > t0, what="the host's idle time to grow")
        per_cpu = [idle("--cpu", str(i)) for i in range(4)]
        self.assertTrue(all(v > 0 for v in per_cpu), per_cpu)
        self.assertEqual(self.conn.getCPUStats(-1).keys(), {"idle"})
        # A guest busy at 100 % on host CPU 1 leaves that CPU no idle time, while CPU 0 idles on.
        domid = self.small_guest("busy")
        self.virsh("vcpupin", "busy", "0", "1")
        sim_call(self.sim_dir, {"op": "set_load", "domid": domid, "load": 100})
        cpu0, cpu1 = idle("--cpu", "0"), idle("--cpu", "1")
        wait_for(lambda: idle("--cpu", "0") > cpu0 + 50_000_000, what="CPU 0 to idle 50 ms more")
        self.assertEqual(idle("--cpu", "1"), cpu1, "CPU 1 idled while a guest kept it busy")
        self.assertEqual(self.conn.getCPUStats(1)["idle"], cpu1)
        # The guest stops: CPU 1 idles again.
        self.virsh("destroy", "busy")
        wait_for(lambda: idle("--cpu", "1") > cpu1, what="CPU 1 to idle again")
        # --percent: virsh derives usage from user and kernel time, which Xen does not have.
        out = self.virsh("nodecpustats", "--cpu", "0", "--percent").stdout
        self.assertRegex(out, r"idle:\s+100\.0%")
        lv = self.libvirt
        err = self.virsh("nodecpustats", "--cpu", "4", check=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("invalid argument: Invalid cpuNum in libxlNodeGetCPUStats", err.stderr)
        self.assert_error(lambda: self.conn.getCPUStats(4), lv.VIR_ERR_INVALID_ARG,
                          "invalid argument: Invalid cpuNum in libxlNodeGetCPUStats")
        c = self.raw()
        c.handshake()
        c.send(rawrpc.call(227, 3, struct.pack(">iiI", -1, 0, 0)))
        hdr, body = c.read_reply()
        self.assertEqual(body, struct.pack(">Ii", 0, 1))
        c.send(rawrpc.call(227, 4, struct.pack(">iiI", -2, 1, 0)))
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"],
                         "invalid argument: cpuNum in virNodeGetCPUStats only accepts -1 as a negative value")


class BlockInfoTest(FourCpuTestCase):
    def blkinfo(self, *args):
        out = self.virsh("domblkinfo", *args).stdout
        return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+)\s*$", out, re.M)}

    def own_disk(self, name, size):
        return write_file(os.path.join(self.d.dir, name), size=size)

    def guest_with_disk(self, name, disk, start=True, driver="", empty_cdrom=False):
        xml = SMALL_DOMAIN_XML.format(name=name, uuid=str(uuid.uuid4()), kernel=self.kernel, disk=disk)
        if driver:
            xml = xml.replace("<source file=", f"<driver name='qemu' type='{driver}'/><source file=")
        if empty_cdrom:
            xml = xml.replace("<console ", "<disk type='file' device='cdrom'><target dev='xvdc' bus='xen'/><readonly/></disk>"
                              "<console ")
        path = os.path.join(self.d.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", path)
        if start:
            self.virsh("start", name)

    def test_file_disk_sizes_follow_the_file(self):
        disk = self.own_disk("blk1.img", 32 << 20)  # sparse: nothing allocated yet
        self.guest_with_disk("blk1", disk)
        st = os.stat(disk)
        info = self.blkinfo("blk1", "xvda")
        self.assertEqual(info, {"Capacity": 32 << 20, "Allocation": st.st_blocks * 512, "Physical": 32 << 20})
        with open(disk, "r+b") as f:  # the guest's disk fills
            f.write(os.urandom(1 << 20))
            f.flush()
            os.fsync(f.fileno())
        grown = self.blkinfo("blk1", disk)  # by source path too
        self.assertEqual(grown["Allocation"], os.stat(disk).st_blocks * 512)
        self.assertGreaterEqual(grown["Allocation"], 1 << 20)
        out = self.virsh("domblkinfo", "blk1", "--all").stdout
        self.assertRegex(out, r"xvda\s+%d\s+%d\s+%d" % (32 << 20, grown["Allocation"], 32 << 20))
        err = self.virsh("domblkinfo", "blk1", "xvdz", check=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("invalid argument: invalid path xvdz not assigned to domain", err.stderr)

    def test_inactive_domain_and_qcow2_virtual_size(self):
        header = b"QFI\xfb" + struct.pack(">I", 3) + bytes(16) + struct.pack(">Q", 5 << 30) + bytes(72)
        disk = write_file(os.path.join(self.d.dir, "blk2.qcow2"), header, size=256 << 10)
        self.guest_with_disk("blk2", disk, start=False, driver="qcow2", empty_cdrom=True)
        st = os.stat(disk)
        self.assertEqual(self.blkinfo("blk2", "xvda"),
                         {"Capacity": 5 << 30, "Allocation": st.st_blocks * 512, "Physical": 256 << 10})
        # A cdrom without a medium has nothing to measure: virsh --all shows dashes, by name an error.
        out = self.virsh("domblkinfo", "blk2", "--all").stdout
        self.assertRegex(out, r"xvdc\s+-\s+-\s+-")
        err = self.virsh("domblkinfo", "blk2", "xvdc", check=False)
        self.assertIn("invalid argument: disk 'xvdc' does not currently have a source assigned", err.stderr)
        os.unlink(disk)
        err = self.virsh("domblkinfo", "blk2", "xvda", check=False)
        self.assertIn(f"cannot stat file '{disk}': No such file or directory", err.stderr)


class SysinfoTest(XvirtdTestCase):
    """sysinfo from a DMI tree of the test's own (XVIRT_DMI_DIR), read on every call."""

    @classmethod
    def setUpClass(cls):
        cls.dmi = tempfile.mkdtemp(prefix="xvirt-dmi-")
        for name, value in {"bios_vendor": "SeaBIOS", "bios_version": "1.16.2", "bios_date": "04/01/2014",
                            "sys_vendor": "QEMU", "product_name": "Standard PC (i440FX + PIIX, 1996)",
                            "product_uuid": "8d4e3c6a-1b2f-4d5e-9a0b-1c2d3e4f5a6b", "board_vendor": "Xen & Co",
                            "chassis_vendor": "QEMU"}.items():
            with open(os.path.join(cls.dmi, name), "w") as f:
                f.write(value + "\n")
        with environment("XVIRT_DMI_DIR", cls.dmi):
            super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.dmi, ignore_errors=True)

    def test_sysinfo_is_the_hosts_dmi(self):
        out = self.virsh("sysinfo").stdout
        self.assertIn("<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>SeaBIOS</entry>\n"
                      "    <entry name='version'>1.16.2</entry>\n    <entry name='date'>04/01/2014</entry>\n  </bios>\n",
                      out)
        self.assertIn("<entry name='uuid'>8d4e3c6a-1b2f-4d5e-9a0b-1c2d3e4f5a6b</entry>", out)
        self.assertIn("<baseBoard>\n    <entry name='manufacturer'>Xen &amp; Co</entry>\n  </baseBoard>", out)
        with open(os.path.join(self.dmi, "bios_version"), "w") as f:  # a firmware update
            f.write("1.17.0\n")
        self.assertIn("<entry name='version'>1.17.0</entry>", self.virsh("sysinfo").stdout)

    def test_no_dmi_is_libxls_error(self):
        moved = self.dmi + ".away"
        os.rename(self.dmi, moved)
        self.addCleanup(os.rename, moved, self.dmi)
        err = self.virsh("sysinfo", check=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("unsupported configuration: Host SMBIOS information is not available", err.stderr)


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
