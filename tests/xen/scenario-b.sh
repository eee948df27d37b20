#!/bin/bash
# Scenario B (issue 10): xvirtd in system mode with --hypervisor xen inside dom0, driven by real virsh.
source "$(dirname "$0")/lib.sh"

URI='xen+unix:///system?socket=/run/xvirt/xvirtd-sock'
V() { virsh -q -c "$URI" "$@"; }
XML=$WORK/b1.xml
MAGIC=XVIRT-VIRSH-DISK-4217

pv_domain_xml b1 > "$XML"

start_daemon() {
  "$XVIRT_BUILD/driver/xvirtd" --system --hypervisor xen --pidfile /run/xvirtd.pid -v > "$WORK/xvirtd.log" 2>&1 &
  wait_for 30 test -S /run/xvirt/xvirtd-sock && V version
}
console_text() {  # what the guest prints on its console pty within 3 s
  local tty; tty=$(V ttyconsole b1) || return 1
  timeout 3 cat "$tty" 2>/dev/null | tr -d '\r'
}
booted() { console_text > "$WORK/b1.console-now"; grep -q XVIRT-GUEST-COUNT "$WORK/b1.console-now"; }
count_now() { console_text | grep XVIRT-GUEST-COUNT | tail -n 1 | awk '{print $2}'; }
state_is() { V domstate b1 | grep -q "^$1"; }

define() { V define "$XML" && V list --all | grep -q 'b1 *shut off'; }
start() { V start b1 && V list | grep -q 'b1 *running'; }
console_output() { wait_for 240 booted && cat "$WORK/b1.console-now" | tail -n 3; }
dominfo() { V dominfo b1 | tee /dev/stderr | grep -q 'State: *running' && V dominfo b1 | grep -q 'CPU(s): *2'; }
vcpuinfo() { V vcpuinfo b1 | tee /dev/stderr | grep -q 'VCPU: *1'; }
vcpupin() {
  V vcpupin b1 0 1 && V vcpupin b1 1 0 && V vcpupin b1 | tee /dev/stderr | grep -q '^ *0 *1$' &&
    V vcpupin b1 | grep -q '^ *1 *0$'
}
# virsh setmem and setvcpus on a running guest: xvirtd asks the helper (balloon, set-vcpus); Xen's
# page count and vCPU state, read back through virsh, follow the guest.
used_kib_matches() { virsh -q -c "$URI" dominfo b1 | grep -q "Used memory: *$1 KiB"; }
# Xen's own view (xl reads the hypervisor): vCPU 1 has no physical CPU while it is offline.
xen_vcpu1_offline() { [ "$(xl vcpu-list b1 | awk '$3 == 1 {print $4}')" = - ]; }
xen_vcpu1_online() { ! xen_vcpu1_offline; }
live_vcpus_are() { [ "$(virsh -q -c "$URI" vcpucount b1 --live --active | awk '{print $NF}')" = "$1" ]; }
setmem_setvcpus() {
  V setmem b1 196608 --live || return 1
  wait_for 90 used_kib_matches '19[0-9][0-9][0-9][0-9]' || { V dominfo b1; return 1; }
  V setmem b1 262144 --live || return 1
  wait_for 90 used_kib_matches '2[0-9][0-9][0-9][0-9][0-9]' || { V dominfo b1; return 1; }
  V setvcpus b1 1 --live || return 1
  wait_for 60 xen_vcpu1_offline || { xl vcpu-list b1; return 1; }
  wait_for 30 live_vcpus_are 1 || { V vcpucount b1; return 1; }
  V setvcpus b1 2 --live || return 1
  wait_for 60 xen_vcpu1_online || { xl vcpu-list b1; return 1; }
  wait_for 30 live_vcpus_are 2 || { V vcpucount b1; return 1; }
  xl vcpu-list b1
}
cpu_stats() { V cpu-stats b1 --total | tee /dev/stderr | grep -q 'cpu_time'; }
suspend() {
  V suspend b1 && state_is paused || return 1
  local a b; a=$(V domstats b1 --cpu-total | grep cpu.time); sleep 2; b=$(V domstats b1 --cpu-total | grep cpu.time)
  echo "$a / $b"; [ "$a" = "$b" ]
}
resume() { V resume b1 && state_is running; }
save() { rm -f "$WORK/b1.save"; V save b1 "$WORK/b1.save" && state_is 'shut off' && test -s "$WORK/b1.save"; }
restore() {
  V restore "$WORK/b1.save" && state_is running || return 1
  wait_for 60 booted || return 1
  rm -f "$WORK/b1.save"
}
attach_disk() {
  { printf '%s\n' "$MAGIC"; dd if=/dev/zero bs=1M count=8 2>/dev/null; } > "$WORK/b1-data.img"
  # driver phy: blkback over a loop device. Without a driver a file goes to qdisk, which needs the
  # dom0 QEMU backend xencommons starts; the harness does not run one.
  V attach-disk b1 "$WORK/b1-data.img" xvdb --live --targetbus xen --driver phy --subdriver raw || return 1
  V domblklist b1 | grep -q xvdb || return 1
  wait_for 30 sh -c "timeout 3 cat \$(virsh -q -c '$URI' ttyconsole b1) | grep -q '$MAGIC'"
}
detach_disk() {
  V detach-disk b1 xvdb --live || return 1
  wait_for 30 sh -c "! virsh -q -c '$URI' domblklist b1 | grep -q xvdb"
}
# A file disk without a driver is qdisk (as in libvirt's libxl driver): the helper starts the
# guest's own QEMU to serve it. The guest reads the magic on xvdc.
attach_disk_qdisk() {
  { printf '%s\n' "$MAGIC-Q"; dd if=/dev/zero bs=1M count=8 2>/dev/null; } > "$WORK/b1-qdata.img"
  V attach-disk b1 "$WORK/b1-qdata.img" xvdc --live --targetbus xen || return 1
  xenstore-ls /local/domain/0/backend/qdisk | grep -q params || return 1
  wait_for 30 sh -c "timeout 3 cat \$(virsh -q -c '$URI' ttyconsole b1) | grep -q '$MAGIC-Q'" || return 1
  V detach-disk b1 xvdc --live || return 1
  wait_for 30 sh -c "! virsh -q -c '$URI' domblklist b1 | grep -q xvdc"
}
# A NIC on dom0's bridge through virsh: xvirtd asks the helper, which runs vif-bridge; the guest
# answers dom0's ping on it. Then detached: the bridge has no port left.
NIC_MAC=00:16:3e:00:00:43
attach_interface() {
  ensure_bridge || return 1
  V attach-interface b1 bridge xenbr0 --mac "$NIC_MAC" --live || return 1
  V domiflist b1
  V domiflist b1 | grep -q "$NIC_MAC" || return 1
  echo "bridge ports: $(bridge_ports)"
  bridge_ports | grep -q '^vif' || return 1
  wait_for 30 ping -c 1 -W 2 10.99.0.2
}
detach_interface() {
  V detach-interface b1 bridge --mac "$NIC_MAC" --live || return 1
  wait_for 30 sh -c "! virsh -q -c '$URI' domiflist b1 | grep -q '$NIC_MAC'" || return 1
  wait_for 30 sh -c '[ -z "$(ls /sys/class/net/xenbr0/brif)" ]'
}
# Restart safety on Xen (docs/restart-safety.md). xvirtd killed while the guest runs: restarted, it
# takes the guest back (same domain, its helper reconnected) and the guest counts on.
counts_past() { [ "$(count_now)" -gt "$1" ]; }
daemon_killed() {
  local id c0; id=$(V domid b1) || return 1
  kill -9 "$(cat /run/xvirtd.pid)" && rm -f /run/xvirtd.pid
  start_daemon || return 1
  grep -E "Reconnected|stopped" "$WORK/xvirtd.log"
  [ "$(V domid b1)" = "$id" ] && state_is running || { V list --all; return 1; }
  c0=$(count_now); echo "counting at $c0"
  wait_for 30 counts_past "$c0"
}
# The helper killed, with a disk on a loop device (blkback) and one on qdisk (the guest's own QEMU):
# xvirtd reports the guest crashed; the domain, its backends' xenstore entries, the loop device and
# the QEMU are gone.
backends_of() { for t in vbd qdisk vif console; do xenstore-list "/local/domain/0/backend/$t" 2>/dev/null | grep -qx "$1" && echo "$t"; done; true; }
qemu_of() { ps | grep -v grep | grep -- "-xen-domid $1 "; }
no_qemu_of() { ! qemu_of "$1" >/dev/null; }
helper_killed() {
  V start b1 && state_is running || return 1
  local id; id=$(V domid b1)
  { printf '%s\n' "$MAGIC-K"; dd if=/dev/zero bs=1M count=8 2>/dev/null; } > "$WORK/b1-kdata.img"
  cp "$WORK/b1-kdata.img" "$WORK/b1-kqdata.img"
  V attach-disk b1 "$WORK/b1-kdata.img" xvdb --live --targetbus xen --driver phy --subdriver raw || return 1
  V attach-disk b1 "$WORK/b1-kqdata.img" xvdc --live --targetbus xen || return 1
  losetup -a | grep -q b1-kdata || { losetup -a; return 1; }
  qemu_of "$id" || return 1
  kill -9 "$(cat /run/xvirt/guests/b1.pid)"
  wait_for 30 state_is 'shut off' || { V domstate b1 --reason; return 1; }
  V domstate b1 --reason | tee /dev/stderr | grep -q crashed || return 1
  wait_for 30 sh -c "! xl list | grep -q '^b1 '" || { xl list; return 1; }
  wait_for 10 no_qemu_of "$id" || { qemu_of "$id"; return 1; }
  echo "backends left for domain $id: $(backends_of "$id")"
  echo "loop devices: $(losetup -a)"
  [ -z "$(backends_of "$id")" ] && ! losetup -a | grep -q b1-kdata && ! xenstore-exists "/local/domain/$id"
}
destroy() {
  V destroy b1 && state_is 'shut off' || return 1
  ! xl list | grep -q '^b1 '
}
# A NIC in the persistent definition: the guest boots with it (the helper runs vif-bridge when
# netback waits at boot, as for a hot-plugged one) and answers dom0's ping.
boot_with_nic() {
  ensure_bridge || return 1
  V attach-interface b1 bridge xenbr0 --mac "$NIC_MAC" --config || return 1
  V start b1 && state_is running && wait_for 240 booted || return 1
  echo "bridge ports: $(bridge_ports)"
  wait_for 60 ping -c 1 -W 2 10.99.0.2 || return 1
  V destroy b1 && V detach-interface b1 bridge --mac "$NIC_MAC" --config
}
shutdown() {  # on a freshly started guest
  V start b1 && state_is running && wait_for 240 booted || return 1
  V shutdown b1 || return 1
  wait_for 120 state_is 'shut off'
}
undefine() { V undefine b1 && ! V list --all | grep -q b1; }

step virsh-daemon-start start_daemon || { tail -n 30 "$WORK/xvirtd.log"; exit 0; }
step virsh-define define
step virsh-start start && {
  step virsh-console-output console_output
  step virsh-dominfo dominfo
  step virsh-vcpuinfo vcpuinfo
  step virsh-vcpupin vcpupin
  step virsh-cpu-stats cpu_stats
  step virsh-setmem-setvcpus setmem_setvcpus
  step virsh-suspend suspend
  step virsh-resume resume
  step virsh-save save && step virsh-restore restore
  step virsh-attach-disk attach_disk && step virsh-detach-disk detach_disk
  step virsh-attach-disk-qdisk attach_disk_qdisk
  step virsh-attach-interface attach_interface && step virsh-detach-interface detach_interface
  step virsh-daemon-killed daemon_killed
  step virsh-destroy destroy
}
step virsh-helper-killed helper_killed
V destroy b1 >/dev/null 2>&1
step virsh-boot-with-nic boot_with_nic
V destroy b1 >/dev/null 2>&1
step virsh-shutdown shutdown
V destroy b1 >/dev/null 2>&1
step virsh-undefine undefine
kill "$(cat /run/xvirtd.pid)" 2>/dev/null
[ $STEP_FAILED = 0 ] || { echo "---- xvirtd log tail ----"; tail -n 40 "$WORK/xvirtd.log"; }
true
