# Shared by the scenario scripts that run inside dom0 (tests/xen/harness.py boots them).
# step NAME CMD...: runs CMD, prints "XVIRT-STEP NAME PASS|FAIL SECONDS [why]" on the console.
XVIRT_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XVIRT_BUILD=${1:-$XVIRT_SRC/build}
HARNESS_DIR=$XVIRT_BUILD/xen-harness
RUN=$HARNESS_DIR/run
HELPER=$XVIRT_BUILD/helper/xvirt-helper
WORK=/tmp/xvirt-work
mkdir -p "$WORK"
# Guest images live in dom0's RAM: libxenguest maps the kernel file, and page faults over 9p under
# emulation cost far more than one sequential copy.
GUEST_KERNEL=$WORK/vmlinux
GUEST_INITRD=$WORK/guest.cpio
[ -f "$GUEST_KERNEL" ] || cp "$HARNESS_DIR/vmlinux" "$GUEST_KERNEL"
[ -f "$GUEST_INITRD" ] || cp "$HARNESS_DIR/guest.cpio" "$GUEST_INITRD"
STEP_FAILED=0
# What the guests printed and the helpers logged, kept on the host for a look after the run.
keep_work() { mkdir -p "$RUN/work"; cp "$WORK"/*.console* "$WORK"/*.log "$RUN/work/" 2>/dev/null; true; }
trap keep_work EXIT

now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# fd 3 is dom0's console even inside a step (whose output goes to its log): the harness shows
# XVIRT-INFO lines as they come.
exec 3>&1
info() { echo "XVIRT-INFO $*" >&3; }

# step NAME CMD...: the command's own output is kept in $RUN/steps/NAME.log and shown on failure.
step() {
  local name=$1; shift
  local t0; t0=$(now)
  mkdir -p "$RUN/steps"
  local log="$RUN/steps/$name.log"
  if "$@" >"$log" 2>&1; then
    echo "XVIRT-STEP $name PASS $(elapsed "$t0")"
    return 0
  fi
  echo "---- $name output (last 40 lines) ----"
  tail -n 40 "$log"
  echo "XVIRT-STEP $name FAIL $(elapsed "$t0") $(tail -n 1 "$log" | cut -c1-160)"
  STEP_FAILED=1
  return 1
}

skip() { echo "XVIRT-STEP $1 SKIP 0 $2"; }

# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds.
wait_for() {
  local limit=$1; shift
  local t0; t0=$(now)
  while ! "$@" 2>/dev/null; do
    if awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
      echo "timed out after $limit s waiting for: $*"
      return 1
    fi
    sleep 0.2
  done
}

# qmp SOCKET JSON: sends one command after qmp_capabilities, prints its reply (events skipped).
# The connection stays open until the reply came: the helper drops a client's pending replies when
# the client closes, and hotplug replies wait for the guest.
qmp() {
  local line n=0
  coproc QMP { exec socat - UNIX-CONNECT:"$1"; }
  printf '{"execute":"qmp_capabilities"}\n%s\n' "$2" >&"${QMP[1]}"
  while IFS= read -r -t 90 line <&"${QMP[0]}"; do
    case "$line" in
      *'"QMP"'*|'{"event"'*) ;;
      *'"return"'*|*'"error"'*) n=$((n + 1)); if [ $n = 2 ]; then echo "$line"; break; fi ;;
    esac
  done
  kill "$QMP_PID" 2>/dev/null; wait "$QMP_PID" 2>/dev/null
  true
}
# qmp_ok SOCKET JSON: fails unless the reply is a "return".
qmp_ok() {
  local r; r=$(qmp "$@")
  echo "$r"
  case "$r" in *'"return"'*) return 0 ;; *) return 1 ;; esac
}

# dom0's bridge for guest NICs, 10.99.0.1/24 (the test guest configures 10.99.0.2 on its eth0).
ensure_bridge() {
  [ -e /sys/class/net/xenbr0 ] && return 0
  brctl addbr xenbr0 && ip addr add 10.99.0.1/24 dev xenbr0 && ip link set xenbr0 up
}
bridge_ports() { ls /sys/class/net/xenbr0/brif; }

file_has() { grep -q -- "$2" "$1"; }
# last_count FILE: the guest's last printed counter.
last_count() { grep -a 'XVIRT-GUEST-COUNT' "$1" | tail -n 1 | awk '{print $2}' | tr -d '\r'; }

# pv_domain_xml NAME: domain XML for the test guest (PV, 256 MiB, 2 vCPUs, console on a pty) as
# virsh defines it; every on_* event destroys it.
pv_domain_xml() {
  cat <<XMLEOF
<domain type='xen'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>$GUEST_KERNEL</kernel>
    <initrd>$GUEST_INITRD</initrd>
    <cmdline>console=hvc0 quiet</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <console type='pty'><target type='xen' port='0'/></console>
  </devices>
</domain>
XMLEOF
}
