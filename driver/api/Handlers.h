// The handlers of the procedure table (RemoteDispatch.cc), one per REMOTE_PROC_<NAME>, named
// <name> in camel case (DOMAIN_GET_INFO -> domainGetInfo), one file per libvirt API family. Each
// decodes its args as remote_protocol.x lays them out, applies libvirt's rules (LibvirtRules.h),
// calls the DomainManager for domain state, and encodes the ret struct.
#pragma once

#include "driver/RemoteDispatch.h"

namespace xvirt::driver::api {

// Connect.cc (connection and host)
Status connectOpen(Call&);
Status connectClose(Call&);
Status connectGetType(Call&);
Status connectGetVersion(Call&);
Status connectGetMaxVcpus(Call&);
Status nodeGetInfo(Call&);
Status connectGetCapabilities(Call&);
Status connectGetHostname(Call&);
Status connectSupportsFeature(Call&);
Status authList(Call&);
Status nodeGetFreeMemory(Call&);
Status connectGetUri(Call&);
Status nodeGetSecurityModel(Call&);
Status connectIsSecure(Call&);
Status connectGetLibVersion(Call&);
Status nodeGetCpuMap(Call&);
Status connectGetDomainCapabilities(Call&);
Status connectRegisterCloseCallback(Call&);
Status connectUnregisterCloseCallback(Call&);

// Listing.cc (listings and lookups)
Status connectListDefinedDomains(Call&);
Status domainLookupById(Call&);
Status domainLookupByName(Call&);
Status domainLookupByUuid(Call&);
Status connectNumOfDefinedDomains(Call&);
Status connectListDomains(Call&);
Status connectNumOfDomains(Call&);
Status connectListAllDomains(Call&);

// DomainLifecycle.cc (define, undefine, start, stop, suspend, autostart)
Status domainCreate(Call&);
Status domainCreateXml(Call&);
Status domainDefineXml(Call&);
Status domainDestroy(Call&);
Status domainReboot(Call&);
Status domainResume(Call&);
Status domainSetAutostart(Call&);
Status domainShutdown(Call&);
Status domainSuspend(Call&);
Status domainUndefine(Call&);
Status domainCreateWithFlags(Call&);
Status domainUndefineFlags(Call&);
Status domainDestroyFlags(Call&);
Status domainShutdownFlags(Call&);
Status domainDefineXmlFlags(Call&);

// DomainInfo.cc (state, information, XML, hostname)
Status domainGetXmlDesc(Call&);
Status domainGetAutostart(Call&);
Status domainGetInfo(Call&);
Status domainGetMaxMemory(Call&);
Status domainGetOsType(Call&);
Status domainIsActive(Call&);
Status domainIsPersistent(Call&);
Status domainIsUpdated(Call&);
Status domainGetState(Call&);
Status domainGetHostname(Call&);

// Tuning.cc (vCPUs, pinning, memory)
Status domainGetMaxVcpus(Call&);
Status domainGetVcpus(Call&);
Status domainPinVcpu(Call&);
Status domainSetMaxMemory(Call&);
Status domainSetMemory(Call&);
Status domainSetVcpus(Call&);
Status domainSetVcpusFlags(Call&);
Status domainGetVcpusFlags(Call&);
Status domainSetMemoryFlags(Call&);
Status domainPinVcpuFlags(Call&);
Status domainGetVcpuPinInfo(Call&);

// Stats.cc (statistics)
Status domainMemoryStats(Call&);
Status domainGetCpuStats(Call&);
Status connectGetAllDomainStats(Call&);

// Hotplug.cc (attach, detach, update devices)
Status domainAttachDevice(Call&);
Status domainDetachDevice(Call&);
Status domainAttachDeviceFlags(Call&);
Status domainDetachDeviceFlags(Call&);
Status domainUpdateDeviceFlags(Call&);

// Save.cc (save, restore, managed save, save images)
Status domainRestore(Call&);
Status domainSave(Call&);
Status domainManagedSave(Call&);
Status domainHasManagedSaveImage(Call&);
Status domainManagedSaveRemove(Call&);
Status domainSaveFlags(Call&);
Status domainRestoreFlags(Call&);
Status domainSaveImageGetXmlDesc(Call&);
Status domainSaveImageDefineXml(Call&);

// Console.cc
Status domainOpenConsole(Call&);

// NativeFormat.cc (xl and xm configs)
Status connectDomainXmlFromNative(Call&);
Status connectDomainXmlToNative(Call&);

// Events.cc (domain event registrations)
Status connectDomainEventCallbackRegisterAny(Call&);
Status connectDomainEventCallbackDeregisterAny(Call&);

}  // namespace xvirt::driver::api
