#!/usr/bin/env bash
# Shared set-up for ./demo.sh and ./test.sh: installs the Debian packages xvirt needs (only the
# missing ones), configures the meson build directory once, and builds. Idempotent and quick when
# nothing is missing.
set -euo pipefail

XVIRT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
XVIRT_BUILD="${XVIRT_BUILD:-$XVIRT_ROOT/build}"

# Build tools and libraries, then the real clients and tools the tests drive, then clang with
# libFuzzer for the fuzz smoke (scripts/fuzz.sh).
XVIRT_PACKAGES=(
  meson ninja-build g++ pkg-config
  libglib2.0-dev libjson-glib-dev libxml2-dev libxml2-utils libxen-dev
  libgtest-dev libgmock-dev
  libvirt-dev libvirt-clients python3-libvirt
  xenstore-utils xen-utils-4.17 socat e2fsprogs
  virtinst virt-manager xvfb x11-utils imagemagick fonts-dejavu-core
  libvncserver-dev vncsnapshot libjpeg-turbo-progs
  # The fuzz targets (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
  # The real-Xen suite (tests/xen/harness.py): Xen and a kernel to boot under QEMU, busybox for the
  # dom0 and guest initramfs, Debian's device model for HVM guests.
  qemu-system-x86 xen-hypervisor-4.17-amd64 linux-image-amd64 busybox-static qemu-system-xen
)

xvirt_missing_packages() {
  local pkg missing=()
  for pkg in "${XVIRT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  echo "${missing[@]:-}"
}

xvirt_install_packages() {
  local missing
  missing="$(xvirt_missing_packages)"
  [ -z "$missing" ] && return 0
  echo "xvirt: installing missing Debian packages: $missing"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "xvirt: run as root (or install sudo) to install: $missing" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

xvirt_build() {
  if [ ! -f "$XVIRT_BUILD/build.ninja" ]; then
    meson setup "$XVIRT_BUILD" "$XVIRT_ROOT" >/dev/null
  fi
  ninja -C "$XVIRT_BUILD" >/dev/null || ninja -C "$XVIRT_BUILD"
}

xvirt_install_packages
xvirt_build
