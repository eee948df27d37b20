"""Booting through xvirtd with real virsh (issue 5): examples/demo-pygrub.xml boots through Debian's real
pygrub from an ext4 image made with mke2fs -d, and an HVM guest runs with its device model, which goes
when the guest is destroyed. Usage (meson does this): test_virsh_boot.py [XVIRTD]."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths, runner  # noqa: E402
from xvirt_test.daemon import XvirtdTestCase  # noqa: E402
from xvirt_test.host import guest_ram  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

PYGRUB = "/usr/lib/xen-4.17/bin/pygrub"

HVM_XML = """<domain type='xen'>
  <name>hvm-dm</name>
  <uuid>6a1c0e52-3c1f-4d2b-9a57-0d5e7f1b2c77</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenfv'>hvm</type>
    <loader type='rom'>/usr/lib/xen-4.17/boot/hvmloader</loader>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-i386</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{disk}'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <console type='pty'><target type='xen' port='0'/></console>
  </devices>
</domain>
"""


class VirshBootTest(XvirtdTestCase):
    def domid(self, name):
        return int(self.d.virsh("domid", name).stdout.strip())

    @unittest.skipUnless(os.access(PYGRUB, os.X_OK), "needs Debian's pygrub (xen-utils-4.17)")
    def test_demo_pygrub_example_boots_through_pygrub(self):
        images = os.path.join(self.d.dir, "images")
        root = os.path.join(self.d.dir, "root")
        os.makedirs(os.path.join(root, "boot", "grub"))
        kernel = os.urandom(180 * 1024 + 9)
        with open(os.path.join(root, "boot", "vmlinuz"), "wb") as f:
            f.write(kernel)
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write("set timeout=1\nmenuentry 'demo' {\n  linux /boot/vmlinuz root=/dev/xvda console=hvc0\n}\n")
        os.makedirs(images)
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", root, os.path.join(images, "demo-pygrub.img"), "16M"],
                       check=True, capture_output=True)
        with open(os.path.join(paths.EXAMPLES, "demo-pygrub.xml")) as f:
            xml = f.read().replace("/var/lib/xvirt/images", images)
        path = os.path.join(self.d.dir, "demo-pygrub.xml")
        with open(path, "w") as f:
            f.write(xml)
        self.d.virsh("define", path)
        self.d.virsh("start", "demo-pygrub")
        self.assertEqual(self.d.virsh("domstate", "demo-pygrub").stdout.strip(), "running")
        self.assertEqual(guest_ram(self.d.sim_dir, self.domid("demo-pygrub"), 0x100000, len(kernel)), kernel)
        self.d.virsh("destroy", "demo-pygrub")
        self.d.virsh("undefine", "demo-pygrub")

    def test_hvm_guest_runs_with_its_device_model(self):
        disk = os.path.join(self.d.dir, "hvm.img")
        with open(disk, "wb") as f:
            f.truncate(8 << 20)
        path = os.path.join(self.d.dir, "hvm.xml")
        with open(path, "w") as f:
            f.write(HVM_XML.format(disk=disk))
        self.d.virsh("create", path)
        domid = self.domid("hvm-dm")
        log = os.path.join(self.d.dir, "cache", "xvirt", "log", "hvm-dm.log")
        def read_log():
            if not os.path.exists(log):
                return ""
            with open(log) as f:
                return f.read()

        wait_for(lambda: "is running (pid" in read_log(), what="the device model")
        text = read_log()
        pid = int(re.search(r"is running \(pid (\d+)\)", text).group(1))
        self.assertIn(f"-xen-domid {domid}", text)
        self.assertIn(f"xvirt-sim-dm: device model of domain {domid}", text)
        self.assertTrue(os.path.exists(f"/proc/{pid}"))
        self.d.virsh("destroy", "hvm-dm")
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the device model to stop with its guest")


if __name__ == "__main__":
    runner.main("XVIRTD")
