// Subcommands of the preemptbench CLI. Each takes the arguments after its
// own name, prints to stdout/stderr and returns the process exit code:
// 0 success, 1 a failed check, 2 bad input (with one clear message); `run`
// also returns 128+signal when a signal ended it (130 for Ctrl-C).
#pragma once

#include <string>
#include <vector>

namespace pb::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

int sysinfo_main(const std::vector<std::string>& args);
int run_main(const std::vector<std::string>& args);       // run_cmd.cc
int report_main(const std::vector<std::string>& args);    // report_cmd.cc
int compare_main(const std::vector<std::string>& args);   // compare_cmd.cc
int scenario_main(const std::vector<std::string>& args);  // scenario_cmd.cc
int validate_main(const std::vector<std::string>& args);  // validate_cmd.cc

}  // namespace pb::cli
