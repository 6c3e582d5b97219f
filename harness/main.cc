// preemptbench: dispatches to one subcommand. Exceptions from option parsing
// stop at this boundary and become one message and exit code 2.
#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "pb/version.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*main)(const std::vector<std::string>&);
};

constexpr Command kCommands[] = {
    {"sysinfo", "print this machine's fingerprint (text, or JSON with --json)",
     &pb::cli::sysinfo_main},
    {"run", "sweep preemption models x workloads x load levels (the headline benchmark)",
     &pb::cli::run_main},
    {"report", "merge result files (ours and cyclictest's) into tables and plots",
     &pb::cli::report_main},
    {"compare", "baseline vs candidate per cell: regressions beyond threshold and noise (CI gate)",
     &pb::cli::compare_main},
    {"scenario", "run a scenario (priority inversion, audio vs IRQ, ...) against its analysis",
     &pb::cli::scenario_main},
    {"validate", "each model x non-preemptible section: real vs simulated vs analysis",
     &pb::cli::validate_main},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: preemptbench COMMAND [OPTIONS]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\n'preemptbench COMMAND --help' shows a command's options.\n");
}

// The main thread's stack must hold a cell's result while it is assembled
// (a measuring task carries two ~30 KiB histograms by value) and the JSON
// and option parsers' recursion: 1 MiB is ample; the default is 8 MiB. The
// executive's own threads set their stack sizes, so only the main thread
// depends on `ulimit -s`. A smaller soft limit is raised when the hard limit
// allows; otherwise the command is refused here with a message, instead of
// a SIGSEGV somewhere later.
constexpr rlim_t kMinStackBytes = rlim_t{1} << 20;

bool stack_is_enough() {
  rlimit r{};
  if (::getrlimit(RLIMIT_STACK, &r) != 0) return true;  // cannot tell: go on
  if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= kMinStackBytes) return true;
  if (r.rlim_max == RLIM_INFINITY || r.rlim_max >= kMinStackBytes) {
    r.rlim_cur = kMinStackBytes;
    if (::setrlimit(RLIMIT_STACK, &r) == 0) return true;
  }
  std::fprintf(stderr,
               "preemptbench: the stack size limit is %llu KiB (ulimit -s); preemptbench needs "
               "at least %llu KiB: raise it (ulimit -s %llu, or unlimited)\n",
               static_cast<unsigned long long>(r.rlim_cur / 1024),
               static_cast<unsigned long long>(kMinStackBytes / 1024),
               static_cast<unsigned long long>(kMinStackBytes / 1024));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (!stack_is_enough()) return pb::cli::kExitUsage;
  if (argc < 2) {
    usage(stderr);
    return pb::cli::kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(stdout);
    return pb::cli::kExitOk;
  }
  if (name == "--version") {
    std::printf("preemptbench %s (%s)\n", pb::kVersion, pb::kGitCommit);
    return pb::cli::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
      return c.main(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "preemptbench %s: %s\n", c.name, e.what());
      return pb::cli::kExitUsage;
    }
  }
  std::fprintf(stderr, "preemptbench: unknown command '%s'\n", name.c_str());
  usage(stderr);
  return pb::cli::kExitUsage;
}
