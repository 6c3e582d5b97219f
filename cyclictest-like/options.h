// pb-cyclictest's command line: every option of cyclictest 2.4 (rt-tests
// src/cyclictest/cyclictest.c, process_options() and its long option table)
// with cyclictest's meaning and defaults, plus --mode. Parsing is a pure
// function of argv and the CPU sets, so tests can check every option without
// running anything.
//
// Numbers are read the way cyclictest reads them (atoi/strtol: leading
// blanks and a sign are fine, reading stops at the first non-digit), so an
// option and its value passed as one argument with a blank between them
// ("-i 100", as rteval does) mean what they mean to cyclictest. Values that
// make no sense (an interval of 0, which cyclictest spins on forever; a word
// without a number, which cyclictest reads as 0) are refused.
#pragma once

#include <sched.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pb::cyclic {

// How a measuring thread is woken each period.
enum class Mode {
  kNanosleep,  // clock_nanosleep(TIMER_ABSTIME): cyclictest's default
  kTimerfd,    // periodic absolute timerfd, read()
  kUring,      // io_uring IORING_OP_TIMEOUT with IORING_TIMEOUT_ABS (liburing)
  kSignal,     // POSIX timer (SIGEV_THREAD_ID) + sigwaitinfo (cyclictest's -x)
  kFutex,      // a waker thread on the same CPU wakes the measuring thread
               // through a futex: thread-to-thread wakeup latency
};

const char* mode_name(Mode m);

// Where the first wakeups of the threads are placed (cyclictest -A,
// --secaligned).
enum class Align {
  kNone,     // each thread starts one interval after it started running
  kThreads,  // -A: all threads start from one common instant, thread i
             // offset by i * align_offset_us
  kSecond,   // --secaligned: from the next full second, plus align_offset_us
};

struct Options {
  int priority = 0;                // -p: 0 = not real-time
  int policy = SCHED_OTHER;        // --policy; -p implies SCHED_FIFO
  bool priospread = false;         // --priospread
  int64_t interval_us = 1000;      // -i
  int64_t distance_us = 500;       // -d
  int threads = 1;                 // -t [N]
  bool affinity = false;           // -a given
  std::vector<int> affinity_cpus;  // -a CPUSET (empty with -a alone: thread i on CPU i)
  std::vector<int> main_cpus;      // --mainaffinity
  bool mlock = false;              // -m
  int64_t duration_s = 0;          // -D (0 = until loops or a signal)
  uint64_t loops = 0;              // -l (0 = endless)
  int histogram = 0;               // -h/-H: buckets (us, or ns with -N)
  bool histofall = false;          // -H
  std::string histfile;            // --histfile
  bool quiet = false;              // -q
  bool nsecs = false;              // -N
  bool unbuffered = false;         // -u
  std::string json_path;           // --json ("-": stdout, as cyclictest)
  int64_t breaktrace = 0;          // -b, in the output unit (us, or ns with -N); 0 = off
  bool tracemark = false;          // --tracemark: mark the trace when -b fires
  int latency_target = 0;          // --latency (written to /dev/cpu_dma_latency)
  bool default_system = false;     // --default-system
  bool allow_shared_cpu = false;   // --allow-shared-cpu (ours): measure beside another of our tools
  bool laptop = false;             // --laptop
  bool smp = false;                // -S
  Mode mode = Mode::kNanosleep;    // --mode (-x = signal)
  int clock_index = 0;             // -c: 0 CLOCK_MONOTONIC, 1 CLOCK_REALTIME
  bool relative = false;           // -r: relative timer (clock_nanosleep TIMER_RELTIME)
  bool system_sleep = false;       // -s: relative nanosleep(2), cyclictest's "sys_nanosleep"
  bool verbose = false;            // -v: one "n:c:v" line per sample
  int oscope = 1;                  // -o RED: with -v, one line per RED samples (their max)
  bool refresh_on_max = false;     // -M: redraw the live block only on a new max
  std::string fifo_path;           // -F: named pipe that hands out the thread lines
  bool check_resolution = false;   // -R
  bool debug = false;              // --dbg_cyclictest
  Align align = Align::kNone;      // -A / --secaligned
  int64_t align_offset_us = 0;
  int64_t spike = 0;       // --spike, output unit; 0 = off
  int spike_nodes = 1024;  // --spike-nodes
  bool smi = false;        // --smi (accepted; not counted here)
  // cyclictest prints "Using N cpus." once more when -v precedes -a CPUSET.
  bool verbose_before_affinity = false;
  std::vector<std::string> notes;  // one-line messages for stderr
  std::string cmdline;             // argv joined, for the JSON "cmdline:" key

  clockid_t clock() const { return clock_index == 1 ? CLOCK_REALTIME : CLOCK_MONOTONIC; }
  // Latency in ns above which -b / --spike fire (they count in the output unit).
  int64_t breaktrace_ns() const { return nsecs ? breaktrace : breaktrace * 1000; }
  int64_t spike_ns() const { return nsecs ? spike : spike * 1000; }
};

// One measuring thread's settings, derived from Options.
struct ThreadPlan {
  int index = 0;
  int cpu = -1;  // -1: not pinned
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
// Arguments that are not options are ignored with a note, as cyclictest
// ignores them (rteval passes an empty one).
ParseResult parse_options(int argc, const char* const* argv, const std::vector<int>& online_cpus,
                          const std::vector<int>& allowed_cpus);

// Thread plans as cyclictest 2.4 makes them: interval_i = interval + i *
// distance (distance is 0 with -h/-H), priority lowered by one per thread
// with --priospread, CPUs round robin over the -a set, or over this process's
// affinity with -a alone, -S or no -a at all (2.4 pins by default).
std::vector<ThreadPlan> plan_threads(const Options& opts, const std::vector<int>& allowed_cpus);

// "-D" values as cyclictest reads them: a number (strtol: leading blanks
// fine), then an optional unit letter m, h or d (s and anything else:
// seconds); the rest is ignored. Returns false for a negative value, a word
// without a number, or an overflow.
bool parse_duration(const std::string& text, int64_t* seconds);

// A number as cyclictest's atoi reads it: leading blanks, an optional sign,
// at least one digit; reading stops at the first non-digit. Returns false
// when there is no digit or the value does not fit; *rest points at what
// followed the number.
bool read_number(const char* text, int64_t* value, const char** rest);

// The usage text printed by --help.
const char* usage_text();

}  // namespace pb::cyclic
