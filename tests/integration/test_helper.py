"""xvirt-helper as a real process on the simulated Xen host (issue 4): the design's command lines,
the xenstore tree, the console, the monitor from a plain Python QMP client, lifecycle and clean-up."""
import json
import os
import select
import signal
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths  # noqa: E402
from xvirt_test.host import TempHost  # noqa: E402
from xvirt_test.qmp import QmpClient  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402


class HelperTest(unittest.TestCase):
    def setUp(self):
        self.host = TempHost()
        self.kernel = self.host.write("vmlinux", os.urandom(300 * 1024))
        self.initrd = self.host.write("initrd", os.urandom(100 * 1024))
        self.disk = self.host.write("demo.img", b"\0" * (1 << 20))
        self.mon = self.host.path("demo.qmp")

    def tearDown(self):
        self.host.close()

    def start(self, *extra, name="demo"):
        proc, qmp = self.host.start_helper(["-name", name, *extra], self.mon, f"{name}.log", timeout=20)
        self.assertIn("QMP", qmp.greeting)
        return proc, qmp

    def log(self, name="demo"):
        return self.host.read(f"{name}.log")

    def test_pv_direct_kernel_boot_tree_console_and_powerdown(self):
        # The design's first command line, with real files.
        proc, qmp = self.start("-M", "xenpv", "-hda", self.disk, "-m", "500", "-kernel", self.kernel,
                               "-initrd", self.initrd, "-serial", "pty")
        status = qmp.execute("query-status", id="s1")
        self.assertEqual(status, {"return": {"running": True, "singlestep": False, "status": "running"}, "id": "s1"})
        dom = qmp.execute("query-domain")["return"]
        domid = dom["domid"]
        self.assertEqual(dom["name"], "demo")
        self.assertIn(domid, self.host.domain_ids())

        # The tree as xenstore-ls shows it.
        tree = self.host.xenstore("ls", f"/local/domain/{domid}").stdout
        self.assertIn('name = "demo"', tree)
        self.assertIn(f'vm = "/vm/{dom["uuid"]}"', tree)
        self.assertIn('target = "512000"', tree)
        self.assertIn('availability = "online"', tree)
        self.assertIn("51712", tree)  # xvda's frontend
        # A -hda image file is served by the device model's qdisk backend, as qemu-xen serves it.
        backend = self.host.xenstore("read", f"/local/domain/0/backend/qdisk/{domid}/51712/params").stdout.strip()
        self.assertEqual(backend, self.disk)

        # The console: query-chardev names the pty, and the guest's boot lines are on it.
        chardev = qmp.execute("query-chardev")["return"][0]
        self.assertTrue(chardev["filename"].startswith("pty:/dev/pts/"), chardev)
        pty = chardev["filename"][4:]
        fd = os.open(pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        seen = b""

        def boot_lines():
            nonlocal seen
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                seen += os.read(fd, 65536)
            return os.path.basename(self.kernel).encode() in seen

        wait_for(boot_lines, 10, "boot lines on the pty")
        os.close(fd)

        # system_powerdown: POWERDOWN now, SHUTDOWN when the guest is down, then a clean exit.
        self.assertEqual(qmp.execute("system_powerdown"), {"return": {}})
        qmp.wait_event("POWERDOWN")
        ev = qmp.wait_event("SHUTDOWN")
        self.assertEqual(ev["data"]["reason"], "guest-shutdown")
        self.assertEqual(proc.wait(20), 0)
        self.assertNotIn(domid, self.host.domain_ids())
        self.assertEqual(self.host.xenstore("exists", f"/local/domain/{domid}", check=False).returncode, 1)

    def test_hvm_command_line_starts_paused_and_follows_stop_cont(self):
        # The design's third command line, plus -S.
        proc, qmp = self.start("-M", "xenfv", "-hda", self.disk, "-m", "500", "-kernel", self.kernel,
                               "-initrd", self.initrd, "-append", "console=ttyS0", "-serial", "pty",
                               "-nographic", "-S")
        states = []
        for cmd in (None, "cont", "stop", "cont"):
            if cmd:
                self.assertEqual(qmp.execute(cmd), {"return": {}})
            states.append(qmp.execute("query-status")["return"]["status"])
        self.assertEqual(states, ["paused", "running", "paused", "running"])
        self.assertEqual([e["event"] for e in qmp.events], ["RESUME", "STOP", "RESUME"])
        domid = qmp.execute("query-domain")["return"]["domid"]
        cpus = qmp.execute("query-cpus")["return"]
        self.assertEqual(cpus[0]["cpu-index"], 0)

        # SIGTERM destroys the domain and leaves no xenstore tree.
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(20), 4)
        self.assertNotIn(domid, self.host.domain_ids())
        self.assertEqual(self.host.xenstore("exists", f"/local/domain/{domid}", check=False).returncode, 1)

    def console_file_has(self, path, text, count=1):
        def check():
            if not os.path.exists(path):
                return False
            with open(path, "rb") as f:
                return f.read().count(text) >= count
        return check

    def test_file_console_and_reboot_restart_in_the_same_process(self):
        log = self.host.path("demo-console.log")
        proc, qmp = self.start("-M", "xenpv", "-m", "128", "-kernel", self.kernel, "-append", "console=hvc0",
                               "-serial", f"file:{log}")
        kname = os.path.basename(self.kernel).encode()
        wait_for(self.console_file_has(log, kname), 10, "boot lines in the console file")
        first = qmp.execute("query-domain")["return"]["domid"]

        # The guest's own reboot (control/shutdown=reboot); on_reboot is restart for the command line.
        self.host.xenstore("write", f"/local/domain/{first}/control/shutdown", "reboot")
        ev = qmp.wait_event("RESET", 20)
        self.assertEqual(ev["data"], {"guest": True, "reason": "guest-reset"})
        wait_for(lambda: qmp.execute("query-status")["return"]["status"] == "running", 20, "the rebuilt guest")
        second = qmp.execute("query-domain")["return"]["domid"]
        self.assertNotEqual(second, first)
        self.assertIsNone(proc.poll(), "a restart happens inside the same helper process")
        ids = self.host.domain_ids()
        self.assertIn(second, ids)
        self.assertNotIn(first, ids)
        wait_for(self.console_file_has(log, kname, 2), 10, "the second boot in the console file")
        self.assertEqual(qmp.execute("quit"), {"return": {}})
        self.assertEqual(proc.wait(20), 4)
        self.assertNotIn(second, self.host.domain_ids())

    def test_guest_crash_ends_the_helper_with_status_3(self):
        proc, qmp = self.start("-M", "xenpv", "-m", "128", "-kernel", self.kernel, "-serial", "null")
        domid = qmp.execute("query-domain")["return"]["domid"]
        # The simulated host's fault hook: the guest panics (shutdown reason crash).
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(os.path.join(self.host.sim_dir, "hypercall.sock"))
            s.sendall(json.dumps({"op": "crash", "domid": domid}).encode() + b"\n")
            self.assertIn("ok", json.loads(s.makefile().readline()))
        ev = qmp.wait_event("SHUTDOWN", 20)
        self.assertEqual(ev["data"]["reason"], "guest-panic")
        self.assertEqual(ev["data"]["xen-reason"], "crash")
        self.assertEqual(proc.wait(20), 3)
        self.assertNotIn(domid, self.host.domain_ids())

    def test_monitor_bad_input_keeps_the_guest_running(self):
        proc, qmp = self.start("-M", "xenpv", "-m", "128", "-kernel", self.kernel, "-serial", "null")
        qmp.send_raw(b"{this is not json\n")
        self.assertEqual(qmp.read_message()["error"]["class"], "GenericError")
        qmp.send_raw(b"x" * (10 << 20) + b"\n")
        self.assertEqual(qmp.read_message()["error"]["class"], "GenericError")
        self.assertEqual(qmp.execute("no-such-command", id=3)["error"]["class"], "CommandNotFound")
        err = qmp.execute("stop", {"force": "yes"})["error"]
        self.assertEqual(err, {"class": "GenericError", "desc": "Parameter 'force' is unexpected"})
        self.assertEqual(qmp.execute("query-status")["return"]["status"], "running")
        names = {c["name"] for c in qmp.execute("query-commands")["return"]}
        self.assertTrue({"qmp_capabilities", "query-status", "stop", "cont", "quit"} <= names)
        self.assertEqual(qmp.execute("quit"), {"return": {}})
        self.assertEqual(proc.wait(20), 4)

    def test_commands_before_negotiation_are_refused(self):
        proc = self.host.spawn([paths.HELPER, "-name", "neg", "-kernel", self.kernel, "-serial", "null",
                                "-qmp", f"unix:{self.mon},server", "--hypervisor", "sim",
                                "--sim-dir", self.host.sim_dir], log_name="neg.log")
        wait_for(lambda: os.path.exists(self.mon), 20, "the monitor socket")
        qmp = QmpClient(self.mon)
        reply = qmp.execute("query-status", id="early")
        self.assertEqual(reply["error"]["class"], "CommandNotFound")
        self.assertEqual(reply["id"], "early")
        proc.terminate()
        proc.wait(20)

    def test_bad_command_lines_fail_before_any_domain_exists(self):
        cases = [
            (["-name", "x", "-M", "pc", "-kernel", self.kernel], "-M: unsupported machine type 'pc'"),
            (["-name", "x", "-kernel", self.kernel, "-frobnicate"], "-frobnicate: invalid option"),
            (["-name", "x", "-hda", self.disk, "-append", "quiet"], "-append: only allowed with the -kernel option"),
        ]
        for argv, message in cases:
            r = self.host.run([paths.HELPER, *argv, "--hypervisor", "sim", "--sim-dir", self.host.sim_dir], check=False)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(message, r.stderr)
        # Nothing was started, so no simulated host and certainly no domain.
        self.assertFalse(os.path.exists(os.path.join(self.host.sim_dir, "hypercall.sock")))


if __name__ == "__main__":
    unittest.main()
