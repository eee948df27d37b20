#include "hypervisor/XenStoreCleanup.h"

#include <string>

namespace xvirt::hv {

Status removeDomainTree(XenStore& xs, uint32_t domid, const Uuid& uuid) {
  const std::string id = std::to_string(domid);
  for (const char* type : {"vbd", "qdisk", "vif", "console", "vfb", "vkb"})
    XVIRT_TRY(xs.rm("/local/domain/0/backend/" + std::string(type) + "/" + id));
  // QEMU (an HVM guest's device model, a PV guest's qdisk backend) reports its state here.
  XVIRT_TRY(xs.rm("/local/domain/0/device-model/" + id));
  XVIRT_TRY(xs.rm("/local/domain/" + id));
  if (uuid == Uuid{}) return okStatus();
  return xs.rm("/vm/" + uuid.str());
}

}  // namespace xvirt::hv
