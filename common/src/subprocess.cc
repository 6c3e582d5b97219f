#include "pb/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern "C" char** environ;

namespace pb {

int ChildResult::exit_code() const {
  if (spawn_error != 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

ChildResult run_child(const std::vector<std::string>& argv, const ChildOptions& options) {
  ChildResult r;
  if (argv.empty()) {
    r.spawn_error = EINVAL;
    return r;
  }
  std::vector<std::string> words = argv;
  std::vector<char*> args;
  for (auto& w : words) args.push_back(w.data());
  args.push_back(nullptr);
  const std::string& program = options.program.empty() ? argv.front() : options.program;

  int fds[2] = {-1, -1};
  if (options.out == ChildOutput::kCapture && ::pipe2(fds, O_CLOEXEC) != 0) {
    r.spawn_error = errno;
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (options.out == ChildOutput::kToStderr) {
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
  } else if (options.out == ChildOutput::kCapture) {
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  }
  if (options.silence_stderr) {
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, program.c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (options.out == ChildOutput::kCapture) {
    ::close(fds[1]);
    if (rc == 0) {
      char buf[4096];
      ssize_t got;
      while ((got = ::read(fds[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)) {
        if (got > 0) r.out.append(buf, static_cast<size_t>(got));
      }
    }
    ::close(fds[0]);
  }
  if (rc != 0) {
    r.spawn_error = rc;
    return r;
  }
  while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
  }
  return r;
}

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  const std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace pb
