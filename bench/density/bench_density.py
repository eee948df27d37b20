#!/usr/bin/env python3
"""Density (issue 8): many running sim guests at once under one xvirtd.

Starts, in a private temporary directory, xvirtd in session mode on the simulated Xen host (as
bench/run.py does), then starts transient PV guests of --mem-mb MiB (sparse RAM files) through the
libvirt API until --guests are running. At each checkpoint (1, 10, 100, 500, 1000, ... guests) it
measures:
  * total resident memory of xvirtd + its xvirt-helper processes + xvirt-simxen: the sum of VmRSS
    (what the issue asks; shared library pages count once per process) and the sum of Pss (each
    shared page split among the processes mapping it: what the machine really spends);
  * `virsh list` latency: the real virsh (`virsh -c URI list`, process start, connect and one
    listAllDomains plus a state query per domain), median of --list-runs runs;
  * the same requests on one open connection from python3-libvirt (listAllDomains, then ID, name
    and state of each domain: what virsh list sends), which leaves out virsh's own start-up;
  * the API's listAllDomains with the C client bench/peer/vbench (when built), for reference.
Targets: <= 4 GiB total at 1000 running guests; `virsh list` <= 50 ms at 1000.
No peer can run 1000 guests on this machine (no KVM, no Xen), so only targets are shown.

Usage: bench_density.py BUILD_DIR [--guests 1000] [--mem-mb 12] [--clients 4] [--list-runs 7]
                        [--json bench/results/density.json] [--vbench BUILD/bench/vbench]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "lib"))
from xvirt_test.host import proc_kib  # noqa: E402
from xvirt_test.wait import connectable  # noqa: E402

PV_XML = """<domain type='xen'><name>{name}</name><memory unit='MiB'>{mem}</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='xenpv'>linux</type><kernel>{kernel}</kernel>
<cmdline>console=hvc0</cmdline></os><on_poweroff>destroy</on_poweroff></domain>
"""


def cpu_ms(pid):
    """User + system CPU time a process has used, in ms (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def pids_of(work):
    """Every process whose command line or environment names our private directory."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if work.encode() in cmd:
            out.append((int(pid), os.path.basename(cmd.split(b"\0")[0].decode(errors="replace"))))
    return out


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Density:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="xvbench-density-")
        self.proc = None
        self.list_cpu = None

    def start(self):
        w = self.work
        for d in ("xr", "xs", "home/config", "home/data", "home/cache", "home/run"):
            os.makedirs(os.path.join(w, d), exist_ok=True)
        self.kernel = os.path.join(w, "vmlinuz")
        with open(self.kernel, "wb") as f:
            f.write(b"xvirt density bench kernel for the simulated Xen host\n" * 1024)
        self.env = dict(PATH="/usr/sbin:/usr/bin:/sbin:/bin", HOME=os.path.join(w, "home"),
                        XDG_CONFIG_HOME=os.path.join(w, "home/config"), XDG_DATA_HOME=os.path.join(w, "home/data"),
                        XDG_CACHE_HOME=os.path.join(w, "home/cache"), XDG_RUNTIME_DIR=os.path.join(w, "home/run"))
        sock = os.path.join(w, "xr", "xvirtd-sock")
        self.uri = f"xen+unix:///session?socket={sock}"
        self.log = open(os.path.join(w, "xvirtd.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(self.a.build, "driver", "xvirtd"), "--session", "--hypervisor", "sim",
             "--runtime-dir", os.path.join(w, "xr"), "--state-dir", os.path.join(w, "xs")],
            env=self.env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while not connectable(sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"xvirtd did not come up; see {self.log.name}")
            time.sleep(0.05)

    def start_guests(self, first, count):
        """Starts guests first..first+count-1 from --clients threads, each on its own connection."""
        import libvirt
        names = [f"dens{i:05d}" for i in range(first, first + count)]
        errors = []

        def worker(chunk):
            try:
                c = libvirt.open(self.uri)
                for n in chunk:
                    c.createXML(PV_XML.format(name=n, mem=self.a.mem_mb, kernel=self.kernel), 0)
                c.close()
            except Exception as e:  # reported below, after the other threads finished
                errors.append(str(e))

        k = max(1, self.a.clients)
        threads = [threading.Thread(target=worker, args=(names[i::k],)) for i in range(k)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError(f"starting guests: {errors[0]} ({len(errors)} client(s) failed)")
        return time.perf_counter() - t0

    def memory(self):
        procs = [(self.proc.pid, "xvirtd")] + [p for p in pids_of(self.work) if p[0] != self.proc.pid]
        by = {}
        for pid, name in procs:
            e = by.setdefault(name, {"count": 0, "rss_kib": 0, "pss_kib": 0})
            e["count"] += 1
            e["rss_kib"] += proc_kib(pid, "VmRSS")
            e["pss_kib"] += proc_kib(pid, "Pss", "smaps_rollup")
        return by

    def virsh_list(self, expect):
        """Wall times of `virsh list`; also sets self.list_cpu: the CPU time per listing of virsh itself
        (its process, as the kernel accounts a waited-for child) and of xvirtd, which tells whose work
        the wall time is."""
        times = []
        daemon0 = cpu_ms(self.proc.pid)
        child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(self.a.list_runs):
            t0 = time.perf_counter()
            out = subprocess.run(["virsh", "-c", self.uri, "list"], env=self.env, capture_output=True, text=True)
            times.append((time.perf_counter() - t0) * 1000)
            if out.returncode != 0:
                raise RuntimeError(f"virsh list: {out.stderr.strip()}")
            running = sum(1 for line in out.stdout.splitlines() if line.strip().endswith("running"))
            if running != expect:
                raise RuntimeError(f"virsh list shows {running} running guests, expected {expect}")
        child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs = self.a.list_runs
        self.list_cpu = {
            "virsh_ms": ((child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)) * 1000 / runs,
            "xvirtd_ms": (cpu_ms(self.proc.pid) - daemon0) / runs,
        }
        return times

    def api_list(self, expect, runs=15):
        """What `virsh list` asks, on one open connection: listAllDomains, then each domain's state."""
        import libvirt
        c = libvirt.open(self.uri)
        times = []
        try:
            for _ in range(runs):
                t0 = time.perf_counter()
                doms = c.listAllDomains(0)
                rows = [(d.ID(), d.name(), d.state()[0]) for d in doms]
                times.append((time.perf_counter() - t0) * 1000)
                if sum(1 for r in rows if r[2] == libvirt.VIR_DOMAIN_RUNNING) != expect:
                    raise RuntimeError(f"listAllDomains shows {len(rows)} domains, expected {expect} running")
        finally:
            c.close()
        return times

    def vbench_list(self):
        if not self.a.vbench or not os.path.exists(self.a.vbench):
            return None
        out = subprocess.run([self.a.vbench, "listall", self.uri, "50"], capture_output=True, text=True)
        if out.returncode != 0:
            return None
        return json.loads(out.stdout).get("median_us")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=120)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        # Helpers daemonize into sessions of their own: what is left is ended by pid.
        for pid, _ in pids_of(self.work):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.work, ignore_errors=True)


def checkpoints(n):
    out = [c for c in (1, 10, 100, 250, 500, 750, 1000, 2000, 5000) if c < n]
    return out + [n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--guests", type=int, default=1000)
    ap.add_argument("--mem-mb", type=int, default=12)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--list-runs", type=int, default=7)
    ap.add_argument("--vbench", default=None)
    ap.add_argument("--perf", default=None, help="perf record -g of xvirtd during the last checkpoint's listing, to FILE")
    ap.add_argument("--perf-virsh", default=None,
                    help="perf record -g of one `virsh list` (the client's own side) at the last checkpoint, to FILE")
    ap.add_argument("--json", default=os.path.join(os.path.dirname(HERE), "results", "density.json"))
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    if a.vbench is None:
        a.vbench = os.path.join(a.build, "bench", "vbench")
    raise_nofile()  # inherited by xvirtd, its helpers and xvirt-simxen
    d = Density(a)
    res = {"guests": a.guests, "mem_mb": a.mem_mb, "clients": a.clients, "uptime_before": os.getloadavg(),
           "nofile": resource.getrlimit(resource.RLIMIT_NOFILE), "points": []}
    print(f"density: up to {a.guests} running sim guests of {a.mem_mb} MiB, load {os.getloadavg()[0]:.1f}",
          flush=True)
    try:
        d.start()
        have = 0
        for n in checkpoints(a.guests):
            secs = d.start_guests(have, n - have)
            rate = (n - have) / secs
            have = n
            time.sleep(1)  # let start-up work (console, first xenstore writes) settle before measuring
            mem = d.memory()
            rss = sum(e["rss_kib"] for e in mem.values())
            pss = sum(e["pss_kib"] for e in mem.values())
            virsh = d.virsh_list(n)
            api = d.vbench_list()
            prof = None
            if a.perf and n == a.guests:
                prof = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", a.perf, "-p", str(d.proc.pid)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            if a.perf_virsh and n == a.guests:
                subprocess.run(["perf", "record", "-F", "4999", "-g", "-o", a.perf_virsh, "--", "virsh", "-c", d.uri,
                                "list"], env=d.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            inproc = d.api_list(n)
            if prof:
                prof.send_signal(signal.SIGINT)
                prof.wait()
            pt = {"running": n, "start_rate_per_s": rate, "memory": mem, "total_rss_kib": rss, "total_pss_kib": pss,
                  "virsh_list_ms": {"median": statistics.median(virsh), "min": min(virsh), "max": max(virsh),
                                    "values": virsh},
                  "listall_api_us": api, "virsh_list_cpu_ms": d.list_cpu,
                  "list_and_states_ms": {"median": statistics.median(inproc), "min": min(inproc), "max": max(inproc)}, "load": os.getloadavg()}
            res["points"].append(pt)
            helpers = mem.get("xvirt-helper", {"count": 0, "rss_kib": 0, "pss_kib": 0})
            print(f"  {n:5d} running: started at {rate:5.1f}/s; RSS total {rss / 1024:7.1f} MiB "
                  f"(PSS {pss / 1024:7.1f}; xvirtd {mem['xvirtd']['rss_kib'] / 1024:.1f}, "
                  f"{helpers['count']} helpers {helpers['rss_kib'] / 1024:.1f} / PSS {helpers['pss_kib'] / 1024:.1f}, "
                  f"simxen {mem.get('xvirt-simxen', {}).get('rss_kib', 0) / 1024:.1f}); virsh list "
                  f"{statistics.median(virsh):.1f} ms (min {min(virsh):.1f}, max {max(virsh):.1f}; CPU per listing: "
                  f"virsh {d.list_cpu['virsh_ms']:.1f} ms, xvirtd {d.list_cpu['xvirtd_ms']:.1f} ms)"
                  + f"; in-process list+states {statistics.median(inproc):.1f} ms"
                  + (f"; listAllDomains {api:.0f} us" if api else ""), flush=True)
    finally:
        res["uptime_after"] = os.getloadavg()
        d.stop()
    last = res["points"][-1]
    gib = last["total_rss_kib"] / (1 << 20)
    ms = last["virsh_list_ms"]["median"]
    print(f"\n| figure | xvirt | target | |\n|---|---|---|---|\n"
          f"| total RSS, {last['running']} running guests (xvirtd + helpers + simxen) | {gib:.2f} GiB "
          f"(PSS {last['total_pss_kib'] / (1 << 20):.2f} GiB) | <= 4 GiB | {'met' if gib <= 4 else '**missed**'} |\n"
          f"| `virsh list`, {last['running']} running (median of {a.list_runs}) | {ms:.1f} ms | <= 50 ms | "
          f"{'met' if ms <= 50 else '**missed**'} |\n"
          f"| the same requests on an open connection (listAllDomains + a state per domain) | "
          f"{last['list_and_states_ms']['median']:.1f} ms | (virsh's own start-up excluded) | |\n"
          f"| CPU per `virsh list` at {last['running']}: virsh's process / xvirtd | "
          f"{last['virsh_list_cpu_ms']['virsh_ms']:.1f} / {last['virsh_list_cpu_ms']['xvirtd_ms']:.1f} ms | (where the time goes) | |")
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    print(f"results: {a.json}")


if __name__ == "__main__":
    sys.exit(main())
