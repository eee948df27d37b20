"""xvirtd driven by real clients: virsh 9.0.0, python3-libvirt, and raw protocol bytes.

Usage (meson does this): test_xvirtd.py DAEMON BACKEND. DAEMON is build/driver/xvirtd with
BACKEND=sim, or the test-only build/tests/driver/xvirtd-fake (BACKEND=fake) until the simulated
host links. Each test class gets a private XDG_RUNTIME_DIR; waits poll with deadlines, no sleeps.
"""
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawrpc  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
from xvirt_testlib import connectable, wait_for  # noqa: E402,F401  (re-exported to the other driver tests)

DAEMON = os.environ.get("XVIRTD_UNDER_TEST")
BACKEND = os.environ.get("XVIRTD_BACKEND")
if __name__ == "__main__" and len(sys.argv) >= 3:
    DAEMON, BACKEND = sys.argv[1], sys.argv[2]
BACKEND_IS_FAKE = BACKEND == "fake"
CAP_RNG = "/usr/share/libvirt/schemas/capability.rng"


def proc_figures(pid):
    """(VmRSS KiB, open fds, threads) of a process, from /proc."""
    rss = threads = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    if rss is None or threads is None:
        raise AssertionError(f"/proc/{pid}/status has no VmRSS or Threads line")
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


_event_loop_started = False


def start_libvirt_event_loop():
    """Event registration needs libvirt's event loop, run the way python clients run it."""
    global _event_loop_started
    if _event_loop_started:
        return
    import libvirt
    import threading
    libvirt.virEventRegisterDefaultImpl()

    def run():
        while True:
            libvirt.virEventRunDefaultImpl()
    threading.Thread(target=run, daemon=True).start()
    _event_loop_started = True


class Daemon:
    def __init__(self, fake_event_fifo=False, config=None, wait=True):
        self.dir = tempfile.mkdtemp(prefix="xvirtd-it-")
        self.run = os.path.join(self.dir, "run")
        os.mkdir(self.run, 0o700)
        self.env = dict(os.environ)
        self.env.update({
            "XDG_RUNTIME_DIR": self.run,
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "XDG_DATA_HOME": os.path.join(self.dir, "data"),
            "XDG_CACHE_HOME": os.path.join(self.dir, "cache"),
            "HOME": os.path.join(self.dir, "home"),
            "LIBVIRT_DEFAULT_URI": "",
        })
        self.sock = os.path.join(self.run, "xvirt", "xvirtd-sock")
        self.sock_ro = self.sock + "-ro"
        self.pidfile = os.path.join(self.dir, "xvirtd.pid")
        self.uri = f"xen+unix:///session?socket={self.sock}"
        self.uri_ro = f"xen+unix:///session?socket={self.sock_ro}"
        self.fifo = None
        if fake_event_fifo:
            self.fifo = os.path.join(self.dir, "events")
            os.mkfifo(self.fifo)
            self.env["XVIRTD_FAKE_EVENT_FIFO"] = self.fifo
        if config is not None:  # xvirtd.conf at the session default, $XDG_CONFIG_HOME/xvirt/xvirtd.conf
            os.makedirs(os.path.join(self.dir, "config", "xvirt"))
            with open(os.path.join(self.dir, "config", "xvirt", "xvirtd.conf"), "w") as f:
                f.write(config)
        self.log = open(os.path.join(self.dir, "xvirtd.log"), "w+")
        args = [DAEMON, "--session", "--pidfile", self.pidfile, "-v", "-v"]
        if BACKEND != "fake":
            args += ["--hypervisor", BACKEND]
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait:
            return
        wait_for(lambda: self.proc.poll() is not None or (connectable(self.sock) and os.path.exists(self.pidfile)),
                 what="xvirtd's socket")
        if self.proc.poll() is not None:
            raise RuntimeError("xvirtd exited at start:\n" + self.logtext())

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def virsh(self, *args, ro=False, check=True):
        cmd = ["virsh", "-q"] + (["-r"] if ro else []) + ["-c", self.uri_ro if ro else self.uri] + list(args)
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} failed ({p.returncode}): {p.stderr}\nxvirtd log:\n{self.logtext()[-3000:]}")
        return p

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.log.close()
        return rc

    def cleanup(self):
        # The simulated host outlives xvirtd by design (as Xen would); stop the ones this test's
        # daemon started, recognised by our private directory on their command line.
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except OSError:
                continue
            if self.dir in cmdline:
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)


class XvirtdTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        try:
            assert rc == 0, f"xvirtd exited with {rc} on SIGTERM:\n{cls.d.logtext()}"
            assert not os.path.exists(cls.d.sock), "xvirtd left its socket behind"
            assert not os.path.exists(cls.d.pidfile), "xvirtd left its pidfile behind"
        finally:
            cls.d.cleanup()

    def raw(self, ro=False):
        c = rawrpc.Client(self.d.sock_ro if ro else self.d.sock)
        self.addCleanup(c.close)
        return c


class VirshTest(XvirtdTestCase):
    def test_version(self):
        out = self.d.virsh("version").stdout
        self.assertRegex(out, r"Using API: Xen 9\.0\.0")
        self.assertRegex(out, r"Running hypervisor: Xen \d+\.\d+\.\d+")

    def test_nodeinfo(self):
        out = self.d.virsh("nodeinfo").stdout
        self.assertRegex(out, r"CPU model:\s+x86_64")
        self.assertRegex(out, r"CPU\(s\):\s+[1-9]")
        self.assertRegex(out, r"Memory size:\s+[1-9]\d* KiB")

    def test_capabilities_are_valid_xml(self):
        xml = self.d.virsh("capabilities").stdout
        path = os.path.join(self.d.dir, "caps.xml")
        with open(path, "w") as f:
            f.write(xml)
        subprocess.run(["xmllint", "--noout", path], check=True)
        for os_type, machine in (("xen", "xenpv"), ("hvm", "xenfv"), ("xenpvh", "xenpvh")):
            self.assertRegex(xml, rf"<os_type>{os_type}</os_type>\s*<arch name='x86_64'>[\s\S]*?<machine>{machine}</machine>")
        self.assertIn("<loader>/usr/lib/xen-", xml)
        self.assertIn("<emulator>/usr/bin/qemu-system-i386</emulator>", xml)
        if os.path.exists(CAP_RNG):
            # libvirt 9.0.0's schema predates os_type xenpvh (libvirt's own libxl driver reports it);
            # everything else must validate.
            stripped = re.sub(r"<guest>\s*<os_type>xenpvh</os_type>[\s\S]*?</guest>", "", xml)
            spath = os.path.join(self.d.dir, "caps-no-pvh.xml")
            with open(spath, "w") as f:
                f.write(stripped)
            p = subprocess.run(["xmllint", "--noout", "--relaxng", CAP_RNG, spath], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)

    def test_domain_capabilities_validate_against_libvirts_schema(self):
        rng = "/usr/share/libvirt/schemas/domaincaps.rng"
        for machine in ("xenpv", "xenfv", "xenpvh"):
            xml = self.d.virsh("domcapabilities", "--virttype", "xen", "--machine", machine).stdout
            self.assertIn(f"<machine>{machine}</machine>", xml)
            path = os.path.join(self.d.dir, f"domcaps-{machine}.xml")
            with open(path, "w") as f:
                f.write(xml)
            args = ["xmllint", "--noout"] + (["--relaxng", rng] if os.path.exists(rng) else []) + [path]
            p = subprocess.run(args, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual("<value>/usr/lib/xen-" in xml, machine == "xenfv", "only HVM guests load hvmloader")
        r = self.d.virsh("domcapabilities", "--machine", "pc-q35", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("The machine type 'pc-q35' is not one of xenpv, xenfv or xenpvh.", r.stderr)

    def test_uri_and_hostname(self):
        self.assertEqual(self.d.virsh("uri").stdout.strip(), self.d.uri)
        self.assertEqual(self.d.virsh("hostname").stdout.strip(), socket.gethostname())

    def test_list_all_is_empty(self):
        p = self.d.virsh("list", "--all")
        self.assertEqual(p.stdout.strip(), "")

    def test_read_only_connection_queries(self):
        self.assertRegex(self.d.virsh("version", ro=True).stdout, r"Running hypervisor: Xen")
        self.assertRegex(self.d.virsh("nodeinfo", ro=True).stdout, r"CPU model:\s+x86_64")
        self.assertEqual(self.d.virsh("list", "--all", ro=True).stdout.strip(), "")
        self.assertIn("<capabilities>", self.d.virsh("capabilities", ro=True).stdout)

    def test_unsupported_api_says_so(self):
        p = self.d.virsh("net-list", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not supported", p.stderr)
        self.assertNotIn("end of file", p.stderr)

    def test_missing_domain_is_code_42(self):
        p = self.d.virsh("dominfo", "nosuchvm", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("failed to get domain 'nosuchvm'", p.stderr)

    @unittest.skipUnless(shutil.which("virt-install"), "needs virt-install (Debian package virtinst)")
    def test_virt_install_picks_guest_types_from_capabilities(self):
        kernel = os.path.join(self.d.dir, "vmlinuz")
        iso = os.path.join(self.d.dir, "boot.iso")
        for f in (kernel, iso):
            open(f, "w").close()
        common = ["virt-install", "--connect", self.d.uri, "--print-xml", "--memory", "512", "--disk", "none",
                  "--network", "none", "--graphics", "none", "--osinfo", "linux2022"]
        pv = subprocess.run(common + ["--name", "pv", "--paravirt", "--boot", f"kernel={kernel}"],
                            env=self.d.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(pv.returncode, 0, pv.stderr)
        self.assertIn('<type arch="x86_64" machine="xenpv">xen</type>', pv.stdout)
        hvm = subprocess.run(common + ["--name", "hvm", "--hvm", "--cdrom", iso],
                             env=self.d.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(hvm.returncode, 0, hvm.stderr)
        self.assertIn('<type arch="x86_64" machine="xenfv">hvm</type>', hvm.stdout)
        self.assertIn("<loader>/usr/lib/xen-", hvm.stdout)

    def test_socket_modes(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.d.sock).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.d.sock_ro).st_mode), 0o666)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.d.sock)).st_mode), 0o700)


class PythonLibvirtTest(XvirtdTestCase):
    def setUp(self):
        import libvirt
        self.libvirt = libvirt
        libvirt.registerErrorHandler(lambda ctx, err: None, None)
        start_libvirt_event_loop()
        self.conn = libvirt.open(self.d.uri)
        self.addCleanup(self.conn.close)

    def test_queries(self):
        self.assertEqual(self.conn.getType(), "Xen")
        info = self.conn.getInfo()
        self.assertEqual(info[0], "x86_64")
        self.assertGreater(info[1], 0)
        self.assertEqual(self.conn.listAllDomains(), [])
        self.assertEqual(self.conn.getLibVersion(), 9000000)
        self.assertGreater(self.conn.getVersion(), 4000000)
        self.assertEqual(self.conn.isSecure(), 1)
        self.assertGreater(self.conn.getFreeMemory(), 0)
        self.assertEqual(self.conn.getMaxVcpus(None), 128)
        cpus, cpumap, online = self.conn.getCPUMap()
        self.assertEqual(cpus, info[2])
        self.assertTrue(all(cpumap))

    def test_domain_event_registration(self):
        cb = self.conn.domainEventRegisterAny(None, self.libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              lambda *a: None, None)
        self.assertGreaterEqual(cb, 0)
        self.conn.domainEventDeregisterAny(cb)

    def test_unimplemented_api_is_code_3(self):
        with self.assertRaises(self.libvirt.libvirtError) as e:
            self.conn.networkLookupByName("default")
        self.assertEqual(e.exception.get_error_code(), self.libvirt.VIR_ERR_NO_SUPPORT)
        self.assertEqual(self.conn.getType(), "Xen")  # the connection survives

    def test_lookups_of_missing_domains(self):
        for lookup in (lambda: self.conn.lookupByName("nosuchvm"), lambda: self.conn.lookupByID(42),
                       lambda: self.conn.lookupByUUIDString("c7a5fdbd-edaf-9455-926a-d65c16db1809")):
            with self.assertRaises(self.libvirt.libvirtError) as e:
                lookup()
            self.assertEqual(e.exception.get_error_code(), self.libvirt.VIR_ERR_NO_DOMAIN)

    def test_eof_without_close_is_fine(self):
        code = ("import libvirt,sys; c=libvirt.open(sys.argv[1]); c.listAllDomains(); import os; os._exit(0)")
        subprocess.run(["/usr/bin/python3", "-c", code, self.d.uri], env=self.d.env, check=True, timeout=30)
        self.assertEqual(self.conn.getType(), "Xen")


class RawProtocolTest(XvirtdTestCase):
    def test_go_libvirt_present_flag(self):
        c = self.raw()
        c.send(rawrpc.call(66, 1))
        self.assertEqual(c.read_reply()[0][5], rawrpc.OK)
        name = b"xen:///session"
        payload = b"\x01\x00\x00\x00" + struct.pack(">I", len(name)) + name + b"\0\0" + struct.pack(">I", 0)
        c.send(rawrpc.call(1, 2, payload))
        hdr, body = c.read_reply()
        self.assertEqual((hdr[2], hdr[3], hdr[4], hdr[5]), (1, rawrpc.REPLY, 2, rawrpc.OK), c.error_of(body) if hdr[5] else "")
        c.send(rawrpc.call(3, 3))
        hdr, body = c.read_reply()
        self.assertEqual(rawrpc.Reader(body).str(), "Xen")

    def test_read_only_socket_denies_mutation(self):
        c = self.raw(ro=True)
        c.handshake("xen:///session")
        c.send(rawrpc.call(11, 5, rawrpc.xdr_str("<domain type='xen'/>")))  # DOMAIN_DEFINE_XML
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.ERROR)
        self.assertEqual(c.error_of(body)["code"], 29)  # VIR_ERR_OPERATION_DENIED

    def test_read_only_flag_denies_mutation(self):
        c = self.raw()
        c.handshake("", flags=1)
        c.send(rawrpc.call(9, 5, rawrpc.xdr_str("x") + b"\0" * 16 + struct.pack(">i", -1)))  # DOMAIN_CREATE
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["code"], 29)

    def test_other_uris_are_refused(self):
        for uri in ("xen:///system", "qemu:///system", "xen:///session?foo=bar"):
            c = self.raw()
            c.send(rawrpc.call(1, 1, struct.pack(">I", 1) + rawrpc.xdr_str(uri) + struct.pack(">I", 0)))
            hdr, body = c.read_reply()
            self.assertEqual(hdr[5], rawrpc.ERROR, uri)
            err = c.error_of(body)
            self.assertIn(uri, err["message"])

    def test_unknown_procedure_is_code_3(self):
        c = self.raw()
        c.handshake()
        c.send(rawrpc.call(9999, 7))
        hdr, body = c.read_reply()
        err = c.error_of(body)
        self.assertEqual((hdr[4], hdr[5], err["code"]), (7, rawrpc.ERROR, 3))
        self.assertIn("9999", err["message"])

    def test_unknown_program_gets_error_reply(self):
        c = self.raw()
        c.send(rawrpc.packet(0x12345678, 1, rawrpc.CALL, 4))
        hdr, body = c.read_reply()
        self.assertEqual((hdr[0], hdr[4], hdr[5]), (0x12345678, 4, rawrpc.ERROR))
        self.assertEqual(c.error_of(body)["code"], 39)
        c.handshake()  # still usable

    def test_bad_xdr_in_valid_frame(self):
        c = self.raw()
        # CONNECT_OPEN whose name claims 100 bytes but the frame ends after 4.
        c.send(rawrpc.call(1, 1, struct.pack(">II", 1, 100) + b"xen:"))
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.ERROR)
        self.assertEqual(c.error_of(body)["code"], 8)
        c.handshake()

    def test_short_header_closes_only_that_client(self):
        bad = self.raw()
        bad.send(struct.pack(">I", 0x10) + b"\0" * 12)
        self.assertIsNone(bad.read_packet())
        self.assertEqual(self.d.virsh("uri").stdout.strip(), self.d.uri)

    def test_length_over_limit_closes_only_that_client(self):
        bad = self.raw()
        bad.send(struct.pack(">I", 32 * 1024 * 1024 + 5) + b"\0" * 24)
        self.assertIsNone(bad.read_packet())
        self.assertEqual(self.d.virsh("uri").stdout.strip(), self.d.uri)

    def test_half_packet_then_stall_does_not_block_others(self):
        stalled = self.raw()
        stalled.send(rawrpc.call(66, 0)[:10])
        good = self.raw()
        good.handshake()
        good.send(rawrpc.call(3, 9))
        hdr, body = good.read_reply()
        self.assertEqual(rawrpc.Reader(body).str(), "Xen")

    def test_several_calls_in_flight(self):
        c = self.raw()
        c.handshake()
        c.send(b"".join(rawrpc.call(p, s) for p, s in ((3, 10), (59, 11), (149, 12), (7, 13))))
        serials = {c.read_reply()[0][4] for _ in range(4)}
        self.assertEqual(serials, {10, 11, 12, 13})

    def test_keepalive_ping_gets_pong(self):
        c = self.raw()
        c.send(rawrpc.packet(rawrpc.KEEPALIVE, 1, rawrpc.MESSAGE, 0))
        hdr, body = c.read_packet()
        self.assertEqual(hdr, (rawrpc.KEEPALIVE, 1, 2, rawrpc.MESSAGE, 0, rawrpc.OK))

    def test_calls_before_open_are_refused(self):
        c = self.raw()
        c.send(rawrpc.call(3, 1))
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.ERROR)


@unittest.skipUnless(BACKEND_IS_FAKE, "event injection exists only in the test-only daemon")
class EventDeliveryTest(XvirtdTestCase):
    """Real clients decode our DOMAIN_EVENT_CALLBACK_LIFECYCLE messages (events injected by the fake)."""
    UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809"

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(fake_event_fifo=True)
        cls.fifo = open(cls.d.fifo, "w")

    @classmethod
    def tearDownClass(cls):
        cls.fifo.close()
        super().tearDownClass()

    def inject_until(self, done, line, what):
        # The registration goes live right after its reply is queued: re-inject until seen.
        def attempt():
            self.fifo.write(line + "\n")
            self.fifo.flush()
            return done.wait(0.1)
        wait_for(attempt, timeout=20, what=what)

    def test_python_callback_receives_lifecycle(self):
        import libvirt
        import threading
        start_libvirt_event_loop()
        conn = libvirt.open(self.d.uri)
        self.addCleanup(conn.close)
        got, seen = [], threading.Event()

        def cb(c, dom, event, detail, opaque):
            got.append((dom.name(), dom.UUIDString(), dom.ID(), event, detail))
            seen.set()
        cb_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
        self.addCleanup(conn.domainEventDeregisterAny, cb_id)
        self.inject_until(seen, f"fakevm {self.UUID} 7 5 1", "the python lifecycle callback")
        self.assertEqual(got[0], ("fakevm", self.UUID, 7, libvirt.VIR_DOMAIN_EVENT_STOPPED,
                                  libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED))

    def test_virsh_event_loop_prints_lifecycle(self):
        import queue
        import threading
        p = subprocess.Popen(["virsh", "-c", self.d.uri, "event", "--event", "lifecycle", "--loop"],
                             env=self.d.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.wait, 20)
        self.addCleanup(p.terminate)
        lines, seen = queue.Queue(), threading.Event()

        def reader():
            for line in p.stdout:
                lines.put(line)
                if "Started Booted" in line:
                    seen.set()
        threading.Thread(target=reader, daemon=True).start()
        self.inject_until(seen, f"fakevm {self.UUID} 3 2 0", "virsh event --loop output")
        out = "".join(lines.queue)
        self.assertIn("event 'lifecycle' for domain 'fakevm': Started Booted", out)


@unittest.skipUnless(shutil.which("systemd-socket-activate"), "needs systemd-socket-activate")
class SocketActivationTest(unittest.TestCase):
    def test_inherited_sockets_and_read_only_name(self):
        d = tempfile.mkdtemp(prefix="xvirtd-sa-")
        self.addCleanup(shutil.rmtree, d, True)
        run = os.path.join(d, "run")
        os.mkdir(run, 0o700)
        rw, ro = os.path.join(d, "rw-sock"), os.path.join(d, "ro-sock")
        env = dict(os.environ, XDG_RUNTIME_DIR=run, HOME=os.path.join(d, "home"))
        args = ["systemd-socket-activate", "-l", rw, "-l", ro, "--fdname=xvirtd-sock:xvirtd-sock-ro",
                "-E", "XDG_RUNTIME_DIR", "-E", "HOME", DAEMON, "--session"]
        if BACKEND != "fake":
            args += ["--hypervisor", BACKEND]
        log = open(os.path.join(d, "log"), "w")
        self.addCleanup(log.close)
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: os.path.exists(ro), what="the activation sockets")
            c = rawrpc.Client(ro, timeout=30)
            self.addCleanup(c.close)
            c.handshake()
            c.send(rawrpc.call(11, 5, rawrpc.xdr_str("<domain/>")))
            hdr, body = c.read_reply()
            self.assertEqual(c.error_of(body)["code"], 29)
            p = subprocess.run(["virsh", "-q", "-c", f"xen+unix:///session?socket={rw}", "uri"],
                               env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertFalse(os.path.exists(os.path.join(run, "xvirt", "xvirtd-sock")))
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=20), 0)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
