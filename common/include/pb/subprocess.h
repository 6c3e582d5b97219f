// Running a helper program and waiting for it: posix_spawnp and waitpid,
// written once. Used where a tool hands work to another process (the plot
// scripts, pb-cyclictest's fingerprint from `preemptbench sysinfo --json`).
// Not for real-time paths: it allocates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pb {

// Where the child's standard output goes.
enum class ChildOutput : uint8_t {
  kInherit,   // ours
  kToStderr,  // our stderr, so that our stdout carries only our results
  kCapture,   // read into ChildResult::out
};

struct ChildOptions {
  ChildOutput out = ChildOutput::kInherit;
  bool silence_stderr = false;  // the child's stderr to /dev/null
  // The file to run; empty: argv[0]. Searched on PATH unless it holds a '/'.
  std::string program;
};

struct ChildResult {
  int spawn_error = 0;  // an errno: the child could not be started (status is then 0)
  int status = 0;       // waitpid()'s status
  std::string out;      // the child's stdout, with ChildOutput::kCapture
  // The exit code of a child that exited, else -1 (killed, or never started).
  int exit_code() const;
};

// Runs argv (argv[0] is the child's name) with our environment and waits for
// it, retrying EINTR in both the read and the wait (a stop signal whose
// handler sets a flag must not orphan the child). Never throws for the
// child's failures: they are in the result.
ChildResult run_child(const std::vector<std::string>& argv, const ChildOptions& options = {});

// The directory holding this executable (from /proc/self/exe), where our
// scripts and sibling tools are installed; "." when it cannot be read.
std::string exe_dir();

}  // namespace pb
