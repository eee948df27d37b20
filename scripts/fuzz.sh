#!/usr/bin/env bash
# Builds the fuzz targets with clang, libFuzzer, ASan and UBSan (in build-fuzz/, only the libraries
# they need) and runs each for N seconds, one after another, single process:
#   scripts/fuzz.sh <target|all> <seconds>      e.g. scripts/fuzz.sh all 600; scripts/fuzz.sh rpc 30
# Targets: rpc domain-xml xl-config monitor save-image xenstore (fuzz/*.cc). Seeds come from
# fuzz/corpus/<target> and fuzz/regressions/<target>; what libFuzzer adds goes to
# build-fuzz/corpus/<target>, crashers to build-fuzz/artifacts/<target>/ (copy each one into
# fuzz/regressions/<target>/ once its cause is fixed). Prints one line of figures per target and
# exits non-zero if any target found something.
set -euo pipefail

XVIRT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${XVIRT_FUZZ_BUILD:-$XVIRT_ROOT/build-fuzz}"
ALL_TARGETS=(rpc domain-xml xl-config monitor save-image xenstore)

if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 <target|all> <seconds>   (targets: ${ALL_TARGETS[*]})" >&2
  exit 2
fi
if [ "$1" = all ]; then
  targets=("${ALL_TARGETS[@]}")
elif [[ " ${ALL_TARGETS[*]} " == *" $1 "* ]]; then
  targets=("$1")
else
  echo "$0: unknown target $1 (targets: ${ALL_TARGETS[*]})" >&2
  exit 2
fi
seconds="$2"

if ! command -v clang++ >/dev/null; then
  echo "$0: clang++ is missing (scripts/setup.sh installs clang and libclang-rt-14-dev)" >&2
  exit 77  # meson's "skipped"
fi

# Libraries get the sanitizers and libFuzzer's coverage hooks; only the targets link libFuzzer
# (fuzz/meson.build). UBSan findings abort instead of printing and going on. Warnings are not
# errors here: the project's werror is for g++, which the normal build uses.
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$BUILD" "$XVIRT_ROOT" \
    -Dfuzzing=true -Dtests=false -Dwerror=false \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all' >/dev/null
fi
build_start=$(date +%s)
ninja -C "$BUILD" "${targets[@]/#/fuzz/fuzz-}" >/dev/null || ninja -C "$BUILD" "${targets[@]/#/fuzz/fuzz-}"
echo "fuzz: build took $(( $(date +%s) - build_start )) s"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
failed=0
for t in "${targets[@]}"; do
  work="$BUILD/corpus/$t"
  artifacts="$BUILD/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  log="$BUILD/fuzz-$t.log"
  seeds=("$XVIRT_ROOT/fuzz/corpus/$t")
  [ -d "$XVIRT_ROOT/fuzz/regressions/$t" ] && seeds+=("$XVIRT_ROOT/fuzz/regressions/$t")
  status=0
  t0=$(date +%s)
  "$BUILD/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "${seeds[@]}" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  found=$(find "$artifacts" -type f | wc -l)
  echo "fuzz: $t: $(( $(date +%s) - t0 )) s, ${execs:-?} execs, corpus $corpus files, $found crashers in $artifacts (exit $status)"
  if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed=1
    grep -m1 -A30 -E '^==[0-9]+==ERROR|runtime error|deadly signal|ALARM|out-of-memory' "$log" >&2 || tail -30 "$log" >&2
  fi
done
exit $failed
