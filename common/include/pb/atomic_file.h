// Result files are written atomically: the content goes to a temporary file
// in the same directory, is flushed to disk, and is renamed over the target,
// so a reader sees the old file or the whole new one, never half of one.
#pragma once

#include <string>
#include <string_view>

namespace pb {

// Writes `content` to `path` atomically. Returns 0, or -errno with a
// description in *error (when error is non-null).
int write_file_atomic(const std::string& path, std::string_view content,
                      std::string* error = nullptr);

// Checks before a run that `path` can be created or replaced (its directory
// exists and is writable, and path is not a directory). Returns 0 or -errno
// with a description in *error.
int check_writable(const std::string& path, std::string* error = nullptr);

}  // namespace pb
