// The REMOTE_PROGRAM and KEEPALIVE_PROGRAM procedure numbers xvirtd knows: libvirt 9.0.0's
// remote_protocol.x numbers, named after its REMOTE_PROC_* names; see docs/rpc.md.
#pragma once

#include <cstdint>

namespace xvirt::rpc::proc {

// REMOTE_PROC_<NAME> is k<Name> in camel case (XML -> Xml); the handler of REMOTE_PROC_<NAME> is
// api::<name> (driver/api/Handlers.h), so one case-insensitive grep finds number, row and handler.
inline constexpr int32_t kConnectOpen                             = 1;
inline constexpr int32_t kConnectClose                            = 2;
inline constexpr int32_t kConnectGetType                          = 3;
inline constexpr int32_t kConnectGetVersion                       = 4;
inline constexpr int32_t kConnectGetMaxVcpus                      = 5;
inline constexpr int32_t kNodeGetInfo                             = 6;
inline constexpr int32_t kConnectGetCapabilities                  = 7;
inline constexpr int32_t kDomainAttachDevice                      = 8;
inline constexpr int32_t kDomainCreate                            = 9;
inline constexpr int32_t kDomainCreateXml                         = 10;
inline constexpr int32_t kDomainDefineXml                         = 11;
inline constexpr int32_t kDomainDestroy                           = 12;
inline constexpr int32_t kDomainDetachDevice                      = 13;
inline constexpr int32_t kDomainGetXmlDesc                        = 14;
inline constexpr int32_t kDomainGetAutostart                      = 15;
inline constexpr int32_t kDomainGetInfo                           = 16;
inline constexpr int32_t kDomainGetMaxMemory                      = 17;
inline constexpr int32_t kDomainGetMaxVcpus                       = 18;
inline constexpr int32_t kDomainGetOsType                         = 19;
inline constexpr int32_t kDomainGetVcpus                          = 20;
inline constexpr int32_t kConnectListDefinedDomains               = 21;
inline constexpr int32_t kDomainLookupById                        = 22;
inline constexpr int32_t kDomainLookupByName                      = 23;
inline constexpr int32_t kDomainLookupByUuid                      = 24;
inline constexpr int32_t kConnectNumOfDefinedDomains              = 25;
inline constexpr int32_t kDomainPinVcpu                           = 26;
inline constexpr int32_t kDomainReboot                            = 27;
inline constexpr int32_t kDomainResume                            = 28;
inline constexpr int32_t kDomainSetAutostart                      = 29;
inline constexpr int32_t kDomainSetMaxMemory                      = 30;
inline constexpr int32_t kDomainSetMemory                         = 31;
inline constexpr int32_t kDomainSetVcpus                          = 32;
inline constexpr int32_t kDomainShutdown                          = 33;
inline constexpr int32_t kDomainSuspend                           = 34;
inline constexpr int32_t kDomainUndefine                          = 35;
inline constexpr int32_t kConnectListDomains                      = 37;
inline constexpr int32_t kConnectNumOfDomains                     = 51;
inline constexpr int32_t kDomainRestore                           = 54;
inline constexpr int32_t kDomainSave                              = 55;
inline constexpr int32_t kConnectGetHostname                      = 59;
inline constexpr int32_t kConnectSupportsFeature                  = 60;
inline constexpr int32_t kAuthList                                = 66;
inline constexpr int32_t kNodeGetFreeMemory                       = 102;
inline constexpr int32_t kDomainEventLifecycle                    = 107;
inline constexpr int32_t kConnectGetUri                           = 110;
inline constexpr int32_t kNodeGetSecurityModel                    = 122;
inline constexpr int32_t kConnectDomainXmlFromNative              = 135;
inline constexpr int32_t kConnectDomainXmlToNative                = 136;
inline constexpr int32_t kConnectIsSecure                         = 149;
inline constexpr int32_t kDomainIsActive                          = 150;
inline constexpr int32_t kDomainIsPersistent                      = 151;
inline constexpr int32_t kConnectGetLibVersion                    = 157;
inline constexpr int32_t kDomainMemoryStats                       = 159;
inline constexpr int32_t kDomainAttachDeviceFlags                 = 160;
inline constexpr int32_t kDomainDetachDeviceFlags                 = 161;
inline constexpr int32_t kDomainUpdateDeviceFlags                 = 174;
inline constexpr int32_t kDomainManagedSave                       = 182;
inline constexpr int32_t kDomainHasManagedSaveImage               = 183;
inline constexpr int32_t kDomainManagedSaveRemove                 = 184;
inline constexpr int32_t kDomainCreateWithFlags                   = 196;
inline constexpr int32_t kDomainSetVcpusFlags                     = 199;
inline constexpr int32_t kDomainGetVcpusFlags                     = 200;
inline constexpr int32_t kDomainOpenConsole                       = 201;
inline constexpr int32_t kDomainIsUpdated                         = 202;
inline constexpr int32_t kDomainSetMemoryFlags                    = 204;
inline constexpr int32_t kDomainGetState                          = 212;
inline constexpr int32_t kDomainPinVcpuFlags                      = 225;
inline constexpr int32_t kDomainGetVcpuPinInfo                    = 230;
inline constexpr int32_t kDomainUndefineFlags                     = 231;
inline constexpr int32_t kDomainSaveFlags                         = 232;
inline constexpr int32_t kDomainRestoreFlags                      = 233;
inline constexpr int32_t kDomainDestroyFlags                      = 234;
inline constexpr int32_t kDomainSaveImageGetXmlDesc               = 235;
inline constexpr int32_t kDomainSaveImageDefineXml                = 236;
inline constexpr int32_t kDomainShutdownFlags                     = 258;
inline constexpr int32_t kDomainGetCpuStats                       = 262;
inline constexpr int32_t kConnectListAllDomains                   = 273;
inline constexpr int32_t kDomainGetHostname                       = 277;
inline constexpr int32_t kNodeGetCpuMap                           = 293;
inline constexpr int32_t kConnectDomainEventCallbackRegisterAny   = 316;
inline constexpr int32_t kConnectDomainEventCallbackDeregisterAny = 317;
inline constexpr int32_t kDomainEventCallbackLifecycle            = 318;
inline constexpr int32_t kDomainEventCallbackBalloonChange        = 331;
inline constexpr int32_t kDomainEventCallbackDeviceRemoved        = 333;
inline constexpr int32_t kConnectGetDomainCapabilities            = 342;
inline constexpr int32_t kConnectGetAllDomainStats                = 344;
inline constexpr int32_t kDomainDefineXmlFlags                    = 350;
inline constexpr int32_t kDomainEventCallbackDeviceAdded          = 354;
inline constexpr int32_t kConnectRegisterCloseCallback            = 360;
inline constexpr int32_t kConnectUnregisterCloseCallback          = 361;

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
