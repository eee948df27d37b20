// SimSaveStream: the simulated host's save stream — a header, the guest-model context, memory pages
// with zero pages elided, and an end record with a checksum over everything before it.
#pragma once

#include <cstdint>
#include <functional>

#include "common/Json.h"
#include "common/Result.h"

namespace xvirt::hv::sim {

// Writes the stream to outFd. ramFd is the RAM file (holes are skipped without reading them) and
// ram its mapping of ramBytes.
Status writeSaveStream(int outFd, int ramFd, const uint8_t* ram, uint64_t ramBytes, const Json& context);

// Reads a stream from inFd, never past its end record. mapRam(ramBytes) is called once the header
// is read and returns where the pages go. Truncated, altered or foreign streams give Corrupt.
Result<Json> readSaveStream(int inFd, const std::function<Result<uint8_t*>(uint64_t ramBytes)>& mapRam);

}  // namespace xvirt::hv::sim
