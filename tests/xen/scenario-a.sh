#!/bin/bash
# Scenario A (issue 10): the Hypervisor conformance suite and xvirt-helper standalone on real Xen.
source "$(dirname "$0")/lib.sh"

conformance() {
  XVIRT_CONFORMANCE_BACKEND=xen XVIRT_CONFORMANCE_KERNEL=$GUEST_KERNEL XVIRT_CONFORMANCE_MEM_MIB=64 \
    "$XVIRT_BUILD/tests/hypervisor/conformance/hypervisor-conformance" --gtest_brief=1
}
step conformance conformance
