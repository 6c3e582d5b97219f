// Result files are written atomically: the content goes to a temporary file
// in the same directory, is flushed to disk, and is renamed over the target,
// so a reader sees the old file or the whole new one, never half of one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pb {

// Writes `content` to `path` atomically. Returns 0, or -errno with a
// description in *error (when error is non-null).
int write_file_atomic(const std::string& path, std::string_view content,
                      std::string* error = nullptr);

// Checks before a run that `path` can be created or replaced (its directory
// exists and is writable, and path is not a directory). Returns 0 or -errno
// with a description in *error.
int check_writable(const std::string& path, std::string* error = nullptr);

// Proves before a run that `bytes` more can be written in directory `dir`:
// writes and fsyncs a probe file of that size there, then removes it. A full
// file system (or a quota) fails here, not after hours of measuring. Returns
// 0 or -errno with a description in *error.
int probe_space(const std::string& dir, uint64_t bytes, std::string* error = nullptr);

// Writes several files so that they agree with each other: each content goes
// to its temporary file and is flushed first; only when every one succeeded
// are they renamed over their targets. On failure no target changes and no
// temporary file is left. Returns 0 or -errno with a description in *error.
struct FileContent {
  std::string path;
  std::string_view content;
};
int write_files_atomic(const std::vector<FileContent>& files, std::string* error = nullptr);

}  // namespace pb
