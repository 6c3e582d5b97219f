// pb-cyclictest's command line: cyclictest's flags with cyclictest's meaning
// and defaults, plus --mode. Parsing is a pure function of argv and the set
// of online CPUs, so tests can check every flag without running anything.
#pragma once

#include <sched.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pb::cyclic {

// How a measuring thread is woken each period.
enum class Mode {
  kNanosleep,  // clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME): cyclictest's default
  kTimerfd,    // periodic absolute timerfd, read()
  kUring,      // io_uring IORING_OP_TIMEOUT with IORING_TIMEOUT_ABS (liburing)
  kSignal,     // POSIX timer (SIGEV_THREAD_ID) + sigwaitinfo
  kFutex,      // a waker thread on the same CPU wakes the measuring thread
               // through a futex: thread-to-thread wakeup latency
};

const char* mode_name(Mode m);

struct Options {
  int priority = 0;              // -p: 0 = not real-time
  int policy = SCHED_OTHER;      // --policy; -p alone implies SCHED_FIFO
  bool priospread = false;       // --priospread
  int64_t interval_us = 1000;    // -i
  int64_t distance_us = 500;     // -d
  int threads = 1;               // -t [N]
  bool affinity = false;         // -a given
  std::vector<int> affinity_cpus;  // -a CPUSET (empty with -a alone: thread i on CPU i)
  std::vector<int> main_cpus;    // --mainaffinity
  bool mlock = false;            // -m
  int64_t duration_s = 0;        // -D (0 = until loops or a signal)
  uint64_t loops = 0;            // -l (0 = endless)
  int histogram = 0;             // -h/-H: buckets (us, or ns with -N)
  bool histofall = false;        // -H
  std::string histfile;          // --histfile
  bool quiet = false;            // -q
  bool nsecs = false;            // -N
  std::string json_path;         // --json
  int64_t breaktrace_us = 0;     // -b (0 = off)
  int latency_target = 0;        // --latency (written to /dev/cpu_dma_latency)
  bool default_system = false;   // --default-system
  bool smp = false;              // -S
  Mode mode = Mode::kNanosleep;  // --mode
  std::vector<std::string> notes;  // informational messages (e.g. "-n ignored")
  std::string cmdline;           // argv joined, for the JSON "cmdline:" key
};

// One measuring thread's settings, derived from Options.
struct ThreadPlan {
  int index = 0;
  int cpu = -1;           // -1: not pinned
  int policy = SCHED_OTHER;
  int priority = 0;
  int64_t interval_ns = 0;
};

struct ParseResult {
  enum class Status { kOk, kHelp, kError } status = Status::kOk;
  std::string error;  // with kError: one line, no trailing newline
  Options options;
};

// Parses argv (argv[0] is the program name). `online_cpus`: CPUs that exist
// and are online; `allowed_cpus`: this process's affinity (what -t without N
// and -S count, as cyclictest does). Never exits, never prints, never throws.
ParseResult parse_options(int argc, const char* const* argv,
                          const std::vector<int>& online_cpus,
                          const std::vector<int>& allowed_cpus);

// Thread plans as cyclictest 2.4 makes them: interval_i = interval + i *
// distance (distance is 0 with -h/-H), priority lowered by one per thread
// with --priospread, CPUs round robin over the -a set, or over this process's
// affinity with -a alone, -S or no -a at all (2.4 pins by default).
std::vector<ThreadPlan> plan_threads(const Options& opts,
                                     const std::vector<int>& allowed_cpus);

// "-D" values: plain seconds or with an s/m/h/d suffix. Returns false on
// anything else (negative, garbage, overflow).
bool parse_duration(const std::string& text, int64_t* seconds);

// The usage text printed by --help.
const char* usage_text();

}  // namespace pb::cyclic
