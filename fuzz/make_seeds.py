#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the tree's own test data.

domain-xml and xl-config take the golden inputs and examples as they are; monitor takes every
transcript line of schemas/monitor/monitor.json; rpc, xenstore and save-image get messages built
field by field as libvirt's remote_protocol.x (docs/rpc.md), xs_wire.h and docs/save-image.md
describe them, carrying the golden domain XML, xl configs and GuestConfigs. Each file starts with
the target's option byte (see the target's header comment). Rerun after the test data changes:  /usr/bin/python3 fuzz/make_seeds.py
"""
import json
import pathlib
import shutil
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"
GOLDEN = ROOT / "tests" / "golden" / "domain-xml"
sys.path.insert(0, str(ROOT / "tests" / "lib"))
from xvirt_test import rawrpc  # noqa: E402  (framing and XDR strings, shared with the byte-level tests)


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def golden_inputs(sub, suffix):
    return sorted(p for p in (GOLDEN / sub).glob("*" + suffix) if ".out." not in p.name)


# --- domain-xml: option 0 (plain parse); the examples also with validation (option 2) ---
def domain_xml():
    for p in golden_inputs("xml", ".xml"):
        write("domain-xml", p.stem, b"\0" + p.read_bytes())
    for p in sorted((ROOT / "examples").glob("*.xml")):
        write("domain-xml", "example-" + p.stem, b"\2" + p.read_bytes())


# --- xl-config: option 0 for xl, 1 for xm ---
def xl_config():
    for p in golden_inputs("xl", ".cfg"):
        write("xl-config", "xl-" + p.stem, b"\0" + p.read_bytes())
    for p in golden_inputs("xm", ".cfg"):
        write("xl-config", "xm-" + p.stem, b"\1" + p.read_bytes())
    for p in sorted((ROOT / "examples").glob("*.cfg")):
        write("xl-config", "example-" + p.stem, b"\0" + p.read_bytes())


# --- monitor: each command's transcript; option 1 negotiates first ---
def monitor():
    schema = json.loads((ROOT / "schemas" / "monitor" / "monitor.json").read_text())
    for kind in ("commands", "events"):
        for item in schema[kind]:
            example = item.get("example", [])
            steps = example if isinstance(example, list) else [{"<-": example}]  # an event is one line
            lines = [json.dumps(list(step.values())[0]) for step in steps]
            write("monitor", kind[:-1] + "-" + item["name"], b"\1" + "\n".join(lines).encode() + b"\n")


# --- rpc: option 0 (the target opens the connection), then calls ---
UUID = bytes.fromhex("c7a5fdbdedaf9455926ad65c16db1809")


def dom(name="demo", ident=-1):
    return rawrpc.xdr_str(name) + UUID + struct.pack(">i", ident)


def u32(*vals):
    return b"".join(struct.pack(">I", v) for v in vals)


def rpc():
    demo_xml = (ROOT / "examples" / "demo-pv.xml").read_text()
    xl_cfg = (ROOT / "examples" / "linux-pv.cfg").read_text()
    disk_xml = "<disk type='file' device='disk'><source file='/tmp/d.img'/><target dev='xvdb' bus='xen'/></disk>"
    args = {
        "open": (1, u32(1) + rawrpc.xdr_str("xen:///system") + u32(0)),
        "supports-feature": (60, u32(10)),
        "max-vcpus": (5, u32(1) + rawrpc.xdr_str("xen")),
        "define-xml": (11, rawrpc.xdr_str(demo_xml)),
        "define-xml-flags": (350, rawrpc.xdr_str(demo_xml) + u32(1)),
        "create-xml": (10, rawrpc.xdr_str(demo_xml) + u32(0)),
        "lookup-by-name": (23, rawrpc.xdr_str("demo")),
        "lookup-by-uuid": (24, UUID),
        "lookup-by-id": (22, struct.pack(">i", 1)),
        "get-info": (16, dom()),
        "get-state": (212, dom() + u32(0)),
        "get-xml-desc": (14, dom() + u32(1)),
        "pin-vcpu": (26, dom() + u32(0) + rawrpc.xdr_str("\x03")),
        "pin-vcpu-flags": (225, dom() + u32(0) + rawrpc.xdr_str("\x01") + u32(2)),
        "set-memory-flags": (204, dom() + struct.pack(">Q", 262144) + u32(1)),
        "set-vcpus-flags": (199, dom() + u32(2, 2)),
        "attach-device-flags": (160, dom() + rawrpc.xdr_str(disk_xml) + u32(2)),
        "detach-device-flags": (161, dom() + rawrpc.xdr_str(disk_xml) + u32(2)),
        "update-device-flags": (174, dom() + rawrpc.xdr_str(disk_xml) + u32(2)),
        "save-flags": (232, dom() + rawrpc.xdr_str("/tmp/demo.save") + u32(0) + u32(0)),
        "restore-flags": (233, rawrpc.xdr_str("/tmp/demo.save") + u32(1) + rawrpc.xdr_str(demo_xml) + u32(0)),
        "save-image-get-xml": (235, rawrpc.xdr_str("/tmp/demo.save") + u32(0)),
        "xml-from-native": (135, rawrpc.xdr_str("xen-xl") + rawrpc.xdr_str(xl_cfg) + u32(0)),
        "xml-to-native": (136, rawrpc.xdr_str("xen-xl") + rawrpc.xdr_str(demo_xml) + u32(0)),
        "list-all": (273, u32(1, 0)),
        "list-domains": (37, u32(16)),
        "event-register": (316, u32(0, 1) + dom()),
        "event-deregister": (317, u32(1)),
        "open-console": (201, dom() + u32(0) + u32(0)),
        "cpu-stats": (262, dom() + u32(0) + struct.pack(">i", -1) + u32(1, 0)),
        "all-domain-stats": (344, u32(0) + u32(1) + u32(0)),
        "memory-stats": (159, dom() + u32(10, 0)),
        "domain-capabilities": (342, u32(0, 0, 0, 0) + u32(0)),
        "node-cpu-map": (293, u32(1, 1, 0)),
    }
    for i, (name, (proc, payload)) in enumerate(sorted(args.items())):
        write("rpc", name, b"\0" + rawrpc.call(proc, i + 1, payload))
    # A whole session as virsh opens it, one packet after another, with a keepalive in between.
    session = (rawrpc.call(66, 1) + rawrpc.call(1, 2, args["open"][1]) +
               rawrpc.packet(rawrpc.KEEPALIVE, 1, rawrpc.MESSAGE, 0) + rawrpc.call(60, 3, u32(10)) +
               rawrpc.call(273, 4, u32(1, 0)) + rawrpc.call(2, 5))
    write("rpc", "session-virsh-list", b"\2" + session)


# --- xenstore: xsd_sockmsg {type, req_id, tx_id, len} + payload, native byte order ---
XS = dict(DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5, TRANSACTION_START=6, TRANSACTION_END=7,
          INTRODUCE=8, RELEASE=9, GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13, SET_PERMS=14,
          IS_DOMAIN_INTRODUCED=17, RESUME=18, SET_TARGET=19, RESET_WATCHES=21, DIRECTORY_PART=22)


def xs(kind, *args, tx=0, req=1, raw=None):
    payload = raw if raw is not None else b"".join(a.encode() + b"\0" for a in args)
    return struct.pack("=IIII", XS[kind], req, tx, len(payload)) + payload


def xenstore():
    base = "/local/domain/1"
    seeds = {
        "read": xs("READ", "/local/domain/0/name"),
        "write-read-rm": xs("WRITE", raw=f"{base}/name\0demo".encode()) + xs("READ", f"{base}/name", req=2) +
                         xs("DIRECTORY", base, req=3) + xs("RM", base, req=4),
        "mkdir-perms": xs("MKDIR", f"{base}/device/vbd/51712") + xs("SET_PERMS", f"{base}/device", "n0", "r1", req=2) +
                       xs("GET_PERMS", f"{base}/device", req=3),
        "watch": xs("WATCH", "@releaseDomain", "tok") + xs("WATCH", f"{base}/control", "ctl", req=2) +
                 xs("WRITE", raw=f"{base}/control/shutdown\0poweroff".encode(), req=3) +
                 xs("UNWATCH", f"{base}/control", "ctl", req=4) + xs("RESET_WATCHES", req=5),
        "transaction": xs("TRANSACTION_START", "") + xs("WRITE", raw=b"/tool/x\0" + b"1", tx=1, req=2) +
                       xs("TRANSACTION_END", "T", tx=1, req=3),
        "introduce-release": xs("INTRODUCE", "1", "4096", "5") + xs("IS_DOMAIN_INTRODUCED", "1", req=2) +
                             xs("GET_DOMAIN_PATH", "1", req=3) + xs("RESUME", "1", req=4) +
                             xs("SET_TARGET", "2", "1", req=5) + xs("RELEASE", "1", req=6),
        "directory-part": xs("DIRECTORY_PART", "/local/domain/0", "0"),
        "control": xs("DIRECTORY", "/") + struct.pack("=IIII", 0, 2, 0, 4) + b"log\0",
    }
    for name, data in seeds.items():
        write("xenstore", name, data)


# --- save-image: header, records, end record with CRC-32C (docs/save-image.md) ---
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def save_image(domain_xml, guest_config, run_state):
    out = b"XVIRT-SAVE-IMAGE" + struct.pack("<IIQ", 1, 32, 0)
    vcpus = json.dumps([{"online": True, "affinity": [0, 1]}]).encode()
    devices = json.dumps({"vbds": [], "vifs": []}).encode()
    for rtype, payload in ((1, domain_xml), (2, guest_config), (3, run_state), (4, vcpus), (5, devices), (6, b"\0" * 16)):
        out += struct.pack("<IIQ", rtype, 0, len(payload)) + payload
    out += struct.pack("<IIQ", 0xFFFFFFFF, 0, 8)
    return out + struct.pack("<II", crc32c(out), 0)


def save_images():
    run_state = json.dumps({"backend": "sim", "state": "running", "run-after-restore": True}).encode()
    demo_xml = (ROOT / "examples" / "demo-pv.xml").read_bytes()
    for p in sorted((GOLDEN / "guestconfig").glob("*.json")):
        config = json.dumps(json.loads(p.read_text())).encode()
        write("save-image", p.stem, b"\0" + save_image(demo_xml, config, run_state))


if __name__ == "__main__":
    for target in ("domain-xml", "xl-config", "monitor", "rpc", "xenstore", "save-image"):
        shutil.rmtree(OUT / target, ignore_errors=True)
    domain_xml()
    xl_config()
    monitor()
    rpc()
    xenstore()
    save_images()
    for d in sorted(OUT.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds, {sum(f.stat().st_size for f in d.iterdir())} bytes")
