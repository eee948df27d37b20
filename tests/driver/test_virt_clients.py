"""Real clients beyond virsh against the real xvirtd on the simulated host: virt-install 4.1
(--print-xml and --import of a PV guest) and virt-manager 4.1 under Xvfb (connects, lists the guests,
opens one's console; a screenshot is kept in build/test-artifacts/virt-manager.png).

Usage (meson does this): test_virt_clients.py [XVIRTD]. Skips a client whose program is not installed
(scripts/setup.sh installs them). Waits poll with deadlines; every process started is stopped.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths, runner  # noqa: E402
from xvirt_test.daemon import XvirtdTestCase  # noqa: E402
from xvirt_test.domains import write_file, write_kernel  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402


class ClientTestCase(XvirtdTestCase):
    strict_stop = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kernel = write_kernel(cls.d.dir)
        cls.initrd = write_file(os.path.join(cls.d.dir, "initrd.img"), b"xvirt test initrd\n" * 64)
        cls.disk = write_file(os.path.join(cls.d.dir, "disk.img"), size=16 << 20)

    def virt_install(self, name, *extra):
        # virtinst drops a plain --disk path= when the connection has no storage pools (xvirtd has
        # none), so the disk is given as its XML properties.
        argv = ["virt-install", "--connect", self.d.uri, "--name", name, "--memory", "128", "--vcpus", "1",
                "--import", "--paravirt", "--osinfo", "generic", "--noautoconsole", "--graphics", "none",
                "--network", "none",
                "--disk", f"type=file,device=disk,source.file={self.disk},target.dev=xvda,target.bus=xen",
                "--boot", f"kernel={self.kernel},initrd={self.initrd},kernel_args=console=hvc0", *extra]
        return subprocess.run(argv, env=self.d.env, capture_output=True, text=True, timeout=120)


@unittest.skipUnless(shutil.which("virt-install"), "virt-install is not installed")
class VirtInstallTest(ClientTestCase):
    def test_print_xml_then_import_a_pv_guest(self):
        r = self.virt_install("vi1", "--print-xml")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<name>vi1</name>", r.stdout)
        self.assertRegex(r.stdout, r"<type arch=\"x86_64\" machine=\"xenpv\">xen</type>")
        self.assertIn(f"<kernel>{self.kernel}</kernel>", r.stdout)
        self.assertIn(f"<source file=\"{self.disk}\"/>", r.stdout)
        self.assertNotIn("vi1", self.d.virsh("list", "--all", "--name").stdout, "--print-xml defines nothing")

        r = self.virt_install("vi1")
        self.assertEqual(r.returncode, 0, r.stderr + self.d.logtext()[-3000:])
        self.assertIn("Domain creation completed", r.stdout)
        self.assertEqual(self.d.virsh("domstate", "vi1").stdout.strip(), "running")
        self.assertRegex(self.d.virsh("dominfo", "vi1").stdout, r"Persistent:\s+yes")
        xml = self.d.virsh("dumpxml", "vi1").stdout
        self.assertIn(f"<initrd>{self.initrd}</initrd>", xml)
        self.assertIn("<cmdline>console=hvc0</cmdline>", xml)
        # What virt-install asked for, in the order virt-install 4.1 calls it.
        log = self.d.logtext()
        self.assertLess(log.rindex("calls DOMAIN_CREATE_XML"), log.rindex("calls DOMAIN_DEFINE_XML"))
        # A second install of the same name is refused by virt-install's own check.
        r = self.virt_install("vi1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already in use", r.stderr)
        self.d.virsh("destroy", "vi1")
        self.d.virsh("undefine", "vi1")


@unittest.skipUnless(shutil.which("virt-manager") and shutil.which("Xvfb") and shutil.which("import"),
                     "virt-manager, Xvfb or ImageMagick's import is not installed")
class VirtManagerTest(ClientTestCase):
    def start(self, argv, **kw):
        p = subprocess.Popen(argv, env=kw.pop("env", self.d.env), stdout=kw.pop("stdout", subprocess.DEVNULL),
                             stderr=subprocess.STDOUT, start_new_session=True, **kw)

        def stop():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        self.addCleanup(stop)
        return p

    def test_lists_guests_and_opens_a_console(self):
        r = self.virt_install("vm1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(self.d.virsh, "undefine", "vm1", check=False)
        self.addCleanup(self.d.virsh, "destroy", "vm1", check=False)
        read_fd, write_fd = os.pipe()
        xvfb = self.start(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                          pass_fds=(write_fd,))
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            display = ":" + f.readline().strip()
        self.assertEqual(xvfb.poll(), None, "Xvfb exited")
        env = dict(self.d.env, DISPLAY=display, NO_AT_BRIDGE="1", GSETTINGS_BACKEND="memory")
        log = open(os.path.join(self.d.dir, "virt-manager.log"), "w")
        self.addCleanup(log.close)
        vm = self.start(["virt-manager", "--no-fork", "--connect", self.d.uri, "--show-domain-console", "vm1"],
                        env=env, stdout=log)

        # Connected, listed the guests and opened the console: the procedures are in xvirtd's log.
        def seen(text):
            return text in self.d.logtext() or vm.poll() is not None
        for proc in ("CONNECT_LIST_ALL_DOMAINS", "DOMAIN_GET_XML_DESC", "DOMAIN_OPEN_CONSOLE"):
            wait_for(lambda: seen(f"calls {proc}"), timeout=60, what=f"virt-manager to call {proc}")
            if vm.poll() is not None:
                with open(log.name) as f:
                    self.fail("virt-manager exited:\n" + f.read()[-3000:])

        # The guest's window is mapped with its name in the title.
        def titles():
            out = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True).stdout
            return re.findall(r'"([^"]*vm1[^"]*)"', out)
        if shutil.which("xwininfo"):
            wait_for(titles, timeout=30, what="a window titled with the guest's name")
        os.makedirs(paths.ARTIFACTS, exist_ok=True)
        shot = os.path.join(paths.ARTIFACTS, "virt-manager.png")
        # Screenshots until the windows are drawn (an all-black root compresses to a few hundred bytes).
        def drawn():
            subprocess.run(["import", "-display", display, "-window", "root", shot], env=env, check=True, timeout=60)
            return os.path.getsize(shot) > 5000
        wait_for(drawn, timeout=60, what="virt-manager's windows to be drawn")
        print(f"screenshot: {shot}")


if __name__ == "__main__":
    runner.main("XVIRTD")
