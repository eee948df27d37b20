// GuestSave: the helper's side of save images (docs/save-image.md) — what the monitor's `save` command
// runs (helper/HelperCommands.cc), which writes a running or paused guest to an image, and the checks `--restore FILE` makes before
// any domain exists (the restore itself is Guest::restore, helper/save/GuestRestore.cc).
#pragma once

#include <glib.h>

#include <functional>
#include <optional>
#include <string>

#include "common/GuestConfig.h"
#include "common/Json.h"
#include "common/Result.h"
#include "common/SaveImage.h"
#include "common/UniqueFd.h"
#include "helper/Guest.h"

namespace xvirt::helper {

class MonitorServer;

struct SaveRequest {
  std::string file;                        // the image; written beside it, then renamed
  std::string domainXml;                   // stored for xvirtd (may be empty)
  std::optional<bool> runAfterRestore;     // default: whether the guest ran when saved
  enum class After { Destroy, Paused, Running } after = After::Destroy;
};

struct SaveOutcome {
  uint64_t imageBytes = 0;
  uint64_t memoryBytes = 0;  // the hypervisor stream inside it
};

// Pauses the guest, writes the image atomically, and leaves the guest paused or running as asked
// (Destroy leaves it paused: the caller destroys it after replying). On failure no image is left
// and a guest that was running runs again.
Result<SaveOutcome> saveGuest(Guest& guest, const SaveRequest& request);

// --restore FILE: the image, verified completely, with the GuestConfig to build from.
struct RestoreImage {
  UniqueFd fd;
  saveimg::SaveImageInfo info;
  GuestConfig config;
  bool configReplaced = false;
  bool runAfterRestore = true;
};
// `replacement` (from --config) may change only what a saved guest can live with: not its UUID,
// type, memory or vCPU count.
Result<RestoreImage> openRestoreImage(const std::string& path, std::optional<GuestConfig> replacement);

// The guest's disks and NICs as their xenstore backends describe them, and writing them back for
// a new domain id (fresh XenbusState handshake). `prepare` readies each disk for its new backend
// before it is written (on real Xen, blkback's `physical-device`: Guest::prepareVbd).
Result<Json> captureDevices(hv::XenStore& xs, uint32_t domid);
Status writeSavedDevices(hv::XenStore& xs, uint32_t domid, const Json& devices,
                         const std::function<Status(VbdDevice&)>& prepare = {});

}  // namespace xvirt::helper
