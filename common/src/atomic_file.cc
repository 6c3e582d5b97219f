#include "pb/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

namespace {

// Writes and flushes `content` to a new temporary file beside `path`; its
// name in *tmp_out. Nothing is left behind on failure.
int write_temp(const std::string& path, std::string_view content, std::string* tmp_out,
               std::string* error) {
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
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(err, "cannot flush", tmp, error);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(err, "cannot flush", tmp, error);
  }
  *tmp_out = tmp;
  return 0;
}

}  // namespace

int probe_space(const std::string& dir, uint64_t bytes, std::string* error) {
  const std::string probe = (dir.empty() ? std::string(".") : dir) + "/.space-probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(errno, "cannot create", probe, error);
  static const char kZeros[65536] = {};
  uint64_t done = 0;
  int err = 0;
  while (done < bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), bytes - done));
    const ssize_t n = ::write(fd, kZeros, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) {
      err = ENOSPC;
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  ::unlink(probe.c_str());
  if (err != 0) {
    if (error) {
      *error = "cannot write " + std::to_string(bytes / 1024) + " KiB (the expected size of the " +
               "results) in '" + dir + "': " + std::strerror(err);
    }
    return -err;
  }
  return 0;
}

int write_files_atomic(const std::vector<FileContent>& files, std::string* error) {
  std::vector<std::string> tmps;
  for (const FileContent& f : files) {
    std::string tmp;
    if (const int rc = write_temp(f.path, f.content, &tmp, error); rc < 0) {
      for (const auto& t : tmps) ::unlink(t.c_str());
      return rc;
    }
    tmps.push_back(std::move(tmp));
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (::rename(tmps[i].c_str(), files[i].path.c_str()) != 0) {
      const int err = errno;
      for (size_t j = i; j < tmps.size(); ++j) ::unlink(tmps[j].c_str());
      return fail(err, "cannot rename onto", files[i].path, error);
    }
  }
  return 0;
}

int write_file_atomic(const std::string& path, std::string_view content, std::string* error) {
  return write_files_atomic({FileContent{path, content}}, error);
}

}  // namespace pb
