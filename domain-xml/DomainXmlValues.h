// Value syntax of libvirt domain XML shared by the parser, the formatter and the xl/xm converters:
// scaled memory units, MAC addresses, cpusets, disk target names and domain names, checked the libvirt way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

// on_poweroff / on_reboot / on_crash actions, spelled the same in libvirt XML, xl.cfg and GuestConfig.
const char* lifecycleActionName(LifecycleAction action);
std::optional<LifecycleAction> lifecycleActionFromName(std::string_view name);

// A memory size with a libvirt unit (b, bytes, k, KiB, KB, M, MiB, MB, G, GiB, GB, T, TiB, TB, P..., E...;
// case-insensitive, "KB" = 1000, "K"/"KiB" = 1024; empty means KiB) in KiB, rounded up.
// `what` names the element in the error, e.g. "<memory>".
Result<uint64_t> parseScaledKib(std::string_view value, std::string_view unit, std::string_view what);

// MAC address "aa:bb:cc:dd:ee:ff" (one or two hex digits per octet); returns the canonical lowercase
// form. Multicast and all-zero addresses are rejected: a NIC cannot use them.
Result<std::string> parseMac(std::string_view text);
std::string generateXenMac();  // 00:16:3e:xx:xx:xx, Xen's OUI, random

// cpuset "0-3,^2,8": returns the CPUs in ascending order (at most kMaxCpus); empty sets are errors.
inline constexpr unsigned kMaxCpus = 4096;
Result<std::vector<unsigned>> parseCpuset(std::string_view text, std::string_view what);
std::string formatCpuset(const std::vector<unsigned>& cpus);  // "0-1,3" like libvirt's virBitmapFormat
// Both steps at once: the canonical spelling of a cpuset.
Result<std::string> canonicalCpuset(std::string_view text, std::string_view what);

// Disk target names Xen accepts: xvd<letters>[N], hd[a-d][N], sd[a-p][N].
bool isValidDiskTarget(std::string_view dev);
// The bus a target name implies: "xen", "ide" or "scsi".
std::string busForDiskTarget(std::string_view dev);

// Names the toolstack gives a running domain's interfaces (vif7.0, and vif7.0-emu for the emulated
// twin of an HVM NIC): live-only data, dropped from inactive XML.
bool isLiveVifName(std::string_view name);

// Domain names: 1-250 of [A-Za-z0-9._+-], not starting with '.' or '-' (names become file names).
Status checkDomainName(std::string_view name);

// XML escaping as libvirt's virBufferEscapeString does: & < > ' " escaped, other control characters
// dropped; in attributes newlines and tabs become character references so they survive a re-parse.
std::string xmlEscapeText(std::string_view s);
std::string xmlEscapeAttr(std::string_view s);

}  // namespace xvirt::dom
