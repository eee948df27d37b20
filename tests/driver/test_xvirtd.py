"""xvirtd driven by real clients: virsh 9.0.0, python3-libvirt, and raw protocol bytes.

Usage (meson does this): test_xvirtd.py [XVIRTD]. Each test class gets a private XDG_RUNTIME_DIR;
waits poll with deadlines, no sleeps.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import paths, rawrpc, runner  # noqa: E402
from xvirt_test.daemon import XvirtdTestCase, start_libvirt_event_loop  # noqa: E402
from xvirt_test.wait import wait_for  # noqa: E402

CAP_RNG = "/usr/share/libvirt/schemas/capability.rng"


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
                "-E", "XDG_RUNTIME_DIR", "-E", "HOME", paths.XVIRTD, "--session", "--hypervisor", "sim"]
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
    runner.main("XVIRTD")
