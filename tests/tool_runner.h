// Runs one of the suite's executables as a child process for end-to-end
// tests: output captured to files, an optional signal sent after a delay, a
// generous kill timeout so a hung child fails the test instead of hanging it.
// Under a cross build the child runs through $PB_EMULATOR (qemu-user).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/sys.h"

extern char** environ;

namespace pb::testing {

struct ToolRun {
  int exit_code = -1;  // -1 when killed by a signal
  int term_signal = 0;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string tool_path(const char* name) { return std::string(PB_BUILD_DIR) + "/" + name; }

inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "pb_" + std::to_string(::getpid()) + "_" + name;
}

// Runs `tool` with `args`. With send_signal != 0, sends it `after_ms` after
// the start. The child is killed after `kill_after_s`. With `as_uid` >= 0 the
// child drops to that user and group first (root only).
inline ToolRun run_tool(const char* tool, const std::vector<std::string>& args, int send_signal = 0,
                        int after_ms = 0, int kill_after_s = 60, int as_uid = -1) {
  std::vector<std::string> words;
  if (const char* emu = std::getenv("PB_EMULATOR"); emu != nullptr && *emu != '\0') {
    std::istringstream ss(emu);
    for (std::string w; ss >> w;) words.push_back(w);
  }
  words.push_back(tool_path(tool));
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  const std::string out_path = temp_path("stdout"), err_path = temp_path("stderr");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  ToolRun r;
  int rc = 0;
  if (as_uid < 0) {
    rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  } else {
    pid = ::fork();
    if (pid == 0) {
      const int in = ::open("/dev/null", O_RDONLY);
      const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      if (::setgid(static_cast<gid_t>(as_uid)) != 0 || ::setuid(static_cast<uid_t>(as_uid)) != 0)
        _exit(126);
      ::execve(argv[0], argv.data(), environ);
      _exit(127);
    }
    rc = pid < 0 ? errno : 0;
  }
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ADD_FAILURE() << "cannot spawn " << argv[0] << ": " << rc;
    return r;
  }
  const int64_t start = pb::sys::now_ns();
  bool signalled = send_signal == 0;
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    const int64_t elapsed_ms = (pb::sys::now_ns() - start) / 1'000'000;
    if (!signalled && elapsed_ms >= after_ms) {
      ::kill(pid, send_signal);
      signalled = true;
    }
    if (elapsed_ms > kill_after_s * 1000LL) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << tool << " did not finish within " << kill_after_s << " s";
      break;
    }
    ::usleep(5000);
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  return r;
}

}  // namespace pb::testing
