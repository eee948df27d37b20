#!/usr/bin/python3
"""The python3-libvirt twin of vbench.c for the python figures: same calls, one JSON line per run.

Usage:
  pybench.py getinfo URI DOMAIN SECONDS   dom.info() calls/s on one domain
  pybench.py open    URI SECONDS          libvirt.open() + close() per second
  pybench.py listall URI CALLS            conn.listAllDomains() latency (median/min/max, us)
"""
import json
import statistics
import sys
import time

import libvirt


def main(argv):
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    mode, uri = argv[1], argv[2]
    if mode == "getinfo":
        conn = libvirt.open(uri)
        dom = conn.lookupByName(argv[3])
        secs, n, t0 = float(argv[4]), 0, time.monotonic()
        while True:
            for _ in range(100):
                info = dom.info()
            n += 100
            t = time.monotonic()
            if t - t0 >= secs:
                break
        conn.close()
        return dict(per_s=n / (t - t0), calls=n, state=info[0])
    if mode == "open":
        secs, n, t0 = float(argv[3]), 0, time.monotonic()
        while True:
            libvirt.open(uri).close()
            n += 1
            t = time.monotonic()
            if t - t0 >= secs:
                break
        return dict(per_s=n / (t - t0), opens=n)
    if mode == "listall":
        conn = libvirt.open(uri)
        lat, count = [], 0
        for _ in range(int(argv[3])):
            t = time.monotonic()
            count = len(conn.listAllDomains(0))
            lat.append((time.monotonic() - t) * 1e6)
        conn.close()
        return dict(median_us=statistics.median(lat), min_us=min(lat), max_us=max(lat), domains=count)
    raise SystemExit("usage: see the docstring of pybench.py")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv)))
