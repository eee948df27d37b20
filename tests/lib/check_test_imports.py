"""The rule of tests/README.md: Python tests import their helpers from tests/lib, never from each
other. Fails naming every file under tests/, bench/, scripts/ or fuzz/ that imports a module of a test
folder (test_xvirtd, crash_test, ...) or one that moved to tests/lib (rawrpc, xvirt_testlib).

Usage (meson does this): check_test_imports.py SOURCE_ROOT
"""
import ast
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
lib = os.path.join(root, "tests", "lib")
test_modules = {}  # module name -> path, for every .py under tests/ but tests/lib
files = []
for top in ("tests", "bench", "scripts", "fuzz"):
    for d, dirs, names in os.walk(os.path.join(root, top)):
        if d.startswith(lib):
            continue
        for n in names:
            if n.endswith(".py"):
                files.append(os.path.join(d, n))
                if top == "tests":
                    test_modules.setdefault(n[:-3], os.path.relpath(os.path.join(d, n), root))
for gone in ("xvirt_testlib", "rawrpc", "test_virsh_domains"):
    test_modules.setdefault(gone, "now in tests/lib")

bad = []
for f in files:
    with open(f) as src:
        tree = ast.parse(src.read(), f)
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        for name in names:
            if name in test_modules:
                bad.append(f"{os.path.relpath(f, root)}:{node.lineno} imports {name} ({test_modules[name]}); "
                           "shared test code belongs in tests/lib")
print("\n".join(bad) if bad else f"{len(files)} files: no test imports another.")
sys.exit(1 if bad else 0)
