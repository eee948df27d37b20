"""Crash test: SIGKILL xvirtd at random moments while several python3-libvirt clients (one thread and
connection each) run define / start / suspend / resume / destroy / undefine (plus save / restore /
attach-disk / detach-disk when the daemon supports them, probed through libvirt's own API), then
restart it and check the host after every round:

  every config file parses and the daemon lists it; no guest runs twice (one helper per name, one
  hypervisor domain per UUID); no orphan domain; no stale status file or leftover temporary file;
  listAllDomains agrees with the hypervisor (ids and paused/running states).

Usage: crash_test.py XVIRTD XVIRT_XL [--rounds N] [--seed S]. Prints the counts; exits 1 on any
violated invariant. XVIRT_CRASH_ROUNDS overrides the default of 50 rounds.
"""
import argparse
import collections
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_xvirtd  # noqa: E402
from test_xvirtd import Daemon, connectable, wait_for  # noqa: E402

import libvirt  # noqa: E402

DOMAIN_XML = """<domain type='xen'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='xenpv'>linux</type><kernel>{kernel}</kernel></os>
  <devices>
    <disk type='file' device='disk'><source file='{disk}'/><target dev='xvda' bus='xen'/></disk>
    <console type='pty'><target type='xen' port='0'/></console>
  </devices>
</domain>
"""
DISK_XML = "<disk type='file' device='disk'><source file='{path}'/><target dev='xvdb' bus='xen'/></disk>"
LOST = (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_INTERNAL_ERROR)


def quiet(*_):
    pass


libvirt.registerErrorHandler(quiet, None)


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.attempted = collections.Counter()
        self.succeeded = collections.Counter()
        self.failed = collections.Counter()        # refused by the daemon (wrong state, ...)
        self.interrupted = collections.Counter()   # the connection died under the call
        self.errors = collections.Counter()        # (op, error code) of refusals
        self.unsupported = set()

    def add(self, op, outcome, code=None):
        with self.lock:
            self.attempted[op] += 1
            {"ok": self.succeeded, "failed": self.failed, "lost": self.interrupted}[outcome][op] += 1
            if outcome == "failed":
                self.errors[(op, code)] += 1


class Worker(threading.Thread):
    def __init__(self, test, index, names):
        super().__init__(daemon=True)
        self.t, self.index, self.names = test, index, names
        self.rng = random.Random(test.seed * 100 + index)
        self.in_op = False
        self.conn = None

    def run(self):
        while not self.t.stopping:
            self.t.go.wait()
            if self.t.stopping:
                return
            try:
                if self.conn is None:
                    self.conn = libvirt.open(self.t.d.uri)
                self.step()
            except libvirt.libvirtError:
                self.drop()

    def drop(self):
        try:
            if self.conn is not None:
                self.conn.close()
        except libvirt.libvirtError:
            pass
        self.conn = None
        self.t.go_wait_restart()

    def step(self):
        name = self.rng.choice(self.names)
        ops = ["define", "start", "suspend", "resume", "destroy", "undefine", "save", "restore",
               "attach", "detach"]
        op = self.rng.choice([o for o in ops if o not in self.t.counts.unsupported])
        self.in_op = True
        try:
            getattr(self, "op_" + op)(name)
            self.t.counts.add(op, "ok")
        except libvirt.libvirtError as e:
            code = e.get_error_code()
            if self.t.killing or self.conn is None or code in LOST and not self.conn.isAlive():
                self.t.counts.add(op, "lost")
                self.in_op = False
                self.drop()
                return
            if code == libvirt.VIR_ERR_NO_SUPPORT:
                self.t.counts.unsupported.add(op)
            self.t.counts.add(op, "failed", code)
        finally:
            self.in_op = False

    def dom(self, name):
        return self.conn.lookupByName(name)

    def op_define(self, name):
        self.conn.defineXML(self.t.xml(name))

    def op_start(self, name):
        self.dom(name).create()

    def op_suspend(self, name):
        self.dom(name).suspend()

    def op_resume(self, name):
        self.dom(name).resume()

    def op_destroy(self, name):
        self.dom(name).destroy()

    def op_undefine(self, name):
        self.dom(name).undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)

    def op_save(self, name):
        self.dom(name).save(self.t.save_path(name))

    def op_restore(self, name):
        self.conn.restore(self.t.save_path(name))

    def op_attach(self, name):
        self.dom(name).attachDeviceFlags(DISK_XML.format(path=self.t.disk2), libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def op_detach(self, name):
        self.dom(name).detachDeviceFlags(DISK_XML.format(path=self.t.disk2), libvirt.VIR_DOMAIN_AFFECT_LIVE)


class CrashTest:
    def __init__(self, xvirtd, xl, rounds, seed, workers=4, names_per_worker=2):
        test_xvirtd.DAEMON, test_xvirtd.BACKEND = xvirtd, "sim"
        self.xl, self.rounds, self.seed = xl, rounds, seed
        self.rng = random.Random(seed)
        self.d = Daemon()
        self.kernel = os.path.join(self.d.dir, "vmlinuz")
        with open(self.kernel, "wb") as f:
            f.write(b"\x7fELF-xvirt-crash-kernel" + bytes(range(256)) * 16)
        self.disk = os.path.join(self.d.dir, "disk.img")
        self.disk2 = os.path.join(self.d.dir, "disk2.img")
        for p in (self.disk, self.disk2):
            with open(p, "wb") as f:
                f.truncate(1 << 20)
        self.sim_dir = os.path.join(self.d.run, "xvirt", "sim")
        self.config_dir = os.path.join(self.d.dir, "config", "xvirt", "domains")
        self.status_dir = os.path.join(self.d.run, "xvirt", "domains")
        self.guest_dir = os.path.join(self.d.run, "xvirt", "guests")
        self.counts = Counts()
        self.stopping = self.killing = False
        self.go = threading.Event()
        self.paused = threading.Semaphore(0)
        self.uuids = {}
        names = [[f"c{w}x{i}" for i in range(names_per_worker)] for w in range(workers)]
        for w, group in enumerate(names):
            for i, n in enumerate(group):
                self.uuids[n] = f"c7a5b000-0000-4000-8000-{w:06d}{i:06d}"
        self.workers = [Worker(self, w, names[w]) for w in range(workers)]
        self.kills_mid_op = 0
        self.recoveries = collections.Counter()
        self.violations = []

    def xml(self, name):
        return DOMAIN_XML.format(name=name, uuid=self.uuids[name], kernel=self.kernel, disk=self.disk)

    def save_path(self, name):
        return os.path.join(self.d.dir, name + ".save")

    def go_wait_restart(self):
        wait_for(lambda: not self.killing or self.stopping, timeout=120, what="the daemon's restart")

    # --- the host as it really is ---------------------------------------------------------------
    def sim_domains(self):
        out = subprocess.run([self.xl, "--hypervisor", "sim", "--sim-dir", self.sim_dir, "list"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        doms = []
        for line in out.splitlines()[1:]:
            f = line.split()
            if len(f) >= 5 and f[1].isdigit() and int(f[1]) != 0:
                doms.append((f[0], int(f[1]), f[4]))
        return doms

    def helpers(self):
        found = collections.defaultdict(list)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            if argv and argv[0].endswith("xvirt-helper") and self.d.dir in "".join(argv):
                name = os.path.basename(argv[argv.index("-pidfile") + 1])[:-4]
                found[name].append(int(pid))
        return found

    def check(self):
        """Every invariant; returns a list of violations (empty when the host is consistent)."""
        bad = []
        conn = libvirt.open(self.d.uri)
        try:
            listed = {d.name(): d for d in conn.listAllDomains(0)}
            active = {n: (d.ID(), d.state()[0]) for n, d in listed.items() if d.isActive()}
        finally:
            conn.close()
        for f in sorted(os.listdir(self.config_dir)):
            path = os.path.join(self.config_dir, f)
            if f.startswith(".") and ".tmp-" in f:
                bad.append(f"leftover temporary file {path}")
            if not f.endswith(".xml"):
                continue
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError as e:
                bad.append(f"config {f} does not parse: {e}")
                continue
            if root.findtext("name") != f[:-4] or f[:-4] not in listed:
                bad.append(f"config {f} is not a domain the daemon lists")
        uuid_of = {u: n for n, u in self.uuids.items()}
        sim = self.sim_domains()
        per_uuid = collections.Counter(u for u, _, _ in sim)
        for u, n in per_uuid.items():
            if n > 1:
                bad.append(f"{n} hypervisor domains for {uuid_of.get(u, u)}")
        for u, domid, flags in sim:
            name = uuid_of.get(u)
            if name not in active or active[name][0] != domid:
                bad.append(f"orphan domain {domid} ({name}) in the hypervisor")
            elif (flags[2] == "p") != (active[name][1] == libvirt.VIR_DOMAIN_PAUSED):
                bad.append(f"{name}: hypervisor flags {flags} but libvirt state {active[name][1]}")
        for name, pids in self.helpers().items():
            if len(pids) > 1:
                bad.append(f"{len(pids)} helpers for {name}: {pids}")
            if name not in active:
                bad.append(f"helper {pids} of {name}, which the daemon does not list as active")
        for name, (domid, _) in active.items():
            if domid not in [d for _, d, _ in sim]:
                bad.append(f"{name} listed active as {domid} but not in the hypervisor")
        statuses = {f[:-4] for f in os.listdir(self.status_dir) if f.endswith(".xml")}
        if statuses != set(active):
            bad.append(f"status files {sorted(statuses)} but active domains {sorted(active)}")
        for f in os.listdir(self.status_dir) + os.listdir(self.guest_dir):
            if ".tmp-" in f:
                bad.append(f"leftover temporary file {f}")
        return bad

    # --- the rounds ------------------------------------------------------------------------------
    def kill_and_restart(self):
        self.killing = True
        self.kills_mid_op += sum(1 for w in self.workers if w.in_op)
        self.go.clear()
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(timeout=20)
        # Let the clients notice the EOF and park before the host is inspected.
        wait_for(lambda: all(w.conn is None or not w.in_op for w in self.workers), timeout=60, what="clients to park")
        self.d.proc = subprocess.Popen(self.d.proc.args, env=self.d.env, stdout=self.d.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.d.proc.poll() is not None or connectable(self.d.sock), what="xvirtd's socket")
        if self.d.proc.poll() is not None:
            raise RuntimeError("xvirtd exited at restart:\n" + self.d.logtext()[-3000:])

    def run(self):
        start = time.monotonic()
        log_seen = 0
        for w in self.workers:
            w.start()
        self.go.set()
        for rnd in range(1, self.rounds + 1):
            time.sleep(self.rng.uniform(0.05, 0.6))  # the random moment of the kill
            self.kill_and_restart()
            try:
                wait_for(lambda: not self.check(), timeout=10, what="a consistent host")
            except TimeoutError:
                for v in self.check():
                    self.violations.append(f"round {rnd}: {v}")
            text = self.d.logtext()
            for kind, pattern in (("reconnected", "Reconnected to domain"),
                                  ("interrupted start rolled back", "start was interrupted"),
                                  ("helper gone", "is gone"), ("unowned helper stopped", "Stopped helper process"),
                                  ("orphan domain destroyed", "which no helper owns"),
                                  ("leftover file removed", "Removed the leftover file")):
                self.recoveries[kind] += text[log_seen:].count(pattern)
            log_seen = len(text)
            self.killing = False
            self.go.set()
        self.stopping = True
        self.go.set()
        for w in self.workers:
            w.join(timeout=60)
        self.elapsed = time.monotonic() - start

    def report(self):
        c = self.counts
        print(f"crash test: {self.rounds} rounds of SIGKILL to xvirtd in {self.elapsed:.1f} s, "
              f"{len(self.workers)} clients, seed {self.seed}")
        print(f"{'operation':<10} {'attempted':>9} {'succeeded':>9} {'refused':>8} {'cut off':>8}")
        for op in sorted(c.attempted):
            print(f"{op:<10} {c.attempted[op]:>9} {c.succeeded[op]:>9} {c.failed[op]:>8} {c.interrupted[op]:>8}")
        print(f"{'total':<10} {sum(c.attempted.values()):>9} {sum(c.succeeded.values()):>9} "
              f"{sum(c.failed.values()):>8} {sum(c.interrupted.values()):>8}")
        print("unsupported by this daemon (probed): " + (", ".join(sorted(c.unsupported)) or "none"))
        print("refusals by (operation, libvirt error code): " +
              ", ".join(f"{op}/{code}: {n}" for (op, code), n in sorted(c.errors.items())))
        print(f"kills with a call in flight: {self.kills_mid_op}")
        print("recoveries at restart: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.recoveries.items())))
        print(f"invariant violations: {len(self.violations)}")
        for v in self.violations[:50]:
            print("  " + v)

    def close(self):
        self.stopping = True
        self.go.set()
        try:
            self.d.stop()
        finally:
            self.d.cleanup()
            wait_for(lambda: not self.helpers(), timeout=20, what="helpers to exit")
            subprocess.run(["rm", "-rf", self.d.dir])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("xvirtd")
    ap.add_argument("xl")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("XVIRT_CRASH_ROUNDS", "50")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("XVIRT_CRASH_SEED", str(int(time.time()) % 100000))))
    a = ap.parse_args()
    t = CrashTest(a.xvirtd, a.xl, a.rounds, a.seed)
    try:
        t.run()
        t.report()
    finally:
        t.close()
    ok = not t.violations and sum(t.counts.succeeded.values()) > 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
