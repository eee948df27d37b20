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

P=$WORK/hvm
if [ -s "$P.pid" ] && kill -0 "$(cat "$P.pid")" 2>/dev/null; then
  step hvm-disk wait_for 60 file_has "$P.console" "XVIRT-GUEST-DISK /dev/xvdb $HVM_DISK_MAGIC"
  step hvm-nic wait_for 60 ping -c 1 -W 2 10.99.0.2
  grep -a "XVIRT-GUEST-NIC" "$P.console" || true
  qmp "$P.qmp" '{"execute":"quit"}' >/dev/null 2>&1
else
  skip hvm-disk "no running HVM guest"
  skip hvm-nic "no running HVM guest"
fi
true
