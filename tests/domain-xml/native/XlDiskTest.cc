// The xl disk spec parser: every form of xl-disk-configuration(5), the xm legacy forms, and errors.
#include <gtest/gtest.h>

#include "domain-xml/XlDevices.h"

using namespace xvirt::dom;

namespace {

DiskDef parse(const char* spec) {
  auto r = parseXlDisk(spec, 7);
  EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : DiskDef{};
}

std::string error(const char* spec) {
  auto r = parseXlDisk(spec, 7);
  EXPECT_FALSE(r.ok()) << "accepted " << spec;
  return r.ok() ? "" : r.error().message;
}

void expectSame(const DiskDef& a, const DiskDef& b) {
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.targetDev, b.targetDev);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.driverType, b.driverType);
  EXPECT_EQ(a.readonly, b.readonly);
  EXPECT_EQ(a.type, b.type);
}

}  // namespace

TEST(XlDisk, DocumentedEquivalentDiskForms) {
  DiskDef d = parse("/dev/vg/guest-volume,,hda");
  EXPECT_EQ(d.source, "/dev/vg/guest-volume");
  EXPECT_EQ(d.targetDev, "hda");
  EXPECT_EQ(d.targetBus, "ide");
  EXPECT_EQ(d.driverType, "raw");
  EXPECT_EQ(d.type, "block");
  EXPECT_EQ(d.device, "disk");
  EXPECT_FALSE(d.readonly);
  expectSame(d, parse("/dev/vg/guest-volume,raw,hda,rw"));
  expectSame(d, parse("format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume"));
  DiskDef depr = parse("raw:/dev/vg/guest-volume,hda,w");
  expectSame(d, depr);
}

TEST(XlDisk, DocumentedEquivalentCdromForms) {
  DiskDef c = parse("/root/image.iso,,hdc,cdrom");
  EXPECT_EQ(c.device, "cdrom");
  EXPECT_TRUE(c.readonly);
  EXPECT_EQ(c.type, "file");
  EXPECT_EQ(c.targetDev, "hdc");
  expectSame(c, parse("/root/image.iso,,hdc,,cdrom"));
  expectSame(c, parse("/root/image.iso,raw,hdc,devtype=cdrom"));
  expectSame(c, parse("format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso"));
  expectSame(c, parse("raw:/root/image.iso,hdc:cdrom,ro"));
}

TEST(XlDisk, XmPrefixes) {
  DiskDef phy = parse("phy:/dev/vg01/linux0,xvda,w");
  EXPECT_EQ(phy.driverName, "phy");
  EXPECT_EQ(phy.type, "block");
  EXPECT_EQ(phy.targetBus, "xen");
  DiskDef file = parse("file:/var/lib/xen/images/a.img,xvdb,r");
  EXPECT_EQ(file.driverName, "file");
  EXPECT_EQ(file.type, "file");
  EXPECT_TRUE(file.readonly);
  DiskDef aio = parse("tap:aio:/images/a.img,xvdc,w");
  EXPECT_EQ(aio.driverName, "tap");
  EXPECT_EQ(aio.driverType, "raw");
  DiskDef qcow = parse("tap2:qcow2:/images/b.qcow2,xvdd,w");
  EXPECT_EQ(qcow.driverName, "tap2");
  EXPECT_EQ(qcow.driverType, "qcow2");
  EXPECT_EQ(qcow.source, "/images/b.qcow2");
  DiskDef ioemu = parse("phy:/dev/loop0,ioemu:hdc:cdrom,r");
  EXPECT_EQ(ioemu.targetDev, "hdc");
  EXPECT_EQ(ioemu.device, "cdrom");
  EXPECT_EQ(ioemu.source, "/dev/loop0");
  DiskDef shared = parse("phy:/dev/sdb,xvde,w!");
  EXPECT_TRUE(shared.shareable);
  EXPECT_FALSE(shared.readonly);
}

TEST(XlDisk, EmptyCdroms) {
  DiskDef e = parse(",hdc:cdrom,r");
  EXPECT_EQ(e.source, "");
  EXPECT_EQ(e.device, "cdrom");
  EXPECT_EQ(e.driverType, "");
  DiskDef e2 = parse("format=empty, vdev=hdc, access=ro, devtype=cdrom");
  expectSame(e, e2);
  expectSame(e, parse(",,hdc,cdrom"));
}

TEST(XlDisk, KeyValueForms) {
  DiskDef q = parse("vdev=xvdb, format=qcow2, backendtype=qdisk, target=/images/with,comma.qcow2");
  EXPECT_EQ(q.source, "/images/with,comma.qcow2");  // target= eats the rest, commas included
  EXPECT_EQ(q.driverName, "qemu");
  EXPECT_EQ(q.driverType, "qcow2");
  DiskDef s = parse("/dev/drbd0,raw,xvdc,rw,script=block-drbd");
  EXPECT_EQ(s.script, "block-drbd");
  DiskDef d = parse("/dev/vg/x,raw,d1p0,rw,discard");
  EXPECT_EQ(d.targetDev, "xvdb");  // canonical name
  DiskDef raw = parse("/img,,51712");
  EXPECT_EQ(raw.targetDev, "xvda");
}

TEST(XlDisk, Errors) {
  EXPECT_EQ(error("/img,raw"), "Line 7 of the config has the disk '/img,raw', which names no vdev.");
  EXPECT_EQ(error("/img,vmdk,xvda"), "Line 7 of the config has the disk '/img,vmdk,xvda', which has the unknown format 'vmdk'.");
  EXPECT_EQ(error("/img,raw,hde"),
            "Line 7 of the config has the disk '/img,raw,hde', which has the vdev 'hde', which is not valid: hd disks stop at hdd.");
  EXPECT_EQ(error("/img,raw,xvda,rw,extra"),
            "Line 7 of the config has the disk '/img,raw,xvda,rw,extra', which has too many positional parameters ('extra' is one too many).");
  EXPECT_EQ(error("/img,raw,xvda,rx"),
            "Line 7 of the config has the disk '/img,raw,xvda,rx', which has the access mode 'rx', which is not one of r, ro, w, rw or w!.");
  EXPECT_EQ(error("backend=dom1,vdev=xvda,target=/img"),
            "Line 7 of the config has the disk 'backend=dom1,vdev=xvda,target=/img', which sets backend=, and driver domains are not supported.");
  EXPECT_EQ(error("iscsi:/dev/x,xvda,w"), "Line 7 of the config has the disk 'iscsi:/dev/x,xvda,w', which starts with the unknown prefix 'iscsi:'.");
  EXPECT_EQ(error(",,xvda"), "Line 7 of the config has the disk ',,xvda', which has no target, and only a cdrom may be empty.");
  EXPECT_EQ(error("vdev=xvda,vdev=xvdb,target=/x"), "Line 7 of the config has the disk 'vdev=xvda,vdev=xvdb,target=/x', which gives vdev twice.");
  EXPECT_EQ(error("/x,raw,xvda,direct-io-safe"), "Line 7 of the config has the disk '/x,raw,xvda,direct-io-safe', which sets 'direct-io-safe', which is not supported.");
  EXPECT_EQ(error("/x,raw,xvda:floppy"), "Line 7 of the config has the disk '/x,raw,xvda:floppy', which has the unknown device type 'floppy' after its vdev.");
  EXPECT_EQ(error("foo=bar,/x,,xvda"), "Line 7 of the config has the disk 'foo=bar,/x,,xvda', which has the unknown parameter 'foo'.");
  EXPECT_FALSE(parseXlDisk("", 1).ok());
}

TEST(XlDisk, FormatsBackToTheSameDisk) {
  for (const char* spec : {"phy:/dev/vg01/linux0,xvda,w", "tap:qcow2:/i.qcow2,xvdb,r", ",hdc:cdrom,r",
                           "file:/i.img,hda,w!", "/root/image.iso,,hdc,cdrom", "vdev=xvdq,target=/x"}) {
    DiskDef d = parse(spec);
    for (auto fmt : {NativeFormat::XenXl, NativeFormat::XenXm}) {
      auto formatted = formatXlDisk(d, fmt);
      ASSERT_TRUE(formatted.ok()) << formatted.error().message;
      std::string out = *formatted;
      DiskDef again = parse(out.c_str());
      expectSame(d, again);
      EXPECT_EQ(formatXlDisk(again, fmt).value(), out) << spec;
    }
  }
  EXPECT_EQ(formatXlDisk(parse("phy:/dev/vg01/linux0,xvda,w"), NativeFormat::XenXl).value(),
            "format=raw, vdev=xvda, access=rw, backendtype=phy, target=/dev/vg01/linux0");
  EXPECT_EQ(formatXlDisk(parse("phy:/dev/loop0,ioemu:hdc:cdrom,r"), NativeFormat::XenXm).value(),
            "phy:/dev/loop0,hdc:cdrom,r");
  // A comma in the path only fits xl's target=, which takes the rest of the spec.
  DiskDef comma = parse("vdev=xvdb, target=/images/a,b.img");
  EXPECT_EQ(formatXlDisk(comma, NativeFormat::XenXl).value(), "format=raw, vdev=xvdb, access=rw, target=/images/a,b.img");
  auto xm = formatXlDisk(comma, NativeFormat::XenXm);
  ASSERT_FALSE(xm.ok());
  EXPECT_EQ(xm.error().message, "The disk 'xvdb' has the path '/images/a,b.img', whose comma the xm disk syntax cannot express.");
}
