"""Issue 23, first slice: title, description and namespaced metadata (virDomainSetMetadata /
GetMetadata and the METADATA_CHANGE event), virDomainReset, virDomainRename and the legacy event
registrations of older clients, through real virsh, python3-libvirt and raw protocol bytes.

Usage: test_domain_metadata.py [XVIRTD [XVIRT_XL]]; the fixtures are in tests/lib (tests/README.md).
"""
import os
import queue
import signal
import struct
import sys
import uuid as uuidlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xvirt_test import rawrpc, runner  # noqa: E402
from xvirt_test.daemon import start_libvirt_event_loop  # noqa: E402
from xvirt_test.domains import DomainTestCase  # noqa: E402
from xvirt_test.wait import drain, wait_for  # noqa: E402

URI = "http://example.org/app1/"
NOT_FOUND = "metadata not found: Requested metadata element is not present"


def open_conn(test):
    """A python3-libvirt connection to the test's daemon, closed at the end of the test."""
    import libvirt
    c = libvirt.open(test.d.uri)
    test.addCleanup(c.close)
    return c


class MetadataTest(DomainTestCase):
    conn = open_conn

    def define(self, name, uuid):
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))

    def test_title_and_description_live_and_config(self):
        name = "md1"
        self.define(name, "6b1d0f9e-1e2d-4c3b-9a4f-000000000001")
        # virsh -q leaves out its "No description for domain" line: nothing at all.
        self.assertEqual(self.virsh("desc", name).stdout.strip(), "")
        self.virsh("desc", name, "--title", "--new-desc", "Web & cache", "--config")
        self.virsh("desc", name, "--new-desc", "Serves <www>.\nSecond line.", "--config")
        self.assertEqual(self.virsh("desc", name, "--title").stdout.strip(), "Web & cache")
        self.assertEqual(self.virsh("desc", name).stdout.strip(), "Serves <www>.\nSecond line.")
        xml = self.virsh("dumpxml", name).stdout
        self.assertIn("<title>Web &amp; cache</title>", xml)
        self.assertIn("<description>Serves &lt;www&gt;.\nSecond line.</description>", xml)

        # --live on a shut-off domain: libvirt's "domain is not running", nothing changed.
        r = self.virsh("desc", name, "--title", "--new-desc", "other", "--live", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Requested operation is not valid: domain is not running", r.stderr)
        self.assertEqual(self.virsh("desc", name, "--title").stdout.strip(), "Web & cache")

        # Running: --live changes only the live definition, --config only the persistent one.
        self.virsh("start", name)
        self.virsh("desc", name, "--title", "--new-desc", "live title", "--live")
        self.assertEqual(self.virsh("desc", name, "--title").stdout.strip(), "live title")
        self.assertEqual(self.virsh("desc", name, "--title", "--config").stdout.strip(), "Web & cache")
        self.virsh("desc", name, "--title", "--new-desc", "both", "--live", "--config")
        self.assertEqual(self.virsh("desc", name, "--title", "--live").stdout.strip(), "both")
        self.assertEqual(self.virsh("desc", name, "--title", "--config").stdout.strip(), "both")
        # An empty value removes it (virsh sends no empty one: python3-libvirt).
        import libvirt
        dom = self.conn().lookupByName(name)
        self.virsh("desc", name, "--new-desc", "gone soon", "--live", "--config")
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "", None, None,
                        libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        self.assertEqual(self.virsh("desc", name).stdout.strip(), "")
        self.virsh("destroy", name)
        self.assertEqual(self.virsh("desc", name).stdout.strip(), "")

        with self.assertRaises(libvirt.libvirtError) as e:
            dom.metadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0)
        self.assertEqual((e.exception.get_error_code(), e.exception.get_error_message()),
                         (libvirt.VIR_ERR_NO_DOMAIN_METADATA, NOT_FOUND))
        with self.assertRaises(libvirt.libvirtError) as e:
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "two\nlines", None, None, 0)
        self.assertEqual(e.exception.get_error_code(), libvirt.VIR_ERR_INVALID_ARG)

    def test_namespaced_element_set_get_remove_and_survives_a_restart(self):
        name = "md2"
        self.define(name, "6b1d0f9e-1e2d-4c3b-9a4f-000000000002")
        r = self.virsh("metadata", name, URI, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(NOT_FOUND, r.stderr)
        self.virsh("metadata", name, URI, "--key", "app1", "--set", "<foo level='2'><bar>x</bar></foo>")
        got = self.virsh("metadata", name, URI).stdout.strip()
        self.assertTrue(got.startswith(f'<app1:foo xmlns:app1="{URI}"'), got)
        self.assertIn("<bar>x</bar>", got)
        # A second namespace beside it; setting the first again replaces it.
        self.virsh("metadata", name, "http://example.org/app2/", "--key", "app2", "--set", "<cfg/>")
        self.virsh("metadata", name, URI, "--key", "app1", "--set", "<foo>new</foo>")
        self.assertEqual(self.virsh("metadata", name, URI).stdout.strip(),
                         f'<app1:foo xmlns:app1="{URI}">new</app1:foo>')
        xml = self.virsh("dumpxml", name).stdout
        self.assertEqual(xml.count("<app1:foo"), 1)
        self.assertIn("app2:cfg", xml)

        self.d.restart()
        self.assertIn("new", self.virsh("metadata", name, URI).stdout)
        self.assertIn("app2:cfg", self.virsh("metadata", name, "http://example.org/app2/").stdout)

        self.virsh("metadata", name, URI, "--remove")
        r = self.virsh("metadata", name, URI, check=False)
        self.assertIn(NOT_FOUND, r.stderr)
        self.assertIn("app2:cfg", self.virsh("dumpxml", name).stdout)

        # Bad XML is VIR_ERR_XML_ERROR and changes nothing.
        import libvirt
        dom = self.conn().lookupByName(name)
        before = dom.XMLDesc(0)
        with self.assertRaises(libvirt.libvirtError) as e:
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "<foo", "app1", URI, 0)
        self.assertEqual(e.exception.get_error_code(), libvirt.VIR_ERR_XML_ERROR)
        self.assertIn("The metadata XML is not well-formed", e.exception.get_error_message())
        with self.assertRaises(libvirt.libvirtError) as e:
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "<foo/>", "not a name", URI, 0)
        self.assertEqual(e.exception.get_error_code(), libvirt.VIR_ERR_INVALID_ARG)
        self.assertEqual(dom.XMLDesc(0), before)

    def test_raw_metadata_argument_checks(self):
        # What libvirt's client library checks before sending, checked again for raw clients.
        name = "md3"
        self.define(name, "6b1d0f9e-1e2d-4c3b-9a4f-000000000003")
        c = self.raw()
        c.handshake()
        dom = rawrpc.xdr_str(name) + uuidlib.UUID("6b1d0f9e-1e2d-4c3b-9a4f-000000000003").bytes + struct.pack(">i", -1)
        null = struct.pack(">I", 0)

        def ostr(s):
            return struct.pack(">I", 1) + rawrpc.xdr_str(s)

        def set_md(serial, type_, md, key, uri, flags=0):
            c.send(rawrpc.call(264, serial, dom + struct.pack(">i", type_) + md + key + uri + struct.pack(">I", flags)))
            return c.read_reply()

        hdr, body = set_md(10, 2, ostr("<foo/>"), null, ostr(URI))
        self.assertEqual(hdr[5], rawrpc.ERROR)
        self.assertEqual(c.error_of(body)["message"], "invalid argument: key in virDomainSetMetadata must not be NULL")
        hdr, body = set_md(11, 2, ostr("<foo/>"), ostr("k"), null)
        self.assertEqual(c.error_of(body)["message"], "invalid argument: uri in virDomainSetMetadata must not be NULL")
        hdr, body = set_md(12, 7, ostr("x"), null, null)
        self.assertEqual(c.error_of(body)["message"], "invalid argument: unknown metadata type '7'")
        hdr, body = set_md(13, 1, ostr("t"), null, null)
        self.assertEqual(hdr[5], rawrpc.OK)
        c.send(rawrpc.call(265, 14, dom + struct.pack(">i", 1) + null + struct.pack(">I", 0)))
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK)
        self.assertEqual(rawrpc.Reader(body).str(), "t")

    def test_metadata_change_event(self):
        import libvirt
        start_libvirt_event_loop()
        name = "md4"
        self.define(name, "6b1d0f9e-1e2d-4c3b-9a4f-000000000004")
        conn = self.conn()
        got = queue.Queue()
        cb_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                            lambda c, d, t, ns, o: got.put((d.name(), t, ns)), None)
        self.addCleanup(conn.domainEventDeregisterAny, cb_id)
        self.virsh("desc", name, "--title", "--new-desc", "T")
        self.virsh("metadata", name, URI, "--key", "k", "--set", "<a/>")
        seen = []
        wait_for(lambda: (name, libvirt.VIR_DOMAIN_METADATA_ELEMENT, URI) in drain(got, seen),
                 what="the METADATA_CHANGE event of the element")
        self.assertIn((name, libvirt.VIR_DOMAIN_METADATA_TITLE, None), seen)


class ResetTest(DomainTestCase):
    def test_reset_running_and_refused_when_shut_off(self):
        name = "rs1"
        self.start_domain(name, "6b1d0f9e-1e2d-4c3b-9a4f-000000000011")
        self.virsh("reset", name)
        self.assertTrue(self.state(name).startswith("running"), self.state(name))
        wait_for(lambda: self.domid(name) in self.sim_domids(), what="the reset guest on the hypervisor")
        self.virsh("destroy", name)
        r = self.virsh("reset", name, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Requested operation is not valid: domain is not running", r.stderr)


class RenameTest(DomainTestCase):
    conn = open_conn

    def test_domrename_moves_config_and_autostart_keeps_uuid(self):
        import libvirt
        start_libvirt_event_loop()
        old, new, uuid = "rn1", "rn1-new", "6b1d0f9e-1e2d-4c3b-9a4f-000000000021"
        self.addCleanup(self.cleanup_domain, new)
        self.addCleanup(self.cleanup_domain, old)
        self.virsh("define", self.xml_file(old, uuid))
        self.virsh("autostart", old)
        conn = self.conn()
        got = queue.Queue()
        cb_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            lambda c, d, e, det, o: got.put((d.name(), e, det)), None)

        self.virsh("domrename", old, new)
        r = self.virsh("dominfo", old, check=False)
        self.assertIn(f"failed to get domain '{old}'", r.stderr)
        info = self.virsh("dominfo", new).stdout
        self.assertIn(uuid, info)
        self.assertRegex(info, r"Autostart:\s+enable")
        self.assertIn(f"<name>{new}</name>", self.virsh("dumpxml", new).stdout)
        confdir = os.path.join(self.d.dir, "config", "xvirt", "domains")
        self.assertTrue(os.path.exists(os.path.join(confdir, new + ".xml")))
        self.assertFalse(os.path.exists(os.path.join(confdir, old + ".xml")))
        self.assertTrue(os.path.exists(os.path.join(confdir, "autostart", new + ".xml")))
        self.assertFalse(os.path.lexists(os.path.join(confdir, "autostart", old + ".xml")))
        seen = []
        wait_for(lambda: (new, libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_RENAMED)
                 in drain(got, seen), what="DEFINED(RENAMED) for the new name")
        self.assertIn((old, libvirt.VIR_DOMAIN_EVENT_UNDEFINED, libvirt.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED), seen)
        conn.domainEventDeregisterAny(cb_id)

        # A new daemon finds it under the new name and, as the mark moved with it, autostarts it.
        self.d.restart()
        self.assertIn(uuid, self.virsh("dominfo", new).stdout)
        self.assertNotEqual(self.virsh("dominfo", old, check=False).returncode, 0)
        self.wait_state(new, "running (booted)")

    def test_domrename_refusals(self):
        a, b = "rn2", "rn3"
        self.define_pair(a, b)
        r = self.virsh("domrename", a, b, check=False)
        self.assertIn(f"Requested operation is not valid: domain with name '{b}' already exists", r.stderr)
        r = self.virsh("domrename", a, a, check=False)
        self.assertIn("Can't rename domain to itself", r.stderr)
        self.virsh("start", a)
        r = self.virsh("domrename", a, "rn2-x", check=False)
        self.assertIn("Requested operation is not valid: cannot rename active domain", r.stderr)
        self.virsh("managedsave", a)
        r = self.virsh("domrename", a, "rn2-x", check=False)
        self.assertIn("domain with a managed saved state can't be renamed", r.stderr)
        self.virsh("managedsave-remove", a)
        self.virsh("create", self.xml_file("rn4", "6b1d0f9e-1e2d-4c3b-9a4f-000000000024"))
        self.addCleanup(self.cleanup_domain, "rn4")
        self.virsh("suspend", "rn4")
        r = self.virsh("domrename", "rn4", "rn4-x", check=False)
        self.assertIn("cannot rename active domain", r.stderr)  # a transient domain is always active
        # Nothing changed.
        for n in (a, b, "rn4"):
            self.virsh("dominfo", n)

    def test_a_rename_interrupted_by_a_crash_is_finished_at_start_up(self):
        # The state DomainStore::renameConfig passes through: the new content already written over the
        # old file, not yet renamed. xvirtd SIGKILLed there must come back with the domain renamed.
        old, new, uuid = "rn5", "rn5-new", "6b1d0f9e-1e2d-4c3b-9a4f-000000000025"
        self.addCleanup(self.cleanup_domain, new)
        self.addCleanup(self.cleanup_domain, old)
        self.virsh("define", self.xml_file(old, uuid))
        confdir = os.path.join(self.d.dir, "config", "xvirt", "domains")
        self.d.kill(signal.SIGKILL)
        path = os.path.join(confdir, old + ".xml")
        with open(path) as f:
            text = f.read().replace(f"<name>{old}</name>", f"<name>{new}</name>")
        with open(path, "w") as f:
            f.write(text)
        self.d.start()
        self.assertIn(uuid, self.virsh("dominfo", new).stdout)
        self.assertNotEqual(self.virsh("dominfo", old, check=False).returncode, 0)
        self.assertEqual(sorted(f for f in os.listdir(confdir) if f.startswith("rn5")), [new + ".xml"])

    def test_raw_rename_without_a_name(self):
        name, uuid = "rn6", "6b1d0f9e-1e2d-4c3b-9a4f-000000000026"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        c = self.raw()
        c.handshake()
        dom = rawrpc.xdr_str(name) + uuidlib.UUID(uuid).bytes + struct.pack(">i", -1)
        c.send(rawrpc.call(358, 2, dom + struct.pack(">I", 0) + struct.pack(">I", 0)))  # new_name NULL
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"], "invalid argument: new_name in virDomainRename must not be NULL")
        c.send(rawrpc.call(358, 3, dom + struct.pack(">I", 1) + rawrpc.xdr_str("") + struct.pack(">I", 0)))
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"],
                         "invalid argument: string new_name in virDomainRename must not be empty")
        c.send(rawrpc.call(358, 4, dom + struct.pack(">I", 1) + rawrpc.xdr_str("rn6-raw") + struct.pack(">I", 0)))
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK)
        self.assertEqual(rawrpc.Reader(body).i32(), 0)
        self.addCleanup(self.cleanup_domain, "rn6-raw")
        self.assertIn(uuid, self.virsh("dominfo", "rn6-raw").stdout)

    def define_pair(self, a, b):
        self.addCleanup(self.cleanup_domain, a)
        self.addCleanup(self.cleanup_domain, b)
        self.virsh("define", self.xml_file(a, "6b1d0f9e-1e2d-4c3b-9a4f-000000000022"))
        self.virsh("define", self.xml_file(b, "6b1d0f9e-1e2d-4c3b-9a4f-000000000023"))


class LegacyEventsTest(DomainTestCase):
    def read_message(self, c, proc):
        while True:
            p = c.read_packet()
            self.assertIsNotNone(p, "xvirtd closed the connection")
            if p[0][3] == rawrpc.MESSAGE and p[0][2] == proc:
                return p[1]

    def test_register_delivers_legacy_lifecycle_messages(self):
        name, uuid = "lg1", "6b1d0f9e-1e2d-4c3b-9a4f-000000000031"
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", self.xml_file(name, uuid))
        c = self.raw()
        c.handshake()
        c.send(rawrpc.call(105, 2))  # CONNECT_DOMAIN_EVENT_REGISTER
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK, c.error_of(body) if hdr[5] else None)
        self.assertEqual(rawrpc.Reader(body).i32(), 1)
        c.send(rawrpc.call(105, 3))
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body), {"code": 1, "domain": 1, "message": "internal error: domain event 0 already registered"})

        self.virsh("start", name)
        r = rawrpc.Reader(self.read_message(c, 107))  # DOMAIN_EVENT_LIFECYCLE: dom; event; detail
        self.assertEqual(r.str(), name)
        r.pos += 16
        r.i32()
        self.assertEqual((r.i32(), r.i32()), (2, 0))  # Started, Booted

        c.send(rawrpc.call(106, 4))  # DEREGISTER
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK)
        c.send(rawrpc.call(106, 5))
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"], "internal error: domain event 0 not registered")

    def test_register_any_and_deregister_any(self):
        c = self.raw()
        c.handshake()
        c.send(rawrpc.call(167, 2, struct.pack(">i", 13)))  # BALLOON_CHANGE
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK)
        self.assertEqual(body, b"")
        c.send(rawrpc.call(167, 3, struct.pack(">i", 19)))  # DEVICE_ADDED: callback messages only
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"], "internal error: unsupported event ID 19")
        c.send(rawrpc.call(168, 4, struct.pack(">i", 13)))
        hdr, body = c.read_reply()
        self.assertEqual(hdr[5], rawrpc.OK)
        c.send(rawrpc.call(168, 5, struct.pack(">i", 13)))
        hdr, body = c.read_reply()
        self.assertEqual(c.error_of(body)["message"], "internal error: domain event 13 not registered")


if __name__ == "__main__":
    runner.main("XVIRTD", "XVIRT_XL")
