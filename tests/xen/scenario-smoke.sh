#!/bin/bash
# A quick check of the boot itself: the toolstack sees Xen.
source "$(dirname "$0")/lib.sh"
step xl-info xl info
step xl-list xl list
