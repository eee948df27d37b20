#!/usr/bin/env python3
"""Fails when a source file outside hypervisor/ includes a Xen header (docs/design.md: only hypervisor/
touches Xen). Tests of the hypervisor layer itself (tests/hypervisor/) may, to drive real libxenstore, and
so may benchmarks (bench/), which measure the raw xenstore wire protocol side by side with xvirt."""
import os
import re
import sys

ROOT = os.environ.get("XVIRT_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
XEN_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"](xen/|xenctrl|xenguest|xenstore|xs\.h|xenevtchn|xenforeignmemory|'
                         r'xentoollog|xengnttab|xencall|xendevicemodel|xentoolcore|libxl)', re.M)
ALLOWED = ("hypervisor/", "tests/hypervisor/", "bench/")
SKIP_DIRS = {".git", "subprojects"}

bad = []
for dirpath, dirnames, filenames in os.walk(ROOT):
    rel_dir = os.path.relpath(dirpath, ROOT)
    dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith("build")]
    for name in filenames:
        if not name.endswith((".c", ".cc", ".cpp", ".h", ".hh", ".hpp")):
            continue
        rel = os.path.normpath(os.path.join(rel_dir, name))
        if rel.startswith(ALLOWED):
            continue
        with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
            for m in XEN_INCLUDE.finditer(f.read()):
                bad.append(f"{rel}: includes a Xen header ({m.group(0).strip()})")
for line in bad:
    print(line)
if bad:
    print("Only hypervisor/ may include Xen headers; go through hypervisor/Hypervisor.h or XenStore.h.")
    sys.exit(1)
print("no Xen header outside hypervisor/")
