#!/usr/bin/env bash
# The pre-release run: the whole project built with ASan and UBSan (g++, meson's b_sanitize, in
# build-asan/) and the full test suite run there. Every sanitizer report of every process — also
# daemons and helpers whose stderr a test does not show — is written under build-asan/sanitizer-logs/;
# the run fails if any test fails or any report was written.
#   scripts/sanitize.sh [meson test arguments...]     e.g. scripts/sanitize.sh --suite unit
set -euo pipefail

XVIRT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The normal build's set-up installs what is missing and builds build/ (the clients use it too).
# XVIRT_BUILD must not point at the sanitized tree yet: setup.sh would configure that one plainly.
unset XVIRT_BUILD
source "$XVIRT_ROOT/scripts/setup.sh"
XVIRT_BUILD="${XVIRT_ASAN_BUILD:-$XVIRT_ROOT/build-asan}"

start=$(date +%s)
# -O0: several times quicker to build with the sanitizers than -O2 (docs/hardening.md), and the
# suite waits on I/O far more than it computes. An existing tree gets the options too, so a tree
# configured some other way is never taken for a sanitized one.
sanitize_opts=(-Db_sanitize=address,undefined -Db_lundef=false -Doptimization=0)
if [ ! -f "$XVIRT_BUILD/build.ninja" ]; then
  meson setup "$XVIRT_BUILD" "$XVIRT_ROOT" "${sanitize_opts[@]}" >/dev/null
else
  meson configure "$XVIRT_BUILD" "${sanitize_opts[@]}" >/dev/null
fi
ninja -C "$XVIRT_BUILD" >/dev/null || ninja -C "$XVIRT_BUILD"
if ! nm "$XVIRT_BUILD/driver/xvirtd" | grep __asan_init >/dev/null; then  # not -q: SIGPIPE + pipefail
  echo "sanitize: $XVIRT_BUILD/driver/xvirtd is not built with ASan; refusing to report a clean run" >&2
  exit 1
fi
built=$(date +%s)

logs="$XVIRT_BUILD/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# Daemons fork helpers and helpers daemonize: each process writes its own report file (log_path
# adds the pid). Leaks are checked at every exit; the suppressions are one-time allocations of
# libraries, listed and explained in scripts/lsan.supp.
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=1:print_stacktrace=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$XVIRT_ROOT/scripts/lsan.supp:print_suppressions=0"
# Full stacks for leaks (GLib is built without frame pointers), and tests that measure RSS skip it.
export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
export XVIRT_SANITIZED=1

status=0
# The fuzz smoke builds and runs its own sanitized clang build (scripts/fuzz.sh); not again here.
# The real-Xen suite runs its binaries inside a dom0 under QEMU, where the reports would not reach
# $logs: it is left out (it ran green there once, docs/hardening.md "Sanitizers").
meson test -C "$XVIRT_BUILD" --print-errorlogs --num-processes "$(nproc)" --no-suite fuzz --no-suite xen "$@" || status=$?
/usr/bin/python3 "$XVIRT_ROOT/scripts/test-summary.py" "$XVIRT_BUILD/meson-logs/testlog.json"
reports=$(find "$logs" -type f | wc -l)
echo "sanitize: build $((built - start)) s, tests $(( $(date +%s) - built )) s, $reports sanitizer reports in $logs"
if [ "$reports" -ne 0 ]; then
  for f in "$logs"/*; do echo "--- $f"; head -40 "$f"; done
  status=1
fi
exit $status
