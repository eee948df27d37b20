#!/usr/bin/env python3
"""Fails if BINARY still needs one of the shared libraries it is meant to link statically.

Usage: check_needed.py BINARY LIB...   (LIB as in -lLIB: glib-2.0 forbids libglib-2.0.so.*)
The helper links GLib from its archive (helper/meson.build); a shared copy still
needed would mean two GLib instances in one process, or a start-up slower than measured.
"""
import subprocess
import sys

binary, libs = sys.argv[1], sys.argv[2:]
dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
needed = [line.split("[", 1)[1].rstrip("]") for line in dyn.splitlines() if "(NEEDED)" in line]
bad = [n for n in needed for lib in libs if n.startswith(f"lib{lib}.so")]
print(f"{binary} needs: {' '.join(needed)}")
if bad:
    sys.exit(f"FAIL: {binary} should link {', '.join(libs)} statically but needs {' '.join(bad)}")
print(f"ok: none of {', '.join(libs)} is needed as a shared library")
