#!/usr/bin/env python3
"""xvirt-helper side by side with QEMU's QMP, in one run (issue 4's targets).

Measures, for xvirt-helper (a PV guest on the simulated Xen host, started paused with -S) and for
`qemu-system-x86_64 -machine none -nodefaults -nographic -S` from Debian's qemu-system-x86:
  * spawn -> QMP greeting received (median over RUNS spawns),
  * resident memory (VmRSS) with the guest built and running (helper) / the VM idle (QEMU),
  * query-status round trip (median over CALLS calls on one negotiated connection).
Prints one table and the ratios helper/QEMU next to the targets:
  greeting <= 5 ms median and <= 1/8 of QEMU's; RSS <= 4 MiB; query-status <= 1/4 of QEMU's.

Usage: bench_helper.py BUILD_DIR [--runs N] [--calls N]
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
    f = s.makefile("rwb", buffering=0)
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


def measure(subject, workdir, runs, calls):
    greet_ms = []
    for i in range(runs):
        sock = os.path.join(workdir, f"{subject.name}-{i}.qmp")
        t0 = time.perf_counter()
        p = subprocess.Popen(subject.argv_for(sock, i), env=subject.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            s, f = connect_greeting(sock, p, time.monotonic() + 30)
            greet_ms.append((time.perf_counter() - t0) * 1000)
            s.close()
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
    # One long-lived instance for RSS and round trips.
    sock = os.path.join(workdir, f"{subject.name}-rt.qmp")
    p = subprocess.Popen(subject.argv_for(sock, runs), env=subject.env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        s, f = connect_greeting(sock, p, time.monotonic() + 30)
        qmp(f, "qmp_capabilities")
        if subject.cont_running:
            qmp(f, "cont")
        for _ in range(50):  # warm-up
            qmp(f, "query-status")
        rt_us = []
        for _ in range(calls):
            t0 = time.perf_counter()
            qmp(f, "query-status")
            rt_us.append((time.perf_counter() - t0) * 1e6)
        rss = rss_kib(p.pid)
        s.close()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    return {"greeting_ms": statistics.median(greet_ms), "rss_kib": rss, "query_status_us": statistics.median(rt_us)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--calls", type=int, default=2000)
    a = ap.parse_args()
    helper = os.path.join(a.build, "helper", "xvirt-helper")
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        sys.exit("qemu-system-x86_64 is missing: apt-get install qemu-system-x86 (the peer of this benchmark)")
    work = tempfile.mkdtemp(prefix="xvirt-bench-helper-")
    sim = os.path.join(work, "sim")
    kernel = os.path.join(work, "vmlinuz")
    with open(kernel, "wb") as k:
        k.write(os.urandom(4 << 20))  # a 4 MiB "kernel": about what a distribution vmlinuz weighs
    env = dict(os.environ, XVIRT_SIM_DIR=sim)
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
        # Start the simulated host once, outside the timings (on Xen the hypervisor is always there).
        warm = measure(helper_subject, work, 1, 10)
        del warm
        h = measure(helper_subject, work, a.runs, a.calls)
        q = measure(qemu_subject, work, a.runs, a.calls)
    finally:
        simpid = os.path.join(sim, "simxen.pid")
        if os.path.exists(simpid):
            try:
                os.kill(int(open(simpid).read().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("spawn -> QMP greeting (median)", f"{h['greeting_ms']:.2f} ms", f"{q['greeting_ms']:.2f} ms",
         h["greeting_ms"] / q["greeting_ms"], "<= 5 ms and <= 0.125"),
        ("RSS, guest running", f"{h['rss_kib'] / 1024:.1f} MiB", f"{q['rss_kib'] / 1024:.1f} MiB",
         h["rss_kib"] / q["rss_kib"], "helper <= 4 MiB"),
        ("query-status round trip (median)", f"{h['query_status_us']:.1f} us", f"{q['query_status_us']:.1f} us",
         h["query_status_us"] / q["query_status_us"], "<= 0.25"),
    ]
    print(f"{'metric':36} {'xvirt-helper':>14} {'qemu':>12} {'ratio':>8}  target")
    for name, hv, qv, ratio, target in rows:
        print(f"{name:36} {hv:>14} {qv:>12} {ratio:8.3f}  {target}")
    met = (h["greeting_ms"] <= 5 and h["greeting_ms"] <= q["greeting_ms"] / 8 and h["rss_kib"] <= 4096
           and h["query_status_us"] <= q["query_status_us"] / 4)
    print("targets met" if met else "targets NOT met")


if __name__ == "__main__":
    main()
