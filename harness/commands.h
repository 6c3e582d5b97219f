// Subcommands of the preemptbench CLI. Each takes the arguments after its
// own name, prints to stdout/stderr and returns the process exit code:
// 0 success, 1 a failed check, 2 bad input (with one clear message).
#pragma once

#include <string>
#include <vector>

namespace pb::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

int sysinfo_main(const std::vector<std::string>& args);

}  // namespace pb::cli
