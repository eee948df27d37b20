// parseDeviceXml: reuses the domain parser's <disk>/<interface> rules on a lone element.
#include "domain-xml/DeviceXml.h"

#include "domain-xml/DomainXmlNode.h"
#include "domain-xml/DomainXmlParser.h"

namespace xvirt::dom {

Result<DomainDef> DomainXmlParser::parseDevice(xmlNode* node) {
  const std::string name = nodeName(node);
  if (node->ns) return unknownElement(node, "devices");
  if (name == "disk") XVIRT_TRY(parseDisk(node));
  else if (name == "interface") XVIRT_TRY(parseInterface(node));
  else
    return unsupportedError("The device " + describe(node) +
                            " cannot be attached, detached or updated; xvirt does that for <disk> and <interface>.");
  return std::move(def_);
}

Result<DeviceDef> parseDeviceXml(std::string_view xml) {
  XVIRT_ASSIGN_OR_RETURN(XmlDocPtr doc, readXmlDocument(xml, "The device XML"));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root) return xmlError("The device XML has no element.");
  DomainXmlParser parser(0);
  XVIRT_ASSIGN_OR_RETURN(DomainDef def, parser.parseDevice(root));
  DeviceDef dev;
  if (!def.disks.empty()) {
    dev.kind = DeviceDef::Kind::Disk;
    dev.disk = std::move(def.disks.front());
  } else {
    dev.kind = DeviceDef::Kind::Interface;
    dev.nic = std::move(def.interfaces.front());
    for (xmlNode* c : elementChildren(root))
      if (nodeName(c) == "mac") dev.macGiven = true;
  }
  return dev;
}

}  // namespace xvirt::dom
