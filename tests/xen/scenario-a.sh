#!/bin/bash
# Scenario A (issue 10): the Hypervisor conformance suite, then xvirt-helper standalone on real Xen
# with the qemu-xen style command line. Runs inside dom0; see tests/xen/harness.py.
source "$(dirname "$0")/lib.sh"

G=$WORK/a1
MAGIC=XVIRT-DISK-MAGIC-4217

conformance() {
  XVIRT_CONFORMANCE_BACKEND=xen XVIRT_CONFORMANCE_KERNEL=$GUEST_KERNEL XVIRT_CONFORMANCE_MEM_MIB=128 \
    "$XVIRT_BUILD/tests/hypervisor/conformance/hypervisor-conformance"
}

helper_pid() { cat "$G.pid"; }
console_has() { grep -aq -- "$1" "$G.console"; }
status_is() { qmp "$G.qmp" '{"execute":"query-status"}' | grep -q "\"status\": *\"$1\""; }

start_paused() {
  rm -f "$G".*
  "$HELPER" --hypervisor xen -name a1 -M xenpv -m 256 -smp 2 -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" \
    -append "console=hvc0 quiet" -serial "file:$G.console" -qmp "unix:$G.qmp,server,nowait" \
    -pidfile "$G.pid" --log "$G.log" -daemonize -S || { cat "$G.log"; return 1; }
  status_is paused || status_is prelaunch || { qmp "$G.qmp" '{"execute":"query-status"}'; return 1; }
  qmp "$G.qmp" '{"execute":"query-domain"}'
  ! console_has XVIRT-GUEST-UP
}

cont_boots() {
  qmp_ok "$G.qmp" '{"execute":"cont"}' || return 1
  wait_for 180 console_has XVIRT-GUEST-UP || { tail -5 "$G.console"; return 1; }
  wait_for 30 console_has XVIRT-GUEST-COUNT
}

counter_advances() {  # FILE: the counter moves within 30 s
  local c0; c0=$(last_count "$1")
  wait_for 30 sh -c "[ \"\$(grep -a XVIRT-GUEST-COUNT '$1' | tail -n 1 | awk '{print \$2}' | tr -d '\\r')\" != '$c0' ]" ||
    { tail -c 400 "$1"; return 1; }
}

stop_cont() {
  qmp_ok "$G.qmp" '{"execute":"stop"}' || return 1
  status_is paused || return 1
  sleep 1
  local c0; c0=$(last_count "$G.console")
  sleep 3
  local c1; c1=$(last_count "$G.console")
  echo "paused: counter $c0 -> $c1"
  [ "$c0" = "$c1" ] || return 1
  qmp_ok "$G.qmp" '{"execute":"cont"}' || return 1
  status_is running && counter_advances "$G.console"
}

pinning() {
  # A second guest, built paused from a GuestConfig with vCPU 0 on CPU 1 and vCPU 1 on CPU 0;
  # query-cpus reads the hard affinity back through libxenctrl.
  local P=$WORK/pin
  cat > "$P.json" <<JSON
{"version": 1, "name": "pin", "uuid": "6f1c3e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6", "kind": "pv",
 "memoryKib": 131072, "maxMemoryKib": 131072, "maxVcpus": 2, "onlineVcpus": 2,
 "affinity": [[1], [0]], "kernel": "$GUEST_KERNEL", "ramdisk": "$GUEST_INITRD", "cmdline": "console=hvc0 quiet",
 "onPoweroff": "destroy", "onReboot": "destroy", "onCrash": "destroy",
 "disks": [], "nics": [], "chardevs": [{"kind": "console", "port": 0, "type": "null", "path": ""}],
 "graphics": [], "deviceModels": []}
JSON
  "$HELPER" --hypervisor xen --config "$P.json" -qmp "unix:$P.qmp,server,nowait" -pidfile "$P.pid" \
    --log "$P.log" -daemonize -S || { cat "$P.log"; return 1; }
  local r; r=$(qmp "$P.qmp" '{"execute":"query-cpus"}')
  echo "$r"
  qmp "$P.qmp" '{"execute":"quit"}' >/dev/null
  echo "$r" | grep -q '"cpu-index": *0[^}]*"affinity": *"1"' && echo "$r" | grep -q '"cpu-index": *1[^}]*"affinity": *"0"'
}

# set-vcpus writes cpu/N/availability: the guest's xen cpu-hotplug driver takes vCPU 1 down (Xen then
# reports it offline through libxenctrl) and brings it back.
vcpu_online() {  # VCPU true|false: query-cpus says so
  qmp "$G.qmp" '{"execute":"query-cpus"}' | grep -q "\"cpu-index\": *$1, *\"online\": *$2"
}
set_vcpus() {
  qmp_ok "$G.qmp" '{"execute":"set-vcpus","arguments":{"count":1}}' || return 1
  wait_for 60 vcpu_online 1 false || { qmp "$G.qmp" '{"execute":"query-cpus"}'; return 1; }
  echo "vCPU 1 offline"
  qmp_ok "$G.qmp" '{"execute":"set-vcpus","arguments":{"count":2}}' || return 1
  wait_for 60 vcpu_online 1 true || { qmp "$G.qmp" '{"execute":"query-cpus"}'; return 1; }
  echo "vCPU 1 online again"
}

# balloon writes memory/target: the guest's balloon driver gives pages back to Xen (the domain's
# page count, read through libxenctrl, falls to the target) and takes them again.
balloon_actual_mib() {
  qmp "$G.qmp" '{"execute":"query-balloon"}' | sed -n 's/.*"actual": *\([0-9]*\).*/\1/p' | awk '{print int($1 / 1048576)}'
}
balloon_at_most() { local a; a=$(balloon_actual_mib); [ -n "$a" ] && [ "$a" -le "$1" ]; }
balloon_at_least() { local a; a=$(balloon_actual_mib); [ -n "$a" ] && [ "$a" -ge "$1" ]; }
balloon() {
  echo "before: $(balloon_actual_mib) MiB"
  qmp_ok "$G.qmp" '{"execute":"balloon","arguments":{"value":201326592}}' || return 1
  wait_for 90 balloon_at_most 194 || { echo "after 90 s: $(balloon_actual_mib) MiB"; return 1; }
  echo "ballooned down to $(balloon_actual_mib) MiB (target 192)"
  qmp_ok "$G.qmp" '{"execute":"balloon","arguments":{"value":268435456}}' || return 1
  wait_for 90 balloon_at_least 250 || { echo "after 90 s: $(balloon_actual_mib) MiB"; return 1; }
  echo "back up to $(balloon_actual_mib) MiB (target 256)"
  counter_advances "$G.console"
}

# A file disk on the qdisk backend: the helper starts the guest's own QEMU to serve it (QEMU's
# xen-bus serves only the domain given by -xen-domid), as libxl does for a PV guest. The guest reads
# the magic on xvdc, then loses the disk again.
QDISK_MAGIC=XVIRT-QDISK-MAGIC-4217
qdisk_add() {
  { printf '%s\n' "$QDISK_MAGIC"; dd if=/dev/zero bs=1M count=8 2>/dev/null; } > "$WORK/qdata.img"
  qmp_ok "$G.qmp" "{\"execute\":\"disk_add\",\"arguments\":{\"target\":\"xvdc\",\"source\":\"$WORK/qdata.img\",\"backend\":\"qdisk\",\"timeout\":25}}" ||
    { xenstore-ls -f /local/domain/0/backend/qdisk; tail -n 20 "$G.log"; return 1; }
  wait_for 30 console_has "XVIRT-GUEST-DISK /dev/xvdc $QDISK_MAGIC" || { grep -a DISK "$G.console"; return 1; }
  ps | grep -v grep | grep -- "-xen-domid $(xl domid a1) -xen-attach"
}
qdisk_remove() {
  qmp_ok "$G.qmp" '{"execute":"disk_remove","arguments":{"target":"xvdc","timeout":25}}' || return 1
  wait_for 30 console_has "XVIRT-GUEST-DISK-GONE /dev/xvdc" || return 1
  ! xenstore-ls /local/domain/0/backend/qdisk 2>/dev/null | grep -q 51744
}

# nic_add on dom0's bridge xenbr0, the script named as libvirt's <script path='vif-bridge'/> does
# (relative: under /etc/xen/scripts): netback creates vifD.0, the helper runs the hotplug script
# (vif-bridge online: the interface onto the bridge, hotplug-status connected), the guest's netfront
# gets eth0 and answers dom0's ping over the bridge. nic_remove: the guest loses eth0, the helper
# runs vif-bridge offline, the bridge has no port left.
NIC_MAC=00:16:3e:00:00:42
nic_add() {
  ensure_bridge || return 1
  qmp_ok "$G.qmp" "{\"execute\":\"nic_add\",\"arguments\":{\"mac\":\"$NIC_MAC\",\"bridge\":\"xenbr0\",\"script\":\"vif-bridge\",\"timeout\":25}}" ||
    { tail -n 20 "$G.log"; xenstore-ls -f /local/domain/0/backend/vif; return 1; }
  wait_for 30 console_has "XVIRT-GUEST-NIC eth0 $NIC_MAC" || { grep -a NIC "$G.console"; return 1; }
  echo "bridge ports: $(bridge_ports)"
  bridge_ports | grep -q "^vif[0-9]*\.0$" || return 1
  wait_for 30 ping -c 1 -W 2 10.99.0.2
}
nic_remove() {
  qmp_ok "$G.qmp" '{"execute":"nic_remove","arguments":{"devid":0,"timeout":25}}' || { tail -n 20 "$G.log"; return 1; }
  wait_for 30 console_has "XVIRT-GUEST-NIC-GONE eth0" || return 1
  echo "bridge ports: $(bridge_ports)"
  [ -z "$(bridge_ports)" ]
}
# A NIC whose hotplug script cannot run: nic_add fails at once with the reason, nothing is left.
nic_bad_script() {
  local r
  r=$(qmp "$G.qmp" '{"execute":"nic_add","arguments":{"mac":"00:16:3e:00:00:44","bridge":"xenbr0","script":"/nonexistent/vif-script","timeout":25}}')
  echo "$r"
  echo "$r" | grep -q '"error"' && echo "$r" | grep -q 'nonexistent/vif-script' || return 1
  ! xenstore-ls -f /local/domain/0/backend/vif 2>/dev/null | grep -q '00:16:3e:00:00:44'
}

# system_reset: the helper destroys the domain and builds it again; the guest boots a second time.
system_reset() {
  local ups; ups=$(grep -ac XVIRT-GUEST-UP "$G.console")
  qmp_ok "$G.qmp" '{"execute":"system_reset"}' || { tail -n 20 "$G.log"; return 1; }
  wait_for 180 sh -c "[ \$(grep -ac XVIRT-GUEST-UP '$G.console') -gt $ups ]" || { tail -c 400 "$G.console"; return 1; }
  echo "booted again (XVIRT-GUEST-UP seen $((ups + 1)) times)"
  status_is running || return 1
  [ -z "${SCRIPTED_DISK:-}" ] || wait_for 30 scripted_loops_are 1
}

# The guest suspends itself for a save (control/shutdown); a save that fails, and one with
# after: running, bring it back with xc_domain_resume and it counts on in place.
save_runs_on() {
  local reply
  reply=$(qmp "$G.qmp" '{"execute":"save","arguments":{"file":"/no-such-dir/x.save"}}')
  echo "failed save: $reply"
  echo "$reply" | grep -q '"error"' || return 1
  status_is running && counter_advances "$G.console" || { tail -n 20 "$G.log"; return 1; }
  qmp_ok "$G.qmp" "{\"execute\":\"save\",\"arguments\":{\"file\":\"$G.keep\",\"after\":\"running\"}}" ||
    { tail -n 20 "$G.log"; return 1; }
  info "saved and running on: $(ls -l "$G.keep" | awk '{print $5}') bytes"
  rm -f "$G.keep"
  # ... in place: the guest did not boot again.
  status_is running && counter_advances "$G.console" && [ "$(grep -ac XVIRT-GUEST-UP "$G.console")" -le 1 ]
}

save_restore() {
  local c0 pid; c0=$(last_count "$G.console"); pid=$(helper_pid)
  qmp_ok "$G.qmp" "{\"execute\":\"save\",\"arguments\":{\"file\":\"$G.save\"}}" || { tail -n 20 "$G.log"; return 1; }
  wait_for 30 sh -c "! kill -0 $pid" || return 1
  info "saved at count $c0: $(ls -l "$G.save" | awk '{print $5}') bytes"
  mv "$G.console" "$G.console-before-save"
  "$HELPER" --hypervisor xen --restore "$G.save" -serial "file:$G.console" -qmp "unix:$G.qmp,server,nowait" \
    -pidfile "$G.pid" --log "$G.log" -daemonize || { tail -20 "$G.log"; return 1; }
  wait_for 60 console_has XVIRT-GUEST-COUNT || return 1
  local c1; c1=$(last_count "$G.console")
  echo "count before save $c0, after restore $c1"
  # The guest kept its state: it counts on from where it was, without booting again.
  ! console_has XVIRT-GUEST-UP && [ "$c1" -ge "$c0" ] && counter_advances "$G.console" || return 1
  rm -f "$G.save"  # dom0's /tmp is RAM: the next scenarios need the room
}

disk_add() {
  rm -f "$WORK/data.img"
  { printf '%s\n' "$MAGIC"; dd if=/dev/zero bs=1M count=8 2>/dev/null; } > "$WORK/data.img"
  qmp_ok "$G.qmp" "{\"execute\":\"disk_add\",\"arguments\":{\"target\":\"xvdb\",\"source\":\"$WORK/data.img\",\"timeout\":25}}" || {
    xenstore-ls -f /local/domain/0/backend/vbd; return 1; }
  wait_for 30 console_has "XVIRT-GUEST-DISK /dev/xvdb $MAGIC" || { grep -a DISK "$G.console"; return 1; }
  xenstore-ls -f /local/domain/0/backend/vbd | grep physical-device
}

disk_remove() {
  qmp_ok "$G.qmp" '{"execute":"disk_remove","arguments":{"target":"xvdb","timeout":25}}' || return 1
  wait_for 30 console_has "XVIRT-GUEST-DISK-GONE /dev/xvdb" || return 1
  ! xenstore-ls /local/domain/0/backend/vbd 2>/dev/null | grep -q 51728
}

# A disk with a block hotplug script of its own (xl's script=, here Xen's stock `block`, named as a
# relative name is): the helper runs `block add` once blkback waits, the script sets up the loop
# device and writes physical-device; disk_remove runs `block remove`, which detaches it.
block_script() {
  local gone0
  { printf '%s\n' "$MAGIC-S"; dd if=/dev/zero bs=1M count=8 2>/dev/null; } > "$WORK/sdata.img"
  qmp_ok "$G.qmp" "{\"execute\":\"disk_add\",\"arguments\":{\"target\":\"xvdb\",\"source\":\"$WORK/sdata.img\",\"script\":\"block\",\"timeout\":25}}" ||
    { xenstore-ls -f /local/domain/0/backend/vbd; tail -n 20 "$G.log"; return 1; }
  wait_for 30 console_has "XVIRT-GUEST-DISK /dev/xvdb $MAGIC-S" || { grep -a DISK "$G.console"; return 1; }
  grep "hotplug script /etc/xen/scripts/block add" "$G.log" || return 1
  xenstore-ls -f /local/domain/0/backend/vbd | grep -E "/script|physical-device "
  losetup -a | grep sdata.img || return 1
  gone0=$(grep -ac "XVIRT-GUEST-DISK-GONE /dev/xvdb" "$G.console")
  qmp_ok "$G.qmp" '{"execute":"disk_remove","arguments":{"target":"xvdb","timeout":25}}' || return 1
  wait_for 30 sh -c "[ \$(grep -ac 'XVIRT-GUEST-DISK-GONE /dev/xvdb' '$G.console') -gt $gone0 ]" || return 1
  grep "hotplug script /etc/xen/scripts/block remove" "$G.log" || return 1
  wait_for 10 sh -c "! losetup -a | grep -q sdata.img" || { losetup -a; return 1; }
  # Plugged again and left there: system_reset rebuilds the guest with it (the script's `remove`
  # at the destroy, `add` at the boot) and sigterm_destroys ends it (`remove`).
  local seen0; seen0=$(grep -ac "XVIRT-GUEST-DISK /dev/xvdb $MAGIC-S" "$G.console")
  qmp_ok "$G.qmp" "{\"execute\":\"disk_add\",\"arguments\":{\"target\":\"xvdb\",\"source\":\"$WORK/sdata.img\",\"script\":\"block\",\"timeout\":25}}" || return 1
  wait_for 30 sh -c "[ \$(grep -ac 'XVIRT-GUEST-DISK /dev/xvdb $MAGIC-S' '$G.console') -gt $seen0 ]" || return 1
  SCRIPTED_DISK=1
}
# With the scripted disk of block_script attached: one loop device for it, whatever the guest went through.
scripted_loops_are() { [ "$(losetup -a | grep -c sdata.img)" = "$1" ] || { losetup -a; false; }; }

# Saved and restored with two disks attached: the scripted one of block_script (xvdb: the script's
# `remove` at the save's destroy, `add` for the restored domain) and one on the helper's own loop
# device (xvdc). Both backends connect again for the restored domain, one loop device each.
save_restore_disks() {
  local c0 pid id
  { printf '%s\n' "$MAGIC-R"; dd if=/dev/zero bs=1M count=8 2>/dev/null; } > "$WORK/rdata.img"
  qmp_ok "$G.qmp" "{\"execute\":\"disk_add\",\"arguments\":{\"target\":\"xvdc\",\"source\":\"$WORK/rdata.img\",\"timeout\":25}}" ||
    return 1
  wait_for 30 console_has "XVIRT-GUEST-DISK /dev/xvdc $MAGIC-R" || return 1
  c0=$(last_count "$G.console"); pid=$(helper_pid)
  qmp_ok "$G.qmp" "{\"execute\":\"save\",\"arguments\":{\"file\":\"$G.save\"}}" || { tail -n 20 "$G.log"; return 1; }
  wait_for 30 sh -c "! kill -0 $pid" || return 1
  mv "$G.console" "$G.console-before-disk-save"
  "$HELPER" --hypervisor xen --restore "$G.save" -serial "file:$G.console" -qmp "unix:$G.qmp,server,nowait" \
    -pidfile "$G.pid" --log "$G.log" -daemonize || { tail -20 "$G.log"; return 1; }
  rm -f "$G.save"
  wait_for 60 console_has XVIRT-GUEST-COUNT && counter_advances "$G.console" || return 1
  id=$(xl domid a1)
  for dev in 51728 51744; do
    wait_for 30 sh -c "[ \"\$(xenstore-read /local/domain/0/backend/vbd/$id/$dev/state)\" = 4 ]" ||
      { xenstore-ls -f "/local/domain/0/backend/vbd/$id"; tail -n 20 "$G.log"; return 1; }
  done
  echo "restored as domain $id, both disks connected; loop devices: $(losetup -a | tr '\n' ' ')"
  scripted_loops_are 1 && [ "$(losetup -a | grep -c rdata.img)" = 1 ]
}

sigterm_destroys() {
  local pid domid
  domid=$(qmp "$G.qmp" '{"execute":"query-domain"}' | sed -n 's/.*"domid": *\([0-9]*\).*/\1/p')
  pid=$(helper_pid)
  kill -TERM "$pid"
  wait_for 30 sh -c "! kill -0 $pid" || return 1
  echo "domain $domid"
  wait_for 30 sh -c "! xl list $domid >/dev/null 2>&1" || return 1
  [ -z "${SCRIPTED_DISK:-}" ] || wait_for 10 scripted_loops_are 0
}

pygrub_boot() {
  # No kernel: the helper runs Debian's pygrub on the ext4 disk (its /boot/grub/grub.cfg names a
  # compressed kernel and an initramfs), and the guest shows the command line grub.cfg gave it.
  # The disk is served by blkback (backend phy, a loop device the helper sets up), as libvirt's
  # <driver name='phy'> or xl's file: disks do; a plain file on the qemu-style command line would
  # go to qdisk, which needs the dom0 QEMU backend the harness does not run.
  local P=$WORK/pg
  rm -f "$P".*
  [ -f "$WORK/bootdisk.img" ] || cp "$HARNESS_DIR/bootdisk.img" "$WORK/bootdisk.img"
  cat > "$P.json" <<JSON
{"version": 1, "name": "pg", "uuid": "$(cat /proc/sys/kernel/random/uuid)", "kind": "pv",
 "memoryKib": 262144, "maxVcpus": 1, "bootloader": "/usr/lib/xen-4.17/bin/pygrub",
 "onPoweroff": "destroy", "onReboot": "destroy", "onCrash": "destroy",
 "disks": [{"vdev": "xvda", "vdevNumber": 51712, "backend": "phy", "path": "$WORK/bootdisk.img", "mode": "r",
            "readonly": true}],
 "chardevs": [{"kind": "console", "port": 0, "type": "file", "path": "$P.console"}]}
JSON
  local t0; t0=$(now)
  "$HELPER" --hypervisor xen --config "$P.json" -qmp "unix:$P.qmp,server,nowait" -pidfile "$P.pid" \
    --log "$P.log" -daemonize || { tail -n 20 "$P.log"; return 1; }
  info "pygrub-boot: helper started (pygrub ran, domain built) in $(elapsed "$t0") s"
  wait_for 240 grep -aq XVIRT-GUEST-COUNT "$P.console" || {
    tail -c 800 "$P.console"; tail -n 20 "$P.log"; xl list; xenstore-ls -f /local/domain/0/backend/vbd; return 1; }
  info "pygrub-boot: guest counting $(elapsed "$t0") s after the helper started"
  grep -a XVIRT-GUEST-CMDLINE "$P.console"
  local ok=0
  grep -aq "XVIRT-GUEST-CMDLINE.*xvirt.boot=pygrub" "$P.console" && ok=1
  qmp "$P.qmp" '{"execute":"quit"}' >/dev/null
  rm -f "$WORK/bootdisk.img"
  [ $ok = 1 ]
}

step conformance conformance
step helper-start-paused start_paused &&
  step helper-cont-boots cont_boots &&
  step helper-stop-cont stop_cont &&
  step helper-set-vcpus set_vcpus &&
  step helper-balloon balloon
step helper-vcpu-pinning pinning
step helper-save-runs-on save_runs_on
step helper-save-restore save_restore
step helper-disk-add disk_add && step helper-disk-remove disk_remove
step helper-block-script block_script
step helper-qdisk-add qdisk_add && step helper-qdisk-remove qdisk_remove
step helper-nic-add nic_add && step helper-nic-remove nic_remove
step helper-nic-bad-script nic_bad_script
step helper-system-reset system_reset
if [ -n "${SCRIPTED_DISK:-}" ]; then step helper-save-restore-disks save_restore_disks
else skip helper-save-restore-disks "no scripted disk (helper-block-script failed)"; fi
step helper-sigterm-destroys sigterm_destroys
if [ -e "$HARNESS_DIR/bootdisk.img" ] && [ -x /usr/bin/python3 ]; then
  step helper-pygrub-boot pygrub_boot
else
  skip helper-pygrub-boot "no boot disk or no python3 in dom0 (mke2fs or pygrub missing on the host)"
fi
pkill -f xvirt-helper 2>/dev/null
true
