#!/usr/bin/env bash
# The main job on the embedded simulated Xen host: installs what is missing, builds, then shows
# xvirt at work with real tools. Safe to run again; it leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
exec /usr/bin/python3 scripts/demo.py "$XVIRT_BUILD"
