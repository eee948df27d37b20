// The domain XML formatter's internals, split over DomainXmlFormat.cc (the <domain> frame, os,
// features, xvirt namespace) and DomainXmlFormatDevices.cc (<devices>).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

// One element being written: attributes are appended in the order libvirt writes them.
class XmlOut {
 public:
  explicit XmlOut(std::string& out) : out_(out) {}
  // <name attrs...> opened at `level`; close with closeTag, or use emptyTag / textTag.
  void openTag(int level, std::string_view name, const std::vector<std::pair<std::string, std::string>>& attrs);
  void closeTag(int level, std::string_view name);
  void emptyTag(int level, std::string_view name, const std::vector<std::pair<std::string, std::string>>& attrs);
  void textTag(int level, std::string_view name, const std::vector<std::pair<std::string, std::string>>& attrs,
               std::string_view text);
  void raw(std::string_view s) { out_ += s; }

 private:
  void start(int level, std::string_view name, const std::vector<std::pair<std::string, std::string>>& attrs);
  std::string& out_;
};

using Attrs = std::vector<std::pair<std::string, std::string>>;

void formatDevices(XmlOut& out, const DomainDef& def, unsigned flags);

}  // namespace xvirt::dom
