#!/bin/bash
# An HVM guest through xvirt-helper (issue 10), 1 vCPU: hvmloader and SeaBIOS from the domain
# builder, Debian's qemu-system-i386 (qemu-xen) as device model booting the bzImage with -kernel.
# Slow under emulation (minutes), so up to 2 attempts (lib-boot.sh).
#
# The guest has a file disk and a NIC, as libxl gives an HVM guest: each emulated by the device
# model (IDE, rtl8139 on a tap) and offered to PV drivers (a qdisk the device model serves, a vif on
# netback). Linux's PV drivers unplug the emulated ones at boot, so the guest reads the disk and
# answers dom0's ping through xen-blkfront and xen-netfront.
source "$(dirname "$0")/lib-boot.sh" "$@"

HVM_DISK_MAGIC=XVIRT-HVM-DISK-MAGIC
HVM_MAC=00:16:3e:5a:00:40

[ -f "$WORK/bzImage" ] || cp "$HARNESS_DIR/bzImage" "$WORK/bzImage"
ensure_bridge
printf '%s' "$HVM_DISK_MAGIC" > "$WORK/hvm-disk.img"
truncate -s 16M "$WORK/hvm-disk.img"
export BOOT_DEVICES='"disks": [{"vdev": "xvdb", "vdevNumber": 51728, "backend": "qdisk", "format": "raw",
  "path": "'"$WORK/hvm-disk.img"'", "mode": "w"}],
 "nics": [{"devid": 0, "mac": "'"$HVM_MAC"'", "bridge": "xenbr0", "script": "vif-bridge", "model": "rtl8139"}]'
with_retries hvm-boot 2 hvm hvm 240 "$WORK/bzImage" 1 keep

# A disk hot-plugged into the running HVM guest (a PV disk: emulated IDE disks cannot be hot-plugged)
# on the qdisk backend its device model already serves; then removed again.
HVM_HOT_MAGIC=XVIRT-HVM-HOTPLUG-MAGIC
hvm_disk_add() {
  printf '%s' "$HVM_HOT_MAGIC" > "$WORK/hvm-hot.img"
  truncate -s 8M "$WORK/hvm-hot.img"
  qmp_ok "$P.qmp" "{\"execute\":\"disk_add\",\"arguments\":{\"target\":\"xvdc\",\"source\":\"$WORK/hvm-hot.img\",\"backend\":\"qdisk\",\"timeout\":25}}" ||
    { xenstore-ls -f /local/domain/0/backend/qdisk; tail -n 20 "$P.log"; return 1; }
  wait_for 30 file_has "$P.console" "XVIRT-GUEST-DISK /dev/xvdc $HVM_HOT_MAGIC" || { grep -a DISK "$P.console"; return 1; }
  local dms; dms=$(ps | grep -v grep | grep -c -- "-xen-domid $(xl domid hvm) ")
  echo "device model processes: $dms"
  [ "$dms" = 1 ]  # the HVM device model serves it; no second QEMU
}
hvm_disk_remove() {
  qmp_ok "$P.qmp" '{"execute":"disk_remove","arguments":{"target":"xvdc","timeout":25}}' || return 1
  wait_for 30 file_has "$P.console" "XVIRT-GUEST-DISK-GONE /dev/xvdc"
}

P=$WORK/hvm
if [ -s "$P.pid" ] && kill -0 "$(cat "$P.pid")" 2>/dev/null; then
  step hvm-disk wait_for 60 file_has "$P.console" "XVIRT-GUEST-DISK /dev/xvdb $HVM_DISK_MAGIC"
  step hvm-nic wait_for 60 ping -c 1 -W 2 10.99.0.2
  grep -a "XVIRT-GUEST-NIC" "$P.console" || true
  if step hvm-disk-add hvm_disk_add; then step hvm-disk-remove hvm_disk_remove
  else skip hvm-disk-remove "the disk was not added"; fi
  qmp "$P.qmp" '{"execute":"quit"}' >/dev/null 2>&1
else
  for s in hvm-disk hvm-nic hvm-disk-add hvm-disk-remove; do skip $s "no running HVM guest"; done
fi
true
