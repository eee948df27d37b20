"""CPU and memory tuning: vCPU pinning (live and config), and the memory and vCPU counts of the
persistent definition (issue 7 parts 4 and 5).

Usage: test_domain_tuning.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import runner  # noqa: E402
from xvirt_test.domains import DomainTestCase, FourCpuTestCase, vcpuinfo  # noqa: E402


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
        self.start_domain(name, uuid)
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


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
