// GuestConfig JSON: the round trip and the errors the helper reports for a bad document.
#include <gtest/gtest.h>

#include "common/GuestConfig.h"
#include "domain-xml/GuestConfigBuilder.h"

using namespace xvirt;

namespace {

std::string fromJsonError(const char* text) {
  auto json = Json::parse(text);
  EXPECT_TRUE(json.ok()) << text;
  if (!json.ok()) return "";
  auto r = GuestConfig::fromJson(*json);
  EXPECT_FALSE(r.ok()) << "accepted " << text;
  return r.ok() ? "" : r.error().message;
}

}  // namespace

TEST(GuestConfig, MinimalDocumentGetsDefaults) {
  auto json = Json::parse(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": 262144})");
  ASSERT_TRUE(json.ok());
  auto g = GuestConfig::fromJson(*json);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->maxMemoryKib, 262144u);
  EXPECT_EQ(g->maxVcpus, 1u);
  EXPECT_TRUE(g->features.hap);
  auto again = GuestConfig::fromJson(g->toJson());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->toJson().dump(), g->toJson().dump());
}

TEST(GuestConfig, ErrorsNameTheMember) {
  EXPECT_EQ(fromJsonError("[]"), "The GuestConfig member 'the document' must be an object.");
  EXPECT_EQ(fromJsonError(R"({"name": "a"})"), "The GuestConfig lacks the required member 'version'.");
  EXPECT_EQ(fromJsonError(R"({"version": 2, "name": "a"})"),
            "The GuestConfig has version 2, and this helper reads version 1.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "kvm", "memoryKib": 1})"),
            "The GuestConfig member 'kind' is 'kvm', which is not one of pv, hvm, pvh.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": "1"})"),
            "The GuestConfig member 'memoryKib' must be a non-negative integer up to 4503599627370496.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": 1, "colour": 1})"),
            "The GuestConfig has an unknown member 'colour'.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": 1,
      "disks": [{"vdev": "xvda", "vdevNumber": 51712, "backend": "phy"}, {"vdev": "xvdb", "vdevNumber": "x"}]})"),
            "The GuestConfig member 'disks[1].vdevNumber' must be a non-negative integer up to 536870911.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": 1,
      "nics": [{"devid": 0, "mac": "00:16:3e:00:00:01", "speed": 1}]})"),
            "The GuestConfig has an unknown member 'nics[0].speed'.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": 1, "features": {"pae": 1}})"),
            "The GuestConfig member 'features.pae' must be true or false.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": 1, "maxVcpus": 2, "onlineVcpus": 3})"),
            "The GuestConfig members 'onlineVcpus' and 'maxVcpus' must satisfy 1 <= onlineVcpus <= maxVcpus.");
  EXPECT_EQ(fromJsonError(R"({"version": 1, "name": "a", "kind": "pv", "memoryKib": 1, "affinity": [[0, 5000]]})"),
            "The GuestConfig member 'affinity[0]' must hold CPU numbers from 0 to 4095.");
}

TEST(GuestConfigBuilder, GeneratedMacsAreStableAndXenOui) {
  Uuid u = *Uuid::parse("c7a5fdbd-cdaf-9455-926a-d65c16db1809");
  std::string a = dom::generateMac(u, 0);
  EXPECT_EQ(a, dom::generateMac(u, 0));
  EXPECT_NE(a, dom::generateMac(u, 1));
  EXPECT_EQ(a.substr(0, 9), "00:16:3e:");
  EXPECT_LT(std::stoi(a.substr(9, 2), nullptr, 16), 0x80);
}

TEST(GuestConfigBuilder, FillsInWhatTheDefinitionLeavesOpen) {
  dom::DomainDef def;
  def.name = "open";
  def.uuid = *Uuid::parse("c7a5fdbd-cdaf-9455-926a-d65c16db1809");
  def.memoryKib = 262144;
  def.vcpu.max = 2;
  def.vcpu.cpuset = "0-1";
  def.vcpupins.push_back({1, "3"});
  def.interfaces.resize(2);
  def.interfaces[1].mac = dom::generateMac(def.uuid, 0);  // taken: the first NIC must get another
  dom::DiskDef disk;
  disk.source = "/dev/vg/open";
  disk.type = "block";
  disk.targetDev = "xvda";
  def.disks.push_back(disk);
  auto g = dom::buildGuestConfig(def);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->bootloader, dom::kFallbackBootloader);  // PV without kernel or bootloader
  ASSERT_EQ(g->nics.size(), 2u);
  EXPECT_NE(g->nics[0].mac, g->nics[1].mac);
  EXPECT_EQ(g->nics[0].mac.substr(0, 9), "00:16:3e:");
  EXPECT_EQ(g->nics[0].model, "netfront");
  EXPECT_EQ(g->affinity, (std::vector<std::vector<unsigned>>{{0, 1}, {3}}));
  ASSERT_EQ(g->disks.size(), 1u);
  EXPECT_EQ(g->disks[0].backend, "phy");
  EXPECT_EQ(g->disks[0].vdevNumber, 51712u);
  ASSERT_EQ(g->chardevs.size(), 1u);  // the PV console is always there
  EXPECT_EQ(g->chardevs[0].kind, "console");

  def.vcpupins.push_back({5, "1"});
  auto bad = dom::buildGuestConfig(def);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "The guest 'open' pins vCPU 5, but has only 2 vCPUs.");
}

TEST(GuestConfigBuilder, ABlockScriptImpliesPhyAndRefusesQdisk) {
  dom::DomainDef def;
  def.name = "drbd";
  def.uuid = *Uuid::parse("c7a5fdbd-cdaf-9455-926a-d65c16db1809");
  dom::DiskDef disk;
  disk.type = "file";
  disk.source = "resource0";  // the script's to interpret, as with xl's script=block-drbd
  disk.targetDev = "xvda";
  disk.script = "block-drbd";
  auto d = dom::buildGuestDisk(def, disk);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->backend, "phy");
  EXPECT_EQ(d->script, "block-drbd");

  disk.driverName = "qemu";
  auto bad = dom::buildGuestDisk(def, disk);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("with a block script on the qdisk backend"), std::string::npos)
      << bad.error().message;
}
