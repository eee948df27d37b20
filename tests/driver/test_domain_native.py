"""Native formats: domxml-from-native and domxml-to-native for xen-xl and xen-xm with the examples.

Usage: test_domain_native.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths, runner  # noqa: E402
from xvirt_test.domains import DomainTestCase  # noqa: E402


class NativeFormatTest(DomainTestCase):
    def native_round_trip(self, fmt, cfg, name):
        self.addCleanup(self.virsh, "undefine", name, check=False)
        xml = self.virsh("domxml-from-native", fmt, os.path.join(paths.EXAMPLES, cfg)).stdout
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
                xml = self.virsh("domxml-from-native", "xen-xl", os.path.join(paths.EXAMPLES, cfg)).stdout
                path = os.path.join(self.d.dir, f"{name}-xl.xml")
                with open(path, "w") as f:
                    f.write(xml)
                self.virsh("define", path)
                self.assertIn(f">{ostype}</type>", self.virsh("dumpxml", "--inactive", name).stdout)

    def test_unknown_format_and_read_only(self):
        r = self.virsh("domxml-from-native", "qemu-argv", os.path.join(paths.EXAMPLES, "linux-pv.cfg"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not one of xen-xl or xen-xm", r.stderr)
        bad = os.path.join(self.d.dir, "bad.cfg")
        with open(bad, "w") as f:
            f.write('memory = 256\nvcpus = "two\n')
        r = self.virsh("domxml-from-native", "xen-xl", bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        # As in libvirt, a read-only connection may not convert (the client library refuses first).
        r = self.virsh("domxml-from-native", "xen-xl", os.path.join(paths.EXAMPLES, "linux-pv.cfg"),
                       ro=True, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("read only", r.stderr)


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
