// SimProtocol: what xvirt-simxen and its client SimHypervisor share — the hypercall socket's line
// framing and error encoding, the JSON shapes of domain and vCPU info, the console ring layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/Json.h"
#include "common/Result.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::hv::sim {

constexpr size_t kMaxLineBytes = 1u << 20;   // a request or reply longer than this closes the connection
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPvKernelOffset = 0x100000;    // where the client puts a PV kernel
constexpr uint64_t kHvmFirmwareOffset = 0x100000; // hvmloader, as libxenguest places it
constexpr uint64_t kHvmKernelOffset = 0x200000;   // HVM/PVH direct-boot kernel
constexpr uint32_t kStoreEvtchn = 1;
constexpr uint32_t kConsoleEvtchn = 2;
constexpr uint32_t kMaxDomid = 32751;        // DOMID_FIRST_RESERVED - 1

// Paths inside a simulated host's runtime directory (docs/sim.md, "Runtime directory").
std::string hypercallSocketPath(const std::string& dir);
std::string xenstoreSocketPath(const std::string& dir);
std::string ramFilePath(const std::string& dir, DomId domid);

// Xen's struct xencons_interface (public/io/console.h), placed at the start of the console page.
struct XenconsInterface {
  char in[1024];
  char out[2048];
  uint32_t inCons, inProd;
  uint32_t outCons, outProd;
};
static_assert(sizeof(XenconsInterface) == 3088);

// 64-bit FNV-1a: the checksum of loaded images and of save streams (fast enough, no dependency).
uint64_t checksum(const void* data, size_t len, uint64_t seed = 0xcbf29ce484222325ull);
std::string hex64(uint64_t v);

// Replies: {"ok": VALUE} or {"error": {"code": "no-domain", "message": "..."}}; codes are
// errorCodeName() names.
Json okReply(Json value);
Json errorReply(const Error& error);
Result<Json> decodeReply(const Json& reply);
std::optional<ErrorCode> errorCodeFromName(std::string_view name);

const char* kindName(DomainKind kind);
std::optional<DomainKind> kindFromName(std::string_view name);

Json domainInfoToJson(const DomainInfo& d);
Result<DomainInfo> domainInfoFromJson(const Json& j);
Json vcpuInfoToJson(const VcpuInfo& v);
Result<VcpuInfo> vcpuInfoFromJson(const Json& j);
Json physInfoToJson(const PhysInfo& p);
Result<PhysInfo> physInfoFromJson(const Json& j);
Json buildResultToJson(const BuildResult& b);
Result<BuildResult> buildResultFromJson(const Json& j);
Json cpuMapToJson(const CpuMap& map);  // the list of set CPUs: [0, 2, 3]
Result<CpuMap> cpuMapFromJson(const Json& j, unsigned nrCpus);

// Typed member access for requests: a clear InvalidArgument when a member is absent or mistyped.
Result<int64_t> requireInt(const Json& obj, std::string_view key, int64_t min, int64_t max);
Result<std::string> requireString(const Json& obj, std::string_view key);

}  // namespace xvirt::hv::sim
