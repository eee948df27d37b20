#!/usr/bin/env bash
# The main job on the embedded simulated Xen host: installs what is missing, builds, starts xvirtd
# on the simulated Xen host, and defines and starts the example guests with real virsh. Safe to run
# again; xvirtd stays up afterwards so the URI it prints keeps working.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
exec /usr/bin/python3 scripts/demo.py "$XVIRT_BUILD"
