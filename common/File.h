// File helpers: read a whole file, write one atomically (temporary file, fsync, rename, fsync dir),
// make directories with a mode. All persistent state in xvirt is written through writeFileAtomic.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/Result.h"

namespace xvirt {

Result<std::string> readFile(const std::string& path, size_t maxBytes = 64u << 20);
Status writeFileAtomic(const std::string& path, std::string_view contents, mode_t mode = 0644);
Status makeDirs(const std::string& path, mode_t mode = 0755);
// makeDirs, then gives the last directory exactly `mode` (whatever the umask or an older version
// left), so a directory that must not be world-readable is not. Only for directories xvirt owns.
Status makeOwnDir(const std::string& path, mode_t mode);
bool pathExists(const std::string& path);
std::string dirName(const std::string& path);
std::string baseName(const std::string& path);
// fsync a directory so a rename inside it is durable.
Status syncDir(const std::string& dir);

}  // namespace xvirt
