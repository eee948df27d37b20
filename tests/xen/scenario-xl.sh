#!/bin/bash
# Side by side with xl (issue 10): xenconsoled runs throughout, as xencommons starts it on any dom0,
# and the same PV guest (256 MiB, 2 vCPUs, same kernel and initramfs in dom0's RAM) is created, saved
# and restored by xl, by xvirt-helper and through xvirtd with virsh, in the same boot. xl and the
# helper alternate for two rounds; virsh runs once. Prints XVIRT-INFO lines with every timing and
# the xvirt/xl ratios.
#
# What each timing includes (seconds, from the command's start, dom0's clock):
#   create   `xl create` / the helper with -daemonize / `virsh start`: returns once the domain is
#            built and unpaused (xl: its own daemon child forked; the helper: the guest is running)
#   boot     create + the guest's kernel and init, to its first XVIRT-GUEST-COUNT line on the console
#            (xl: xenconsoled's log file; the helper: its -serial file) -- not measured for virsh
#   save     `xl save` / monitor `save` until the helper has exited / `virsh save`: the guest asked to
#            suspend, the image written, the domain destroyed
#   restore  `xl restore` / the helper with --restore -daemonize / `virsh restore`: to the domain running
#   resume   restore + until the guest prints a counter above the last one before the save
# virsh's rows are measured twice: the whole command, as a user types it (with virsh's own start and
# connection, 0.7 s under emulation before xvirtd sees a call), and "virsh-api", the command's time
# inside virsh as its -t option prints it: the libvirt API call alone, which is what xvirtd answers.
source "$(dirname "$0")/lib.sh"

X=$WORK/xl
XLLOG=/var/log/xen/console/guest-xlg.log
T0=0
t_start() { T0=$(now); }
t_since() { elapsed "$T0"; }
run() { "$@" >>"$X.cmd.log" 2>&1 || { tail -n 20 "$X.cmd.log" >&2; return 1; }; }
count_in() { grep -a XVIRT-GUEST-COUNT "$1" 2>/dev/null | tail -n 1 | awk '{print $2}' | tr -d '\r'; }
count_above() { local c; c=$(count_in "$1"); [ -n "$c" ] && [ "$c" -gt "$2" ]; }
record() { echo "$1 $2 $3" >> "$X.times"; info "xl-vs-xvirt $1 $2 ${3} s"; }  # TOOL WHAT SECONDS

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

start_xenconsoled() {
  mkdir -p /var/log/xen/console
  xenconsoled --log=guest --log-dir=/var/log/xen/console && pidof xenconsoled
}

xl_round() {
  rm -f "$XLLOG" "$X.save"
  t_start; run xl create "$X.cfg" || return 1; record xl create "$(t_since)"
  wait_for 240 count_above "$XLLOG" -1 || return 1; record xl boot "$(t_since)"
  local c0; c0=$(count_in "$XLLOG")
  t_start; run xl save xlg "$X.save" || return 1; record xl save "$(t_since)"
  t_start; run xl restore "$X.save" || return 1; record xl restore "$(t_since)"
  wait_for 60 count_above "$XLLOG" "$c0" || return 1; record xl resume "$(t_since)"
  xl destroy xlg
  rm -f "$X.save"
}

G=$WORK/xv
helper_round() {
  rm -f "$G".*
  t_start
  run "$HELPER" --hypervisor xen -name xv -M xenpv -m 256 -smp 2 -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" \
    -append "console=hvc0 quiet" -serial "file:$G.console" -qmp "unix:$G.qmp,server,nowait" -pidfile "$G.pid" \
    --log "$G.log" -daemonize || return 1
  record xvirt create "$(t_since)"
  wait_for 240 count_above "$G.console" -1 || return 1; record xvirt boot "$(t_since)"
  local pid c0; pid=$(cat "$G.pid"); c0=$(count_in "$G.console")
  # xenconsoled left the helper's console alone: the node says who serves it, and xenconsoled
  # opened no log for this guest.
  local domid; domid=$(xl domid xv)
  echo "console type: $(xenstore-read /local/domain/$domid/console/type)"
  [ "$(xenstore-read /local/domain/$domid/console/type)" = ioemu ] || return 1
  [ ! -e /var/log/xen/console/guest-xv.log ] || { echo "xenconsoled serves the helper's guest"; return 1; }
  t_start
  run qmp_ok "$G.qmp" "{\"execute\":\"save\",\"arguments\":{\"file\":\"$G.save\"}}" || return 1
  # Until the helper has exited (it destroys the domain first, as xl save does before it returns),
  # polled every 50 ms: wait_for's 0.2 s rounds, each with an awk, would count against xvirt.
  local n=0
  while kill -0 "$pid" 2>/dev/null; do n=$((n + 1)); [ $n -lt 600 ] || return 1; sleep 0.05; done
  record xvirt save "$(t_since)"
  t_start
  run "$HELPER" --hypervisor xen --restore "$G.save" -serial "file:$G.console2" -qmp "unix:$G.qmp,server,nowait" \
    -pidfile "$G.pid" --log "$G.log" -daemonize || return 1
  record xvirt restore "$(t_since)"
  wait_for 60 count_above "$G.console2" "$c0" || { tail -n 20 "$G.log"; return 1; }
  record xvirt resume "$(t_since)"
  ! grep -aq XVIRT-GUEST-UP "$G.console2" || { echo "the restored guest booted again"; return 1; }
  # Where the helper's time went: its own timings of the save, the image check and the rebuild.
  grep -a " ms\.$" "$G.log" | tail -n 3 | while read -r line; do info "xvirt-helper log: ${line#*: }"; done
  qmp "$G.qmp" '{"execute":"quit"}' >/dev/null
  rm -f "$G.save"
}

URI='xen+unix:///system?socket=/run/xvirt/xvirtd-sock'
V() { virsh -q -c "$URI" "$@"; }
# V_timed WHAT CMD...: runs `virsh -t CMD...` and records the whole command and virsh's "(Time: N ms)" of it.
V_timed() {
  local what=$1; shift
  t_start
  virsh -q -t -c "$URI" "$@" > "$X.virsh.out" 2>&1 || { cat "$X.virsh.out" >> "$X.cmd.log"; tail -n 20 "$X.virsh.out" >&2; return 1; }
  record virsh "$what" "$(t_since)"
  cat "$X.virsh.out" >> "$X.cmd.log"
  local ms; ms=$(sed -n 's/^(Time: \([0-9.]*\) ms)$/\1/p' "$X.virsh.out" | tail -n 1)
  [ -n "$ms" ] || { echo "virsh -t printed no time"; return 1; }
  record virsh-api "$what" "$(awk -v ms="$ms" 'BEGIN { printf "%.2f", ms / 1000 }')"
}
daemon_up() { test -S /run/xvirt/xvirtd-sock && V version >/dev/null 2>&1; }
vg_counting() { local tty; tty=$(V ttyconsole vg) && timeout 3 cat "$tty" 2>/dev/null | grep -aq XVIRT-GUEST-COUNT; }
virsh_round() {
  local xml=$WORK/vg.xml
  pv_domain_xml vg > "$xml"
  "$XVIRT_BUILD/driver/xvirtd" --system --hypervisor xen --pidfile /run/xvirtd-xl.pid -v > "$WORK/xvirtd-xl.log" 2>&1 &
  wait_for 30 daemon_up || return 1
  run V define "$xml" || return 1
  # What any virsh command costs before xvirtd does anything: the client's start and connection.
  t_start; run V version >/dev/null || return 1; info "xl-vs-xvirt virsh's own start and connection (virsh version): $(t_since) s"
  V_timed create start vg || return 1
  # Booted as far as the others were at their save: the counter on the console pty.
  wait_for 240 vg_counting || return 1
  V_timed save save vg "$WORK/vg.save" || return 1
  V_timed restore restore "$WORK/vg.save" || return 1
  V domstate vg | grep -q running || return 1
  for f in $(find /var/log/xvirt /run/xvirt -name 'vg*.log' 2>/dev/null); do cp "$f" "$WORK/xvirtd-$(basename "$f")"; done
  run V destroy vg; run V undefine vg
  rm -f "$WORK/vg.save"
  kill "$(cat /run/xvirtd-xl.pid)" 2>/dev/null
  true
}

report() {
  awk '
    { sum[$1 " " $2] += $3; n[$1 " " $2]++ }
    END {
      split("create boot save restore resume", what, " ")
      for (i = 1; i <= 5; i++) {
        w = what[i]; k = "xl " w
        if (!n[k]) continue
        xl = sum[k] / n[k]
        line = sprintf("XVIRT-INFO xl-vs-xvirt mean %s: xl %.1f s", w, xl)
        if (n["xvirt " w]) { v = sum["xvirt " w] / n["xvirt " w]; line = line sprintf(", xvirt-helper %.1f s (ratio %.2f)", v, v / xl) }
        if (n["virsh " w]) { v = sum["virsh " w] / n["virsh " w]; line = line sprintf(", virsh %.1f s (ratio %.2f)", v, v / xl) }
        if (n["virsh-api " w]) { v = sum["virsh-api " w] / n["virsh-api " w]; line = line sprintf(", virsh-api %.2f s (ratio %.2f)", v, v / xl) }
        print line
      }
    }' "$X.times"
}

rm -f "$X.times" "$X.cmd.log"
step xl-xenconsoled-start start_xenconsoled
step xl-round-1 xl_round
step xvirt-helper-round-1 helper_round
step xl-round-2 xl_round
step xvirt-helper-round-2 helper_round
step xvirt-virsh-round virsh_round
[ -s "$X.times" ] && report
kill "$(pidof xenconsoled)" 2>/dev/null
true
