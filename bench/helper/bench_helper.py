#!/usr/bin/env python3
"""xvirt-helper side by side with QEMU's QMP, in one run (issue 4's targets).

Measures, for xvirt-helper (a PV guest on the simulated Xen host, started paused with -S) and for
`qemu-system-x86_64 -machine none -nodefaults -nographic -S` from Debian's qemu-system-x86:
  * spawn -> QMP greeting received (median, min, max over RUNS spawns), by the C client
    BUILD_DIR/bench/helper/greet-bench (posix_spawn, inotify wait, no busy-polling), beside the floor:
    greet-floor, a trivial program that only listens and greets (libc only, with GLib, static),
    spawned the same way in the same rounds; `--greeting python` (or `both`) adds this script's
    earlier measurement (subprocess.Popen and a busy connect() loop) for comparison,
  * resident memory (VmRSS) with the guest built and running (helper) / the VM idle (QEMU),
  * query-status round trip (median over CALLS calls on one negotiated connection).
Spawns alternate between the two, and round trips run in alternating slices, so a machine that is
busy with something else slows both alike.
Prints one table and the ratios helper/QEMU next to the targets:
  greeting <= 5 ms median and <= 1/8 of QEMU's; RSS <= 4 MiB; query-status <= 1/4 of QEMU's.

Usage: bench_helper.py BUILD_DIR [--runs N] [--calls N] [--byte-reads] [--greeting c|python|both]
                       [--wait inotify|backoff|spin] [--cpus LIST]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


BYTE_READS = False  # --byte-reads: the earlier client, one recv per byte of each reply


class LineReader:
    """Reads newline-ended messages with one recv per arrival (as QMP clients such as libvirt's do).

    A raw `socket.makefile(buffering=0).readline()` issues one recv per byte: ~75 system calls per
    reply, a constant that both subjects pay and that drowns the servers' own cost in the ratio.
    """

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def readline(self):
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                return line
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("monitor closed")
            self.buf += chunk

    def write(self, data):
        self.sock.sendall(data)


def connect_greeting(path, proc, deadline):
    """Connects as soon as the socket accepts and returns the socket with the greeting read."""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before its monitor came up")
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no monitor at {path}")
            # Busy-polling on purpose: a sleep here would be counted as start-up time.
    f = s.makefile("rwb", buffering=0) if BYTE_READS else LineReader(s)
    greeting = json.loads(f.readline())
    assert "QMP" in greeting, greeting
    return s, f


def qmp(f, command, args=None):
    msg = {"execute": command}
    if args:
        msg["arguments"] = args
    f.write(json.dumps(msg).encode() + b"\n")
    while True:
        reply = json.loads(f.readline())
        if "event" in reply:
            continue
        if "error" in reply:
            raise RuntimeError(f"{command}: {reply['error']}")
        return reply["return"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as st:
        for line in st:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Subject:
    def __init__(self, name, argv_for, env, cont_running):
        self.name, self.argv_for, self.env, self.cont_running = name, argv_for, env, cont_running


def greet_once(subject, workdir, i):
    sock = os.path.join(workdir, f"{subject.name}-{i}.qmp")
    t0 = time.perf_counter()
    p = subprocess.Popen(subject.argv_for(sock, i), env=subject.env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        s, _ = connect_greeting(sock, p, time.monotonic() + 30)
        ms = (time.perf_counter() - t0) * 1000
        s.close()
    finally:
        stop(p)
    return ms


def stop(p):
    """SIGTERM, then SIGKILL after 10 s (QEMU has been seen to miss a SIGTERM sent during its start-up)."""
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print(f"{p.args[0]} ignored SIGTERM for 10 s; killed", file=sys.stderr)
        p.kill()
        p.wait(timeout=30)


class LongLived:
    """One instance for RSS and round trips: negotiated, and running for the helper."""

    def __init__(self, subject, workdir, i):
        sock = os.path.join(workdir, f"{subject.name}-rt.qmp")
        self.p = subprocess.Popen(subject.argv_for(sock, i), env=subject.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.s, self.f = connect_greeting(sock, self.p, time.monotonic() + 30)
        qmp(self.f, "qmp_capabilities")
        if subject.cont_running:
            qmp(self.f, "cont")
        for _ in range(50):  # warm-up
            qmp(self.f, "query-status")

    def round_trips(self, calls):
        out = []
        for _ in range(calls):
            t0 = time.perf_counter()
            qmp(self.f, "query-status")
            out.append((time.perf_counter() - t0) * 1e6)
        return out

    def close(self):
        self.s.close()
        stop(self.p)


def summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def greetings_python(subjects, workdir, runs):
    """The earlier measurement: Popen, then a busy connect() loop, subjects in turns."""
    greet = {s.name: [] for s in subjects}
    for i in range(runs):
        for subj in subjects:
            greet[subj.name].append(greet_once(subj, workdir, i))
    return {name: summary(v) for name, v in greet.items()}


def greetings_c(client, subjects, workdir, runs, wait):
    """Spawn -> greeting by the C client (greet-bench.c), subjects in turns, the first rotating."""
    argv = [client, "--json", "--runs", str(runs), "--wait", wait, workdir]
    for subj in subjects:
        argv += ["--", subj.name] + subj.argv_for("@SOCK@", "@RUN@")
    env = {}
    for subj in subjects:
        env.update(subj.env)
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"greet-bench failed ({out.returncode}): {out.stderr.strip()}")
    r = json.loads(out.stdout)
    return {name: dict(summary(v["ms"]), refused=v["refused"]) for name, v in r["subjects"].items()}


def round_trips_and_rss(subjects, workdir, calls, slices=10):
    """Interleaves the subjects slice by slice so both see the same machine load."""
    live = {}
    try:
        for subj in subjects:
            live[subj.name] = LongLived(subj, workdir, "rt")
        rt = {s.name: [] for s in subjects}
        per_slice = max(1, calls // slices)
        for _ in range(slices):
            for subj in subjects:
                rt[subj.name] += live[subj.name].round_trips(per_slice)
        rss = {name: rss_kib(l.p.pid) for name, l in live.items()}
    finally:
        for l in live.values():
            l.close()
    return {s.name: {"rss_kib": rss[s.name], "query_status_us": statistics.median(rt[s.name])} for s in subjects}


def fmt_greet(g):
    return f"{g['median']:.2f} ms ({g['min']:.2f} .. {g['max']:.2f}, n={g['n']})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--byte-reads", action="store_true",
                    help="read replies one byte per recv, as this script's first version did (for comparison)")
    ap.add_argument("--greeting", choices=["c", "python", "both"], default="c",
                    help="who measures spawn -> greeting: the C client (default), this script's earlier "
                         "Popen + busy connect() loop, or both (one after the other)")
    ap.add_argument("--wait", choices=["inotify", "backoff", "spin"], default="inotify",
                    help="how the C client waits for the socket (greet-bench.c)")
    ap.add_argument("--cpus", help="pin this script and everything it starts (both subjects alike) to these "
                                   "CPUs, e.g. 1 or 0,1")
    a = ap.parse_args()
    global BYTE_READS
    BYTE_READS = a.byte_reads
    if a.cpus:
        os.sched_setaffinity(0, {int(c) for c in a.cpus.split(",")})
    helper = os.path.join(a.build, "helper", "xvirt-helper")
    client = os.path.join(a.build, "bench", "helper", "greet-bench")
    floors = [(name, os.path.join(a.build, "bench", "helper", exe)) for name, exe in
              (("floor", "greet-floor"), ("floor-glib", "greet-floor-glib"), ("floor-static", "greet-floor-static"))]
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        sys.exit("qemu-system-x86_64 is missing: apt-get install qemu-system-x86 (the peer of this benchmark)")
    if a.greeting != "python" and not os.access(client, os.X_OK):
        sys.exit(f"{client} is missing: build it (ninja -C {a.build} bench/helper/greet-bench)")
    work = tempfile.mkdtemp(prefix="xvirt-bench-helper-")
    sim = os.path.join(work, "sim")
    kernel = os.path.join(work, "vmlinuz")
    with open(kernel, "wb") as k:
        k.write(os.urandom(4 << 20))  # a 4 MiB "kernel": about what a distribution vmlinuz weighs
    env = dict(os.environ, XVIRT_SIM_DIR=sim)
    load_before = os.getloadavg()
    t_start = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    greet_c = greet_py = None
    try:
        helper_subject = Subject(
            "helper",
            lambda sock, i: [helper, "-name", f"bench{i}", "-M", "xenpv", "-m", "128", "-kernel", kernel,
                             "-serial", "null", "-S", "-qmp", f"unix:{sock},server,nowait", "--hypervisor", "sim",
                             "--sim-dir", sim],
            env, cont_running=True)
        qemu_subject = Subject(
            "qemu",
            lambda sock, i: [qemu, "-machine", "none", "-nodefaults", "-nographic", "-S",
                             "-qmp", f"unix:{sock},server=on,wait=off"],
            dict(os.environ), cont_running=False)
        floor_subjects = [Subject(name, lambda sock, i, exe=exe: [exe, sock], dict(os.environ), cont_running=False)
                          for name, exe in floors if os.access(exe, os.X_OK)]
        subjects = [helper_subject, qemu_subject]
        # Start the simulated host once, outside the timings (on Xen the hypervisor is always there).
        greetings_python(subjects, work, 2)  # warm caches
        round_trips_and_rss(subjects, work, 20, slices=1)
        if a.greeting in ("c", "both"):
            greet_c = greetings_c(client, subjects + floor_subjects, work, a.runs, a.wait)
        if a.greeting in ("python", "both"):
            greet_py = greetings_python(subjects, work, a.runs)
        load_mid = os.getloadavg()
        r = round_trips_and_rss(subjects, work, a.calls)
        h, q = r["helper"], r["qemu"]
    finally:
        simpid = os.path.join(sim, "simxen.pid")
        if os.path.exists(simpid):
            try:
                os.kill(int(open(simpid).read().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    greet = greet_c or greet_py
    hg, qg = greet["helper"]["median"], greet["qemu"]["median"]
    who = "C client" if greet_c else "Python client"
    rows = [
        (f"spawn -> QMP greeting (median)", f"{hg:.2f} ms", f"{qg:.2f} ms", hg / qg, f"<= 5 ms and <= 0.125 ({who})"),
    ]
    if greet_c and greet_py:
        hp, qp = greet_py["helper"]["median"], greet_py["qemu"]["median"]
        rows.append(("greeting, Python client (median)", f"{hp:.2f} ms", f"{qp:.2f} ms", hp / qp, "(comparison)"))
    rows += [
        ("RSS, guest running", f"{h['rss_kib'] / 1024:.1f} MiB", f"{q['rss_kib'] / 1024:.1f} MiB",
         h["rss_kib"] / q["rss_kib"], "helper <= 4 MiB"),
        ("query-status round trip (median)", f"{h['query_status_us']:.1f} us", f"{q['query_status_us']:.1f} us",
         h["query_status_us"] / q["query_status_us"], "<= 0.25"),
    ]
    print(f"{'metric':36} {'xvirt-helper':>14} {'qemu':>12} {'ratio':>8}  target")
    for name, hv, qv, ratio, target in rows:
        print(f"{name:36} {hv:>14} {qv:>12} {ratio:8.3f}  {target}")
    print()
    for label, g in (("C client, wait " + a.wait, greet_c), ("Python client, busy connect()", greet_py)):
        if not g:
            continue
        print(f"spawn -> greeting, {label}: median (min .. max, runs)")
        for name, v in g.items():
            extra = f", {v['refused']} connects refused" if "refused" in v else ""
            print(f"  {name:13} {fmt_greet(v)}{extra}")
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    print(f"started {t_start}; load average (1/5/15 min) before {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}, after greetings {load_mid[0]:.2f}, after {load_after[0]:.2f}; CPUs {cpus}")
    met = (hg <= 5 and hg <= qg / 8 and h["rss_kib"] <= 4096
           and h["query_status_us"] <= q["query_status_us"] / 4)
    print("targets met" if met else "targets NOT met")


if __name__ == "__main__":
    main()
