#include "pb/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pb {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int fail(int err, const std::string& what, const std::string& path, std::string* error) {
  if (error) *error = what + " '" + path + "': " + std::strerror(err);
  return -err;
}

}  // namespace

int check_writable(const std::string& path, std::string* error) {
  if (path.empty()) return fail(ENOENT, "empty file name", path, error);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fail(EISDIR, "cannot write", path, error);
  }
  const std::string dir = dir_of(path);
  if (::stat(dir.c_str(), &st) != 0) return fail(errno, "no such directory for", path, error);
  if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, "not a directory in", path, error);
  if (::access(dir.c_str(), W_OK) != 0) return fail(errno, "cannot write", path, error);
  return 0;
}

int write_file_atomic(const std::string& path, std::string_view content, std::string* error) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(errno, "cannot create", tmp, error);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(err, "cannot write", tmp, error);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(err, "cannot flush", tmp, error);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(err, "cannot rename onto", path, error);
  }
  return 0;
}

}  // namespace pb
