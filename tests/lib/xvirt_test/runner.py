"""A test file's command line: the binaries under test (as meson passes them), then unittest.

    main("XVIRTD", "XVIRT_XL")  # test_x.py [XVIRTD [XVIRT_XL]] [unittest arguments]

Positional paths set the paths module's attributes of those names (missing ones keep their
defaults in the build tree); what follows goes to unittest (e.g. a test name, -k PATTERN)."""
import os
import sys
import unittest

from . import paths


def main(*names, argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    for name in names:
        if not args or args[0].startswith("-") or not os.path.exists(args[0]):
            break
        setattr(paths, name, os.path.abspath(args.pop(0)))
    unittest.main(argv=[sys.argv[0], "-v"] + args)
