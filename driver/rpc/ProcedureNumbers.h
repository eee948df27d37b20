// The REMOTE_PROGRAM and KEEPALIVE_PROGRAM procedure numbers xvirtd knows, in our own names.
// Numbers are facts of libvirt's wire protocol (libvirt 9.0.0); see docs/rpc.md.
#pragma once

#include <cstdint>

namespace xvirt::rpc::proc {

inline constexpr int32_t kConnectOpen = 1;
inline constexpr int32_t kConnectClose = 2;
inline constexpr int32_t kConnectGetType = 3;
inline constexpr int32_t kConnectGetVersion = 4;
inline constexpr int32_t kConnectGetMaxVcpus = 5;
inline constexpr int32_t kNodeGetInfo = 6;
inline constexpr int32_t kConnectGetCapabilities = 7;
inline constexpr int32_t kDomainLookupById = 22;
inline constexpr int32_t kDomainLookupByName = 23;
inline constexpr int32_t kDomainLookupByUuid = 24;
inline constexpr int32_t kConnectSupportsFeature = 60;
inline constexpr int32_t kConnectGetHostname = 59;
inline constexpr int32_t kAuthList = 66;
inline constexpr int32_t kNodeGetFreeMemory = 102;
inline constexpr int32_t kDomainEventLifecycle = 107;  // legacy event message, not sent
inline constexpr int32_t kConnectGetUri = 110;
inline constexpr int32_t kNodeGetSecurityModel = 122;
inline constexpr int32_t kConnectIsSecure = 149;
inline constexpr int32_t kConnectGetLibVersion = 157;
inline constexpr int32_t kDomainOpenConsole = 201;
inline constexpr int32_t kConnectListAllDomains = 273;
inline constexpr int32_t kNodeGetCpuMap = 293;
inline constexpr int32_t kConnectDomainEventCallbackRegisterAny = 316;
inline constexpr int32_t kConnectDomainEventCallbackDeregisterAny = 317;
inline constexpr int32_t kDomainEventCallbackLifecycle = 318;
inline constexpr int32_t kDomainEventCallbackBalloonChange = 331;
inline constexpr int32_t kDomainEventCallbackDeviceRemoved = 333;
inline constexpr int32_t kDomainEventCallbackDeviceAdded = 354;
inline constexpr int32_t kConnectGetDomainCapabilities = 342;
inline constexpr int32_t kConnectRegisterCloseCallback = 360;
inline constexpr int32_t kConnectUnregisterCloseCallback = 361;

// KEEPALIVE_PROGRAM
inline constexpr int32_t kKeepalivePing = 1;
inline constexpr int32_t kKeepalivePong = 2;

}  // namespace xvirt::rpc::proc

namespace xvirt::rpc::feature {
// virDrvFeature numbers clients probe with CONNECT_SUPPORTS_FEATURE.
inline constexpr int32_t kTypedParamString = 9;
inline constexpr int32_t kProgramKeepalive = 10;
inline constexpr int32_t kRemoteEventCallback = 14;
inline constexpr int32_t kRemoteCloseCallback = 15;
}  // namespace xvirt::rpc::feature
