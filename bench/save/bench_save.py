#!/usr/bin/env python3
"""Save and restore of a 1 GiB guest side by side with dd, in one run (issue 5's targets).

A PV guest with 1 GiB of RAM runs on the simulated Xen host under xvirt-helper; 25 % of its pages
(chosen at random, fixed seed) are filled with random bytes. Each round then measures, on the same
filesystem (--image-dir):
  * save:    the monitor's `save` (pause, write the image, fsync, rename) -> reply, against
    dd writing the image's byte count from /dev/zero with conv=fsync;
  * restore, cold cache: `xvirt-helper --restore IMAGE -S -daemonize` until it reports the guest
    built (page cache dropped first), against dd reading the image to /dev/null after dropping the
    cache again;
  * restore, warm cache: the same with the image in the page cache (dd read it just before).
Throughput ratios are dd's time over xvirt's for the same bytes. The image size is compared with the
guest's non-zero pages (counted in the RAM file). Targets: >= 70 % of dd both ways; image <= +1 %.
Last, BUILD_DIR/bench/save/memory-floor times putting the same pages into fresh memory and nothing
else: the floor under any restore, printed with the best ratio to dd it allows.

The simulated host's RAM files (guest memory) live in --sim-base (default /dev/shm: guest RAM is
memory, not disk); the image and dd's files in --image-dir. Dropping the page cache needs root
(/proc/sys/vm/drop_caches); without it the cold rows are skipped and said so.

Usage: bench_save.py BUILD_DIR [--rounds 3] [--image-dir DIR] [--sim-base DIR] [--mem-mb 1024]
"""
import argparse
import mmap
import os
import random
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lib"))
from xvirt_test.qmp import QmpClient  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

PAGE = 4096


class Qmp(QmpClient):
    def __init__(self, path, timeout=600):
        super().__init__(path, timeout)
        self.call("qmp_capabilities")

    def call(self, cmd, args=None):
        reply = self.execute(cmd, args)
        if "error" in reply:
            raise RuntimeError(f"{cmd}: {reply['error']}")
        return reply["return"]


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return True
    except OSError:
        return False


def timed(argv):
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


class Bench:
    def __init__(self, build, image_dir, sim_base, mem_mb):
        self.helper = os.path.join(build, "helper", "xvirt-helper")
        self.top = tempfile.mkdtemp(prefix="xvirt-bench-save-", dir=sim_base)
        self.sim = os.path.join(self.top, "sim")
        self.images = tempfile.mkdtemp(prefix="xvirt-bench-save-", dir=image_dir)
        self.image = os.path.join(self.images, "guest.save")
        self.mem_mb = mem_mb
        self.kernel = os.path.join(self.top, "vmlinux")
        with open(self.kernel, "wb") as f:
            f.write(os.urandom(1 << 20))
        self.env = dict(os.environ, XVIRT_SIM_DIR=self.sim)
        self.n = 0
        self.qmp = None
        self.proc = None

    def mon(self):
        self.n += 1
        return os.path.join(self.top, f"m{self.n}.qmp")

    def common(self, mon):
        return ["-qmp", f"unix:{mon},server,nowait", "--hypervisor", "sim", "--sim-dir", self.sim]

    def boot(self):
        mon = self.mon()
        argv = [self.helper, "-name", "bench", "-M", "xenpv", "-m", str(self.mem_mb), "-kernel", self.kernel,
                "-serial", "null", *self.common(mon)]
        self.proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(mon), 60, "the monitor")
        self.qmp = Qmp(mon)

    def ram_file(self):
        domid = self.qmp.call("query-domain")["domid"]
        return os.path.join(self.sim, "mem", f"dom{domid}.ram")

    def fill(self, fraction):
        """Random bytes in `fraction` of the guest's pages (those the kernel did not already use)."""
        path = self.ram_file()
        size = os.path.getsize(path)
        pages = self.mem_mb * 256
        rng = random.Random(1234)
        chosen = rng.sample(range(pages), int(pages * fraction))
        with open(path, "r+b") as f, mmap.mmap(f.fileno(), size) as m:
            block = os.urandom(PAGE * 256)
            for i, pfn in enumerate(chosen):
                off = (i % 256) * PAGE
                m[pfn * PAGE:(pfn + 1) * PAGE] = block[off:off + PAGE]
                if i % 256 == 255:
                    block = os.urandom(PAGE * 256)

    def nonzero_pages(self):
        """The page numbers of the guest's non-zero pages, ascending."""
        zero = bytes(PAGE)
        pfns = []
        with open(self.ram_file(), "rb") as f:
            base = 0
            while True:
                chunk = f.read(16 << 20)
                if not chunk:
                    return pfns
                for off in range(0, len(chunk), PAGE):
                    if chunk[off:off + PAGE] != zero:
                        pfns.append(base + off // PAGE)
                base += len(chunk) // PAGE

    def memory_floor(self, build, pfns):
        """(tmpfs, anon) seconds bench/save/memory-floor needs to put these pages into fresh memory,
        or None when it was not built."""
        exe = os.path.join(build, "bench", "save", "memory-floor")
        if not os.access(exe, os.X_OK):
            return None
        listing = os.path.join(self.top, "pfns")
        with open(listing, "wb") as f:
            f.write(struct.pack(f"<{len(pfns)}Q", *pfns))
        out = subprocess.run([exe, self.top, listing, str(self.mem_mb << 20), "5"], check=True,
                             capture_output=True, text=True).stdout
        times = dict(line.split() for line in out.splitlines())
        return float(times["tmpfs"]), float(times["anon"])

    def save(self):
        t = time.perf_counter()
        reply = self.qmp.call("save", {"file": self.image, "after": "destroy"})
        elapsed = time.perf_counter() - t
        self.proc.wait(60)
        self.qmp = None
        return elapsed, reply["size"]

    def restore(self):
        mon = self.mon()
        pidfile = os.path.join(self.top, "helper.pid")
        argv = [self.helper, "--restore", self.image, "-S", "-daemonize", "-pidfile", pidfile, *self.common(mon)]
        t = time.perf_counter()
        subprocess.run(argv, env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - t  # -daemonize returns once the guest is rebuilt
        self.qmp = Qmp(mon)
        with open(pidfile) as f:
            self.pid = int(f.read())
        return elapsed

    def quit(self):
        try:
            self.qmp.call("quit")
        except (EOFError, OSError):
            pass
        self.qmp = None

    def dd_write(self, nbytes):
        out = os.path.join(self.images, "dd.out")
        t = timed(["dd", "if=/dev/zero", f"of={out}", "bs=1M", f"count={nbytes}", "iflag=count_bytes", "conv=fsync"])
        os.unlink(out)
        return t

    def dd_read(self):
        return timed(["dd", f"if={self.image}", "of=/dev/null", "bs=1M"])

    def close(self):
        if self.qmp:
            self.quit()
        pidfile = os.path.join(self.sim, "simxen.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pid = int(f.read())
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                     open(f"/proc/{pid}/stat").read().split()[2] == "Z", 20, "the sim host to stop")
        shutil.rmtree(self.top, ignore_errors=True)
        shutil.rmtree(self.images, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--image-dir", default="/var/tmp")
    ap.add_argument("--sim-base", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    ap.add_argument("--mem-mb", type=int, default=1024)
    ap.add_argument("--fraction", type=float, default=0.25)
    a = ap.parse_args()
    b = Bench(os.path.abspath(a.build), a.image_dir, a.sim_base, a.mem_mb)
    rows = {k: [] for k in ("save", "ddw", "rc", "ddrc", "rw", "ddrw")}
    try:
        b.boot()
        b.fill(a.fraction)
        b.qmp.call("stop")
        pfns = b.nonzero_pages()
        nonzero = len(pfns)
        size = 0
        can_drop = True
        for r in range(a.rounds):
            t, size = b.save()
            rows["save"].append(t)
            rows["ddw"].append(b.dd_write(size))
            can_drop = drop_caches()
            if can_drop:
                rows["rc"].append(b.restore())
                b.quit()
                drop_caches()
                rows["ddrc"].append(b.dd_read())
            rows["ddrw"].append(b.dd_read())  # the image is now in the page cache
            rows["rw"].append(b.restore())
            if r == 0 and b.nonzero_pages() != pfns:
                raise RuntimeError("the restored guest's memory differs from the saved one")
            print(f"round {r + 1}: save {rows['save'][-1]:.3f}s dd-write {rows['ddw'][-1]:.3f}s"
                  + (f" | cold restore {rows['rc'][-1]:.3f}s dd-read {rows['ddrc'][-1]:.3f}s" if can_drop else "")
                  + f" | warm restore {rows['rw'][-1]:.3f}s dd-read {rows['ddrw'][-1]:.3f}s", flush=True)
        b.quit()
        floor = b.memory_floor(os.path.abspath(a.build), pfns)
    finally:
        b.close()

    med = {k: statistics.median(v) for k, v in rows.items() if v}
    mib = size / (1 << 20)
    payload = nonzero * PAGE
    print(f"\nguest: {a.mem_mb} MiB, {nonzero} non-zero pages ({payload / (1 << 20):.1f} MiB); "
          f"image {size} bytes ({mib:.1f} MiB), {100.0 * (size - payload) / payload:+.2f} % over the non-zero pages (target <= +1 %)")
    print(f"image dir {a.image_dir}, guest RAM in {a.sim_base}; medians of {a.rounds} rounds\n")
    print(f"{'':22} {'xvirt s':>8} {'MiB/s':>8} {'dd s':>8} {'MiB/s':>8} {'ratio':>7}  target")
    def row(label, x, d):
        print(f"{label:22} {med[x]:8.3f} {mib / med[x]:8.0f} {med[d]:8.3f} {mib / med[d]:8.0f} {100 * med[d] / med[x]:6.0f} %  >= 70 %")
    row("save (fsync)", "save", "ddw")
    if "rc" in med:
        row("restore, cold cache", "rc", "ddrc")
    else:
        print("restore, cold cache: skipped (cannot drop the page cache without root)")
    row("restore, warm cache", "rw", "ddrw")
    if floor:
        # What no restore can go under: the pages put into fresh memory, with no reading or checking.
        tmpfs, anon = floor
        print(f"\nfloor: putting the {nonzero} pages into fresh memory alone takes {tmpfs:.3f} s in {a.sim_base} "
              f"(pwrite, as the sim's RAM file), {anon:.3f} s in anonymous memory (best of 5);\n"
              f"       a restore can reach at most {100 * med['ddrw'] / min(floor):.0f} % of dd's warm read"
              + (f";\n       from a cold cache, reading at dd's speed, {100 * med['ddrc'] / (med['ddrc'] + min(floor)):.0f} % "
                 "(the image is checked before any domain exists: its read cannot overlap the fill)" if "rc" in med else ""))


if __name__ == "__main__":
    sys.exit(main())
