#!/usr/bin/env python3
"""The demo behind ./demo.sh: xvirtd on the embedded simulated Xen host, example guests defined and
started with real virsh. Safe to run again: it reuses a running xvirtd and existing guests, and
leaves xvirtd running so the printed URI keeps working.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from xvirt_test.wait import connectable, wait_for  # noqa: E402  (the project's one deadline wait)
SYSTEM = os.geteuid() == 0
RUNTIME = "/run/xvirt" if SYSTEM else os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "xvirt")
SOCKET = os.path.join(RUNTIME, "xvirtd-sock")
MODE = "system" if SYSTEM else "session"
URI = f"xen+unix:///{MODE}?socket={SOCKET}"
IMAGES = "/var/lib/xvirt/images" if SYSTEM else os.path.expanduser("~/.local/share/xvirt/images")
LOG_DIR = "/var/log/xvirt" if SYSTEM else os.path.expanduser("~/.cache/xvirt/log")


def show(title, argv, check=True):
    print(f"\n=== {title}\n$ {' '.join(argv)}", flush=True)
    return subprocess.run(argv, check=check)


def virsh(*args, check=True, quiet=False):
    argv = ["virsh", "-c", URI, *args]
    if quiet:
        return subprocess.run(argv, capture_output=True, text=True, check=check)
    return show(" ".join(args), argv, check=check)


def prepare_images():
    """The files the example guests name. On the simulated host any kernel image boots; a real one
    from /boot is used when the machine has one."""
    os.makedirs(IMAGES, exist_ok=True)
    kernel = os.path.join(IMAGES, "vmlinuz")
    if not os.path.exists(kernel):
        real = sorted(glob.glob("/boot/vmlinuz-*"))
        if real:
            shutil.copyfile(real[-1], kernel)
        else:
            with open(kernel, "wb") as f:
                f.write(b"xvirt demo kernel image for the simulated Xen host\n" + bytes(range(256)) * 4096)
    initrd = os.path.join(IMAGES, "initrd.img")
    if not os.path.exists(initrd):
        real = sorted(glob.glob("/boot/initrd.img-*"))
        if real:
            shutil.copyfile(real[-1], initrd)
        else:
            with open(initrd, "wb") as f:
                f.write(b"xvirt demo initrd\n" * 1024)
    path = os.path.join(IMAGES, "demo-pv.img")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.truncate(256 << 20)  # sparse: takes no space until written
    make_pygrub_disk(os.path.join(IMAGES, "demo-pygrub.img"), kernel, initrd)


def is_ext_filesystem(path):
    try:
        with open(path, "rb") as f:
            f.seek(1024 + 0x38)
            return f.read(2) == b"\x53\xef"
    except OSError:
        return False


def make_pygrub_disk(path, kernel, initrd):
    """An ext4 image holding /boot/grub/grub.cfg, a kernel and an initrd, made with mke2fs -d, for
    pygrub to read (docs/boot.md). The menu waits 3 seconds on the console."""
    if is_ext_filesystem(path):
        return
    root = tempfile.mkdtemp(prefix="xvirt-demo-pygrub-")
    try:
        os.makedirs(os.path.join(root, "boot", "grub"))
        shutil.copyfile(kernel, os.path.join(root, "boot", "vmlinuz"))
        shutil.copyfile(initrd, os.path.join(root, "boot", "initrd.img"))
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write("set default=0\nset timeout=3\n"
                    "menuentry 'Debian GNU/Linux (xvirt demo)' {\n"
                    "  linux /boot/vmlinuz root=/dev/xvda ro console=hvc0\n  initrd /boot/initrd.img\n}\n"
                    "menuentry 'Debian GNU/Linux (recovery mode)' {\n"
                    "  linux /boot/vmlinuz root=/dev/xvda ro single console=hvc0\n  initrd /boot/initrd.img\n}\n")
        if os.path.exists(path):
            os.unlink(path)
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", root, path, "256M"], check=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def example_xml(name):
    """The example with its image paths pointed at IMAGES (they already are for root)."""
    with open(os.path.join(EXAMPLES, name)) as f:
        text = f.read()
    return text.replace("/var/lib/xvirt/images", IMAGES)


def start_xvirtd():
    if connectable(SOCKET):
        print(f"xvirtd already serves {SOCKET}; reusing it.")
        return
    os.makedirs(LOG_DIR, exist_ok=True)
    log = open(os.path.join(LOG_DIR, "xvirtd.log"), "ab")
    argv = [os.path.join(BUILD, "driver", "xvirtd"), f"--{MODE}", "--hypervisor", "sim",
            "--pidfile", os.path.join(RUNTIME, "xvirtd.pid")]
    if SYSTEM:
        argv.append("--listen")  # also at /run/libvirt/virtxend-sock, so plain xen:///system works
    print(f"\n=== starting xvirtd on the simulated Xen host\n$ {' '.join(argv)} &", flush=True)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(lambda: proc.poll() is not None or connectable(SOCKET), timeout=30, what="xvirtd's socket")
    except TimeoutError:
        sys.exit(f"xvirtd did not come up within 30 s; see {log.name}")
    if proc.poll() is not None:
        sys.exit(f"xvirtd exited with status {proc.returncode}; see {log.name}")


def main():
    domxml = os.path.join(BUILD, "domain-xml", "xvirt-domxml")
    show("the xl config this project grew from, as libvirt domain XML",
         [domxml, "from-native", "xen-xl", os.path.join(EXAMPLES, "linux-pv.cfg")])

    prepare_images()
    start_xvirtd()
    virsh("version")
    virsh("nodeinfo")

    xml_dir = os.path.join(RUNTIME, "demo")
    os.makedirs(xml_dir, exist_ok=True)
    for example in ("demo-pv.xml", "demo-pygrub.xml"):
        path = os.path.join(xml_dir, example)
        with open(path, "w") as f:
            f.write(example_xml(example))
        virsh("define", path)

    for name in ("demo-pv", "demo-pygrub"):
        if virsh("domstate", name, quiet=True).stdout.strip() != "running":
            virsh("start", name)  # demo-pygrub: pygrub's menu waits 3 s on its console, then boots
    virsh("list", "--all")
    virsh("dominfo", "demo-pv")
    virsh("domstate", "--reason", "demo-pv")

    print(f"""
xvirt demo finished. xvirtd keeps running on the simulated Xen host; keep using it with:

    virsh -c '{URI}' list --all
""" + ("    virsh -c xen:///system list --all          (through /run/libvirt/virtxend-sock)\n" if SYSTEM else "")
          + f"""
Stop it with: kill $(cat {os.path.join(RUNTIME, 'xvirtd.pid')})   (guests keep running, as on Xen)""")


if __name__ == "__main__":
    main()
