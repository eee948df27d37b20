"""Permissions (docs/hardening.md "Permissions"): socket and directory modes, save images, monitor
sockets, what a helper keeps from its parent, and EVERY mutating procedure of xvirtd's dispatch table
denied on read-only connections — the table comes from the daemon's own code (procedure-table),
so a procedure added later is covered without touching this test.

Usage (meson does this): test_permissions.py [XVIRTD [PROCEDURE_TABLE [XVIRT_HELPER]]] [--table FILE]
With --table FILE it also writes the read-only denial table (markdown) for the docs.
"""
import os
import stat
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths, rawrpc, runner  # noqa: E402
from xvirt_test.domains import DomainTestCase  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

TABLE_OUT = None
VIR_ERR_OPERATION_DENIED = 29  # libvirt virerror.h
VIR_CONNECT_RO = 1


def procedures():
    out = subprocess.run([paths.PROCEDURE_TABLE], capture_output=True, text=True, check=True, timeout=30).stdout
    rows = []
    for line in out.splitlines():
        number, name, kind, impl = line.split("\t")
        rows.append((int(number), name, kind == "mutating", impl == "implemented"))
    return rows


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Modes(DomainTestCase):
    UUID = "9e7a1500-0000-4000-8000-00000000000{}"

    def started(self, name, n):
        self.start_domain(name, self.UUID.format(n))

    def test_sockets_rw_0600_and_ro_0666(self):
        self.assertEqual(mode(self.d.sock), 0o600)
        self.assertEqual(mode(self.d.sock_ro), 0o666)
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.d.sock).st_mode))

    def test_runtime_state_config_save_and_log_directories_are_private(self):
        self.started("perm1", 1)
        rt = os.path.join(self.d.run, "xvirt")
        dirs = [rt, os.path.join(rt, "domains"), os.path.join(rt, "guests"), os.path.join(rt, "sim"),
                os.path.join(self.d.dir, "config", "xvirt", "domains"),
                os.path.join(self.d.dir, "data", "xvirt"), os.path.join(self.d.dir, "data", "xvirt", "save"),
                os.path.join(self.d.dir, "cache", "xvirt", "log")]
        for d in dirs:
            self.assertEqual(mode(d) & 0o077, 0, f"{d} is {oct(mode(d))}")
        for d in dirs[1:]:
            for f in os.listdir(d):
                p = os.path.join(d, f)
                if os.path.isfile(p) and not f.endswith(".pid"):
                    self.assertEqual(mode(p) & 0o077, 0, f"{p} is {oct(mode(p))}")

    def test_save_images_are_0600(self):
        self.started("perm2", 2)
        image = os.path.join(self.d.dir, "perm2.save")
        self.addCleanup(lambda: os.path.exists(image) and os.unlink(image))
        os.umask(0o022)  # a permissive caller does not widen the image
        self.virsh("save", "perm2", image)
        self.assertEqual(mode(image), 0o600)
        self.virsh("start", "perm2")
        self.virsh("managedsave", "perm2")
        self.addCleanup(self.virsh, "managedsave-remove", "perm2", check=False)
        managed = os.path.join(self.d.dir, "data", "xvirt", "save", "perm2.save")
        self.assertEqual(mode(managed), 0o600)

    def test_monitor_socket_is_the_owners_alone(self):
        self.started("perm3", 3)
        sock = os.path.join(self.d.run, "xvirt", "guests", "perm3.monitor")
        self.assertTrue(stat.S_ISSOCK(os.lstat(sock).st_mode))
        self.assertEqual(mode(sock), 0o600)
        self.assertEqual(os.lstat(sock).st_uid, os.geteuid())
        self.assertEqual(mode(os.path.dirname(sock)), 0o700)

    def test_helper_under_xvirtd_has_no_new_privs_and_only_its_own_fds(self):
        self.started("perm4", 4)
        pid = self.helper_pid("perm4")
        with open(f"/proc/{pid}/status") as f:
            self.assertIn("NoNewPrivs:\t1", f.read())
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            self.assertNotIn("xvirtd-sock", target)

    def test_a_standalone_helper_closes_what_its_caller_leaked(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        leaked = os.readlink(f"/proc/self/fd/{w}")
        monitor = os.path.join(self.d.dir, "standalone.monitor")
        p = subprocess.Popen([paths.HELPER, "-name", "standalone", "-M", "xenpv", "-m", "32", "-kernel", self.kernel,
                              "-serial", "null", "-qmp", f"unix:{monitor},server,nowait", "-S",
                              "--hypervisor", "sim", "--sim-dir", self.sim_dir],
                             env=self.d.env, pass_fds=(r, w), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: p.poll() is not None or os.path.exists(monitor), what="the helper's monitor")
            if p.poll() is not None:
                self.fail(f"the helper exited with {p.returncode}: {p.stderr.read()}")
            # The helper is still starting: a descriptor it opens for a moment may be gone between the
            # listing and its readlink; one that vanished is not the leaked pipe, which it inherited.
            targets = []
            for fd in os.listdir(f"/proc/{p.pid}/fd"):
                try:
                    targets.append(os.readlink(f"/proc/{p.pid}/fd/{fd}"))
                except FileNotFoundError:
                    pass
            self.assertNotIn(leaked, targets)
            with open(f"/proc/{p.pid}/status") as f:
                self.assertIn("NoNewPrivs:\t1", f.read())
        finally:
            p.terminate()
            p.wait(timeout=30)


class ReadOnlyDenial(DomainTestCase):
    """Every procedure of the table on a read-only socket and on a read-write socket opened
    read-only: mutating ones must answer VIR_ERR_OPERATION_DENIED and change nothing; queries
    must not be denied."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rows = procedures()
        cls.results = {}

    def raw(self, path, flags):
        c = rawrpc.Client(path, timeout=30)
        c.send(rawrpc.call(66, 0))
        c.read_reply()
        c.send(rawrpc.call(1, 1, struct.pack(">I", 1) + rawrpc.xdr_str("") + struct.pack(">I", flags)))
        hdr, payload = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK)
        return c

    def snapshot(self):
        return (self.virsh("list", "--all", "--name").stdout, self.state("ro1"),
                sorted(os.listdir(os.path.join(self.d.dir, "config", "xvirt", "domains"))))

    def test_every_mutating_procedure_is_denied_and_no_query_is(self):
        self.assertGreater(sum(1 for r in self.rows if r[2]), 30, "the table lists fewer mutating procedures than expected")
        self.addCleanup(self.cleanup_domain, "ro1")
        self.virsh("define", self.xml_file("ro1", "9e7a1500-0000-4000-8000-0000000000f1"))
        self.virsh("start", "ro1")
        before = self.snapshot()
        for label, path, flags in (("ro socket", self.d.sock_ro, 0), ("rw socket, VIR_CONNECT_RO", self.d.sock, VIR_CONNECT_RO)):
            c = self.raw(path, flags)
            try:
                serial = 100
                for number, name, mutating, _ in self.rows:
                    if number in (1, 2):  # CONNECT_OPEN and CONNECT_CLOSE manage the connection itself
                        continue
                    serial += 1
                    c.send(rawrpc.call(number, serial))  # empty arguments: the check comes first
                    p = c.read_reply()
                    self.assertIsNotNone(p, f"{name} on the {label} closed the connection")
                    hdr, payload = p
                    self.assertEqual(hdr[4], serial)
                    err = c.error_of(payload) if hdr[5] == rawrpc.ERROR else None
                    code = err["code"] if err else 0
                    if mutating:
                        self.assertEqual(code, VIR_ERR_OPERATION_DENIED, f"{name} on the {label}: {err}")
                        self.assertIn("read only access prevents " + name, err["message"])
                    else:
                        self.assertNotEqual(code, VIR_ERR_OPERATION_DENIED, f"{name} on the {label}: {err}")
                    self.results.setdefault(name, {})[label] = (number, mutating, code, err["message"] if err else "")
            finally:
                c.close()
        self.assertEqual(self.snapshot(), before, "a denied call changed something")
        if TABLE_OUT:
            self.write_table()

    def write_table(self):
        denied = [(v["ro socket"][0], n) for n, v in self.results.items() if v["ro socket"][1]]
        allowed = [(v["ro socket"][0], n) for n, v in self.results.items() if not v["ro socket"][1]]
        with open(TABLE_OUT, "w") as f:
            f.write(f"Generated by `tests/driver/test_permissions.py --table` from xvirtd's dispatch table: "
                    f"{len(denied)} mutating procedures, each called with empty arguments on the read-only "
                    f"socket and on the read-write socket opened with VIR_CONNECT_RO; both answer the same.\n\n")
            f.write("| # | procedure (mutating) | error on a read-only connection |\n|---|---|---|\n")
            for number, name in sorted(denied):
                f.write(f"| {number} | {name} | VIR_ERR_OPERATION_DENIED (29): "
                        f"\"{self.results[name]['ro socket'][3]}\" |\n")
            f.write(f"\nAllowed read-only ({len(allowed)} queries; none answers OPERATION_DENIED): " +
                    ", ".join(n for _, n in sorted(allowed)) + ".\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--table" in args:
        i = args.index("--table")
        TABLE_OUT = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    runner.main("XVIRTD", "PROCEDURE_TABLE", "HELPER", argv=args)
