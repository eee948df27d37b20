#!/usr/bin/env python3
"""Writes a C++ source defining `const char NAME[]` with the contents of a text file (build step)."""
import sys

src, out, namespace, name = sys.argv[1:5]
text = open(src, encoding="utf-8").read()
with open(out, "w", encoding="utf-8") as f:
    f.write(f"// Generated from {src.split('/')[-1]}; do not edit.\n")
    f.write(f"namespace {namespace} {{\nextern const char {name}[];\nconst char {name}[] =\n")
    for line in text.splitlines(keepends=True):
        esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        f.write(f'    "{esc}"\n')
    f.write(";\n}\n")
