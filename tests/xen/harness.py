#!/usr/bin/env python3
"""The real-Xen harness (issue 10): boots Debian's Xen 4.17 with Debian's kernel as dom0 under
qemu-system-x86_64, shares the source and build tree into dom0 over virtio-9p at the same path, runs
one scenario script there and reports its steps.

    tests/xen/harness.py [--scenario a,b,...] [--build DIR] [--timeout S] [--accel tcg|kvm]

Scenario scripts (tests/xen/scenario-*.sh) print `XVIRT-STEP <name> PASS|FAIL|FLAKY|SKIP <seconds>`
lines on dom0's console; the harness echoes them, and exits 1 naming the first failed step with the
tail of the console (0 when every step passed, 77 when the machine cannot boot Xen). Boot artefacts
(Xen's ELF, the uncompressed dom0 kernel, the dom0 and guest initramfs) are cached under
BUILD/xen-harness, keyed by their inputs."""
import argparse
import gzip
import hashlib
import importlib.util
import io
import lzma
import os
import re
import select
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
XEN_GZ = "/boot/xen-4.17-amd64.gz"
QEMU = "/usr/bin/qemu-system-x86_64"
BUSYBOX = "/bin/busybox"

# What dom0 runs besides busybox: Xen's tools, what the hotplug scripts use, real virsh, socat.
DOM0_PROGRAMS = [
    "/usr/lib/xen-4.17/bin/xl", "/usr/lib/xen-4.17/bin/xenstored", "/usr/lib/xen-4.17/bin/xenconsoled",
    "/usr/lib/xen-4.17/bin/xen-init-dom0", "/usr/lib/xen-4.17/bin/libxl-save-helper",
    "/usr/lib/xen-4.17/bin/xenconsole",
    "/usr/bin/xenstore", "/usr/bin/xenstore-read", "/usr/bin/xenstore-write", "/usr/bin/xenstore-ls",
    "/usr/bin/xenstore-list", "/usr/bin/xenstore-rm", "/usr/bin/xenstore-exists", "/usr/bin/xenstore-watch",
    "/usr/bin/xenstore-chmod",
    "/bin/bash", "/usr/bin/flock", "/sbin/losetup", "/usr/bin/socat", "/usr/bin/virsh",
    "/usr/libexec/xen-qemu-system-i386", "/usr/bin/qemu-system-i386", "/usr/lib/xen-4.17/boot/hvmloader",
]
# Loaded with dlopen, so ldd does not list them (xl aborts at exit without libgcc_s).
DLOPENED = ["libgcc_s.so.1", "libnss_files.so.2"]
DOM0_TREES = ["/etc/xen", "/usr/share/qemu/keymaps", "/usr/share/seabios", "/usr/lib/xen-4.17/boot"]
# The option ROMs the HVM device model loads for a direct kernel boot (-kernel: SeaBIOS runs
# linuxboot from fw_cfg), and the emulated NIC's (ipxe-qemu; Debian's QEMU looks in /usr/lib/ipxe/qemu
# too, and refuses to start an rtl8139 without its ROM).
DOM0_FILES = ["/usr/share/qemu/linuxboot_dma.bin", "/usr/share/qemu/linuxboot.bin", "/usr/share/qemu/kvmvapic.bin",
              "/usr/lib/ipxe/qemu/efi-rtl8139.rom"]
# Project binaries run from the 9p share; their libraries must be in the initramfs.
PROJECT_BINARIES = [
    "helper/xvirt-helper", "helper/xvirt-helper-xen.so", "driver/xvirtd",
    "tests/hypervisor/conformance/hypervisor-conformance", "hypervisor/xvirt-xl",
]
# Steps that fail on real Xen for a reason written down in docs/xen-harness.md ("Not done"): shown
# as XFAIL, not counted as failures (meson's expected-fail). A pass shows as XPASS: remove the entry.
KNOWN_FAILURES = {}
DOM0_MODULES = ["xen-evtchn", "xen-privcmd", "xenfs", "xen-gntdev", "xen-gntalloc", "loop", "xen-blkback", "tun",
                "xen-netback", "bridge", "virtio_pci", "9pnet_virtio", "9p"]
GUEST_MODULES = ["xen-blkfront", "xen-netfront"]
# pygrub (Debian's, a Python 3 script) in dom0: the interpreter, the modules it imports (found by
# running it on the host against the same boot disk), libxenfsimage's filesystem plugins (dlopen'ed)
# and the vt100 terminfo its curses menu uses.
PYGRUB = "/usr/lib/xen-4.17/bin/pygrub"
PYTHON = "/usr/bin/python3"
MKE2FS = "/sbin/mke2fs"
FSIMAGE_PLUGINS = "/usr/lib/xen-4.17/lib/x86_64-linux-gnu/xenfsimage"
TERMINFO = ["/lib/terminfo/v/vt100", "/usr/share/terminfo/v/vt100"]
BOOT_GRUB_CFG = """set default=0
set timeout=1
menuentry 'xvirt test guest' {
  linux /boot/vmlinuz console=hvc0 quiet xvirt.boot=pygrub
  initrd /boot/initrd.img
}
"""
# Runs pygrub (argv after this script's) and writes the files of every module it imported to
# $XVIRT_MODULE_LIST: the Python that dom0 needs, and no more.
PYGRUB_TRACER = r"""
import atexit, os, runpy, sys
def dump():
    with open(os.environ["XVIRT_MODULE_LIST"], "w") as f:
        for m in list(sys.modules.values()):
            if getattr(m, "__file__", None):
                f.write(m.__file__ + "\n")
atexit.register(dump)
prog = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(prog)
runpy.run_path(prog, run_name="__main__")
"""


# qemu64 plus SVM/NPT for HVM and PVH guests, plus the x86-64-v2 features every x86 host since
# 2009 has: without SSE4.2 the save image's CRC-32C (checked at save and restore) falls back to a
# byte table, 10x slower under emulation, which no real host would show.
TCG_CPU = "qemu64,+svm,+npt,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16"


def log(msg):
    print(f"xen-harness: {msg}", flush=True)


def kernel_version():
    versions = sorted(v for v in os.listdir("/lib/modules") if os.path.exists(f"/boot/vmlinuz-{v}"))
    return versions[-1] if versions else None


def file_key(paths):
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}:{st.st_size}:{int(st.st_mtime)}\n".encode())
    return h.hexdigest()[:16]


class Cpio:
    """A newc cpio archive written in memory (the initramfs format)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1
        self.seen = set()

    def _entry(self, name, mode, data=b"", nlink=1):
        name = name.lstrip("/")
        hdr = "070701" + "".join(f"{x:08x}" for x in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))
        self.ino += 1
        self.buf.write(hdr.encode() + name.encode() + b"\0")
        self.buf.write(b"\0" * ((4 - (110 + len(name) + 1) % 4) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * ((4 - len(data) % 4) % 4))

    def dir(self, path):
        path = path.rstrip("/")
        if not path or path in self.seen:
            return
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        self._entry(path, 0o40755, nlink=2)

    def file(self, path, data, mode=0o755):
        if path in self.seen:
            return
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        self._entry(path, 0o100000 | mode, data)

    def symlink(self, path, target):
        if path in self.seen:
            return
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        self._entry(path, 0o120777, target.encode())

    def copy(self, src, dst=None):
        """Copies a host file (following symlinks, keeping the link itself too)."""
        dst = dst or src
        if os.path.islink(src) and dst == src:
            target = os.readlink(src)
            self.symlink(src, target)
            real = os.path.join(os.path.dirname(src), target)
            return self.copy(os.path.normpath(real))
        with open(src, "rb") as f:
            self.file(dst, f.read(), os.stat(src).st_mode & 0o777)

    def tree(self, top):
        for root, dirs, files in os.walk(top):
            self.dir(root)
            for f in files:
                p = os.path.join(root, f)
                if os.path.islink(p):
                    self.symlink(p, os.readlink(p))
                else:
                    self.copy(p)

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


def ldd_closure(paths):
    libs = set()
    for p in paths:
        out = subprocess.run(["ldd", p], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.search(r"(/\S+)\s+\(0x", line)
            if m:
                libs.add(m.group(1))
    return libs


def find_lib(name):
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def module_closure(kver, names):
    """Module files in load order (dependencies first), from modules.dep."""
    base = f"/lib/modules/{kver}"
    deps = {}
    with open(f"{base}/modules.dep") as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod] = rest.split()
    by_name = {os.path.basename(m).split(".ko")[0].replace("-", "_"): m for m in deps}
    order = []

    def visit(m):
        if m in order:
            return
        for d in reversed(deps.get(m, [])):
            visit(d)
        order.append(m)

    for n in names:
        m = by_name.get(n.replace("-", "_"))
        if m:
            visit(m)
    return [f"{base}/{m}" for m in order]


def uncompressed_kernel(kver, out):
    """Cuts the xz payload out of the bzImage and decompresses it: Xen and libxenguest take the ELF
    vmlinux directly, which saves the in-guest decompression under emulation."""
    with open(f"/boot/vmlinuz-{kver}", "rb") as f:
        data = f.read()
    at = data.find(b"\xfd7zXZ\x00")
    if at < 0:
        raise RuntimeError(f"/boot/vmlinuz-{kver} has no xz payload")
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    elf = d.decompress(data[at:])
    with open(out + ".tmp", "wb") as f:
        f.write(elf)
    os.replace(out + ".tmp", out)


def busybox_into(c):
    c.copy(BUSYBOX, "/bin/busybox")
    applets = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True).stdout.split()
    for a in applets:
        if a in ("bin/busybox",):
            continue
        c.symlink("/" + a, "/bin/busybox")


DOM0_INIT = r"""#!/bin/busybox sh
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /run /var/log/xen /var/lib/xen /var/lib/xenstored /tmp
mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /run; mount -t tmpfs -o size=75% tmpfs /tmp
mkdir -p /run/xen /run/xenstored /run/lock
ln -sfn /run /var/run; ln -sfn /run/lock /var/lock
ln -sf /proc/self/fd /dev/fd; ln -sf fd/0 /dev/stdin; ln -sf fd/1 /dev/stdout; ln -sf fd/2 /dev/stderr
echo "XVIRT-DOM0 init $(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /modules.order); do insmod $m 2>/dev/null; done
mount -t xenfs xenfs /proc/xen
mkdir -p @SHARE@
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose hostshare @SHARE@ || echo "XVIRT-DOM0 9p mount failed"
xenstored --pid-file /run/xenstored.pid
xen-init-dom0 >/dev/null 2>&1
if ! xenstore-read /local/domain/0/name >/dev/null 2>&1; then
  echo "XVIRT-STEP dom0-toolstack FAIL 0 xenstored or xen-init-dom0 did not start"
  echo "XVIRT-DONE"; poweroff -f
fi
echo "XVIRT-DOM0 ready $(cut -d' ' -f1 /proc/uptime)"
cd @SHARE@
for s in @SCENARIOS@; do
  /bin/bash @SHARE@/tests/xen/scenario-$s.sh @BUILD@ 2>&1
done
echo "XVIRT-DONE"
sync
poweroff -f
"""

GUEST_INIT = r"""#!/bin/busybox sh
# xvirt test guest v2
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod $m 2>/dev/null; done
echo "XVIRT-GUEST-UP"
echo "XVIRT-GUEST-CMDLINE $(cat /proc/cmdline)"
echo "XVIRT-GUEST-CPUS $(grep -c ^processor /proc/cpuinfo)"
echo "XVIRT-GUEST-ACPI $(ls /sys/firmware/acpi/tables 2>/dev/null | tr '\n' ' ')"
n=0
seen=""
nic=""
while true; do
  for d in /dev/xvdb /dev/xvdc; do
    if [ -b $d ] && ! echo "$seen" | grep -q $d; then
      magic=$(dd if=$d bs=512 count=1 2>/dev/null | tr -cd 'A-Za-z0-9-')
      echo "XVIRT-GUEST-DISK $d $magic"
      seen="$seen $d"
    fi
  done
  for d in $seen; do [ -b $d ] || { echo "XVIRT-GUEST-DISK-GONE $d"; seen=$(echo "$seen" | sed "s#$d##"); }; done
  # A NIC (scenario a's nic_add): the address dom0's xenbr0 pings, 10.99.0.1/24 on dom0's side.
  if [ -z "$nic" ] && [ -e /sys/class/net/eth0 ]; then
    nic=$(cat /sys/class/net/eth0/address)
    ip addr add 10.99.0.2/24 dev eth0; ip link set eth0 up
    echo "XVIRT-GUEST-NIC eth0 $nic"
  fi
  if [ -n "$nic" ] && [ ! -e /sys/class/net/eth0 ]; then echo "XVIRT-GUEST-NIC-GONE eth0"; nic=""; fi
  # What a distribution's udev rule does: Linux's Xen CPU hotplug driver takes a vCPU offline by
  # itself when cpu/N/availability says so, but only makes it present again; userspace onlines it.
  for c in /sys/devices/system/cpu/cpu[0-9]*; do
    [ "$(cat $c/online 2>/dev/null)" = 0 ] && echo 1 > $c/online
  done
  echo "XVIRT-GUEST-COUNT $n"
  n=$((n+1))
  sleep 1
done
"""


def boot_disk(out, bz, guest):
    """An ext4 image made with mke2fs -d holding /boot/grub/grub.cfg, the compressed kernel and the
    guest initramfs: what pygrub boots in scenario A. None when mke2fs is missing."""
    if not os.path.exists(MKE2FS):
        return None
    img = os.path.join(out, "bootdisk-" + file_key([bz, guest]) + hashlib.sha256(
        BOOT_GRUB_CFG.encode()).hexdigest()[:8] + ".img")
    if os.path.exists(img):
        return img
    root = img + ".d"
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "boot", "grub"))
    shutil.copyfile(bz, os.path.join(root, "boot", "vmlinuz"))
    shutil.copyfile(guest, os.path.join(root, "boot", "initrd.img"))
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(BOOT_GRUB_CFG)
    size_mib = (os.path.getsize(bz) + os.path.getsize(guest)) // (1 << 20) + 8
    with open(img + ".tmp", "wb") as f:
        f.truncate(size_mib << 20)
    subprocess.run([MKE2FS, "-q", "-F", "-t", "ext4", "-d", root, img + ".tmp"], check=True)
    shutil.rmtree(root)
    for old in os.listdir(out):
        if old.startswith("bootdisk-") and old.endswith(".img"):
            os.unlink(os.path.join(out, old))
    os.replace(img + ".tmp", img)
    return img


def pygrub_files(out, disk):
    """The files dom0 needs to run pygrub on `disk`: the Python modules pygrub imports when it runs
    here on the same disk (as sourceless .pyc where Debian compiled one: nothing to compile in
    dom0), their extension modules and the fsimage plugins. [] when pygrub cannot run here."""
    if not (disk and os.path.exists(PYGRUB) and os.path.exists(PYTHON)):
        return []
    listing = os.path.join(out, "pygrub-modules.txt")
    work = os.path.join(out, "pygrub-trace")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    answer = os.path.join(work, "answer")
    open(answer, "w").close()
    r = subprocess.run([PYTHON, "-c", PYGRUB_TRACER, PYGRUB, "-q", f"--output={answer}",
                        "--output-format=simple0", f"--output-directory={work}", disk],
                       env=dict(os.environ, XVIRT_MODULE_LIST=listing), capture_output=True, text=True)
    ok = r.returncode == 0 and b"kernel " in open(answer, "rb").read()
    shutil.rmtree(work, ignore_errors=True)
    if not ok:
        log(f"pygrub does not run on this host ({r.stderr.strip()[-200:]}); no pygrub in dom0")
        return []
    files = set()
    for f in open(listing).read().split():
        if f.endswith(".py"):
            pyc = importlib.util.cache_from_source(f)
            files.add((pyc, f + "c") if os.path.exists(pyc) else (f, f))
        elif os.path.exists(f):
            files.add((f, f))
    for root, _, names in os.walk(FSIMAGE_PLUGINS):
        files |= {(os.path.join(root, n), os.path.join(root, n)) for n in names}
    files |= {(t, t) for t in TERMINFO if os.path.exists(t)}
    return sorted(files)


def build_artefacts(build):
    """Returns (xen, vmlinux, dom0 initramfs, guest initramfs) paths, rebuilding what changed."""
    kver = kernel_version()
    out = os.path.join(build, "xen-harness")
    os.makedirs(out, exist_ok=True)
    xen = os.path.join(out, "xen-" + file_key([XEN_GZ]) + ".elf")
    if not os.path.exists(xen):
        with gzip.open(XEN_GZ) as f, open(xen + ".tmp", "wb") as o:
            shutil.copyfileobj(f, o)
        os.replace(xen + ".tmp", xen)
    vmlinux = os.path.join(out, "vmlinux-" + file_key([f"/boot/vmlinuz-{kver}"]))
    if not os.path.exists(vmlinux):
        uncompressed_kernel(kver, vmlinux)

    gmods = module_closure(kver, GUEST_MODULES)
    gkey = file_key([BUSYBOX] + gmods) + hashlib.sha256(GUEST_INIT.encode()).hexdigest()[:8]
    guest = os.path.join(out, f"guest-{gkey}.cpio")
    if not os.path.exists(guest):
        c = Cpio()
        # The kernel's orderly poweroff (xenstore control/shutdown) runs /sbin/poweroff; busybox's
        # applet would only signal init (this shell script ignores it), so these come before the
        # applet links, which never replace an entry.
        c.file("/sbin/poweroff", b"#!/bin/busybox sh\nexec /bin/busybox poweroff -f\n")
        c.file("/sbin/reboot", b"#!/bin/busybox sh\nexec /bin/busybox reboot -f\n")
        busybox_into(c)
        for m in gmods:
            c.copy(m)
        c.file("/modules.order", "\n".join(gmods).encode() + b"\n", 0o644)
        for d in ("/proc", "/sys", "/dev", "/tmp"):
            c.dir(d)
        c.file("/init", GUEST_INIT.encode())
        with open(guest + ".tmp", "wb") as f:
            f.write(c.finish())
        os.replace(guest + ".tmp", guest)
    bz = os.path.join(out, "bzImage")  # HVM direct boot takes the compressed image
    if not os.path.exists(bz) or os.path.getsize(bz) != os.path.getsize(f"/boot/vmlinuz-{kver}"):
        shutil.copyfile(f"/boot/vmlinuz-{kver}", bz)
    disk = boot_disk(out, bz, guest)
    pygrub = pygrub_files(out, disk)

    progs = [p for p in DOM0_PROGRAMS if os.path.exists(p)] + ([PYTHON, PYGRUB] if pygrub else [])
    extra = [f for f in DOM0_FILES if os.path.exists(f)]
    project = [os.path.join(build, p) for p in PROJECT_BINARIES if os.path.exists(os.path.join(build, p))]
    libs = ldd_closure(progs + project + [src for src, _ in pygrub if ".so" in os.path.basename(src)])
    libs |= {p for p in (find_lib(n) for n in DLOPENED) if p}
    libs |= ldd_closure([l for l in libs])
    mods = module_closure(kver, DOM0_MODULES)
    script = open(__file__, "rb").read()
    key = file_key(sorted(set(progs) | libs | set(mods) | {src for src, _ in pygrub} | set(extra)) + [BUSYBOX]) + hashlib.sha256(
        script + build.encode()).hexdigest()[:8]
    dom0 = os.path.join(out, f"dom0-{key}.cpio")
    if not os.path.exists(dom0):
        log("building the dom0 initramfs")
        c = Cpio()
        busybox_into(c)
        for p in progs + sorted(libs):
            c.copy(p)
        c.copy("/lib64/ld-linux-x86-64.so.2")
        for t in DOM0_TREES:
            if os.path.isdir(t):
                c.tree(t)
        for src, dst in pygrub:
            c.copy(src, dst)
        for f in extra:
            c.copy(f)
        for m in mods:
            c.copy(m)
        c.file("/modules.order", "\n".join(mods).encode() + b"\n", 0o644)
        c.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
        c.file("/etc/group", b"root:x:0:\n", 0o644)
        c.file("/etc/nsswitch.conf", b"passwd: files\ngroup: files\n", 0o644)
        for d in ("/root", "/proc", "/sys", "/dev", "/tmp", "/run", "/var"):
            c.dir(d)
        c.file("/init", b"#!/bin/busybox sh\nexec /bin/sh /etc/xvirt-init \"$@\"\n")
        # The init script itself is written per run (it names the scenarios); see dom0_init_file.
        data = c.finish()
        for old in os.listdir(out):
            if old.startswith("dom0-") and old.endswith(".cpio"):
                os.unlink(os.path.join(out, old))
        with open(dom0 + ".tmp", "wb") as f:
            f.write(data)
        os.replace(dom0 + ".tmp", dom0)

    links = [("guest.cpio", guest), ("vmlinux", vmlinux)] + ([("bootdisk.img", disk)] if disk and pygrub else [])
    for link, target in links:
        p = os.path.join(out, link)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(os.path.basename(target), p)
    return xen, vmlinux, dom0, guest


def init_cpio(build, scenarios):
    """A second, tiny initramfs appended to dom0's: just the init script naming this run's scenarios."""
    c = Cpio()
    text = DOM0_INIT.replace("@SHARE@", SRC).replace("@BUILD@", build).replace("@SCENARIOS@", " ".join(scenarios))
    c.file("/etc/xvirt-init", text.encode())
    return c.finish()


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and os.environ.get("XVIRT_XEN_ACCEL") == "kvm"


def main():
    ap = argparse.ArgumentParser()
    full = os.environ.get("XVIRT_XEN_FULL") == "1"
    ap.add_argument("--scenario", default=os.environ.get("XVIRT_XEN_SCENARIOS", "a,b,xl,pvh,hvm" if full else "a,b,pvh,hvm"))
    ap.add_argument("--build", default=os.environ.get("XVIRT_BUILD_ROOT", os.path.join(SRC, "build")))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("XVIRT_XEN_TIMEOUT", "1500")))
    ap.add_argument("--accel", default=None)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if os.environ.get("XVIRT_XEN_TESTS") == "0":
        print("skipped: XVIRT_XEN_TESTS=0")
        return 77
    if not (os.path.exists(QEMU) and os.path.exists(XEN_GZ) and kernel_version() and os.path.exists(BUSYBOX)):
        print("skipped: qemu-system-x86, xen-hypervisor-4.17-amd64, linux-image-amd64 or busybox-static is missing")
        return 77
    if not build.startswith(SRC + "/"):
        print(f"the build directory must be inside {SRC} (shared into dom0 at the same path)")
        return 2
    scenarios = args.scenario.split(",")
    t0 = time.time()
    xen, vmlinux, dom0, guest = build_artefacts(build)
    log(f"artefacts ready in {time.time() - t0:.1f} s")
    run_dir = os.path.join(build, "xen-harness", "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    initrd = os.path.join(run_dir, "dom0-initrd.cpio")
    with open(initrd, "wb") as f:
        with open(dom0, "rb") as d:
            shutil.copyfileobj(d, f)
        f.write(init_cpio(build, scenarios))

    accel = args.accel or ("kvm" if kvm_usable() else "tcg")
    accel_opts = ["-accel", "kvm", "-cpu", "qemu64"] if accel == "kvm" else \
        ["-accel", "tcg,thread=multi", "-cpu", TCG_CPU]
    cmd = [QEMU] + accel_opts + [
        "-m", "3G", "-smp", "2", "-display", "none", "-nodefaults", "-serial", "stdio", "-no-reboot",
        "-kernel", xen,
        "-append", "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=2 loglvl=warning " +
        os.environ.get("XVIRT_XEN_APPEND", ""),  # e.g. guest_loglvl=all: a guest's earlyprintk=xen on the console
        "-initrd", f"{vmlinux} console=hvc0 earlyprintk=xen quiet,{initrd}",
        "-virtfs", f"local,path={SRC},mount_tag=hostshare,security_model=none,id=hostshare",
    ]
    log(f"booting Xen under QEMU ({accel}); scenarios: {', '.join(scenarios)}")
    console = open(os.path.join(run_dir, "console.log"), "w")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    steps, tail, done, buf, ready = [], [], False, b"", False
    deadline = time.time() + args.timeout
    boot_deadline = time.time() + int(os.environ.get("XVIRT_XEN_BOOT_TIMEOUT", "300"))
    try:
        while True:
            left = deadline - time.time()
            if not ready and time.time() > boot_deadline:
                steps.append(("dom0-boot", "FAIL", f"{time.time() - t0:.0f}", "dom0 did not reach its toolstack"))
                break
            if left <= 0:
                steps.append(("harness-timeout", "FAIL", f"{args.timeout}", "the run took too long"))
                break
            r, _, _ = select.select([proc.stdout], [], [], min(left, 5))
            if not r:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").rstrip("\r")
                console.write(line + "\n")
                console.flush()
                tail = (tail + [line])[-60:]
                m = re.search(r"XVIRT-STEP (\S+) (PASS|FAIL|FLAKY|SKIP) ([0-9.]+)(.*)", line)
                if m:
                    status = m.group(2)
                    if m.group(1) in KNOWN_FAILURES:
                        status = {"FAIL": "XFAIL", "PASS": "XPASS"}.get(status, status)
                    why = m.group(4).strip()
                    if status == "XFAIL":
                        why = f"known: {KNOWN_FAILURES[m.group(1)]}; {why}"
                    steps.append((m.group(1), status, m.group(3), why))
                    print(f"{time.time() - t0:7.1f}s  {status:5s} {m.group(1)} ({m.group(3)} s){(' ' + why) if why else ''}", flush=True)
                elif re.search(r"XVIRT-DOM0 |XVIRT-INFO ", line):
                    print(f"{time.time() - t0:7.1f}s  {line[line.find('XVIRT-'):]}", flush=True)
                if "XVIRT-DOM0 ready" in line:
                    ready = True
                    steps.append(("dom0-boot", "PASS", f"{time.time() - t0:.1f}", ""))
                    print(f"{time.time() - t0:7.1f}s  PASS  dom0-boot", flush=True)
                if "XVIRT-DONE" in line:
                    done = True
    finally:
        if proc.poll() is None:
            try:
                proc.wait(timeout=60 if done else 1)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        console.close()
    total = time.time() - t0
    failed = [s for s in steps if s[1] == "FAIL"]
    if not done and not failed:
        failed = [("dom0-scenario-finished", "FAIL", f"{total:.0f}", "the scenario did not reach its end")]
    counts = {k: sum(1 for s in steps if s[1] == k) for k in ("PASS", "FAIL", "FLAKY", "SKIP", "XFAIL", "XPASS")}
    log(f"{counts['PASS'] + counts['XPASS']} passed, {counts['FAIL']} failed, {counts['FLAKY']} flaky, "
        f"{counts['SKIP']} skipped, {counts['XFAIL']} known failures "
        f"in {total:.0f} s (console: {os.path.join(run_dir, 'console.log')})")
    if failed:
        log(f"FAILED step: {failed[0][0]}" + (f" ({failed[0][3]})" if len(failed[0]) > 3 and failed[0][3] else ""))
        print("---- console tail ----")
        print("\n".join(tail))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
