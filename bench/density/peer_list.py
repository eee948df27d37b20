#!/usr/bin/env python3
"""`virsh list` with N running domains on libvirtd's test driver: the peer of bench_density.py's
`virsh list` figure (issue 8).

libvirtd is started as bench/run.py starts it (private directories and socket, only the built-in
test driver), N domains are created running with virDomainCreateXML, and `virsh list` is timed
7 times. The test driver answers every query from memory, so this is the cost of the listing
itself: virsh's listAllDomains and one virDomainGetState round trip per domain.

Usage: peer_list.py [N]   (default 1000)
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from run import Daemon, TEST_XML  # noqa: E402

import libvirt  # noqa: E402


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    work = tempfile.mkdtemp(prefix="xvirt-peer-list-")
    for d in ("home/config", "home/run", "lv-none", "sock"):
        os.makedirs(os.path.join(work, d))
    sock_dir = os.path.join(work, "sock")
    conf = os.path.join(work, "libvirtd.conf")
    with open(conf, "w") as f:
        f.write(f'unix_sock_dir = "{sock_dir}"\nlisten_tls = 0\nlisten_tcp = 0\n'
                'auth_unix_rw = "none"\nauth_unix_ro = "none"\nunix_sock_rw_perms = "0777"\n')
    env = dict(PATH="/usr/sbin:/usr/bin:/sbin:/bin", HOME=os.path.join(work, "home"),
               LIBVIRT_DRIVER_DIR=os.path.join(work, "lv-none"), XDG_RUNTIME_DIR=os.path.join(work, "home/run"),
               XDG_CONFIG_HOME=os.path.join(work, "home/config"))
    sock = os.path.join(sock_dir, "libvirt-sock")
    daemon = Daemon("libvirtd-test", ["libvirtd", "-f", conf, "-p", os.path.join(work, "libvirtd.pid")], env,
                    sock, f"test+unix:///default?socket={sock}", open(os.path.join(work, "libvirtd.log"), "ab"))
    try:
        # This connection stays open: test:///default keeps its domains only while one is.
        conn = libvirt.open(daemon.uri)
        for i in range(count):
            conn.createXML(TEST_XML.replace("@NAME@", f"peer{i}"), 0)
        running = len(conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
        times = []
        child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(7):
            start = time.perf_counter()
            out = subprocess.run(["virsh", "-c", daemon.uri, "list"], capture_output=True, text=True, check=True).stdout
            times.append(time.perf_counter() - start)
        child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        virsh_cpu_ms = ((child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)) * 1000 / 7
        shown = sum(1 for line in out.splitlines() if " running" in line)
        if shown != running:
            raise RuntimeError(f"virsh listed {shown} running domains of {running}")
        print(f"libvirtd test driver, {running} running domains (the test driver's own included): virsh list "
              f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
              f"max {max(times) * 1000:.0f}) of 7; virsh's own CPU {virsh_cpu_ms:.1f} ms per listing")
        conn.close()
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
