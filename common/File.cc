#include "common/File.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/UniqueFd.h"

namespace xvirt {

Result<std::string> readFile(const std::string& path, size_t maxBytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::system("Cannot open " + path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("Cannot read " + path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > maxBytes)
      return makeError(ErrorCode::InvalidArgument, "File " + path + " is larger than " +
                                                       std::to_string(maxBytes) + " bytes.");
  }
  return out;
}

std::string dirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string baseName(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

Status syncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::system("Cannot open directory " + dir, errno);
  if (::fsync(fd.get()) < 0 && errno != EINVAL) return Error::system("Cannot sync directory " + dir, errno);
  return okStatus();
}

Status writeFileAtomic(const std::string& path, std::string_view contents, mode_t mode) {
  std::string tmp = dirName(path) + "/." + baseName(path) + ".tmp-XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return Error::system("Cannot create a temporary file for " + path, errno);
  auto fail = [&](const char* what) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error::system(std::string(what) + " " + path, err);
  };
  if (::fchmod(fd.get(), mode) < 0) return fail("Cannot set the mode of");
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("Cannot write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) < 0) return fail("Cannot sync");
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) return fail("Cannot rename into place");
  return syncDir(dirName(path));
}

Status makeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return okStatus();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return okStatus();
    return makeError(ErrorCode::SystemError, path + " exists and is not a directory.");
  }
  std::string parent = dirName(path);
  if (parent != path && parent != "." && parent != "/") XVIRT_TRY(makeDirs(parent, mode));
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST)
    return Error::system("Cannot create directory " + path, errno);
  return okStatus();
}

Status makeOwnDir(const std::string& path, mode_t mode) {
  XVIRT_TRY(makeDirs(path, mode));
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return Error::system("Cannot inspect directory " + path, errno);
  if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) < 0)
    return Error::system("Cannot set the mode of directory " + path, errno);
  return okStatus();
}

bool pathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace xvirt
