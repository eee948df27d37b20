#!/bin/bash
# An HVM guest through xvirt-helper (issue 10), 1 vCPU: hvmloader and SeaBIOS from the domain
# builder, Debian's qemu-system-i386 (qemu-xen) as device model booting the bzImage with -kernel.
# Slow under emulation (minutes), so up to 2 attempts (lib-boot.sh).
source "$(dirname "$0")/lib-boot.sh" "$@"

[ -f "$WORK/bzImage" ] || cp "$HARNESS_DIR/bzImage" "$WORK/bzImage"
with_retries hvm-boot 2 hvm hvm 240 "$WORK/bzImage"
true
