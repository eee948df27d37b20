#!/usr/bin/python3
"""xvirtd side by side with Debian's libvirtd (issue 8), in one run: see bench/README.md.

Starts, in a private temporary directory, xvirtd on the simulated Xen host (session mode, private
runtime/state/config dirs), libvirtd with only its built-in test driver (LIBVIRT_DRIVER_DIR empty)
and a second libvirtd running as `nobody` with only the QEMU driver (qemu:///session, persists to
disk). Every figure uses the same C client (bench/peer/vbench.c) against both daemons, alternating
xvirtd and peer round by round; the median of ROUNDS rounds is reported with min/max.

The python figures use bench/peer/pybench.py (python3-libvirt) the same way. --baseline BUILD
adds a second xvirtd from another build (e.g. the commit before a change) as one more subject, so
before and after are measured in the same rounds; --only limits the run to some figures.

Usage: run.py BUILD_DIR VBENCH_BINARY [--rounds N] [--seconds S] [--quick] [--max-domains N]
                                      [--cpus pinned|free] [--out DIR] [--baseline BUILD]
                                      [--only getinfo,open,defundef,listall,startstop,python]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "lib"))
from xvirt_test.host import proc_kib  # noqa: E402
from xvirt_test.wait import connectable  # noqa: E402
LIBVIRT_DRIVERS = "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver"

PV_XML = """<domain type='xen'><name>@NAME@</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='xenpv'>linux</type><kernel>{kernel}</kernel>
<cmdline>console=hvc0</cmdline></os><on_poweroff>destroy</on_poweroff></domain>
"""
TEST_XML = """<domain type='test'><name>@NAME@</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os></domain>
"""
QEMU_XML = """<domain type='qemu'><name>@NAME@</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os></domain>
"""


class Daemon:
    def __init__(self, name, argv, env, sock, uri, log, user=None):
        self.name, self.sock, self.uri = name, sock, uri
        # As root, the QEMU peer runs as nobody: libvirtd only offers qemu:///session unprivileged.
        pre = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if user and os.geteuid() == 0 else []
        self.proc = subprocess.Popen(pre + argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not connectable(sock):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come up; see {log.name}")
            time.sleep(0.05)

    def rss_kib(self):
        return proc_kib(self.proc.pid, "VmRSS")

    def stop(self):
        if self.proc.poll() is None:
            # Its whole session: xvirtd's helpers and xvirt-simxen too (start_new_session above).
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Bench:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.cpu_prefix = ["taskset", "-c", "1"] if args.cpus == "pinned" else []
        self.daemons = {}
        self.results = {"rounds": args.rounds, "cpus": args.cpus, "figures": []}

    def wanted(self, name):
        return not self.args.only or name in self.args.only.split(",")

    def vbench(self, *argv):
        return self.client([self.args.vbench], argv)

    def pybench(self, *argv):
        return self.client(["/usr/bin/python3", os.path.join(HERE, "peer", "pybench.py")], argv)

    def client(self, prog, argv):
        out = subprocess.run(self.cpu_prefix + prog + list(map(str, argv)), capture_output=True,
                             text=True, timeout=3600)
        if out.returncode != 0:
            raise RuntimeError(f"{os.path.basename(prog[-1])} {' '.join(map(str, argv))}: {out.stderr.strip()}")
        return json.loads(out.stdout)

    def start_xvirtd(self, name, build, tag):
        """xvirtd on the sim with private dirs under WORK/TAG-*; returns the Daemon."""
        w = self.work
        for d in ("xr", "xs", "home/config", "home/data", "home/cache", "home/run"):
            os.makedirs(os.path.join(w, f"{tag}{d}"), exist_ok=True)
        home = os.path.join(w, f"{tag}home")
        env = dict(PATH="/usr/sbin:/usr/bin:/sbin:/bin", HOME=home, XDG_CONFIG_HOME=home + "/config",
                   XDG_DATA_HOME=home + "/data", XDG_CACHE_HOME=home + "/cache", XDG_RUNTIME_DIR=home + "/run")
        xsock = os.path.join(w, f"{tag}xr", "xvirtd-sock")
        return Daemon(name, self.cpu_prefix + [os.path.join(build, "driver", "xvirtd"), "--session",
                                               "--hypervisor", "sim", "--runtime-dir", os.path.join(w, f"{tag}xr"),
                                               "--state-dir", os.path.join(w, f"{tag}xs")],
                      env, xsock, f"xen+unix:///session?socket={xsock}",
                      open(os.path.join(w, f"{name}.log"), "ab"))

    def start(self):
        w = self.work
        log = lambda n: open(os.path.join(w, f"{n}.log"), "ab")
        for d in ("home/config", "home/data", "home/cache", "home/run", "lv-none", "lv-qemu", "sock-test", "sock-qemu", "qhome/config", "qhome/cache", "qhome/run", "qhome/data"):
            os.makedirs(os.path.join(w, d), exist_ok=True)
        os.symlink(os.path.join(LIBVIRT_DRIVERS, "libvirt_driver_qemu.so"), os.path.join(w, "lv-qemu",
                   "libvirt_driver_qemu.so"))
        kernel = os.path.join(w, "vmlinuz")
        with open(kernel, "wb") as f:
            f.write(b"xvirt bench kernel for the simulated Xen host\n" * 1024)
        for name, text in (("pv.xml", PV_XML.format(kernel=kernel)), ("test.xml", TEST_XML), ("qemu.xml", QEMU_XML)):
            with open(os.path.join(w, name), "w") as f:
                f.write(text)

        env = dict(PATH="/usr/sbin:/usr/bin:/sbin:/bin", HOME=os.path.join(w, "home"),
                   XDG_CONFIG_HOME=os.path.join(w, "home/config"), XDG_DATA_HOME=os.path.join(w, "home/data"),
                   XDG_CACHE_HOME=os.path.join(w, "home/cache"), XDG_RUNTIME_DIR=os.path.join(w, "home/run"))
        self.daemons["xvirtd"] = self.start_xvirtd("xvirtd", self.args.build, "")
        if self.args.baseline:
            self.daemons["xvirtd-base"] = self.start_xvirtd("xvirtd-base", self.args.baseline, "b-")

        def conf(sockdir):
            path = os.path.join(w, os.path.basename(sockdir) + ".conf")
            with open(path, "w") as f:
                f.write(f'unix_sock_dir = "{sockdir}"\nlisten_tls = 0\nlisten_tcp = 0\n'
                        'auth_unix_rw = "none"\nauth_unix_ro = "none"\nunix_sock_rw_perms = "0777"\n')
            return path

        tsock = os.path.join(w, "sock-test")
        self.daemons["libvirtd-test"] = Daemon(
            "libvirtd-test", self.cpu_prefix + ["libvirtd", "-f", conf(tsock), "-p", os.path.join(w, "lt.pid")],
            dict(env, LIBVIRT_DRIVER_DIR=os.path.join(w, "lv-none")), os.path.join(tsock, "libvirt-sock"),
            f"test+unix:///default?socket={tsock}/libvirt-sock", log("libvirtd-test"))
        qsock = os.path.join(w, "sock-qemu")
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "nobody:nogroup", qsock, os.path.join(w, "qhome")], check=True)
        qenv = dict(PATH=env["PATH"], HOME=os.path.join(w, "qhome"), LIBVIRT_DRIVER_DIR=os.path.join(w, "lv-qemu"),
                    XDG_CONFIG_HOME=os.path.join(w, "qhome/config"), XDG_CACHE_HOME=os.path.join(w, "qhome/cache"),
                    XDG_RUNTIME_DIR=os.path.join(w, "qhome/run"), XDG_DATA_HOME=os.path.join(w, "qhome/data"))
        self.daemons["libvirtd-qemu"] = Daemon(
            "libvirtd-qemu", self.cpu_prefix + ["libvirtd", "-f", conf(qsock), "-p", os.path.join(w, "qhome/lq.pid")],
            qenv, os.path.join(qsock, "libvirt-sock"), f"qemu+unix:///session?socket={qsock}/libvirt-sock",
            log("libvirtd-qemu"), user="nobody")
        # One connection held open for the whole run: libvirtd's test:///default keeps its domains only
        # while some connection to it is open (each vbench process opens its own).
        import libvirt
        self.held = [libvirt.open(d.uri) for d in self.daemons.values()]

    def stop(self):
        for x in (self.daemons.get("xvirtd"), self.daemons.get("xvirtd-base")):
            if not x or x.proc.poll() is not None:
                continue
            try:
                import libvirt
                c = libvirt.open(x.uri)
                for dom in c.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                    dom.destroy()
                c.close()
            except Exception as e:  # still stop everything below
                print(f"clean-up: {e}", file=sys.stderr)
        for c in getattr(self, "held", []):
            try:
                c.close()
            except Exception:
                pass
        for d in self.daemons.values():
            d.stop()
        # Helpers daemonize into sessions of their own: end what is left by pid, found by our work dir.
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and int(pid) != os.getpid():
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if self.work.encode() in f.read():
                            os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def rounds(self, subjects, measure):
        """measure(subject) -> number, for each subject, alternating the order every round."""
        vals = {s: [] for s in subjects}
        for r in range(self.args.rounds):
            order = subjects if r % 2 == 0 else list(reversed(subjects))
            for s in order:
                vals[s].append(measure(s))
        return vals

    def figure(self, name, unit, xv, peer_name, peer, target, better, ratio_target):
        """better: 'higher' or 'lower'; ratio = xvirtd / peer."""
        xm, pm = statistics.median(xv), statistics.median(peer) if peer else None
        ratio = xm / pm if pm else None
        met = None
        if ratio is not None and ratio_target is not None:
            met = ratio >= ratio_target if better == "higher" else ratio <= ratio_target
        fig = dict(name=name, unit=unit, xvirtd=dict(median=xm, min=min(xv), max=max(xv), values=xv),
                   peer_name=peer_name, target=target, ratio=ratio, met=met)
        if peer:
            fig["peer"] = dict(median=pm, min=min(peer), max=max(peer), values=peer)
        self.results["figures"].append(fig)
        print(f"  {name}: xvirtd {xm:.1f} {unit}, {peer_name} {pm if pm is None else round(pm, 1)}, "
              f"ratio {ratio if ratio is None else round(ratio, 3)}", flush=True)
        return fig

    def run(self):
        a, X, T, Q = self.args, self.daemons["xvirtd"], self.daemons["libvirtd-test"], self.daemons["libvirtd-qemu"]
        B = self.daemons.get("xvirtd-base")
        pv, txml, qxml = (os.path.join(self.work, n) for n in ("pv.xml", "test.xml", "qemu.xml"))
        secs = a.seconds
        # Subjects: x = xvirtd, b = xvirtd of --baseline (before a change), p/t = libvirtd's test driver,
        # q = libvirtd's QEMU driver. A baseline figure is reported as xvirtd-before against the same peer.
        xs = ["x", "b"] if B else ["x"]
        uri = {"x": X.uri, "b": B.uri if B else None, "p": T.uri, "t": T.uri, "q": Q.uri}

        def report(name, unit, v, peer_key, peer_name, target, better, ratio_target):
            f = self.figure(name, unit, v["x"], peer_name, v[peer_key], target, better, ratio_target)
            if B:
                self.figure(name + " [before]", unit, v["b"], peer_name, v[peer_key], target, better, ratio_target)
            return f

        self.results["rss_idle_kib"] = {n: d.rss_kib() for n, d in self.daemons.items()}
        self.figure("daemon RSS idle", "KiB", [X.rss_kib()], "libvirtd (test)", [T.rss_kib()],
                    "<= 0.5x", "lower", 0.5)

        # One running domain on each: a transient sim guest on xvirtd, test:///default's "test".
        import libvirt  # python3-libvirt, for set-up only
        xcs = []
        for s in xs:
            c = libvirt.open(uri[s])
            with open(pv) as f:
                c.createXML(f.read().replace("@NAME@", "vbench-run"), 0)
            xcs.append(c)
        dom = lambda s: "test" if s == "p" else "vbench-run"
        if self.wanted("getinfo"):
            v = self.rounds(xs + ["p"], lambda s: self.vbench("getinfo", uri[s], dom(s), secs)["per_s"])
            report("virDomainGetInfo", "calls/s", v, "p", "libvirtd (test)", ">= 1.5x", "higher", 1.5)
            # Diagnostic: the same call on a shut-off domain asks the hypervisor nothing (a running
            # one costs xvirtd a round trip to xvirt-simxen, which stands for a hypercall on Xen).
            for s in xs:
                self.vbench("define", uri[s], pv, "vbench-off", 0, 1)
            v = self.rounds(xs + ["p"], lambda s: self.vbench(
                "getinfo", uri[s], "test" if s == "p" else "vbench-off-0", secs)["per_s"])
            report("virDomainGetInfo, shut-off domain (RPC path only)", "calls/s", v, "p", "libvirtd (test)",
                   "(diagnostic)", "higher", None)
            for s in xs:
                self.vbench("undefine", uri[s], "vbench-off", 1)
        if self.wanted("python"):
            v = self.rounds(xs + ["p"], lambda s: self.pybench("getinfo", uri[s], dom(s), secs)["per_s"])
            report("virDomainGetInfo, python", "calls/s", v, "p", "libvirtd (test)", ">= 1.5x", "higher", 1.5)
        if self.wanted("open"):
            v = self.rounds(xs + ["p"], lambda s: self.vbench("open", uri[s], secs)["per_s"])
            report("connection open+close", "/s", v, "p", "libvirtd (test)", ">= 1.5x", "higher", 1.5)
        if self.wanted("python"):
            v = self.rounds(xs + ["p"], lambda s: self.pybench("open", uri[s], secs)["per_s"])
            report("connection open+close, python", "/s", v, "p", "libvirtd (test)", ">= 1.5x", "higher", 1.5)

        if self.wanted("defundef"):
            xml = {"x": pv, "b": pv, "q": qxml, "t": txml}
            v = self.rounds(xs + ["q", "t"], lambda s: self.vbench("defundef", uri[s], xml[s], secs)["per_s"])
            report("define+undefine pairs", "/s", v, "q", "libvirtd (qemu:///session)", ">= 1.5x", "higher", 1.5)
            self.figure("define+undefine pairs", "/s", v["x"], "libvirtd (test)", v["t"], "(reported)", "higher", None)

        # listAllDomains curve: top all daemons up to N defined domains.
        curve, pycurve, have = [], [], 0
        for n in [1, 10, 100, 1000, 10000] if self.wanted("listall") else []:
            if n > a.max_domains:
                break
            for s in xs + ["p"]:
                self.vbench("define", uri[s], txml if s == "p" else pv, "vbench-l", have, n - have)
            have = n
            calls = max(20, min(300, 30000 // n))
            counts = {}

            def listall(s, bench=self.vbench, calls=calls):
                r = bench("listall", uri[s], calls)
                counts[s] = r["domains"]
                return r["median_us"]
            v = self.rounds(xs + ["p"], listall)
            if min(counts.values()) < n:
                raise RuntimeError(f"listAllDomains saw {counts} domains, expected at least {n}")
            f = report(f"listAllDomains, {n} defined", "us", v, "p", "libvirtd (test)", "<= 0.5x at 1000", "lower",
                       0.5 if n == 1000 else None)
            f["domains_listed"] = counts
            curve.append(dict(n=n, xvirtd=f["xvirtd"], peer=f["peer"]))
            if self.wanted("python"):
                pycalls = max(5, min(100, 3000 // n))
                v = self.rounds(xs + ["p"], lambda s: listall(s, self.pybench, pycalls))
                f = report(f"listAllDomains, python, {n} defined", "us", v, "p", "libvirtd (test)", "(reported)",
                           "lower", None)
                pycurve.append(dict(n=n, xvirtd=f["xvirtd"], peer=f["peer"]))
            if n == 1000:
                self.figure("daemon RSS, 1000 defined", "KiB", [X.rss_kib()], "libvirtd (test)", [T.rss_kib()],
                            "<= 0.5x", "lower", 0.5)
        self.results["listall_curve"] = curve
        self.results["listall_curve_python"] = pycurve

        # Guest start+destroy on the sim (no peer can start guests here: no KVM, no Xen). Per core is
        # the rate over the cores the run may use (1 pinned, all when free); a sequential client on
        # free CPUs leaves cores idle, so the rate over the cores the machine was busy on (/proc/stat,
        # every process counted) is reported beside it.
        for threads in (1, 8) if self.wanted("startstop") else ():
            busy = []

            def startstop(s, threads=threads, busy=busy):
                b0, t0 = busy_core_seconds(), time.perf_counter()
                r = self.vbench("startstop", X.uri, pv, secs * 2, threads)
                busy.append((busy_core_seconds() - b0) / (time.perf_counter() - t0))
                return r["per_s"]
            v = self.rounds(["x"], startstop)
            cores = 1 if a.cpus == "pinned" else os.cpu_count()
            per_core = [x / cores for x in v["x"]]
            f = self.figure(f"guest start+destroy, {threads} client(s)", "guests/core/s", per_core, "-", None,
                            ">= 25", "higher", None)
            f["met"] = statistics.median(per_core) >= 25
            per_busy = [x / max(b, 0.01) for x, b in zip(v["x"], busy)]
            f = self.figure(f"guest start+destroy, {threads} client(s), per busy core (mean {statistics.mean(busy):.2f} "
                            f"cores busy)", "guests/core/s", per_busy, "-", None, "(reported)", "higher", None)
        for c in xcs:
            c.close()

    def plot(self, out):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("no matplotlib: no plots")
            return
        c = self.results.get("listall_curve")
        if not c:
            return
        fig, ax = plt.subplots(figsize=(6, 4))
        curves = [(c, "", "-")]
        if self.results.get("listall_curve_python"):
            curves.append((self.results["listall_curve_python"], ", python", "--"))
        for pts, client, style in curves:
            for key, label in (("xvirtd", "xvirtd"), ("peer", "libvirtd (test driver)")):
                ns = [p["n"] for p in pts]
                med = [p[key]["median"] for p in pts]
                lo = [p[key]["median"] - p[key]["min"] for p in pts]
                hi = [p[key]["max"] - p[key]["median"] for p in pts]
                ax.errorbar(ns, med, yerr=[lo, hi], marker="o", capsize=3, linestyle=style, label=label + client)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("defined domains")
        ax.set_ylabel("latency, µs (median, min–max)")
        ax.set_title(f"listAllDomains, C and python clients, CPUs {self.args.cpus}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        path = os.path.join(out, f"listall-{self.args.cpus}.png")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        print(f"plot: {path}")


def helper_bench(build, quick):
    """Reruns bench/helper/bench_helper.py and returns its table rows."""
    argv = ["/usr/bin/python3", os.path.join(HERE, "helper", "bench_helper.py"), build,
            "--runs", "5" if quick else "15", "--calls", "300" if quick else "1000"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    rows = []
    for line in out.stdout.splitlines():
        m = re.match(r"(.+?)\s{2,}(\S+ \S+)\s+(\S+ \S+)\s+([0-9.]+)\s+(.*)$", line)
        if m and not line.startswith("metric"):
            rows.append(dict(name=m[1].strip(), xvirt=m[2], peer=m[3], ratio=float(m[4]), target=m[5]))
    return rows, out.stdout + out.stderr


def table(results):
    lines = ["| figure | xvirtd (median, min–max) | peer | peer (median, min–max) | ratio | target | |",
             "|---|---|---|---|---|---|---|"]
    fmt = lambda d: f"{d['median']:.1f} ({d['min']:.1f}–{d['max']:.1f})" if d else "—"
    for f in results["figures"]:
        met = {True: "met", False: "**missed**", None: ""}[f["met"]]
        ratio = f"{f['ratio']:.2f}" if f["ratio"] is not None else "—"
        lines.append(f"| {f['name']} ({f['unit']}) | {fmt(f['xvirtd'])} | {f['peer_name']} | {fmt(f.get('peer'))} "
                     f"| {ratio} | {f['target']} | {met} |")
    for r in results.get("helper", []):
        lines.append(f"| helper: {r['name']} | {r['xvirt']} | QEMU | {r['peer']} | {r['ratio']:.3f} | {r['target']} | |")
    return "\n".join(lines)


def busy_core_seconds():
    """CPU time the whole machine has spent busy (not idle, not waiting for I/O), in core-seconds."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("vbench")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--max-domains", type=int, default=10000)
    ap.add_argument("--baseline", help="build dir of an xvirtd to measure beside (before/after a change)")
    ap.add_argument("--only", help="comma list of getinfo,open,defundef,listall,startstop,python")
    ap.add_argument("--cpus", choices=["pinned", "free"], default="pinned")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 rounds, 0.2 s, up to 100 domains")
    ap.add_argument("--no-helper", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds, a.max_domains = 2, 0.2, min(a.max_domains, 100)
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="xvbench-")
    os.chmod(work, 0o755)
    b = Bench(a, work)
    b.results["uptime_before"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    b.results["machine"] = dict(nproc=os.cpu_count(), uname=" ".join(os.uname()),
                                libvirtd=subprocess.run(["libvirtd", "--version"], capture_output=True,
                                                        text=True).stdout.strip())
    try:
        b.start()
        b.run()
    finally:
        b.stop()
        shutil.rmtree(work, ignore_errors=True)
    if not a.no_helper:
        b.results["helper"], raw = helper_bench(a.build, a.quick)
        b.results["helper_output"] = raw
    b.results["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    path = os.path.join(a.out, f"results-{a.cpus}.json")
    with open(path, "w") as f:
        json.dump(b.results, f, indent=1)
    b.plot(a.out)
    print()
    print(table(b.results))
    print(f"\nload: {b.results['uptime_before']}  →  {b.results['uptime_after']}\nresults: {path}")


if __name__ == "__main__":
    main()
