// The device specs inside xl/xm config lists (disk, vif, vfb, serial, device_models), each parsed
// into its DomainDef part and formatted back. Errors are whole sentences naming the config line.
#pragma once

#include <string>
#include <string_view>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"
#include "domain-xml/XlConfig.h"

namespace xvirt::dom {

// xl's disk syntax (xl-disk-configuration(5)): positional and key=value forms, deprecated
// prefixes (phy:, file:, tap:aio:, qcow2:, ioemu:), vdev:cdrom suffixes and empty cdroms.
Result<DiskDef> parseXlDisk(std::string_view spec, int line);
// xl: the key=value form; xm: the positional form with a prefix, which cannot carry a path with
// a comma in it (an error then).
Result<std::string> formatXlDisk(const DiskDef& disk, NativeFormat format);

Result<InterfaceDef> parseXlVif(std::string_view spec, int line);
std::string formatXlVif(const InterfaceDef& nic, NativeFormat format, bool hvm);

Result<GraphicsDef> parseXlVfb(std::string_view spec, int line);
// ConfigUnsupported when a value holds a comma, which the vfb spec uses between its parameters.
Result<std::string> formatXlVfb(const GraphicsDef& gfx);

// serial = 'pty' | 'file:/path' | 'null' | 'stdio' | 'tcp:host:port[,server][,nowait]' | 'telnet:...'.
// Returns false in `present` for 'none'.
Result<ChardevDef> parseXlSerial(std::string_view spec, int line, bool* present);
std::string formatXlSerial(const ChardevDef& chr);

// xvirt's device_models = [ 'name=qnet,vifs=nic1', 'name=qall,ui,ide' ].
Result<DeviceModelDef> parseXlDeviceModel(std::string_view spec, int line);
std::string formatXlDeviceModel(const DeviceModelDef& dm);

// Shared by the spec parsers: "Line N of the config <what>."
Error xlLineError(int line, const std::string& what);
bool isValidMac(std::string_view mac);

}  // namespace xvirt::dom
