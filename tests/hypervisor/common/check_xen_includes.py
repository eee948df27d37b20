#!/usr/bin/env python3
"""Fails when a source file outside hypervisor/ includes a Xen header or a backend's own header
(docs/design.md: only hypervisor/ touches Xen, and only hypervisor/ knows which backends exist; everything
else goes through hypervisor/Hypervisor.h, XenStore.h and Backend.h's openBackend).

Xen headers: tests of the hypervisor layer itself (tests/hypervisor/) may include them, to drive real
libxenstore, and so may benchmarks (bench/), which measure the raw xenstore wire protocol side by
side with xvirt.
Backend headers (hypervisor/sim/..., hypervisor/xen/...): hypervisor/ itself (with the backends' own
programs, xvirt-simxen and xvirt-sim-dm) and the backends' tests (tests/hypervisor/) may; so may the
fuzz target and the benchmark of the simulated host's xenstore engine, which test that engine itself."""
import os
import re
import sys

ROOT = os.environ.get("XVIRT_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
XEN_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"](xen/|xenctrl|xenguest|xenstore|xs\.h|xenevtchn|xenforeignmemory|'
                         r'xentoollog|xengnttab|xencall|xendevicemodel|xentoolcore|libxl)', re.M)
BACKEND_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]hypervisor/(sim|xen)/[^">]*[">]', re.M)
XEN_ALLOWED = ("hypervisor/", "tests/hypervisor/", "bench/")
BACKEND_ALLOWED = ("hypervisor/", "tests/hypervisor/", "fuzz/xenstore.cc", "bench/xenstore/")
SKIP_DIRS = {".git", "subprojects"}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else ROOT
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith("build")]
        for name in filenames:
            if not name.endswith((".c", ".cc", ".cpp", ".h", ".hh", ".hpp")):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, name))
            with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
            if not rel.startswith(XEN_ALLOWED):
                for m in XEN_INCLUDE.finditer(text):
                    bad.append(f"{rel}: includes a Xen header ({m.group(0).strip()})")
            if not rel.startswith(BACKEND_ALLOWED):
                for m in BACKEND_INCLUDE.finditer(text):
                    bad.append(f"{rel}: includes a backend's header ({m.group(0).strip()})")
    for line in bad:
        print(line)
    if bad:
        print("Only hypervisor/ may include Xen headers or a backend's headers (hypervisor/sim/, hypervisor/xen/);"
              " go through hypervisor/Hypervisor.h, XenStore.h or Backend.h.")
        return 1
    print("no Xen header and no backend header outside hypervisor/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
