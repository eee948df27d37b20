# Shared by scenario-pvh.sh and scenario-hvm.sh: booting one guest from a GuestConfig through
# xvirt-helper, with retries. Under emulation these boots sometimes fail in the guest (a triple
# fault), so a pass after a failed attempt is reported FLAKY, not failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

boot_once() {  # KIND NAME SECONDS KERNEL [VCPUS [keep]]: starts from a GuestConfig, waits for the guest's
  # counter and for the guest to report VCPUS CPUs; quits, unless `keep` and the guest came up.
  # BOOT_DEVICES, when set, is GuestConfig members for the guest's devices ("disks": [...], ...).
  local kind=$1 name=$2 limit=$3 kernel=$4 vcpus=${5:-1} keep=${6:-}
  local P=$WORK/$name
  rm -f "$P".*
  # A triple fault shows as a reboot: onReboot destroy ends the attempt at once instead of looping.
  cat > "$P.json" <<JSON
{"version": 1, "name": "$name", "uuid": "$(cat /proc/sys/kernel/random/uuid)", "kind": "$kind",
 "memoryKib": 262144, "maxVcpus": $vcpus, "kernel": "$kernel", "ramdisk": "$GUEST_INITRD",
 "cmdline": "console=hvc0 earlyprintk=xen quiet",
 "onPoweroff": "destroy", "onReboot": "destroy", "onCrash": "destroy",${BOOT_DEVICES:+ $BOOT_DEVICES,}
 "chardevs": [{"kind": "console", "port": 0, "type": "file", "path": "$P.console"}]}
JSON
  "$HELPER" --hypervisor xen --config "$P.json" -qmp "unix:$P.qmp,server,nowait" -pidfile "$P.pid" \
    --log "$P.log" -daemonize || { tail -n 20 "$P.log"; return 1; }
  local pid ok=0; pid=$(cat "$P.pid")
  wait_for "$limit" sh -c "grep -aq XVIRT-GUEST-COUNT '$P.console' || ! kill -0 $pid" 
  grep -aq XVIRT-GUEST-COUNT "$P.console" && ok=1
  grep -a -E "XVIRT-GUEST-(CPUS|ACPI)" "$P.console"
  if [ $ok = 1 ] && ! grep -aq "XVIRT-GUEST-CPUS $vcpus" "$P.console"; then echo "the guest does not see $vcpus CPUs"; ok=0; fi
  [ $ok = 1 ] || { echo "console tail:"; tail -c 600 "$P.console"; tail -n 5 "$P.log"; }
  [ $ok = 1 ] && [ "$keep" = keep ] && return 0
  qmp "$P.qmp" '{"execute":"quit"}' >/dev/null 2>&1
  [ $ok = 1 ]
}

with_retries() {  # STEP ATTEMPTS KIND NAME SECONDS KERNEL [VCPUS [keep]]
  local name=$1 attempts=$2; shift 2
  local t0 attempt; t0=$(now)
  mkdir -p "$RUN/steps"
  for attempt in $(seq 1 "$attempts"); do
    if boot_once "$@" >>"$RUN/steps/$name.log" 2>&1; then
      if [ $attempt = 1 ]; then echo "XVIRT-STEP $name PASS $(elapsed "$t0")"
      else echo "XVIRT-STEP $name FLAKY $(elapsed "$t0") passed on attempt $attempt"; fi
      return 0
    fi
    echo "XVIRT-INFO $name attempt $attempt failed"
  done
  tail -n 30 "$RUN/steps/$name.log"
  echo "XVIRT-STEP $name FAIL $(elapsed "$t0") no attempt of $attempts reached the guest's init"
}
