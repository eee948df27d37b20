"""Domains across daemon restarts: running guests survive a SIGTERM or SIGKILL of xvirtd, autostart
starts guests, and what changed while the daemon was away is noticed.

Usage: test_domain_restart.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md).
"""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import runner  # noqa: E402
from xvirt_test.domains import DomainTestCase  # noqa: E402


class DaemonRestartTest(DomainTestCase):
    def test_running_guest_survives_a_restart_and_autostart_starts_a_guest(self):
        keep, auto = "keep1", "auto1"
        self.addCleanup(self.cleanup_domain, keep)
        self.addCleanup(self.cleanup_domain, auto)
        self.virsh("define", self.xml_file(keep, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c11"))
        self.virsh("define", self.xml_file(auto, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c12"))
        self.virsh("start", keep)
        domid = self.domid(keep)
        self.virsh("autostart", auto)
        self.assertRegex(self.virsh("dominfo", auto).stdout, r"Autostart:\s+enable")
        self.assertEqual(self.state(auto), "shut off (unknown)")

        self.d.restart()
        self.assertEqual(self.state(keep), "running (booted)")
        self.assertEqual(self.domid(keep), domid)
        self.assertEqual(self.state(auto), "running (booted)")
        self.virsh("suspend", keep)  # the reconnected monitor still works
        self.assertEqual(self.state(keep), "paused (user)")


    def test_sigkill_restart_reconnects_and_cleans_up(self):
        keep, lost, gone = "kill2", "kill3", "kill4"
        for i, n in enumerate((keep, lost, gone)):
            self.start_domain(n, f"5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c1{i + 3}")
        self.virsh("suspend", keep)
        ids = {n: self.domid(n) for n in (keep, lost, gone)}
        lost_helper = self.helper_pid(lost)
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(timeout=20)
        # While xvirtd is away: one helper dies (its domain stays behind), one domain is destroyed
        # (its helper notices and exits).
        os.kill(lost_helper, signal.SIGKILL)
        self.d.xl("destroy", str(ids[gone]))
        self.d.restart(signal.SIGKILL)
        self.assertEqual(self.state(keep), "paused (user)")
        self.assertEqual(self.domid(keep), ids[keep])
        self.assertEqual(self.state(lost), "shut off (crashed)")
        self.assertTrue(self.state(gone).startswith("shut off"))
        self.assertEqual(self.sim_domids() - {0}, {ids[keep]}, "the orphan domain is destroyed")
        status = os.path.join(self.d.run, "xvirt", "domains")
        self.assertEqual(sorted(os.listdir(status)), [keep + ".xml"])
        log = self.d.logtext()
        self.assertIn(f"Domain '{lost}' was stopped at daemon start-up: its helper process {lost_helper} is gone.", log)
        self.assertIn(f"Destroyed domain {ids[lost]} of '{lost}', which no helper owns any more.", log)
        self.virsh("resume", keep)  # the reconnected monitor works
        self.assertEqual(self.state(keep), "running (unpaused)")

    def test_domain_destroyed_outside_xvirtd_is_noticed_without_restart(self):
        name = "xd1"
        domid = self.start_domain(name, "5a0cfb8e-5d1c-4b0e-8f57-7e1f2a3b4c19")
        self.d.xl("destroy", str(domid))
        self.wait_state(name, "shut off (destroyed)")
        self.assertFalse(os.path.exists(os.path.join(self.d.run, "xvirt", "domains", name + ".xml")))
        self.virsh("start", name)  # and it starts again, with one helper
        self.assertEqual(self.state(name), "running (booted)")


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
