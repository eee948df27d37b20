// Every REMOTE_PROGRAM call xvirtd serves, one row per libvirt API, sorted by number: this list is
// the only place a procedure is named. Each row gives libvirt 9.0's number (remote_protocol.x), its
// REMOTE_PROC name, its handler in driver/api/ and its dispatch flags (RemoteDispatch.h, procflag).
#pragma once

#include <cstdint>

// A new API is one row here and its handler in the family's file in driver/api/ (docs/rpc.md, "The
// path of one API"). From each row come the constant rpc::proc::REMOTE_PROC_<NAME>, the handler's
// declaration (driver/api/Handlers.h) and the procedure table's row (driver/RemoteDispatch.cc), which
// checks at compile time that the rows stay sorted. The handler of REMOTE_PROC_<NAME> is <name> in
// camel case (XML -> Xml, UUID -> Uuid), so one case-insensitive grep finds the row and the handler.
// clang-format off
#define XVIRT_REMOTE_PROCEDURES(P) \
  P(  1, CONNECT_OPEN, connectOpen, kPreOpen | kInline) \
  P(  2, CONNECT_CLOSE, connectClose, kNoArgs | kInline) \
  P(  3, CONNECT_GET_TYPE, connectGetType, kNoArgs | kInline) \
  P(  4, CONNECT_GET_VERSION, connectGetVersion, kNoArgs | kInline) \
  P(  5, CONNECT_GET_MAX_VCPUS, connectGetMaxVcpus, kInline) \
  P(  6, NODE_GET_INFO, nodeGetInfo, kNoArgs | kInline) \
  P(  7, CONNECT_GET_CAPABILITIES, connectGetCapabilities, kNoArgs) \
  P(  8, DOMAIN_ATTACH_DEVICE, domainAttachDevice, kMutating) \
  P(  9, DOMAIN_CREATE, domainCreate, kMutating) \
  P( 10, DOMAIN_CREATE_XML, domainCreateXml, kMutating) \
  P( 11, DOMAIN_DEFINE_XML, domainDefineXml, kMutating) \
  P( 12, DOMAIN_DESTROY, domainDestroy, kMutating) \
  P( 13, DOMAIN_DETACH_DEVICE, domainDetachDevice, kMutating) \
  P( 14, DOMAIN_GET_XML_DESC, domainGetXmlDesc, kQuery) \
  P( 15, DOMAIN_GET_AUTOSTART, domainGetAutostart, kInline) \
  P( 16, DOMAIN_GET_INFO, domainGetInfo, kInline) \
  P( 17, DOMAIN_GET_MAX_MEMORY, domainGetMaxMemory, kInline) \
  P( 18, DOMAIN_GET_MAX_VCPUS, domainGetMaxVcpus, kQuery) \
  P( 19, DOMAIN_GET_OS_TYPE, domainGetOsType, kInline) \
  P( 20, DOMAIN_GET_VCPUS, domainGetVcpus, kQuery) \
  P( 21, CONNECT_LIST_DEFINED_DOMAINS, connectListDefinedDomains, kInline) \
  P( 22, DOMAIN_LOOKUP_BY_ID, domainLookupById, kInline) \
  P( 23, DOMAIN_LOOKUP_BY_NAME, domainLookupByName, kInline) \
  P( 24, DOMAIN_LOOKUP_BY_UUID, domainLookupByUuid, kInline) \
  P( 25, CONNECT_NUM_OF_DEFINED_DOMAINS, connectNumOfDefinedDomains, kNoArgs | kInline) \
  P( 26, DOMAIN_PIN_VCPU, domainPinVcpu, kMutating) \
  P( 27, DOMAIN_REBOOT, domainReboot, kMutating) \
  P( 28, DOMAIN_RESUME, domainResume, kMutating) \
  P( 29, DOMAIN_SET_AUTOSTART, domainSetAutostart, kMutating) \
  P( 30, DOMAIN_SET_MAX_MEMORY, domainSetMaxMemory, kMutating) \
  P( 31, DOMAIN_SET_MEMORY, domainSetMemory, kMutating) \
  P( 32, DOMAIN_SET_VCPUS, domainSetVcpus, kMutating) \
  P( 33, DOMAIN_SHUTDOWN, domainShutdown, kMutating) \
  P( 34, DOMAIN_SUSPEND, domainSuspend, kMutating) \
  P( 35, DOMAIN_UNDEFINE, domainUndefine, kMutating) \
  P( 37, CONNECT_LIST_DOMAINS, connectListDomains, kInline) \
  P( 51, CONNECT_NUM_OF_DOMAINS, connectNumOfDomains, kNoArgs | kInline) \
  P( 54, DOMAIN_RESTORE, domainRestore, kMutating) \
  P( 55, DOMAIN_SAVE, domainSave, kMutating) \
  P( 59, CONNECT_GET_HOSTNAME, connectGetHostname, kNoArgs | kInline) \
  P( 60, CONNECT_SUPPORTS_FEATURE, connectSupportsFeature, kPreOpen | kInline) \
  P( 66, AUTH_LIST, authList, kPreOpen | kNoArgs | kInline) \
  P(101, NODE_GET_CELLS_FREE_MEMORY, nodeGetCellsFreeMemory, kQuery) \
  P(102, NODE_GET_FREE_MEMORY, nodeGetFreeMemory, kNoArgs | kInline) \
  P(105, CONNECT_DOMAIN_EVENT_REGISTER, connectDomainEventRegister, kNoArgs | kInline) \
  P(106, CONNECT_DOMAIN_EVENT_DEREGISTER, connectDomainEventDeregister, kNoArgs | kInline) \
  P(110, CONNECT_GET_URI, connectGetUri, kNoArgs | kInline) \
  P(122, NODE_GET_SECURITY_MODEL, nodeGetSecurityModel, kNoArgs) \
  /* libvirt denies it read-only: */ \
  P(135, CONNECT_DOMAIN_XML_FROM_NATIVE, connectDomainXmlFromNative, kMutating) \
  P(136, CONNECT_DOMAIN_XML_TO_NATIVE, connectDomainXmlToNative, kMutating) \
  P(149, CONNECT_IS_SECURE, connectIsSecure, kNoArgs | kInline) \
  P(150, DOMAIN_IS_ACTIVE, domainIsActive, kInline) \
  P(151, DOMAIN_IS_PERSISTENT, domainIsPersistent, kInline) \
  P(157, CONNECT_GET_LIB_VERSION, connectGetLibVersion, kNoArgs | kInline) \
  P(159, DOMAIN_MEMORY_STATS, domainMemoryStats, kQuery) \
  P(160, DOMAIN_ATTACH_DEVICE_FLAGS, domainAttachDeviceFlags, kMutating) \
  P(161, DOMAIN_DETACH_DEVICE_FLAGS, domainDetachDeviceFlags, kMutating) \
  P(167, CONNECT_DOMAIN_EVENT_REGISTER_ANY, connectDomainEventRegisterAny, kInline) \
  P(168, CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, connectDomainEventDeregisterAny, kInline) \
  P(174, DOMAIN_UPDATE_DEVICE_FLAGS, domainUpdateDeviceFlags, kMutating) \
  P(182, DOMAIN_MANAGED_SAVE, domainManagedSave, kMutating) \
  P(183, DOMAIN_HAS_MANAGED_SAVE_IMAGE, domainHasManagedSaveImage, kQuery) \
  P(184, DOMAIN_MANAGED_SAVE_REMOVE, domainManagedSaveRemove, kMutating) \
  P(194, DOMAIN_GET_BLOCK_INFO, domainGetBlockInfo, kQuery) \
  P(196, DOMAIN_CREATE_WITH_FLAGS, domainCreateWithFlags, kMutating) \
  P(199, DOMAIN_SET_VCPUS_FLAGS, domainSetVcpusFlags, kMutating) \
  P(200, DOMAIN_GET_VCPUS_FLAGS, domainGetVcpusFlags, kQuery) \
  P(201, DOMAIN_OPEN_CONSOLE, domainOpenConsole, kMutating) \
  P(202, DOMAIN_IS_UPDATED, domainIsUpdated, kInline) \
  P(203, CONNECT_GET_SYSINFO, connectGetSysinfo, kQuery) \
  P(204, DOMAIN_SET_MEMORY_FLAGS, domainSetMemoryFlags, kMutating) \
  P(212, DOMAIN_GET_STATE, domainGetState, kInline) \
  P(225, DOMAIN_PIN_VCPU_FLAGS, domainPinVcpuFlags, kMutating) \
  P(227, NODE_GET_CPU_STATS, nodeGetCpuStats, kQuery) \
  P(228, NODE_GET_MEMORY_STATS, nodeGetMemoryStats, kQuery) \
  P(230, DOMAIN_GET_VCPU_PIN_INFO, domainGetVcpuPinInfo, kQuery) \
  P(231, DOMAIN_UNDEFINE_FLAGS, domainUndefineFlags, kMutating) \
  P(232, DOMAIN_SAVE_FLAGS, domainSaveFlags, kMutating) \
  P(233, DOMAIN_RESTORE_FLAGS, domainRestoreFlags, kMutating) \
  P(234, DOMAIN_DESTROY_FLAGS, domainDestroyFlags, kMutating) \
  /* libvirt denies it read-only: */ \
  P(235, DOMAIN_SAVE_IMAGE_GET_XML_DESC, domainSaveImageGetXmlDesc, kMutating) \
  P(236, DOMAIN_SAVE_IMAGE_DEFINE_XML, domainSaveImageDefineXml, kMutating) \
  P(245, DOMAIN_RESET, domainReset, kMutating) \
  P(258, DOMAIN_SHUTDOWN_FLAGS, domainShutdownFlags, kMutating) \
  P(262, DOMAIN_GET_CPU_STATS, domainGetCpuStats, kQuery) \
  P(264, DOMAIN_SET_METADATA, domainSetMetadata, kMutating) \
  P(265, DOMAIN_GET_METADATA, domainGetMetadata, kQuery) \
  P(273, CONNECT_LIST_ALL_DOMAINS, connectListAllDomains, kInline) \
  /* libvirt denies it read-only (a guest agent call may change the guest): */ \
  P(277, DOMAIN_GET_HOSTNAME, domainGetHostname, kMutating) \
  P(293, NODE_GET_CPU_MAP, nodeGetCpuMap, kQuery) \
  P(316, CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, connectDomainEventCallbackRegisterAny, kInline) \
  P(317, CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, connectDomainEventCallbackDeregisterAny, kInline) \
  P(342, CONNECT_GET_DOMAIN_CAPABILITIES, connectGetDomainCapabilities, kQuery) \
  P(344, CONNECT_GET_ALL_DOMAIN_STATS, connectGetAllDomainStats, kQuery) \
  P(350, DOMAIN_DEFINE_XML_FLAGS, domainDefineXmlFlags, kMutating) \
  P(358, DOMAIN_RENAME, domainRename, kMutating) \
  P(360, CONNECT_REGISTER_CLOSE_CALLBACK, connectRegisterCloseCallback, kNoArgs | kInline) \
  P(361, CONNECT_UNREGISTER_CLOSE_CALLBACK, connectUnregisterCloseCallback, kNoArgs | kInline) \
  /* end of the list */
// clang-format on

namespace xvirt::rpc::proc {

#define XVIRT_PROCEDURE_NUMBER(number, NAME, handler, flags) inline constexpr int32_t REMOTE_PROC_##NAME = number;
XVIRT_REMOTE_PROCEDURES(XVIRT_PROCEDURE_NUMBER)
#undef XVIRT_PROCEDURE_NUMBER

}  // namespace xvirt::rpc::proc
