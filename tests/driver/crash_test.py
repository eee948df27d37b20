"""Crash test: SIGKILL xvirtd at random moments while several python3-libvirt clients (one thread and
connection each) run define / start / suspend / resume / destroy / undefine (plus save / restore /
attach-disk / detach-disk when the daemon supports them, probed through libvirt's own API), then
restart it and check the host after every round:

  every config file parses and the daemon lists it; no guest runs twice (one helper per name, one
  hypervisor domain per UUID); no orphan domain; no stale status file or leftover temporary file;
  no xenstore entry (/local/domain/N, a device backend) of a domain that is gone; listAllDomains
  agrees with the hypervisor (ids and paused/running states).

Each round SIGKILLs one of three things (docs/hardening.md "Crash consistency"):
  xvirtd (most rounds): restarted at once, it must recover every guest;
  a helper: its guest must be reported shut off (crashed) and its orphan domain destroyed;
  xvirt-simxen, the hypervisor itself: every guest died with it, so every helper must exit and every
  guest be reported shut off (crashed); the host is then started again (as after a host reboot) and
  xvirtd must serve starts on it without a restart of its own.

Usage: crash_test.py XVIRTD XVIRT_XL [--rounds N] [--seed S] [--kinds xvirtd,helper,simxen]. Prints
the counts; exits 1 on any violated invariant. XVIRT_CRASH_ROUNDS overrides the default of 50 rounds
(CI); the documented long run is --rounds 1000.
"""
import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths  # noqa: E402
from xvirt_test.daemon import Daemon  # noqa: E402
from xvirt_test.domains import SMALL_DOMAIN_XML, guest_files  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

import libvirt  # noqa: E402

DISK_XML = "<disk type='file' device='disk'><source file='{path}'/><target dev='xvdb' bus='xen'/></disk>"
LOST = (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_INTERNAL_ERROR)


libvirt.registerErrorHandler(lambda *_: None, None)


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


class Violations(list):
    def add(self, kind, message):
        self.append((kind, message))


class CrashTest:
    KIND_WEIGHTS = {"xvirtd": 6, "helper": 3, "simxen": 1}

    def __init__(self, xvirtd, xl, rounds, seed, workers=4, names_per_worker=2, kinds=("xvirtd", "helper", "simxen")):
        paths.XVIRTD, paths.XVIRT_XL = xvirtd, xl
        self.rounds, self.seed = rounds, seed
        self.kinds = list(kinds)
        self.simxen = os.environ.get("XVIRT_SIMXEN") or os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(xl))), "sim", "daemon", "xvirt-simxen")
        self.simxen_procs = []
        self.rounds_by_kind = collections.Counter()
        self.violation_kinds = collections.Counter()
        self.crashed_reported = 0   # guests reported shut off (crashed) after a helper or simxen kill
        self.probes_after_host_restart = 0
        self.rng = random.Random(seed)
        self.d = Daemon()
        self.kernel, self.disk, self.disk2 = guest_files(self.d.dir)
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
        return SMALL_DOMAIN_XML.format(name=name, uuid=self.uuids[name], kernel=self.kernel, disk=self.disk)

    def save_path(self, name):
        return os.path.join(self.d.dir, name + ".save")

    def go_wait_restart(self):
        wait_for(lambda: not self.killing or self.stopping, timeout=120, what="the daemon's restart")

    # --- the host as it really is ---------------------------------------------------------------
    def sim_domains(self):
        out = self.d.xl("list").stdout
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
        return [m for _, m in self.check_kinds()]

    def check_kinds(self):
        """(kind, message) for every violated invariant; kinds: corrupt config, twin guest, orphan
        domain, stale file, stale xenstore entry, state mismatch."""
        bad = Violations()
        conn = libvirt.open(self.d.uri)
        try:
            listed = {d.name(): d for d in conn.listAllDomains(0)}
            active = {n: (d.ID(), d.state()[0]) for n, d in listed.items() if d.isActive()}
        except libvirt.libvirtError as e:
            # A guest went away between the list and the look at it (a transient guest whose helper
            # just died): the host is still settling, so this reading counts as inconsistent.
            bad.add("state mismatch", f"the daemon's list changed while it was read: {e}")
            return bad
        finally:
            conn.close()
        for f in sorted(os.listdir(self.config_dir)):
            path = os.path.join(self.config_dir, f)
            if f.startswith(".") and ".tmp-" in f:
                bad.add("stale file", f"leftover temporary file {path}")
            if not f.endswith(".xml"):
                continue
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError as e:
                bad.add("corrupt config", f"config {f} does not parse: {e}")
                continue
            if root.findtext("name") != f[:-4] or f[:-4] not in listed:
                bad.add("corrupt config", f"config {f} is not a domain the daemon lists")
        uuid_of = {u: n for n, u in self.uuids.items()}
        try:
            sim = self.sim_domains()
        except subprocess.CalledProcessError:
            bad.add("state mismatch", "the simulated host does not answer")
            return bad
        per_uuid = collections.Counter(u for u, _, _ in sim)
        for u, n in per_uuid.items():
            if n > 1:
                bad.add("twin guest", f"{n} hypervisor domains for {uuid_of.get(u, u)}")
        for u, domid, flags in sim:
            name = uuid_of.get(u)
            if name not in active or active[name][0] != domid:
                bad.add("orphan domain", f"orphan domain {domid} ({name}) in the hypervisor")
            elif (flags[2] == "p") != (active[name][1] == libvirt.VIR_DOMAIN_PAUSED):
                bad.add("state mismatch", f"{name}: hypervisor flags {flags} but libvirt state {active[name][1]}")
        for name, pids in self.helpers().items():
            if len(pids) > 1:
                bad.add("twin guest", f"{len(pids)} helpers for {name}: {pids}")
            if name not in active:
                bad.add("orphan domain", f"helper {pids} of {name}, which the daemon does not list as active")
        for name, (domid, _) in active.items():
            if domid not in [d for _, d, _ in sim]:
                bad.add("state mismatch", f"{name} listed active as {domid} but not in the hypervisor")
        statuses = {f[:-4] for f in os.listdir(self.status_dir) if f.endswith(".xml")}
        if statuses != set(active):
            bad.add("stale file", f"status files {sorted(statuses)} but active domains {sorted(active)}")
        for f in os.listdir(self.status_dir) + os.listdir(self.guest_dir):
            if ".tmp-" in f:
                bad.add("stale file", f"leftover temporary file {f}")
            elif f.rsplit(".", 1)[0] not in active:
                bad.add("stale file", f"{f} of a guest that is not running")
        live_ram = {f"dom{domid}.ram" for _, domid, _ in sim}
        for f in os.listdir(os.path.join(self.sim_dir, "mem")):
            if f not in live_ram:
                bad.add("stale file", f"guest memory file {f} of no domain")
        # What a toolstack writes for a domain goes with it (the helper, or xvirtd when the helper died).
        live_ids = {str(domid) for _, domid, _ in sim} | {"0"}
        for where in ["/local/domain"] + [f"/local/domain/0/backend/{t}" for t in ("vbd", "qdisk", "vif", "console")]:
            for entry in self.xenstore_list(where):
                if entry not in live_ids:
                    bad.add("stale xenstore entry", f"{where}/{entry} of no domain")
        return bad

    def xenstore_list(self, path):
        """The children of `path` in the simulated host's xenstore ([] when it is absent)."""
        r = self.d.xs("list", path, check=False)
        return r.stdout.split() if r.returncode == 0 else []

    # --- the rounds ------------------------------------------------------------------------------
    def kill_and_restart(self):
        self.killing = True
        self.kills_mid_op += sum(1 for w in self.workers if w.in_op)
        self.go.clear()
        self.d.kill(signal.SIGKILL)
        # Let the clients notice the EOF and park before the host is inspected.
        wait_for(lambda: all(w.conn is None or not w.in_op for w in self.workers), timeout=60, what="clients to park")
        # Only the new daemon's pidfile (written once it serves) says it is up. Its socket alone
        # does not: the killed daemon's listening socket can accept for a moment more, held by a
        # child it was forking until that child (killed with its parent) is scheduled to exit.
        # On a loaded CI machine a first call once failed right after the restart, with the new
        # daemon still recovering its guests; this is the reading that fits its log.
        self.d.start(timeout=60)

    def park(self):
        """Stops the clients after their current call, so the host can be inspected at rest."""
        self.killing = True
        self.go.clear()
        wait_for(lambda: all(w.conn is None or not w.in_op for w in self.workers), timeout=120, what="clients to park")

    def kill_helper(self):
        """SIGKILL one helper mid-operation: its guest must be reported crashed, its domain destroyed."""
        strict = self.rng.random() < 0.5  # as for simxen below: at rest, or mid-operation
        if strict:
            self.park()
        helpers = self.helpers()
        if not helpers:
            self.park()  # nothing to kill; the round's check still needs the clients at rest
            return
        name = self.rng.choice(sorted(helpers))
        pid = helpers[name][0]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.kills_mid_op += sum(1 for w in self.workers if w.in_op)
        self.park()
        # A client may have started the guest again before it parked: then a new helper owns it.
        wait_for(lambda: pid not in self.helpers().get(name, []) and
                 (not self.is_active(name) or name in self.helpers()), timeout=60,
                 what=f"xvirtd to notice the killed helper of {name}")
        if not self.is_active(name):
            self.crashed_reported += self.crashed(name, strict)

    def simxen_pid(self):
        try:
            with open(os.path.join(self.sim_dir, "simxen.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill_simxen(self):
        """SIGKILL the hypervisor: every guest dies with it. Then boot it again and start a guest."""
        pid = self.simxen_pid()
        if pid is None:
            self.park()
            return
        # Half the rounds kill it with the clients at rest, so every guest it ran must end up
        # reported crashed (strict); the others kill it mid-operation, where a client may destroy a
        # guest before its helper noticed (counted, not asserted).
        strict = self.rng.random() < 0.5
        if strict:
            self.park()
        helpers = self.helpers()
        old = {p for pids in helpers.values() for p in pids}
        was_active = sorted(helpers)
        self.kills_mid_op += sum(1 for w in self.workers if w.in_op)
        os.kill(pid, signal.SIGKILL)
        self.park()
        # A start during the round may already have booted a new host on demand (the helper starts
        # xvirt-simxen when none runs): guests on it are legitimate; every old helper must be gone.
        # At rest every helper belongs to the killed host and must exit. Mid-operation, a helper
        # still starting up may connect to a host booted since, and rightly run there: the
        # invariants (checked after every round) then say whether all is consistent.
        try:
            wait_for(lambda: not strict or not old & {p for pids in self.helpers().values() for p in pids},
                     timeout=120, what="every helper of the killed host to exit")
        except TimeoutError:
            print(self.diagnosis(), file=sys.stderr)
        for n in was_active:
            if not self.is_active(n):
                self.crashed_reported += self.crashed(n, strict)
        for p in self.simxen_procs:
            p.poll()
        if self.simxen_pid() == pid or self.d.xl("list", check=False).returncode != 0:
            self.simxen_procs.append(subprocess.Popen([self.simxen, "--dir", self.sim_dir], start_new_session=True,
                                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: self.d.xl("list", check=False).returncode == 0, timeout=60,
                 what="the simulated host to come back")
        # The same xvirtd, without a restart, starts a guest on the host that came back.
        conn = libvirt.open(self.d.uri)
        try:
            dom = conn.createXML(SMALL_DOMAIN_XML.format(name="probe", uuid="c7a5b000-0000-4000-8000-ffffffffffff",
                                                   kernel=self.kernel, disk=self.disk), 0)
            dom.destroy()
            self.probes_after_host_restart += 1
        finally:
            conn.close()
        try:
            wait_for(lambda: not self.check(), timeout=120, what="a consistent host after the hypervisor's death")
        except TimeoutError:
            pass  # recorded by the round's own check

    def diagnosis(self):
        """What is still there, for a failure message: helpers, active guests, the logs' tails."""
        out = [f"helpers: {dict(self.helpers())}"]
        conn = libvirt.open(self.d.uri)
        try:
            out.append("active: " + ", ".join(f"{d.name()} {d.state()}" for d in conn.listAllDomains(0) if d.isActive()))
        finally:
            conn.close()
        logs = os.path.join(self.d.dir, "cache", "xvirt", "log")
        for name, pids in self.helpers().items():
            with open(os.path.join(logs, name + ".log")) as f:
                out.append(f"--- {name}.log\n" + f.read()[-1500:])
            stacks = subprocess.run(["gdb", "-p", str(pids[0]), "-batch", "-ex", "thread apply all bt"],
                                    capture_output=True, text=True, timeout=60).stdout
            out.append(f"--- stacks of {pids[0]}\n" + stacks[-6000:])
        out.append("--- xvirtd\n" + self.d.logtext()[-4000:])
        return "\n".join(out)

    def is_active(self, name):
        conn = libvirt.open(self.d.uri)
        try:
            return any(d.name() == name and d.isActive() for d in conn.listAllDomains(0))
        finally:
            conn.close()

    def any_active(self):
        conn = libvirt.open(self.d.uri)
        try:
            return bool(conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
        finally:
            conn.close()

    def crashed(self, name, strict=True):
        """1 when `name` is shut off with reason crashed (0 when it is gone: transient); with
        `strict`, any other state is a violation."""
        conn = libvirt.open(self.d.uri)
        try:
            state = conn.lookupByName(name).state()
        except libvirt.libvirtError:
            return 0
        finally:
            conn.close()
        if state == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED]:
            return 1
        if strict:
            self.violations.append(f"{name} is {state} after its helper or host was killed, not shut off (crashed)")
            self.violation_kinds["state mismatch"] += 1
        return 0

    def run(self):
        start = time.monotonic()
        log_seen = 0
        for w in self.workers:
            w.start()
        self.go.set()
        weights = [self.KIND_WEIGHTS[k] for k in self.kinds]
        for rnd in range(1, self.rounds + 1):
            time.sleep(self.rng.uniform(0.05, 0.6))  # the random moment of the kill
            kind = self.rng.choices(self.kinds, weights)[0]
            self.rounds_by_kind[kind] += 1
            if kind == "xvirtd":
                self.kill_and_restart()
            elif kind == "helper":
                self.kill_helper()
            else:
                self.kill_simxen()
            try:
                wait_for(lambda: not self.check(), timeout=10, what="a consistent host")
            except TimeoutError:
                for k, v in self.check_kinds():
                    self.violations.append(f"round {rnd} ({kind}): {v}")
                    self.violation_kinds[k] += 1
                    print(f"violation: {self.violations[-1]}", flush=True)
            text = self.d.logtext()
            for kind, pattern in (("reconnected", "Reconnected to domain"),
                                  ("interrupted start rolled back", "start was interrupted"),
                                  ("helper gone", "is gone"), ("unowned helper stopped", "Stopped helper process"),
                                  ("orphan domain destroyed", "which no helper owns"),
                                  ("leftover file removed", "Removed the leftover file")):
                self.recoveries[kind] += text[log_seen:].count(pattern)
            log_seen = len(text)
            if rnd % 50 == 0:  # progress for long runs: rounds by kind and violations so far
                print(f"round {rnd}: " + ", ".join(f"{k} {n}" for k, n in sorted(self.rounds_by_kind.items())) +
                      f"; violations {len(self.violations)}; {time.monotonic() - start:.0f} s", flush=True)
            self.killing = False
            self.go.set()
        self.stopping = True
        self.go.set()
        for w in self.workers:
            w.join(timeout=60)
        self.elapsed = time.monotonic() - start

    def report(self):
        c = self.counts
        print(f"crash test: {self.rounds} rounds of SIGKILL in {self.elapsed:.1f} s ("
              + ", ".join(f"{k}: {n}" for k, n in sorted(self.rounds_by_kind.items()))
              + f"), {len(self.workers)} clients, seed {self.seed}")
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
        print(f"guests reported shut off (crashed) after a helper or simxen kill: {self.crashed_reported}; "
              f"guests started on the restarted host without restarting xvirtd: {self.probes_after_host_restart}")
        print("violations by kind: " + ", ".join(
            f"{k}: {self.violation_kinds[k]}" for k in ("corrupt config", "twin guest", "orphan domain", "stale file",
                                                        "stale xenstore entry", "state mismatch")))
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
            for p in self.simxen_procs:
                p.wait(timeout=20)
            subprocess.run(["rm", "-rf", self.d.dir])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("xvirtd")
    ap.add_argument("xl")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("XVIRT_CRASH_ROUNDS", "50")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("XVIRT_CRASH_SEED", str(int(time.time()) % 100000))))
    ap.add_argument("--kinds", default="xvirtd,helper,simxen", help="what the rounds kill, comma-separated")
    a = ap.parse_args()
    t = CrashTest(a.xvirtd, a.xl, a.rounds, a.seed, kinds=a.kinds.split(","))
    try:
        t.run()
        t.report()
    except Exception:
        # What the daemon said last, before close() removes its directory.
        state = "running" if t.d.proc.poll() is None else f"exited with status {t.d.proc.returncode}"
        print(f"xvirtd {state}; its log ends:\n" + t.d.logtext()[-6000:], flush=True)
        raise
    finally:
        t.close()
    ok = not t.violations and sum(t.counts.succeeded.values()) > 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
