#!/bin/bash
# PVH guests through xvirt-helper (issue 10): with 1 vCPU, and with 2, which the guest finds in the
# MADT of the ACPI tables the builder gives a PVH domain. Up to 3 attempts each (lib-boot.sh).
source "$(dirname "$0")/lib-boot.sh" "$@"

# The 2-vCPU guest, saved and restored by the helper: it counts on, without booting again, in a
# domain whose memory map (ACPI pages included) was laid out again by the restore.
save_restore() {
  local P=$WORK/pvh2 c0 pid
  c0=$(last_count "$P.console"); pid=$(cat "$P.pid")
  qmp_ok "$P.qmp" "{\"execute\":\"save\",\"arguments\":{\"file\":\"$P.save\"}}" || { tail -n 20 "$P.log"; return 1; }
  wait_for 60 sh -c "! kill -0 $pid" || return 1
  "$HELPER" --hypervisor xen --restore "$P.save" -serial "file:$P.console2" -qmp "unix:$P.qmp,server,nowait" \
    -pidfile "$P.pid" --log "$P.log" -daemonize || { tail -n 20 "$P.log"; return 1; }
  rm -f "$P.save"
  wait_for 60 sh -c "[ \"\$(grep -a XVIRT-GUEST-COUNT '$P.console2' | tail -n 1 | awk '{print \$2}' | tr -d '\r')\" -gt $c0 ]" ||
    { tail -c 400 "$P.console2"; tail -n 5 "$P.log"; return 1; }
  echo "counted $c0 before the save, $(last_count "$P.console2") after the restore"
  ! grep -aq XVIRT-GUEST-UP "$P.console2"
}

with_retries pvh-boot 3 pvh pvh 180 "$GUEST_KERNEL"
with_retries pvh-two-vcpus 3 pvh pvh2 180 "$GUEST_KERNEL" 2 keep
if [ -s "$WORK/pvh2.pid" ] && kill -0 "$(cat "$WORK/pvh2.pid")" 2>/dev/null; then
  step pvh-save-restore save_restore
  qmp "$WORK/pvh2.qmp" '{"execute":"quit"}' >/dev/null 2>&1
else
  skip pvh-save-restore "no running 2-vCPU PVH guest"
fi
true
