#!/usr/bin/python3
"""xvirt-domxml's command line: outputs on stdout, "xvirt-domxml: <sentence>" on stderr with exit 1."""
import os
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
ROOT = os.environ["XVIRT_SOURCE_ROOT"]
GOLDEN = os.path.join(ROOT, "tests", "golden", "domain-xml")
failures = []


def run(*args):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    if not cond:
        failures.append(what)


# GuestConfig of an xl config matches the golden JSON.
rc, out, err = run("guestconfig", os.path.join(GOLDEN, "guestconfig", "hvm.cfg"))
with open(os.path.join(GOLDEN, "guestconfig", "hvm.json")) as f:
    check(rc == 0 and out == f.read() and err == "", f"guestconfig hvm.cfg: rc={rc} err={err!r}")

rc, out, err = run("from-native", "xen-xq", "whatever.cfg")
check(rc == 1 and err == "xvirt-domxml: The native format 'xen-xq' is not one of xen-xl or xen-xm.\n",
      f"bad format: rc={rc} err={err!r}")

bad = os.path.join(GOLDEN, "xl", "err-syntax.cfg")
rc, out, err = run("from-native", "xen-xl", bad)
check(rc == 1 and err == f"xvirt-domxml: {bad}: Line 3 of the config has '5' after 'memory' where '=' was expected.\n",
      f"syntax error: rc={rc} err={err!r}")

rc, out, err = run("from-native", "xen-xl", "/nonexistent/x.cfg")
check(rc == 1 and err.startswith("xvirt-domxml: ") and err.count("\n") == 1, f"missing file: rc={rc} err={err!r}")

rc, out, err = run()
check(rc == 1 and "usage:" in err, f"no arguments: rc={rc}")
rc, out, err = run("--help")
check(rc == 0 and "usage:" in out, f"--help: rc={rc}")

# xm -> XML -> xm, validation and GuestConfig from XML.
rc, xml, err = run("from-native", "xen-xm", os.path.join(ROOT, "examples", "winxp-hvm.cfg"))
check(rc == 0 and "<domain" in xml, f"from-native winxp: rc={rc} err={err!r}")
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "winxp.xml")
    with open(path, "w") as f:
        f.write(xml)
    rc, cfg, err = run("to-native", "xen-xm", path)
    check(rc == 0 and 'name = "winxp"' in cfg and "hvmloader" in cfg, f"to-native winxp: rc={rc} err={err!r}")
    rc, out, err = run("validate", path)
    check(rc == 0 and out == f"{path} validates\n", f"validate winxp: rc={rc} err={err!r}")
    rc, out, err = run("guestconfig", path)
    check(rc == 0 and '"kind": "hvm"' in out, f"guestconfig winxp.xml: rc={rc} err={err!r}")
    broken = os.path.join(tmp, "broken.xml")
    with open(broken, "w") as f:
        f.write("<domain type='xen'><name>x</name>")
    rc, out, err = run("to-native", "xen-xl", broken)
    check(rc == 1 and err.startswith(f"xvirt-domxml: {broken}: ") and err.count("\n") == 1,
          f"broken XML: rc={rc} err={err!r}")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
