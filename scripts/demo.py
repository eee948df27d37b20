#!/usr/bin/env python3
"""The demo behind ./demo.sh: what xvirt can do today, run for real on this machine."""
import os
import subprocess
import sys

BUILD = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(title, argv):
    print(f"\n=== {title}\n$ {' '.join(argv)}", flush=True)
    subprocess.run(argv, check=True)


def main():
    domxml = os.path.join(BUILD, "domain-xml", "xvirt-domxml")
    examples = os.path.join(ROOT, "examples")
    # The two Xen configs this project grew from, converted to libvirt domain XML and back, and the
    # GuestConfig a helper would receive for the PV one.
    run("xl config -> libvirt domain XML", [domxml, "from-native", "xen-xl", os.path.join(examples, "linux-pv.cfg")])
    run("xm config (HVM) -> libvirt domain XML", [domxml, "from-native", "xen-xm", os.path.join(examples, "winxp-hvm.cfg")])
    for xml in sorted(f for f in os.listdir(examples) if f.endswith(".xml")):
        path = os.path.join(examples, xml)
        run(f"{xml}: schema check", [domxml, "validate", path])
        run(f"{xml} -> GuestConfig (what xvirtd hands a helper)", [domxml, "guestconfig", path])
    print("\nxvirt demo finished.")


if __name__ == "__main__":
    main()
