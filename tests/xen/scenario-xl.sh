#!/bin/bash
# Side by side with xl (issue 10): the same PV guest created, saved and restored by xl and by
# xvirt-helper in the same boot; prints XVIRT-TIMING lines and the xvirt/xl ratios.
source "$(dirname "$0")/lib.sh"

X=$WORK/xl
elapsed_of() { local t0; t0=$(now); "$@" >>"$X.cmd.log" 2>&1 || { tail -n 20 "$X.cmd.log" >&2; return 1; }; elapsed "$t0"; }
xl_console_has() { grep -aq -- "$1" /var/log/xen/console/guest-xlg.log 2>/dev/null; }
xl_count() { grep -a XVIRT-GUEST-COUNT /var/log/xen/console/guest-xlg.log | tail -n 1 | awk '{print $2}' | tr -d '\r'; }

cat > "$X.cfg" <<CFG
name = "xlg"
type = "pv"
memory = 256
vcpus = 2
kernel = "$GUEST_KERNEL"
ramdisk = "$GUEST_INITRD"
extra = "console=hvc0 quiet"
on_poweroff = "destroy"
CFG

xl_side() {
  mkdir -p /var/log/xen/console
  xenconsoled --log=guest --log-dir=/var/log/xen/console || return 1
  T_XL_CREATE=$(elapsed_of xl create "$X.cfg") || return 1
  wait_for 240 xl_console_has XVIRT-GUEST-COUNT || return 1
  T_XL_SAVE=$(elapsed_of xl save xlg "$X.save") || return 1
  local c0; c0=$(xl_count)
  T_XL_RESTORE=$(elapsed_of xl restore "$X.save") || return 1
  wait_for 60 sh -c "[ \$(grep -a XVIRT-GUEST-COUNT /var/log/xen/console/guest-xlg.log | tail -n 1 | awk '{print \$2}' | tr -d '\r') -gt $c0 ]" || return 1
  xl destroy xlg
  rm -f "$X.save"
  kill "$(pidof xenconsoled)" 2>/dev/null
  echo "xl: create $T_XL_CREATE save $T_XL_SAVE restore $T_XL_RESTORE"
  echo "$T_XL_CREATE $T_XL_SAVE $T_XL_RESTORE" > "$X.xl-times"
}

G=$WORK/xv
xvirt_side() {
  wait_for 10 sh -c '! pidof xenconsoled' || return 1
  rm -f "$G".*
  T_XV_CREATE=$(elapsed_of "$HELPER" --hypervisor xen -name xvg -M xenpv -m 256 -smp 2 -kernel "$GUEST_KERNEL" \
    -initrd "$GUEST_INITRD" -append "console=hvc0 quiet" -serial "file:$G.console" \
    -qmp "unix:$G.qmp,server,nowait" -pidfile "$G.pid" --log "$G.log" -daemonize) || return 1
  echo "xvirt create $T_XV_CREATE s"
  wait_for 240 grep -aq XVIRT-GUEST-COUNT "$G.console" || return 1
  local pid; pid=$(cat "$G.pid")
  T_XV_SAVE=$(elapsed_of qmp_ok "$G.qmp" "{\"execute\":\"save\",\"arguments\":{\"file\":\"$G.save\"}}") || return 1
  wait_for 30 sh -c "! kill -0 $pid" || return 1
  echo "xvirt save $T_XV_SAVE s"
  T_XV_RESTORE=$(elapsed_of "$HELPER" --hypervisor xen --restore "$G.save" -serial "file:$G.console2" \
    -qmp "unix:$G.qmp,server,nowait" -pidfile "$G.pid" --log "$G.log" -daemonize) || return 1
  echo "xvirt restore $T_XV_RESTORE s"
  wait_for 60 grep -aq XVIRT-GUEST-COUNT "$G.console2" || { pidof xenconsoled; tail -n 20 "$G.log"; return 1; }
  qmp "$G.qmp" '{"execute":"quit"}' >/dev/null
  rm -f "$G.save"
  echo "xvirt: create $T_XV_CREATE save $T_XV_SAVE restore $T_XV_RESTORE"
  echo "$T_XV_CREATE $T_XV_SAVE $T_XV_RESTORE" > "$X.xv-times"
}

report() {
  read -r a b c < "$X.xl-times"; read -r d e f < "$X.xv-times"
  awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v e="$e" -v f="$f" 'BEGIN {
    printf "XVIRT-INFO xl-vs-xvirt create xl %.1f s xvirt %.1f s ratio %.2f\n", a, d, d / a
    printf "XVIRT-INFO xl-vs-xvirt save xl %.1f s xvirt %.1f s ratio %.2f\n", b, e, e / b
    printf "XVIRT-INFO xl-vs-xvirt restore xl %.1f s xvirt %.1f s ratio %.2f\n", c, f, f / c }'
}

step xl-create-save-restore xl_side
step xvirt-create-save-restore xvirt_side
[ -s "$X.xl-times" ] && [ -s "$X.xv-times" ] && report
true
