// Guest::restore: a domain from a verified save image — created and sized from the GuestConfig,
// filled from the image's memory record by the hypervisor backend, its vCPU pinning applied, then
// published like a freshly built one (xenstore tree, devices with a fresh handshake, console).
#include <unistd.h>

#include "common/Clock.h"
#include "common/Log.h"
#include "common/SaveImage.h"
#include "helper/Guest.h"
#include "helper/save/GuestSave.h"

namespace xvirt::helper {

Status Guest::restore(int imageFd, const saveimg::SaveImageInfo& image, bool configReplaced) {
  Status s = restoreDomain(imageFd, image, configReplaced);
  if (!s.ok()) {
    Error err = s.takeError();
    destroy();
    return err;
  }
  return okStatus();
}

Status Guest::restoreDomain(int imageFd, const saveimg::SaveImageInfo& image, bool configReplaced) {
  std::string backend = image.runState.getString("backend");
  if (backend != hv_.backendName())
    return makeError(ErrorCode::OperationInvalid, "The save image of guest '" + config_.name + "' was written on the '" +
                                                      backend + "' hypervisor backend; this helper runs on '" +
                                                      hv_.backendName() + "'.");
  const uint64_t t0 = SystemClock::instance().monotonicNs();
  XVIRT_TRY(createShell());
  hv::DomId domid = static_cast<hv::DomId>(domid_);
  if (::lseek(imageFd, static_cast<off_t>(image.memoryOffset), SEEK_SET) < 0)
    return Error::system("Cannot seek to the memory record of the save image", errno);
  XVIRT_ASSIGN_OR_RETURN(build_, hv_.restoreDomain(domid, imageFd, builtRamKib()));

  // Pinning as it was at save time (the image's vCPU record); the config's when it was replaced.
  if (configReplaced || !image.vcpus.isArray()) {
    XVIRT_TRY(applyAffinity());
  } else {
    for (const Json& v : image.vcpus.asArray()) {
      std::string aff = v.getString("affinity");
      unsigned vcpu = static_cast<unsigned>(v.getInt("vcpu"));
      if (aff.empty() || vcpu >= config_.maxVcpus) continue;
      auto map = hv::parseCpuSet(aff, hostCpus_);
      if (!map.ok())
        return makeError(ErrorCode::ConfigUnsupported, "vCPU " + std::to_string(vcpu) + " of guest '" + config_.name +
                                                           "' was pinned to host CPUs " + aff + ", which this host (" +
                                                           std::to_string(hostCpus_) + " CPUs) does not have.");
      XVIRT_TRY(hv_.setVcpuAffinity(domid, vcpu, *map));
    }
  }
  if (!configReplaced && image.xenstore.isObject()) {
    Json devices = image.xenstore;
    deviceWriter_ = [this, devices] {
      return writeSavedDevices(xs_, static_cast<uint32_t>(domid_), devices, [this](VbdDevice& v) { return prepareVbd(v); });
    };
  }
  Status published = publish();
  // Only this build takes the image's devices: a later rebuild (system_reset) takes the config's,
  // which hotplug keeps current (it lost a disk plugged after the restore, seen on real Xen).
  deviceWriter_ = nullptr;
  XVIRT_TRY(published);
  logInfo("Restored guest '" + config_.name + "' as domain " + std::to_string(domid_) + " in " +
          std::to_string((SystemClock::instance().monotonicNs() - t0) / 1000000) + " ms.");
  return okStatus();
}

}  // namespace xvirt::helper
