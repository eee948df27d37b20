"""Every way a guest boots, through the real helper on the simulated Xen host (issue 5): Debian's real
pygrub against an ext4 image made with mke2fs -d, its menu driven over the console pty."""
import os
import re
import select
import signal
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths  # noqa: E402
from xvirt_test.host import TempHost, guest_ram  # noqa: E402
from xvirt_test.qmp import QmpClient  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

PYGRUB = "/usr/lib/xen-4.17/bin/pygrub"
HVMLOADER = "/usr/lib/xen-4.17/boot/hvmloader"
PV_KERNEL_OFFSET = 0x100000
HVM_FIRMWARE_OFFSET = 0x100000
DIRECT_KERNEL_OFFSET = 0x200000
PAGE = 4096

GRUB_CFG = """set default=0
set timeout={timeout}
menuentry 'Alpha Linux' {{
  linux /boot/vmlinuz-alpha root=/dev/xvda console=hvc0
  initrd /boot/initrd-alpha
}}
menuentry 'Beta Linux' {{
  linux /boot/vmlinuz-beta root=/dev/xvda beta-entry
}}
"""


class PtyReader:
    """The user at the console: a plain os.open of the pty the helper printed."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.seen = b""

    def has(self, text):
        r, _, _ = select.select([self.fd], [], [], 0.05)
        if r:
            try:
                self.seen += os.read(self.fd, 65536)
            except BlockingIOError:
                pass
        return text in self.seen

    def send(self, data):
        os.write(self.fd, data)

    def close(self):
        os.close(self.fd)


@unittest.skipUnless(os.access(PYGRUB, os.X_OK), "needs Debian's pygrub (xen-utils-4.17)")
class PygrubTest(unittest.TestCase):
    def setUp(self):
        self.host = TempHost(prefix="xvirt-boot-")
        self.tmp = self.host.path("tmp")  # the helper's TMPDIR: pygrub's kernel copies land here
        os.mkdir(self.tmp)
        self.env = dict(self.host.env, TMPDIR=self.tmp)
        self.mon = self.host.path("g.qmp")
        self.files = {
            "vmlinuz-alpha": os.urandom(300 * 1024 + 123),
            "initrd-alpha": os.urandom(90 * 1024),
            "vmlinuz-beta": os.urandom(200 * 1024 + 7),
        }

    def tearDown(self):
        self.host.close()

    def make_disk(self, name, grub_cfg):
        root = self.host.path(name + ".d")
        os.makedirs(os.path.join(root, "boot", "grub"))
        for fname, data in self.files.items():
            with open(os.path.join(root, "boot", fname), "wb") as f:
                f.write(data)
        if grub_cfg is not None:
            with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
                f.write(grub_cfg)
        image = self.host.path(name + ".img")
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", root, image, "16M"], check=True,
                       capture_output=True)
        return image

    def spawn(self, disk, *extra):
        argv = [paths.HELPER, "-name", "grubby", "-M", "xenpv", "-m", "64", "-hda", disk, *extra,
                *self.host.helper_args(self.mon)]
        return self.host.spawn(argv, log_name="grubby.log", env=self.env)

    def log(self):
        return self.host.read("grubby.log")

    def monitor(self, proc):
        wait_for(lambda: os.path.exists(self.mon) or proc.poll() is not None, 30, "the monitor socket")
        self.assertIsNone(proc.poll(), self.log())
        qmp = QmpClient(self.mon, timeout=60)
        self.assertEqual(qmp.execute("qmp_capabilities"), {"return": {}})
        return qmp

    def pty_path(self, proc):
        marker = "char device redirected to "
        line = wait_for(lambda: next((l for l in self.log().splitlines() if marker in l), None)
                        or (proc.poll() is not None and self.fail(self.log())), 20, "the console pty")
        return line.split(marker, 1)[1].split(" ")[0]

    def assert_booted(self, qmp, kernel, ramdisk=None):
        self.assertEqual(qmp.execute("query-status")["return"]["status"], "running")
        domid = qmp.execute("query-domain")["return"]["domid"]
        self.assertEqual(guest_ram(self.host.sim_dir, domid, PV_KERNEL_OFFSET, len(kernel)), kernel)
        if ramdisk is not None:
            at = (PV_KERNEL_OFFSET + len(kernel) + PAGE - 1) // PAGE * PAGE
            self.assertEqual(guest_ram(self.host.sim_dir, domid, at, len(ramdisk)), ramdisk)
        # pygrub's copies of the kernel and ramdisk are gone once the domain is built.
        self.assertEqual(os.listdir(self.tmp), [])
        return domid

    def test_default_entry_boots_after_the_timeout(self):
        disk = self.make_disk("default", GRUB_CFG.format(timeout=1))
        proc = self.spawn(disk, "-serial", "pty")
        pty = PtyReader(self.pty_path(proc))
        try:
            qmp = self.monitor(proc)
            self.assert_booted(qmp, self.files["vmlinuz-alpha"], self.files["initrd-alpha"])
            # The menu went to the console before the guest's own boot lines, which carry the entry's args.
            wait_for(lambda: pty.has(b"Command line: root=/dev/xvda console=hvc0"), 10, "the guest's boot lines")
            self.assertIn(b"pyGRUB", pty.seen)
            self.assertLess(pty.seen.index(b"pyGRUB"), pty.seen.index(b"Command line:"))
        finally:
            pty.close()
        self.assertEqual(qmp.execute("quit"), {"return": {}})
        self.assertEqual(proc.wait(20), 4)

    def test_entry_chosen_over_the_console_pty(self):
        disk = self.make_disk("menu", GRUB_CFG.format(timeout=60))
        proc = self.spawn(disk, "-serial", "pty")
        pty = PtyReader(self.pty_path(proc))
        try:
            # The whole menu, countdown included (curses may send it in several writes).
            wait_for(lambda: pty.has(b"Beta Linux") and pty.has(b"Will boot selected entry in"), 30,
                     "pygrub's menu on the console pty")
            pty.send(b"\x1bOB")  # vt100 cursor down (TERM=vt100, keypad mode)
            pty.send(b"\r")
            qmp = self.monitor(proc)
            self.assert_booted(qmp, self.files["vmlinuz-beta"])
            wait_for(lambda: pty.has(b"Command line: root=/dev/xvda beta-entry"), 10,
                     "the chosen entry's command line")
        finally:
            pty.close()
        proc.terminate()
        self.assertEqual(proc.wait(20), 4)

    def test_sigterm_while_the_menu_waits_stops_pygrub_and_leaves_nothing(self):
        disk = self.make_disk("waiting", GRUB_CFG.format(timeout=120))
        proc = self.spawn(disk, "-serial", "pty")
        pty = PtyReader(self.pty_path(proc))
        try:
            wait_for(lambda: pty.has(b"Beta Linux"), 30, "pygrub's menu on the console pty")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(20), 1)
        finally:
            pty.close()
        self.assertIn("The bootloader for disk", self.log())
        self.assertIn("was stopped: the helper is shutting down", self.log())
        self.assertEqual(self.host.domain_ids(), [0])  # only dom0
        self.assertEqual(os.listdir(self.tmp), [])
        leftover = subprocess.run(["pgrep", "-f", disk], capture_output=True, text=True).stdout.split()
        self.assertEqual(leftover, [], "pygrub outlived the helper")

    def test_disk_without_grub_config_fails_clearly_and_leaves_nothing(self):
        disk = self.make_disk("nogrub", None)
        proc = self.spawn(disk, "-serial", "null")
        self.assertEqual(proc.wait(60), 1)
        log = self.log()
        self.assertIn(f"found nothing to boot on disk {disk} (xvda) of guest 'grubby'", log)
        self.assertIn("Unable to find partition containing kernel", log)
        self.assertEqual(self.host.domain_ids(), [0])  # only dom0
        self.assertEqual(os.listdir(self.tmp), [])

    def test_missing_bootloader_program_is_named(self):
        disk = self.make_disk("nobl", GRUB_CFG.format(timeout=0))
        proc = self.spawn(disk, "-serial", "null", "--bootloader", self.host.path("no-such-pygrub"))
        self.assertEqual(proc.wait(60), 1)
        self.assertIn(f"could not run for disk {disk} (xvda)", self.log())
        self.assertIn("no-such-pygrub: No such file or directory", self.log())
        self.assertEqual(self.host.domain_ids(), [0])  # only dom0
        self.assertEqual(os.listdir(self.tmp), [])


def bzimage(setup_sects, payload, relocatable=True, protocol=0x020F):
    """A file shaped like a bzImage: boot sector + setup sectors with the boot-protocol header, then the
    protected-mode payload. /boot/vmlinuz-* is used instead when the machine has one."""
    setup = bytearray(os.urandom((setup_sects + 1) * 512))
    setup[0x1F1] = setup_sects
    setup[0x1FE:0x200] = b"\x55\xaa"
    setup[0x202:0x206] = b"HdrS"
    setup[0x206:0x208] = struct.pack("<H", protocol)
    setup[0x234] = 1 if relocatable else 0
    return bytes(setup) + payload


def real_bzimage():
    """(file bytes, protected-mode part) of an installed Debian kernel, if it is readable."""
    boot = "/boot"
    for name in sorted(os.listdir(boot)) if os.path.isdir(boot) else []:
        if name.startswith("vmlinuz-"):
            try:
                with open(os.path.join(boot, name), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if data[0x202:0x206] == b"HdrS":
                sects = data[0x1F1] or 4
                return data, data[(sects + 1) * 512:]
    return None


class HvmTest(unittest.TestCase):
    def setUp(self):
        self.host = TempHost(prefix="xvirt-hvm-")
        self.mon = self.host.path("h.qmp")
        self.payload = os.urandom(400 * 1024 + 11)
        real = real_bzimage()
        if real:
            data, self.payload = real
            self.kernel = self.host.write("vmlinuz", data)
        else:
            self.kernel = self.host.write("vmlinuz", bzimage(27, self.payload))
        self.initrd = self.host.write("initrd.img", os.urandom(64 * 1024 + 5))
        self.disk = self.host.write("hvm.img", b"\0" * (1 << 20))

    def tearDown(self):
        self.host.close()

    def log(self, name):
        return self.host.read(f"{name}.log")

    def start(self, name, *args):
        return self.host.start_helper(["-name", name, *args], self.mon, f"{name}.log", qmp_timeout=30)

    def dm_pid(self, name):
        m = re.search(r"device model \S+ of guest '[^']+' is running \(pid (\d+)\)", self.log(name))
        self.assertIsNotNone(m, self.log(name))
        return int(m.group(1))

    def test_hvm_direct_kernel_boot_and_device_model_lifecycle(self):
        proc, qmp = self.start("hvm", "-M", "xenfv", "-m", "256", "-hda", self.disk, "-kernel", self.kernel,
                               "-initrd", self.initrd, "-append", "console=ttyS0", "-serial", "pty", "-nographic")
        domid = qmp.execute("query-domain")["return"]["domid"]
        # hvmloader at 1 MiB, the kernel's protected-mode part (not its setup sectors) at 2 MiB.
        with open(HVMLOADER, "rb") as f:
            firmware = f.read()
        self.assertEqual(guest_ram(self.host.sim_dir, domid, HVM_FIRMWARE_OFFSET, len(firmware)), firmware)
        self.assertEqual(guest_ram(self.host.sim_dir, domid, DIRECT_KERNEL_OFFSET, len(self.payload)), self.payload)
        with open(self.initrd, "rb") as f:
            initrd = f.read()
        at = (DIRECT_KERNEL_OFFSET + len(self.payload) + PAGE - 1) // PAGE * PAGE
        self.assertEqual(guest_ram(self.host.sim_dir, domid, at, len(initrd)), initrd)

        # The device model: a child of the helper, registered in xenstore as QEMU does, its output in the log.
        pid = self.dm_pid("hvm")
        with open(f"/proc/{pid}/status") as f:
            self.assertIn(f"PPid:\t{proc.pid}\n", f.read())
        state = self.host.xenstore("read", f"/local/domain/0/device-model/{domid}/state").stdout.strip()
        self.assertEqual(state, "running")
        log = self.log("hvm")
        self.assertIn(f"xvirt-sim-dm: device model of domain {domid} ('hvm', machine xenfv,suppress-vmdesc=on, "
                      "1 drives, 0 NICs) running", log)
        self.assertIn(f"-xen-domid {domid}", log)

        # Stopping the guest stops the device model first, and nothing is left.
        self.assertEqual(qmp.execute("quit"), {"return": {}})
        self.assertEqual(proc.wait(20), 4)
        self.assertFalse(os.path.exists(f"/proc/{pid}"), "the device model outlived its guest")
        self.assertNotIn(domid, self.host.domain_ids())
        gone = self.host.xenstore("exists", f"/local/domain/0/device-model/{domid}", check=False)
        self.assertEqual(gone.returncode, 1)

    def test_device_model_death_ends_the_guest(self):
        proc, qmp = self.start("dmdies", "-M", "xenfv", "-m", "128", "-hda", self.disk, "-serial", "null")
        domid = qmp.execute("query-domain")["return"]["domid"]
        pid = self.dm_pid("dmdies")
        os.kill(pid, signal.SIGKILL)
        ev = qmp.wait_event("SHUTDOWN", 20)
        self.assertEqual(ev["data"], {"guest": False, "reason": "host-error"})
        self.assertEqual(proc.wait(20), 7)
        self.assertIn("cannot run without its device model, so it is destroyed: the device model", self.log("dmdies"))
        self.assertIn("was killed by signal 9", self.log("dmdies"))
        self.assertNotIn(domid, self.host.domain_ids())
        self.assertEqual(self.host.xenstore("exists", f"/local/domain/{domid}", check=False).returncode, 1)

    def test_killed_helper_takes_its_device_model_along(self):
        # Nobody else would stop it: the domain it served is destroyed by xvirtd (or by hand).
        proc, qmp = self.start("hkill", "-M", "xenfv", "-m", "128", "-hda", self.disk, "-serial", "null")
        pid = self.dm_pid("hkill")
        proc.kill()
        proc.wait(20)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                 open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z", 20,
                 "the device model to die with its helper")

    def test_non_relocatable_kernel_is_refused_before_anything_runs(self):
        old = self.host.write("old-vmlinuz", bzimage(4, os.urandom(8192), relocatable=False, protocol=0x0204))
        r = self.host.run([paths.HELPER, "-name", "old", "-M", "xenfv", "-m", "128", "-kernel", old, "-serial", "null",
                           "--hypervisor", "sim", "--sim-dir", self.host.sim_dir], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"The kernel {old} is not relocatable, so it cannot be loaded at 0x200000", r.stderr)
        self.assertEqual(self.host.domain_ids(), [0])  # only dom0

    def test_pvh_direct_kernel_boot(self):
        kernel = self.host.write("vmlinux-pvh", os.urandom(250 * 1024 + 3))
        proc, qmp = self.start("pvh", "-M", "xenpvh", "-m", "128", "-kernel", kernel, "-append", "console=hvc0 pvh",
                               "-serial", "pty")
        dom = qmp.execute("query-domain")["return"]
        self.assertEqual(dom["type"], "pvh")
        with open(kernel, "rb") as f:
            data = f.read()
        self.assertEqual(guest_ram(self.host.sim_dir, dom["domid"], DIRECT_KERNEL_OFFSET, len(data)), data)
        # No firmware and no device model for PVH.
        self.assertEqual(guest_ram(self.host.sim_dir, dom["domid"], HVM_FIRMWARE_OFFSET, 4096), b"\0" * 4096)
        self.assertNotIn("device model", self.log("pvh"))
        pty = PtyReader(qmp.execute("query-chardev")["return"][0]["filename"][4:])
        try:
            wait_for(lambda: pty.has(b"Command line: console=hvc0 pvh"), 10, "the PVH guest's boot lines")
        finally:
            pty.close()
        self.assertEqual(qmp.execute("quit"), {"return": {}})
        self.assertEqual(proc.wait(20), 4)


if __name__ == "__main__":
    unittest.main()
