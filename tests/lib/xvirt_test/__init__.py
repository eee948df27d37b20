"""xvirt's Python test library: what every Python test, benchmark and script of the project imports.

  paths    where the source and build trees and the binaries under test are (meson passes them)
  wait     waiting without sleeps: wait_for, connectable, recv_exact, read_until, drain
  host     TempHost (a private directory with a simulated Xen host, start_helper), sim_call,
           guest_ram*, proc_figures, proc_kib
  qmp      QmpClient, a plain socket + json QMP client
  rawrpc   libvirt RPC framing and XDR for byte-level tests
  daemon   Daemon (xvirtd in a private directory; virsh, xl, xs on its host), XvirtdTestCase,
           the libvirt event loop
  domains  example domain XML, guest files, DomainTestCase, parsers of virsh output
  runner   main(): a test file's command line (the binaries) and unittest

Tests find this package through PYTHONPATH (meson's test_env) or by putting tests/lib on sys.path
from their own location; no test file imports another.
"""
