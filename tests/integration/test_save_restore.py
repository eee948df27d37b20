"""Save and restore through the real xvirt-helper on the simulated Xen host (issue 5, item 3): a
1 GiB guest's memory, xenstore devices and console survive save -> --restore; truncated, altered
and foreign images are refused before any domain exists; a failed save leaves the guest running
and no image behind."""
import os
import select
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths  # noqa: E402
from xvirt_test.host import TempHost, guest_ram_digest, guest_ram_path, sim_call  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

MiB = 1 << 20


def runs_unsuspended(test, host, domid):
    """The domain runs, and is not shut down: a guest that suspended itself for a save was
    brought back in place (the sim's 'resume', xc_domain_resume on Xen)."""
    info = sim_call(host.sim_dir, {"op": "info", "domid": domid})
    test.assertFalse(info["shutdown"], info)
    test.assertFalse(info["paused"], info)


class SaveRestoreTest(unittest.TestCase):
    def setUp(self):
        self.host = TempHost(prefix="xvirt-save-")
        self.kernel = self.host.write("vmlinux", os.urandom(300 * 1024))
        self.disk = self.host.write("demo.img", b"\0" * MiB)
        self.disk2 = self.host.write("data.img", b"\0" * MiB)
        self.images = self.host.path("images")
        os.mkdir(self.images)
        self.n = 0

    def tearDown(self):
        self.host.close()

    def helper(self, *args, name="demo"):
        self.n += 1
        mon = self.host.path(f"m{self.n}.qmp")
        return self.host.start_helper(list(args), mon, f"{name}-{self.n}.log", qmp_timeout=60)

    def boot(self, mem_mb=1024):
        return self.helper("-name", "demo", "-M", "xenpv", "-m", str(mem_mb), "-kernel", self.kernel,
                           "-hda", self.disk, "-hdb", self.disk2, "-serial", "pty")

    def fill_ram(self, domid, mib):
        """Writes `mib` MiB of random bytes in 1 MiB pieces spread over the guest's RAM."""
        size = os.path.getsize(guest_ram_path(self.host.sim_dir, domid))
        step = (size // 2) // mib // MiB * MiB
        with open(guest_ram_path(self.host.sim_dir, domid), "r+b") as f:
            for i in range(mib):
                f.seek(16 * MiB + i * step)
                f.write(os.urandom(MiB))

    def console(self, qmp):
        pty = qmp.execute("query-chardev")["return"][0]["filename"]
        self.assertTrue(pty.startswith("pty:"), pty)
        return os.open(pty[4:], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def read_until(self, fd, needle, timeout=10):
        seen = b""

        def got():
            nonlocal seen
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    seen += os.read(fd, 65536)
                except BlockingIOError:
                    pass
            return needle in seen
        wait_for(got, timeout, f"{needle!r} on the console")
        return seen

    def backends(self, domid):
        out = {}
        for kind in ("qdisk", "vbd", "vif"):
            r = self.host.xenstore("list", f"/local/domain/0/backend/{kind}/{domid}", check=False)
            for devid in r.stdout.split() if r.returncode == 0 else []:
                base = f"/local/domain/0/backend/{kind}/{domid}/{devid}"
                params = self.host.xenstore("read", f"{base}/params", check=False).stdout.strip()
                out[(kind, devid)] = params
        return out

    def frontend_state(self, domid, devid):
        r = self.host.xenstore("read", f"/local/domain/{domid}/device/vbd/{devid}/state", check=False)
        return r.stdout.strip()

    def test_1gib_guest_memory_devices_and_console_survive(self):
        proc, qmp = self.boot()
        domid = qmp.execute("query-domain")["return"]["domid"]
        fd = self.console(qmp)
        self.read_until(fd, b"login: ")
        wait_for(lambda: self.frontend_state(domid, 51712) == "4", 10, "xvda connected")
        devices = self.backends(domid)
        self.assertEqual(sorted(devices.values()), sorted([self.disk, self.disk2]))
        self.fill_ram(domid, 64)
        self.assertEqual(qmp.execute("stop"), {"return": {}})
        before = guest_ram_digest(self.host.sim_dir, domid)

        image = os.path.join(self.images, "demo.save")
        reply = qmp.execute("save", {"file": image, "running": True}, id="s")
        self.assertIn("return", reply, reply)
        self.assertEqual(reply["return"]["file"], image)
        self.assertEqual(reply["return"]["size"], os.path.getsize(image))
        # Zero pages are elided: the image is about the 64 MiB written plus the kernel.
        self.assertLess(os.path.getsize(image), 66 * MiB)
        self.assertGreater(os.path.getsize(image), 64 * MiB)
        self.assertEqual(qmp.wait_event("SHUTDOWN")["data"]["reason"], "host-qmp-save")
        self.assertEqual(proc.wait(30), 6)
        os.close(fd)
        self.assertEqual(os.listdir(self.images), ["demo.save"])  # no temporary file left
        self.assertNotIn(domid, self.host.domain_ids())
        self.assertEqual(self.backends(domid), {})

        # -S: restored paused, so the memory can be compared before the guest runs again.
        proc2, qmp2 = self.helper("--restore", image, "-S")
        self.assertEqual(qmp2.execute("query-status")["return"]["status"], "paused")
        dom2 = qmp2.execute("query-domain")["return"]
        self.assertNotEqual(dom2["domid"], domid)
        self.assertEqual(dom2["name"], "demo")
        self.assertEqual(guest_ram_digest(self.host.sim_dir, dom2["domid"]), before)
        restored = self.backends(dom2["domid"])
        self.assertEqual(sorted(restored.values()), sorted(devices.values()))

        fd = self.console(qmp2)
        self.assertEqual(qmp2.execute("cont"), {"return": {}})
        wait_for(lambda: self.frontend_state(dom2["domid"], 51712) == "4", 10, "xvda connected again")
        os.write(fd, b"still here\n")
        seen = self.read_until(fd, b"still here\r\n")
        self.assertNotIn(b"Linux version", seen, "the restored guest booted again")
        os.close(fd)
        self.assertEqual(qmp2.execute("quit"), {"return": {}})
        self.assertEqual(proc2.wait(30), 4)

    def test_restore_runs_or_pauses_as_the_image_says(self):
        proc, qmp = self.boot(128)
        image = os.path.join(self.images, "paused.save")
        self.assertIn("return", qmp.execute("save", {"file": image, "running": False}))
        self.assertEqual(proc.wait(30), 6)
        proc2, qmp2 = self.helper("--restore", image)
        self.assertEqual(qmp2.execute("query-status")["return"]["status"], "paused")
        self.assertEqual(qmp2.execute("quit"), {"return": {}})
        proc2.wait(30)

        # after=running: the image is written and the guest goes on in the same helper.
        proc3, qmp3 = self.boot(128)
        image2 = os.path.join(self.images, "live.save")
        reply = qmp3.execute("save", {"file": image2, "after": "running"})
        self.assertEqual(reply["return"]["status"], "running")
        self.assertEqual(qmp3.execute("query-status")["return"]["status"], "running")
        runs_unsuspended(self, self.host, qmp3.execute("query-domain")["return"]["domid"])
        self.assertIsNone(proc3.poll())
        self.assertEqual(qmp3.execute("quit"), {"return": {}})
        proc3.wait(30)
        # -serial on --restore says where the restored guest's console goes (the image's own target,
        # a pty here, gives way to it).
        out = self.host.path("restored.console")
        proc4, qmp4 = self.helper("--restore", image2, "-serial", f"file:{out}")
        self.assertEqual(qmp4.execute("query-chardev")["return"][0]["filename"], f"file:{out}")
        self.assertTrue(os.path.exists(out))
        self.assertEqual(qmp4.execute("query-status")["return"]["status"], "running")
        self.assertEqual(qmp4.execute("quit"), {"return": {}})
        proc4.wait(30)

    def test_a_restored_guest_reset_keeps_the_devices_it_has_now(self):
        # The restore builds the domain with the image's devices; a later system_reset builds it
        # from the config, which must include what was plugged and unplugged since.
        proc, qmp = self.boot(128)
        image = os.path.join(self.images, "reset.save")
        self.assertIn("return", qmp.execute("save", {"file": image}))
        self.assertEqual(proc.wait(30), 6)
        proc2, qmp2 = self.helper("--restore", image)
        extra = self.host.write("extra.img", b"\0" * (1 << 20))
        self.assertIn("return", qmp2.execute("disk_add", {"target": "xvdc", "source": extra}))
        disks = sorted(d["device"] for d in qmp2.execute("query-block")["return"])
        self.assertEqual(len(disks), 3, disks)
        gone = [d for d in disks if d != "xvdc"][-1]  # the image's second disk
        self.assertIn("return", qmp2.execute("disk_remove", {"target": gone}))
        before = sorted(d["device"] for d in qmp2.execute("query-block")["return"])
        self.assertEqual(len(before), 2, before)
        self.assertEqual(qmp2.execute("system_reset"), {"return": {}})
        domid = qmp2.execute("query-domain")["return"]["domid"]
        wait_for(lambda: sorted(d["device"] for d in qmp2.execute("query-block")["return"]) == before, 10,
                 f"the rebuilt domain's disks to be {before}")
        self.assertIn(("vbd", "51744"), self.backends(domid))
        self.assertEqual(qmp2.execute("quit"), {"return": {}})
        proc2.wait(30)

    def test_a_disks_block_script_survives_save_and_restore(self):
        # The image keeps each disk's script, so the restored backend names it again (on real Xen
        # the helper runs it for the new domain: the harness's helper-save-restore-disks).
        proc, qmp = self.boot(128)
        extra = self.host.write("scripted.img", b"\0" * (1 << 20))
        self.assertIn("return", qmp.execute("disk_add", {"target": "xvdc", "source": extra, "script": "block"}))
        image = os.path.join(self.images, "scripted.save")
        self.assertIn("return", qmp.execute("save", {"file": image}))
        self.assertEqual(proc.wait(30), 6)
        proc2, qmp2 = self.helper("--restore", image)
        domid = qmp2.execute("query-domain")["return"]["domid"]
        base = f"/local/domain/0/backend/vbd/{domid}/51744"
        self.assertEqual(self.host.xenstore("read", f"{base}/script").stdout.strip(), "/etc/xen/scripts/block")
        self.assertEqual(self.host.xenstore("read", f"{base}/params").stdout.strip(), extra)
        self.assertEqual(qmp2.execute("quit"), {"return": {}})
        proc2.wait(30)

    def test_failed_save_keeps_the_guest_running_and_leaves_no_file(self):
        proc, qmp = self.boot(128)
        domid = qmp.execute("query-domain")["return"]["domid"]
        sim_call(self.host.sim_dir, {"op": "fault", "fail_next": "save"})
        image = os.path.join(self.images, "fail.save")
        err = qmp.execute("save", {"file": image})["error"]
        self.assertEqual(err["class"], "GenericError")
        self.assertIn(f"Saving guest 'demo' to {image} failed", err["desc"])
        self.assertEqual(os.listdir(self.images), [])
        self.assertEqual(qmp.execute("query-status")["return"]["status"], "running")
        self.assertIn(domid, self.host.domain_ids())
        runs_unsuspended(self, self.host, domid)
        # A directory that does not exist: one clear error, guest still running.
        err = qmp.execute("save", {"file": "/nonexistent-dir/x.save"})["error"]
        self.assertIn("/nonexistent-dir/x.save", err["desc"])
        self.assertEqual(qmp.execute("query-status")["return"]["status"], "running")
        runs_unsuspended(self, self.host, domid)
        self.assertEqual(qmp.execute("quit"), {"return": {}})
        proc.wait(30)

    def test_truncated_altered_and_foreign_images_are_refused_before_any_domain_exists(self):
        proc, qmp = self.boot(128)
        domid = qmp.execute("query-domain")["return"]["domid"]
        self.fill_ram(domid, 4)
        good = os.path.join(self.images, "good.save")
        self.assertIn("return", qmp.execute("save", {"file": good}))
        self.assertEqual(proc.wait(30), 6)
        with open(good, "rb") as f:
            data = f.read()
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x01
        newer = bytearray(data)
        newer[16:20] = (2).to_bytes(4, "little")
        cases = [
            ("truncated", data[: len(data) // 2], "is truncated"),
            ("truncated-header", data[:20], "is truncated"),
            ("altered", bytes(flipped), "does not match its checksum"),
            ("newer", bytes(newer), "has format version 2; this xvirt reads version 1"),
            ("foreign", os.urandom(1 << 16), "is not an xvirt save image"),
            ("empty", b"", "is empty"),
        ]
        for name, content, message in cases:
            path = os.path.join(self.images, name + ".save")
            with open(path, "wb") as f:
                f.write(content)
            r = self.host.run([paths.HELPER, "--restore", path, "--hypervisor", "sim", "--sim-dir", self.host.sim_dir],
                              check=False)
            self.assertEqual(r.returncode, 1, name)
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            self.assertEqual(len(lines), 1, f"{name}: {r.stderr}")
            self.assertIn(message, lines[0], name)
            self.assertIn(path, lines[0], name)
            self.assertEqual(self.host.domain_ids(), [0], f"{name} left a domain behind")

        # The good image still restores.
        proc2, qmp2 = self.helper("--restore", good, "-S")
        self.assertEqual(qmp2.execute("query-status")["return"]["status"], "paused")
        self.assertEqual(qmp2.execute("quit"), {"return": {}})
        proc2.wait(30)


if __name__ == "__main__":
    unittest.main()
