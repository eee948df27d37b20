"""Domain statistics: cpu-stats, domstats / getAllDomainStats and dommemstat against dominfo.

Usage: test_domain_stats.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md).
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import runner  # noqa: E402
from xvirt_test.domains import DomainTestCase, FourCpuTestCase, key_values  # noqa: E402
from xvirt_test.host import sim_call  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402


class CpuStatsTest(FourCpuTestCase):
    def test_cpu_stats_grow_while_the_guest_runs(self):
        import libvirt
        name = "cpu1"
        domid = self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c51")
        sim_call(self.sim_dir, {"op": "set_load", "domid": domid, "load": 100})

        def total():
            out = self.virsh("cpu-stats", "--total", name).stdout
            return float(re.search(r"cpu_time\s+([\d.]+) seconds", out).group(1))

        t0 = total()
        wait_for(lambda: total() > t0 + 0.05, what="cpu-stats to grow")
        out = self.virsh("cpu-stats", name).stdout
        per_cpu = {int(m.group(1)): float(m.group(2))
                   for m in re.finditer(r"CPU(\d+):\s*\n\s*cpu_time\s+([\d.]+) seconds", out)}
        self.assertEqual(sorted(per_cpu), [0, 1, 2, 3])
        # vCPU 0 runs on host CPU 0, vCPU 1 on host CPU 1; nothing runs on 2 and 3.
        self.assertGreater(per_cpu[0], 0)
        self.assertGreater(per_cpu[1], 0)
        self.assertEqual((per_cpu[2], per_cpu[3]), (0, 0))
        self.assertRegex(out, r"Total:\s*\n\s*cpu_time\s+[\d.]+ seconds")

        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        dom = conn.lookupByName(name)
        totals = dom.getCPUStats(True)
        self.assertEqual(len(totals), 1)
        self.assertGreater(totals[0]["cpu_time"], int(t0 * 1e9))
        cpus = dom.getCPUStats(False)
        self.assertEqual(len(cpus), 4)
        self.assertGreater(cpus[0]["cpu_time"], 0)
        self.assertEqual(cpus[3]["cpu_time"], 0)
        # Paused, the time stands still.
        self.virsh("suspend", name)
        t1 = dom.getCPUStats(True)[0]["cpu_time"]
        self.assertEqual(conn.lookupByName(name).info()[4], t1)
        self.virsh("resume", name)

    def test_cpu_stats_of_a_stopped_domain_is_an_error(self):
        name = "cpu2"
        self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c52")
        self.virsh("destroy", name)
        r = self.virsh("cpu-stats", name, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not running", r.stderr)


class DomainStatsTest(DomainTestCase):
    def test_domstats_matches_dominfo(self):
        name, uuid = "st1", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c61"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        off = key_values(self.virsh("domstats", name).stdout)
        self.assertEqual(off["state.state"], "5")
        self.assertNotIn("cpu.time", off)
        self.assertEqual(off["vcpu.maximum"], "2")
        self.virsh("start", name)
        stats = key_values(self.virsh("domstats", name).stdout)
        info = self.virsh("dominfo", name).stdout
        self.assertRegex(info, r"State:\s+running")
        self.assertEqual(stats["state.state"], "1")
        self.assertEqual(stats["state.reason"], "1")  # booted
        self.assertEqual(stats["vcpu.current"], re.search(r"CPU\(s\):\s+(\d+)", info).group(1))
        self.assertEqual(stats["balloon.maximum"], re.search(r"Max memory:\s+(\d+) KiB", info).group(1))
        self.assertEqual(stats["balloon.current"], re.search(r"Used memory:\s+(\d+) KiB", info).group(1))
        self.assertIn("cpu.time", stats)
        self.assertEqual((stats["vcpu.0.state"], stats["vcpu.1.state"]), ("1", "1"))
        self.assertEqual((stats["block.count"], stats["block.0.name"], stats["block.0.path"]),
                         ("1", "xvda", self.disk))
        self.assertEqual(stats["net.count"], "0")
        # All domains, and the groups virt-manager polls (state, cpu-total, vcpu = 0xb).
        self.assertIn(f"Domain: '{name}'", self.virsh("domstats").stdout)
        only = key_values(self.virsh("domstats", "--state", "--cpu-total", "--vcpu", name).stdout)
        self.assertNotIn("balloon.current", only)
        self.assertIn("vcpu.1.time", only)
        mem = key_values(self.virsh("dommemstat", name).stdout)
        self.assertEqual(mem["actual"], stats["balloon.current"])

    def test_python_get_all_domain_stats(self):
        import libvirt
        name, uuid = "st2", "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c62"
        self.start_domain(name, uuid)
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        records = {d.name(): s for d, s in conn.getAllDomainStats()}
        self.assertIn(name, records)
        s = records[name]
        self.assertEqual(s["state.state"], libvirt.VIR_DOMAIN_RUNNING)
        self.assertEqual(s["vcpu.current"], 2)
        self.assertEqual(s["balloon.maximum"], 128 * 1024)
        self.assertGreaterEqual(s["cpu.time"], s["vcpu.0.time"])
        self.assertEqual(s["block.0.name"], "xvda")
        active = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
        self.assertEqual([d.name() for d, _ in active], [name])
        self.assertEqual(set(active[0][1]), {"state.state", "state.reason"})
        listed = conn.domainListGetStats([conn.lookupByName(name)], libvirt.VIR_DOMAIN_STATS_BALLOON)
        self.assertEqual(listed[0][1]["balloon.current"], 128 * 1024)


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
