"""Where things are: the source and build trees, and the binaries under test.

The binaries default to their places in $XVIRT_BUILD_ROOT (or SOURCE/build); a test file's command
line (runner.main) overrides them with the paths meson passes.
"""
import os

SOURCE = os.environ.get("XVIRT_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("XVIRT_BUILD_ROOT") or os.path.join(SOURCE, "build")
EXAMPLES = os.path.join(SOURCE, "examples")
ARTIFACTS = os.path.join(BUILD, "test-artifacts")

XVIRTD = os.path.join(BUILD, "driver", "xvirtd")
XVIRT_XL = os.path.join(BUILD, "hypervisor", "tools", "xvirt-xl")
HELPER = os.path.join(BUILD, "helper", "xvirt-helper")
SIMXEN = os.path.join(BUILD, "hypervisor", "sim", "daemon", "xvirt-simxen")
PROCEDURE_TABLE = os.path.join(BUILD, "tests", "driver", "procedure-table")
