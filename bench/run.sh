#!/usr/bin/env bash
# The one entry point of issue 8: installs the Debian packages the benchmarks need (only the missing
# ones), builds xvirt (scripts/setup.sh) and the C client, then runs every benchmark with client and
# daemons pinned to one CPU and again free. Tables on stdout; JSON and PNG in bench/results/.
# Usage: bench/run.sh [--quick] [run.py options...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

BENCH_PACKAGES=(
  libvirt-daemon              # libvirtd, with the test driver built into libvirt0
  libvirt-daemon-driver-qemu  # the QEMU driver module, used as qemu:///session (persists domains)
  qemu-system-x86             # the QEMU the session driver probes, and bench_helper.py's peer
  python3-matplotlib linux-perf util-linux
)
missing=()
for pkg in "${BENCH_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

mkdir -p "$XVIRT_BUILD/bench"
gcc -O2 -Wall -o "$XVIRT_BUILD/bench/vbench" bench/peer/vbench.c $(pkg-config --cflags --libs libvirt) -lpthread

/usr/bin/python3 bench/run.py "$XVIRT_BUILD" "$XVIRT_BUILD/bench/vbench" --cpus pinned "$@"
/usr/bin/python3 bench/run.py "$XVIRT_BUILD" "$XVIRT_BUILD/bench/vbench" --cpus free --no-helper "$@"
# issue 5's save/restore figures, printed by their own script (not folded into run.py's JSON yet).
case " $* " in *" --quick "*) ;; *) /usr/bin/python3 bench/save/bench_save.py "$XVIRT_BUILD" --rounds 5 ;; esac
# issue 8's density figure (1000 running sim guests: total RSS, virsh list), its own script and JSON
# (bench/results/density.json); --quick runs 50 guests.
case " $* " in
  *" --quick "*) /usr/bin/python3 bench/density/bench_density.py "$XVIRT_BUILD" --guests 50 --list-runs 3 ;;
  *) /usr/bin/python3 bench/density/bench_density.py "$XVIRT_BUILD" --guests 1000 ;;
esac
# Its peer: the same `virsh list` against libvirtd's test driver holding as many running domains.
case " $* " in
  *" --quick "*) /usr/bin/python3 bench/density/peer_list.py 50 ;;
  *) /usr/bin/python3 bench/density/peer_list.py 1000 ;;
esac
