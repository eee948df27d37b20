// The domain XML parser's internal state, split over DomainXmlParse.cc (top level, os, features,
// xvirt namespace), DomainXmlParseDevices.cc (<devices>) and DomainXmlCheck.cc (defaults, semantics).
#pragma once

#include <libxml/tree.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

// libvirt's defaults for Xen 4.17 on Debian 12, filled in the way libvirt's libxl driver does.
inline constexpr const char* kDefaultBootloader = "/usr/lib/xen-4.17/bin/pygrub";
inline constexpr const char* kDefaultHvmLoader = "/usr/lib/xen-4.17/boot/hvmloader";

Error xmlError(std::string message);          // ErrorCode::XmlError
Error unsupportedError(std::string message);  // ErrorCode::ConfigUnsupported
// The error for an element xvirt recognises from libvirt but will not ignore.
Error rejectedElement(const xmlNode* node);
// The error for an element that is not part of libvirt's domain XML at all.
Error unknownElement(const xmlNode* node, const std::string& parent);
// Parses "yes"/"no" (and "on"/"off" when `onOff`); `what` names the attribute for the error.
Result<bool> parseYesNo(const std::string& value, const std::string& what, bool onOff = false);

// Whether `name` is one of `set` (a list of element or attribute names).
inline bool contains(std::initializer_list<std::string_view> set, std::string_view name) {
  return std::find(set.begin(), set.end(), name) != set.end();
}
template <size_t N>
bool contains(const std::string_view (&set)[N], std::string_view name) {
  return std::find(std::begin(set), std::end(set), name) != std::end(set);
}

class DomainXmlParser {
 public:
  explicit DomainXmlParser(unsigned flags) : flags_(flags) {}
  Result<DomainDef> parse(xmlNode* root);
  // A lone <disk> or <interface> (DeviceXml.cc): the definition holds just that device.
  Result<DomainDef> parseDevice(xmlNode* node);

 private:
  Status parseTopLevel(xmlNode* child);
  Status parseMemory(xmlNode* node);
  Status parseVcpu(xmlNode* node);
  Status parseCputune(xmlNode* node);
  Status parseOs(xmlNode* node);
  Status parseFeatures(xmlNode* node);
  Status parseClock(xmlNode* node);
  Status parseLifecycle(xmlNode* node, LifecycleAction& out, bool crash);
  Status parseXvirt(xmlNode* node);
  Status parseDeviceModels(xmlNode* node);
  Status parseStubdomain(xmlNode* node);

  Status parseDevices(xmlNode* node);
  Status parseDisk(xmlNode* node);
  Status parseInterface(xmlNode* node);
  Status parseChardev(xmlNode* node, ChardevDef::Kind kind);
  Status parseGraphics(xmlNode* node);
  Status parseInput(xmlNode* node);
  Status parseVideo(xmlNode* node);
  Status parseMemballoon(xmlNode* node);

  Status applyDefaultsAndCheck();
  Status checkMemory();
  Status checkVcpus();
  Status checkOs();
  Status checkDevices();

  unsigned flags_;
  DomainDef def_;
  bool haveMemory_ = false, haveCurrentMemory_ = false, haveUuid_ = false;
};

}  // namespace xvirt::dom
