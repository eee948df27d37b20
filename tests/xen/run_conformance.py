#!/usr/bin/env python3
"""Runs the Hypervisor conformance suite against the real Xen this process runs on, i.e. only inside a
dom0 (tests/xen/harness.py runs it there as scenario A's first step); skips (77) elsewhere. Set
XVIRT_CONFORMANCE_KERNEL to a bootable PV kernel (the default image boots only on the sim)."""
import os
import sys

try:
    with open("/proc/xen/capabilities") as f:
        dom0 = "control_d" in f.read()
except OSError:
    dom0 = False
if not dom0 or os.environ.get("XVIRT_XEN_TESTS") == "0":
    print("skipped: not in a Xen dom0 (tests/xen/harness.py boots one under QEMU)")
    sys.exit(77)
env = dict(os.environ, XVIRT_CONFORMANCE_BACKEND="xen")
os.execve(sys.argv[1], [sys.argv[1]] + sys.argv[2:], env)
