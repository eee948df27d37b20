#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every suite (unit, golden,
# integration, and xen: Xen 4.17 booted under QEMU, see docs/xen-harness.md; XVIRT_XEN_TESTS=0 skips
# it). Ends with "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

status=0
meson test -C "$XVIRT_BUILD" --print-errorlogs --num-processes "$(nproc)" "$@" || status=$?
/usr/bin/python3 scripts/test-summary.py "$XVIRT_BUILD/meson-logs/testlog.json"
exit $status
