// SimSaveStream: the simulated host's save stream — a header, the guest-model context, memory pages
// with zero pages elided, and an end record with a checksum over everything before it.
#pragma once

#include <cstdint>
#include <functional>

#include "common/Json.h"
#include "common/Result.h"

namespace xvirt::hv::sim {

// Writes the stream to outFd from the RAM file ramFd of ramBytes: holes are skipped without reading
// them, data is read with pread in 1 MiB pieces (no page faults) and written one record per writev.
// Returns the CRC-32C of every byte written (the stream's own checksum covers all but its last 8).
Result<uint32_t> writeSaveStream(int outFd, int ramFd, uint64_t ramBytes, const Json& context);

// Reads a stream from inFd, never past its end record. openRam(ramBytes) is called once the header
// is read and returns the RAM file the pages are written to (pwrite, so no page faults).
// Truncated, altered or foreign streams give Corrupt.
Result<Json> readSaveStream(int inFd, const std::function<Result<int>(uint64_t ramBytes)>& openRam);

}  // namespace xvirt::hv::sim
