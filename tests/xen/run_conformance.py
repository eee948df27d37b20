#!/usr/bin/env python3
"""Runs the Hypervisor conformance suite against the real Xen of this machine (the Xen harness sets
XVIRT_XEN_TESTS=1 and, for a bootable guest, XVIRT_CONFORMANCE_KERNEL). Skips (77) otherwise."""
import os
import sys

if os.environ.get("XVIRT_XEN_TESTS") != "1":
    print("skipped: set XVIRT_XEN_TESTS=1 to run the conformance suite on real Xen")
    sys.exit(77)
env = dict(os.environ, XVIRT_CONFORMANCE_BACKEND="xen")
os.execve(sys.argv[1], [sys.argv[1]] + sys.argv[2:], env)
