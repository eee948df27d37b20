"""xvirt-helper hotplug and live tuning on the simulated Xen host (issue 5, items 4 and 5): disks and
NICs plugged and unplugged through the monitor and seen with Debian's xenstore tools, a guest that
never answers an unplug, a backend removed behind the helper's back, ballooning and vCPU hotplug
seen through the hypervisor."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test.host import TempHost, sim_call  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402


class HotplugTest(unittest.TestCase):
    def setUp(self):
        self.host = TempHost()
        self.kernel = self.host.write("vmlinux", os.urandom(64 * 1024))
        self.boot = self.host.write("boot.img", b"\0" * (1 << 20))
        self.mon = self.host.path("hp.qmp")
        self.proc, self.qmp = self.start()
        self.domid = self.qmp.execute("query-domain")["return"]["domid"]

    def tearDown(self):
        self.qmp.close()
        self.host.close()

    def start(self):
        return self.host.start_helper(["-name", "hp", "-M", "xenpv", "-hda", self.boot, "-m", "256", "-smp", "4",
                                       "-kernel", self.kernel], self.mon, "hp.log", timeout=20, qmp_timeout=40)

    def log(self):
        return self.host.read("hp.log")

    def read(self, path):
        r = self.host.xenstore("read", path, check=False)
        return r.stdout.strip() if r.returncode == 0 else None

    def test_three_disks_connect_then_close_and_go(self):
        images = [self.host.write(f"d{i}.img", b"\0" * 4096) for i in range(3)]
        targets = ["xvdb", "xvdc", "xvdd"]
        vdevs = [51728, 51744, 51760]  # 202<<8 | disk<<4
        for target, image, vdev in zip(targets, images, vdevs):
            r = self.qmp.execute("disk_add", {"target": target, "source": image})
            self.assertEqual(r["return"]["vdev"], vdev, r)
            ev = self.qmp.wait_event("DEVICE_ADDED")
            self.assertEqual(ev["data"]["device"], target)
        tree = self.host.xenstore("ls", f"/local/domain/0/backend/vbd/{self.domid}").stdout
        for target, image, vdev in zip(targets, images, vdevs):
            be = f"/local/domain/0/backend/vbd/{self.domid}/{vdev}"
            fe = f"/local/domain/{self.domid}/device/vbd/{vdev}"
            self.assertEqual(self.read(be + "/params"), image)
            self.assertEqual(self.read(be + "/dev"), target)
            self.assertEqual(self.read(be + "/state"), "4")
            self.assertEqual(self.read(fe + "/state"), "4")
            self.assertEqual(self.read(fe + "/backend"), be)
            self.assertEqual(self.read(fe + "/virtual-device"), str(vdev))
            self.assertIn(f'params = "{image}"', tree)
        block = {b["device"]: b for b in self.qmp.execute("query-block")["return"]}
        self.assertEqual(set(block), {"xvda", *targets})
        self.assertEqual(block["xvdc"]["file"], images[1])
        self.assertEqual((block["xvdc"]["backend-state"], block["xvdc"]["frontend-state"]), (4, 4))

        # A second xvdc, and a name Xen has no number for, are refused and change nothing.
        dup = self.qmp.execute("disk_add", {"target": "xvdc", "source": images[0]})
        self.assertIn("already has a disk xvdc", dup["error"]["desc"])
        bad = self.qmp.execute("disk_add", {"target": "hde", "source": images[0]})
        self.assertEqual(bad["error"]["class"], "GenericError")
        self.assertEqual(self.read(f"/local/domain/0/backend/vbd/{self.domid}/51744/params"), images[1])

        for target, vdev in zip(targets, vdevs):
            self.assertEqual(self.qmp.execute("disk_remove", {"target": target}), {"return": {}})
            ev = self.qmp.wait_event("DEVICE_DELETED")
            self.assertEqual(ev["data"]["device"], target)
            self.assertIsNone(self.read(f"/local/domain/0/backend/vbd/{self.domid}/{vdev}/state"))
            self.assertIsNone(self.read(f"/local/domain/{self.domid}/device/vbd/{vdev}/state"))
        self.assertEqual([b["device"] for b in self.qmp.execute("query-block")["return"]], ["xvda"])
        missing = self.qmp.execute("disk_remove", {"target": "xvdb"})
        self.assertEqual(missing["error"]["class"], "DeviceNotFound")

    def test_nic_add_and_remove(self):
        r = self.qmp.execute("nic_add", {"mac": "00:16:3e:aa:bb:01", "bridge": "xenbr0"})["return"]
        self.assertEqual(r["devid"], 0)
        self.qmp.wait_event("DEVICE_ADDED")
        be = f"/local/domain/0/backend/vif/{self.domid}/0"
        self.assertEqual(self.read(be + "/mac"), "00:16:3e:aa:bb:01")
        self.assertEqual(self.read(be + "/bridge"), "xenbr0")
        self.assertEqual(self.read(be + "/state"), "4")
        self.assertEqual(self.read(f"/local/domain/{self.domid}/device/vif/0/state"), "4")
        second = self.qmp.execute("nic_add", {"bridge": "xenbr1"})["return"]
        self.assertEqual(second["devid"], 1)
        self.assertTrue(second["mac"].startswith("00:16:3e:"))
        self.qmp.wait_event("DEVICE_ADDED")
        dup = self.qmp.execute("nic_add", {"mac": "00:16:3E:AA:BB:01"})
        self.assertIn("already has a NIC with MAC", dup["error"]["desc"])
        self.assertEqual(len(self.qmp.execute("query-nics")["return"]), 2)

        self.assertEqual(self.qmp.execute("nic_remove", {"mac": "00:16:3e:aa:bb:01"}), {"return": {}})
        self.assertEqual(self.qmp.wait_event("DEVICE_DELETED")["data"]["device"], "0")
        self.assertIsNone(self.read(be + "/state"))
        nics = self.qmp.execute("query-nics")["return"]
        self.assertEqual([(n["devid"], n["bridge"]) for n in nics], [(1, "xenbr1")])

    def test_stalled_frontend_times_out_and_the_disk_stays(self):
        image = self.host.write("s.img", b"\0" * 4096)
        self.qmp.execute("disk_add", {"target": "xvdb", "source": image})
        self.qmp.wait_event("DEVICE_ADDED")
        sim_call(self.host.sim_dir, {"op": "fault", "stall_frontend": self.domid})
        r = self.qmp.execute("disk_remove", {"target": "xvdb", "timeout": 0.5})
        self.assertEqual(r["error"]["class"], "GenericError")
        self.assertIn("did not release disk xvdb within 0.5 seconds", r["error"]["desc"])
        self.assertIn("still attached", r["error"]["desc"])
        be = f"/local/domain/0/backend/vbd/{self.domid}/51728"
        self.assertEqual(self.read(be + "/state"), "5")   # Closing: what the toolstack asked
        self.assertEqual(self.read(f"/local/domain/{self.domid}/device/vbd/51728/state"), "4")
        listed = [b for b in self.qmp.execute("query-block")["return"] if b["device"] == "xvdb"]
        self.assertEqual(len(listed), 1)
        self.assertTrue(listed[0]["removing"])
        self.assertEqual(listed[0]["frontend-state"], 4)
        self.assertFalse([e for e in self.qmp.events if e["event"] == "DEVICE_DELETED"])

        # A stalled guest cannot take a new disk either: the add is rolled back.
        other = self.host.write("t.img", b"\0" * 4096)
        r = self.qmp.execute("disk_add", {"target": "xvdc", "source": other, "timeout": 0.5})
        self.assertIn("did not connect within 0.5 seconds", r["error"]["desc"])
        self.assertIsNone(self.read(f"/local/domain/0/backend/vbd/{self.domid}/51744/state"))

        # The guest comes back and lets go: the unplug finishes by itself.
        sim_call(self.host.sim_dir, {"op": "fault", "stall_frontend": self.domid, "stall": False})
        ev = self.qmp.wait_event("DEVICE_DELETED")
        self.assertEqual(ev["data"]["device"], "xvdb")
        self.assertIsNone(self.read(be + "/state"))

    def test_backend_removed_behind_the_helpers_back(self):
        image = self.host.write("r.img", b"\0" * 4096)
        self.qmp.execute("disk_add", {"target": "xvde", "source": image})
        self.qmp.wait_event("DEVICE_ADDED")
        vdev = 202 << 8 | 4 << 4
        self.host.xenstore("rm", f"/local/domain/0/backend/vbd/{self.domid}/{vdev}")
        ev = self.qmp.wait_event("DEVICE_DELETED")
        self.assertEqual(ev["data"], {"device": "xvde", "type": "disk",
                                      "path": f"/local/domain/0/backend/vbd/{self.domid}/{vdev}"})
        self.assertIsNone(self.read(f"/local/domain/{self.domid}/device/vbd/{vdev}/state"))
        self.assertNotIn("xvde", [b["device"] for b in self.qmp.execute("query-block")["return"]])

    def test_paused_guest_and_reset(self):
        image = self.host.write("p.img", b"\0" * 4096)
        be = lambda: f"/local/domain/0/backend/vbd/{self.domid}/51728"  # noqa: E731
        fe = lambda: f"/local/domain/{self.domid}/device/vbd/51728"  # noqa: E731
        # A paused guest cannot connect a frontend: the plug is done once the backend waits for it,
        # and the frontend connects when the guest runs.
        self.assertEqual(self.qmp.execute("stop"), {"return": {}})
        self.assertIn("return", self.qmp.execute("disk_add", {"target": "xvdb", "source": image}))
        self.assertEqual(self.read(be() + "/state"), "2")
        self.assertEqual(self.read(fe() + "/state"), "1")
        self.assertEqual(self.qmp.execute("cont"), {"return": {}})
        wait_for(lambda: self.read(fe() + "/state") == "4", 10, "the frontend to connect")

        # A reset rebuilds the domain with the disk, and the helper follows the new domain.
        self.assertEqual(self.qmp.execute("system_reset"), {"return": {}})
        old = self.domid
        self.domid = self.qmp.execute("query-domain")["return"]["domid"]
        self.assertNotEqual(self.domid, old)
        wait_for(lambda: self.read(fe() + "/state") == "4", 10, "the disk in the rebuilt domain")
        self.assertEqual(self.read(be() + "/params"), image)
        self.qmp.events.clear()
        self.host.xenstore("rm", be())
        self.assertEqual(self.qmp.wait_event("DEVICE_DELETED")["data"]["path"], be())

    def test_balloon_and_set_vcpus_reach_the_hypervisor(self):
        info = lambda: sim_call(self.host.sim_dir, {"op": "info", "domid": self.domid})  # noqa: E731
        self.assertEqual(info()["mem_kib"], 256 * 1024)
        self.assertEqual(self.qmp.execute("balloon", {"value": 128 << 20}), {"return": {}})
        self.assertEqual(self.qmp.wait_event("BALLOON_CHANGE")["data"], {"actual": 128 << 20})
        self.assertEqual(info()["mem_kib"], 128 * 1024)
        self.assertEqual(self.read(f"/local/domain/{self.domid}/memory/target"), str(128 * 1024))
        bal = self.qmp.execute("query-balloon")["return"]
        self.assertEqual((bal["actual"], bal["target"]), (128 << 20, 128 << 20))
        too_big = self.qmp.execute("balloon", {"value": 1 << 30})
        self.assertIn("above its maximum memory", too_big["error"]["desc"])
        self.assertEqual(info()["mem_kib"], 128 * 1024)

        self.assertEqual(info()["online_vcpus"], 4)
        self.assertEqual(self.qmp.execute("set-vcpus", {"count": 2}), {"return": {}})
        wait_for(lambda: info()["online_vcpus"] == 2, 10, "two vCPUs online")
        self.assertEqual(self.read(f"/local/domain/{self.domid}/cpu/3/availability"), "offline")
        cpus = self.qmp.execute("query-cpus")["return"]
        self.assertEqual([c["online"] for c in cpus], [True, True, False, False])
        self.assertIn("between 1 and 4", self.qmp.execute("set-vcpus", {"count": 5})["error"]["desc"])
        self.assertEqual(self.qmp.execute("set-vcpus", {"count": 3}), {"return": {}})
        wait_for(lambda: info()["online_vcpus"] == 3, 10, "three vCPUs online")

        # A reset keeps what was changed live (the helper's config follows).
        self.assertEqual(self.qmp.execute("system_reset"), {"return": {}})
        self.domid = self.qmp.execute("query-domain")["return"]["domid"]
        wait_for(lambda: info()["online_vcpus"] == 3, 10, "three vCPUs online after the reset")
        self.assertEqual(info()["mem_kib"], 128 * 1024)


if __name__ == "__main__":
    unittest.main()
