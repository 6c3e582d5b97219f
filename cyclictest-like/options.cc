#include "options.h"

#include <getopt.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>

#include "pb/cpu_list.h"

namespace pb::cyclic {
namespace {

constexpr int kMaxThreads = 4096;
constexpr int kMaxHistogram = 1'000'000;  // cyclictest's HIST_MAX
constexpr int kMaxSpikeNodes = 1'000'000;

// Long-only options (cyclictest's long table: rt-tests
// src/cyclictest/cyclictest.c, process_options()).
enum LongOnly {
  kOptPolicy = 1000,
  kOptPriospread,
  kOptMainaffinity,
  kOptHistfile,
  kOptJson,
  kOptLatency,
  kOptDefaultSystem,
  kOptLaptop,
  kOptSecaligned,
  kOptSmi,
  kOptSpike,
  kOptSpikeNodes,
  kOptTracemark,
  kOptDbg,
  kOptMode,
  kOptHelp,
  kOptAllowSharedCpu,
};

// cyclictest's handlepolicy(): case-insensitive prefix match, anything
// unknown is SCHED_OTHER.
int policy_from_name(const char* name, bool* known) {
  struct P {
    const char* name;
    int policy;
  };
  static constexpr P kPolicies[] = {{"other", SCHED_OTHER},
                                    {"batch", SCHED_BATCH},
                                    {"idle", SCHED_IDLE},
                                    {"fifo", SCHED_FIFO},
                                    {"rr", SCHED_RR}};
  *known = true;
  for (const auto& p : kPolicies) {
    if (strncasecmp(name, p.name, std::strlen(p.name)) == 0) return p.policy;
  }
  *known = strncasecmp(name, "normal", 6) == 0;  // documented, and SCHED_OTHER
  return SCHED_OTHER;
}

bool parse_mode(const char* name, Mode* mode) {
  for (Mode m : {Mode::kNanosleep, Mode::kTimerfd, Mode::kUring, Mode::kSignal, Mode::kFutex}) {
    if (std::strcmp(mode_name(m), name) == 0) {
      *mode = m;
      return true;
    }
  }
  return false;
}

// A CPU set as cyclictest (libnuma's numa_parse_cpustring_all) takes it: a
// list ("0-2,5"), "all", "!LIST" (all online CPUs but LIST) and "+LIST"
// (positions in this process's affinity). Every CPU must be online.
bool parse_cpuset(const char* flag, const char* text, const std::vector<int>& online,
                  const std::vector<int>& allowed, std::vector<int>* out, std::string* error) {
  std::string why;
  const char* p = text;
  while (*p == ' ') ++p;
  const bool invert = *p == '!';
  if (invert) ++p;
  const bool relative = *p == '+';
  if (relative) ++p;
  std::optional<std::vector<int>> cpus;
  if (std::strcmp(p, "all") == 0) {
    cpus = relative ? allowed : online;
  } else {
    cpus = parse_cpu_list(p, &why);
    if (cpus && relative) {
      std::vector<int> mapped;
      for (int pos : *cpus) {
        if (pos >= static_cast<int>(allowed.size())) {
          *error = std::string(flag) + ": '" + text + "': this process may use only " +
                   std::to_string(allowed.size()) + " CPUs";
          return false;
        }
        mapped.push_back(allowed[static_cast<size_t>(pos)]);
      }
      std::sort(mapped.begin(), mapped.end());
      cpus = std::move(mapped);
    }
  }
  if (cpus && invert) {
    std::vector<int> rest;
    for (int cpu : online) {
      if (!std::binary_search(cpus->begin(), cpus->end(), cpu)) rest.push_back(cpu);
    }
    cpus = std::move(rest);
  }
  if (!cpus || cpus->empty()) {
    *error =
        std::string(flag) + ": invalid CPU set '" + text + "'" + (why.empty() ? "" : ": " + why);
    return false;
  }
  *out = std::move(*cpus);
  for (int cpu : *out) {
    if (!std::binary_search(online.begin(), online.end(), cpu)) {
      *error = std::string(flag) + ": CPU " + std::to_string(cpu) +
               " is not online (online: " + format_cpu_list(online) + ")";
      return false;
    }
  }
  return true;
}

// The detached value of an option with an optional argument, taken exactly
// when cyclictest takes it: cyclictest looks at the next word and uses it
// when `takes(word)`; getopt then passes over it as a non-option. Here it is
// consumed, so that it is not reported as a stray argument.
const char* optional_value(int argc, const char* const* argv, bool (*takes)(const char*)) {
  if (optarg != nullptr) return optarg;
  if (optind < argc && takes(argv[optind])) return argv[optind++];
  return nullptr;
}

// -t, -A, --secaligned: cyclictest takes the next word when atoi() of it is
// not 0.
bool atoi_nonzero(const char* s) { return std::atoi(s) != 0; }

// -a: ... or when it starts like a CPU set libnuma reads.
bool looks_like_cpuset(const char* s) {
  return std::atoi(s) != 0 || s[0] == '0' || s[0] == '!' || s[0] == '+' || s[0] == 'a';
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kNanosleep:
      return "nanosleep";
    case Mode::kTimerfd:
      return "timerfd";
    case Mode::kUring:
      return "uring";
    case Mode::kSignal:
      return "signal";
    case Mode::kFutex:
      return "futex";
  }
  return "?";
}

bool read_number(const char* text, int64_t* value, const char** rest) {
  if (text == nullptr) return false;
  const char* p = text;
  while (std::isspace(static_cast<unsigned char>(*p))) ++p;
  const char* digits = p + ((*p == '+' || *p == '-') ? 1 : 0);
  if (!std::isdigit(static_cast<unsigned char>(*digits))) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(p, &end, 10);
  if (errno == ERANGE) return false;
  *value = v;
  if (rest != nullptr) *rest = end;
  return true;
}

bool parse_duration(const std::string& text, int64_t* seconds) {
  int64_t v = 0;
  const char* rest = nullptr;
  if (!read_number(text.c_str(), &v, &rest) || v < 0) return false;
  int64_t mult = 1;
  switch (*rest) {
    case 'm':
    case 'M':
      mult = 60;
      break;
    case 'h':
    case 'H':
      mult = 3600;
      break;
    case 'd':
    case 'D':
      mult = 86400;
      break;
    default:
      break;  // 's', or anything else: seconds, as cyclictest
  }
  if (v > std::numeric_limits<int64_t>::max() / 86400) return false;
  *seconds = v * mult;
  return true;
}

const char* usage_text() {
  return "pb-cyclictest: wakeup latency of this host, a drop-in for rt-tests' cyclictest 2.4\n"
         "usage: pb-cyclictest [options]\n"
         "\n"
         "cyclictest's options (same meaning and defaults; values as cyclictest reads them):\n"
         "  -a [CPUSET] --affinity[=CPUSET]  pin thread N to CPU N, or round-robin over CPUSET\n"
         "  -A [USEC]   --aligned[=USEC]     start all threads together, thread N offset N*USEC\n"
         "  -b USEC     --breaktrace=USEC    stop when a latency exceeds USEC (ns with -N)\n"
         "  -c CLOCK    --clock=CLOCK        0 = CLOCK_MONOTONIC (default), 1 = CLOCK_REALTIME\n"
         "              --default-system     do not write /dev/cpu_dma_latency\n"
         "  -d DIST     --distance=DIST      interval increment per thread in us (default 500)\n"
         "  -D TIME     --duration=TIME      run time; suffix m, h or d (default: endless)\n"
         "  -F PATH     --fifo=PATH          named pipe that hands out the thread lines\n"
         "  -h US       --histogram=US       print a histogram of US buckets (us; ns with -N)\n"
         "  -H US       --histofall=US       same, with a summary column for all threads\n"
         "              --histfile=PATH      write the histogram to PATH instead of stdout\n"
         "  -i INTV     --interval=INTV      base interval in us (default 1000)\n"
         "              --json=FILE          write results to FILE ('-': stdout)\n"
         "              --laptop             do not write /dev/cpu_dma_latency (save power)\n"
         "              --latency=PM_QOS     value for /dev/cpu_dma_latency (default 0)\n"
         "  -l LOOPS    --loops=LOOPS        cycles per thread; the first thread done ends the "
         "run\n"
         "              --mainaffinity=CPUSET  run the main thread on CPUSET\n"
         "  -m          --mlockall           lock memory (mlockall) and prefault stacks\n"
         "  -M          --refresh_on_max     redraw the live display only on a new max\n"
         "  -N          --nsecs              print results in ns instead of us\n"
         "  -o RED      --oscope=RED         with -v: one line per RED samples, their max\n"
         "  -p PRIO     --priority=PRIO      SCHED_FIFO priority of the threads (default: not RT)\n"
         "              --policy=NAME        other, normal, batch, idle, fifo or rr\n"
         "              --priospread         lower the priority by one per thread\n"
         "  -q          --quiet              print a summary only on exit\n"
         "  -r          --relative           relative timer (sleep INTV from each wakeup)\n"
         "  -R          --resolution         check the clock's resolution first\n"
         "              --secaligned[=USEC]  start all threads at the next full second (+USEC)\n"
         "  -s          --system             relative nanosleep()\n"
         "  -S          --smp                one thread per CPU, pinned (= -t -a)\n"
         "              --smi                accepted; SMIs are not counted (see README)\n"
         "              --spike=TRIGGER      record latencies above TRIGGER, print them at the "
         "end\n"
         "              --spike-nodes=N      at most N spikes recorded (default 1024)\n"
         "  -t [N]      --threads[=N]        N threads; without N one per allowed CPU (default 1)\n"
         "              --tracemark          with -b: write a trace mark and stop tracing\n"
         "  -u          --unbuffered         unbuffered output\n"
         "  -v          --verbose            one line per sample: thread:cycle:latency\n"
         "              --dbg_cyclictest     with -R: list the clock readings\n"
         "  -x          --posix_timers       POSIX timers (same as --mode signal)\n"
         "  -n                               accepted and ignored (dropped from cyclictest 2.x)\n"
         "\n"
         "pb-cyclictest's own:\n"
         "              --mode=MODE          how threads wake: nanosleep (default), timerfd,\n"
         "                                   uring, signal, futex (thread-to-thread wakeup)\n"
         "              --allow-shared-cpu   measure even when another preemptbench run or\n"
         "                                   pb-cyclictest measures on one of our CPUs\n"
         "              --help               this text\n"
         "\n"
         "Missed periods are counted (cyclictest skips them silently); percentiles p50..p99.99\n"
         "and missed periods are printed as comment lines before the summary.\n"
         "Signals: SIGINT/SIGTERM/SIGHUP end the run with its summary; SIGUSR1 prints the\n"
         "status on stderr; SIGUSR2 writes it to /dev/shm/cyclictest<pid>.\n"
         "Exit codes: 0 done, 1 failed, 2 bad input.\n";
}

ParseResult parse_options(int argc, const char* const* argv, const std::vector<int>& online_cpus,
                          const std::vector<int>& allowed_cpus) {
  ParseResult res;
  Options& o = res.options;
  auto fail = [&res](std::string msg) {
    res.status = ParseResult::Status::kError;
    res.error = std::move(msg);
    return res;
  };
  for (int i = 0; i < argc; ++i) {
    if (i > 0) o.cmdline += ' ';
    o.cmdline += argv[i];
  }

  static const option kLong[] = {
      {"affinity", optional_argument, nullptr, 'a'},
      {"aligned", optional_argument, nullptr, 'A'},
      {"allow-shared-cpu", no_argument, nullptr, kOptAllowSharedCpu},
      {"breaktrace", required_argument, nullptr, 'b'},
      {"clock", required_argument, nullptr, 'c'},
      {"default-system", no_argument, nullptr, kOptDefaultSystem},
      {"distance", required_argument, nullptr, 'd'},
      {"duration", required_argument, nullptr, 'D'},
      {"latency", required_argument, nullptr, kOptLatency},
      {"fifo", required_argument, nullptr, 'F'},
      {"histogram", required_argument, nullptr, 'h'},
      {"histofall", required_argument, nullptr, 'H'},
      {"histfile", required_argument, nullptr, kOptHistfile},
      {"interval", required_argument, nullptr, 'i'},
      {"json", required_argument, nullptr, kOptJson},
      {"laptop", no_argument, nullptr, kOptLaptop},
      {"loops", required_argument, nullptr, 'l'},
      {"mainaffinity", required_argument, nullptr, kOptMainaffinity},
      {"mlockall", no_argument, nullptr, 'm'},
      {"refresh_on_max", no_argument, nullptr, 'M'},
      {"nsecs", no_argument, nullptr, 'N'},
      {"oscope", required_argument, nullptr, 'o'},
      {"priority", required_argument, nullptr, 'p'},
      {"quiet", no_argument, nullptr, 'q'},
      {"priospread", no_argument, nullptr, kOptPriospread},
      {"relative", no_argument, nullptr, 'r'},
      {"resolution", no_argument, nullptr, 'R'},
      {"secaligned", optional_argument, nullptr, kOptSecaligned},
      {"system", no_argument, nullptr, 's'},
      {"smi", no_argument, nullptr, kOptSmi},
      {"smp", no_argument, nullptr, 'S'},
      {"spike", required_argument, nullptr, kOptSpike},
      {"spike-nodes", required_argument, nullptr, kOptSpikeNodes},
      {"threads", optional_argument, nullptr, 't'},
      {"tracemark", no_argument, nullptr, kOptTracemark},
      {"unbuffered", no_argument, nullptr, 'u'},
      {"verbose", no_argument, nullptr, 'v'},
      {"dbg_cyclictest", no_argument, nullptr, kOptDbg},
      {"policy", required_argument, nullptr, kOptPolicy},
      {"help", no_argument, nullptr, kOptHelp},
      {"posix_timers", no_argument, nullptr, 'x'},
      {"mode", required_argument, nullptr, kOptMode},
      {nullptr, 0, nullptr, 0},
  };

  // A number for `flag` in [lo, hi], read as cyclictest reads it. Text after
  // the number is ignored with a note, as atoi ignores it.
  std::string error;
  auto number = [&](const char* flag, const char* text, int64_t lo, int64_t hi, const char* what,
                    int64_t* out) {
    int64_t v = 0;
    const char* rest = nullptr;
    if (!read_number(text, &v, &rest) || v < lo || v > hi) {
      error = std::string(flag) + ": expected " + what + ", got '" + (text ? text : "") + "'";
      return false;
    }
    if (*rest != '\0') {
      o.notes.push_back(std::string(flag) + " '" + text + "' read as " + std::to_string(v) +
                        ", as cyclictest reads it");
    }
    *out = v;
    return true;
  };
  constexpr int64_t kIntMax = INT_MAX;

  // getopt keeps global state: reset it fully (glibc: optind = 0).
  optind = 0;
  opterr = 0;
  bool policy_given = false, threads_given = false, distance_given = false, json_given = false;
  bool secaligned = false, aligned = false;
  auto* av = const_cast<char* const*>(argv);
  int c;
  int64_t v = 0;
  while ((c = getopt_long(argc, av, ":a::A::b:c:d:D:F:h:H:i:l:MNno:p:mqrRsSt::uvx", kLong,
                          nullptr)) != -1) {
    const char* arg = optarg;
    switch (c) {
      case 'a': {
        o.affinity = true;
        const char* set = optional_value(argc, argv, &looks_like_cpuset);
        if (set != nullptr) {
          if (!parse_cpuset("-a", set, online_cpus, allowed_cpus, &o.affinity_cpus, &error)) {
            return fail(error);
          }
          o.verbose_before_affinity = o.verbose;
        }
        break;
      }
      case 'A':
      case kOptSecaligned: {
        (c == 'A' ? aligned : secaligned) = true;
        o.align = c == 'A' ? Align::kThreads : Align::kSecond;
        const char* off = optional_value(argc, argv, &atoi_nonzero);
        o.align_offset_us = 0;
        if (off != nullptr && !number(c == 'A' ? "-A" : "--secaligned", off, 0, kIntMax / 1000,
                                      "an offset in us >= 0", &o.align_offset_us)) {
          return fail(error);
        }
        break;
      }
      case 'b':
        if (!number("-b", arg, 0, kIntMax, "a latency threshold >= 0 (0: off)", &o.breaktrace))
          return fail(error);
        break;
      case 'c':
        if (!number("-c", arg, 0, 1, "0 (CLOCK_MONOTONIC) or 1 (CLOCK_REALTIME)", &v))
          return fail(error);
        o.clock_index = static_cast<int>(v);
        break;
      case 'd':
        distance_given = true;
        if (!number("-d", arg, 0, kIntMax, "a distance in us >= 0", &o.distance_us))
          return fail(error);
        break;
      case 'D':
        if (!parse_duration(arg, &o.duration_s))
          return fail(std::string("-D: expected a duration like 30, 10m, 2h or 1d, got '") + arg +
                      "'");
        break;
      case 'F':
        if (*arg == '\0') {
          o.notes.push_back("-F: empty path: no fifo");
        }
        o.fifo_path = arg;
        break;
      case 'H':
        o.histofall = true;
        [[fallthrough]];
      case 'h':
        if (!number(c == 'h' ? "-h" : "-H", arg, 1, kIntMax, "a number of buckets >= 1", &v))
          return fail(error);
        if (v > kMaxHistogram) {
          o.notes.push_back("-h " + std::to_string(v) + ": limited to " +
                            std::to_string(kMaxHistogram) + " buckets, as cyclictest does");
          v = kMaxHistogram;
        }
        o.histogram = static_cast<int>(v);
        break;
      case 'i':
        if (!number("-i", arg, 1, kIntMax, "an interval in us greater than 0", &o.interval_us))
          return fail(error);
        break;
      case 'l':
        if (!number("-l", arg, 0, std::numeric_limits<int64_t>::max(), "a number of loops >= 0",
                    &v))
          return fail(error);
        o.loops = static_cast<uint64_t>(v);
        break;
      case 'm':
        o.mlock = true;
        break;
      case 'M':
        o.refresh_on_max = true;
        break;
      case 'N':
        o.nsecs = true;
        break;
      case 'n':
        o.notes.push_back(
            "-n is obsolete and ignored: clock_nanosleep is already the default (--mode "
            "nanosleep)");
        break;
      case 'o':
        if (!number("-o", arg, 1, kIntMax, "a reduction >= 1", &v)) return fail(error);
        o.oscope = static_cast<int>(v);
        break;
      case 'p':
        if (!number("-p", arg, 0, 99, "a priority from 0 to 99", &v)) return fail(error);
        o.priority = static_cast<int>(v);
        // cyclictest: a priority, even 0, asks for SCHED_FIFO unless RR was chosen.
        if (o.policy != SCHED_FIFO && o.policy != SCHED_RR) o.policy = SCHED_FIFO;
        break;
      case 'q':
        o.quiet = true;
        break;
      case 'r':
        o.relative = true;
        break;
      case 'R':
        o.check_resolution = true;
        break;
      case 's':
        o.system_sleep = true;
        break;
      case 'S':
        o.smp = true;
        break;
      case 't': {
        threads_given = true;
        const char* n = optional_value(argc, argv, &atoi_nonzero);
        if (n == nullptr) {
          o.threads = -1;  // one per CPU, resolved below
        } else {
          if (!number("-t", n, 1, kMaxThreads,
                      ("a thread count from 1 to " + std::to_string(kMaxThreads)).c_str(), &v)) {
            return fail(error);
          }
          o.threads = static_cast<int>(v);
        }
        break;
      }
      case 'u':
        o.unbuffered = true;
        break;
      case 'v':
        o.verbose = true;
        break;
      case 'x':
        o.mode = Mode::kSignal;
        break;
      case kOptPolicy: {
        bool known = true;
        o.policy = policy_from_name(arg, &known);
        if (!known) {
          o.notes.push_back(std::string("--policy '") + arg +
                            "' is not other, normal, batch, idle, fifo or rr: SCHED_OTHER, as "
                            "cyclictest does");
        }
        policy_given = true;
        break;
      }
      case kOptPriospread:
        o.priospread = true;
        break;
      case kOptMainaffinity:
        if (!parse_cpuset("--mainaffinity", arg, online_cpus, allowed_cpus, &o.main_cpus, &error))
          return fail(error);
        break;
      case kOptHistfile:
        o.histfile = arg;
        break;
      case kOptJson:
        json_given = true;
        o.json_path = arg;
        break;
      case kOptLatency: {
        // cyclictest: a negative target becomes 0.
        int64_t target = 0;
        if (!number("--latency", arg, std::numeric_limits<int>::min(), kIntMax,
                    "a latency target in us", &target)) {
          return fail(error);
        }
        o.latency_target = static_cast<int>(std::max<int64_t>(0, target));
        break;
      }
      case kOptAllowSharedCpu:
        o.allow_shared_cpu = true;
        break;
      case kOptDefaultSystem:
        o.default_system = true;
        break;
      case kOptLaptop:
        o.laptop = true;
        break;
      case kOptSmi:
        o.smi = true;
        o.notes.push_back("--smi: SMIs are not counted by pb-cyclictest; the run goes on without");
        break;
      case kOptSpike:
        if (!number("--spike", arg, 0, kIntMax, "a spike trigger >= 0 (0: off)", &o.spike))
          return fail(error);
        break;
      case kOptSpikeNodes:
        if (!number("--spike-nodes", arg, 0, kMaxSpikeNodes,
                    ("a number of spikes from 0 to " + std::to_string(kMaxSpikeNodes)).c_str(),
                    &v)) {
          return fail(error);
        }
        // cyclictest reads --spike-nodes only after a non-zero --spike.
        if (o.spike != 0) {
          o.spike_nodes = static_cast<int>(v);
        } else {
          o.notes.push_back("--spike-nodes before --spike is ignored, as cyclictest ignores it");
        }
        break;
      case kOptTracemark:
        o.tracemark = true;
        break;
      case kOptDbg:
        o.debug = true;
        break;
      case kOptMode:
        if (!parse_mode(arg, &o.mode))
          return fail(
              std::string("--mode: expected nanosleep, timerfd, uring, signal or futex, got '") +
              arg + "'");
        break;
      case kOptHelp:
        res.status = ParseResult::Status::kHelp;
        return res;
      case ':':
        return fail(std::string("option '") + argv[optind - 1] + "' needs a value");
      default: {
        if (optopt == '?') {  // -?: cyclictest's help
          res.status = ParseResult::Status::kHelp;
          return res;
        }
        if (optopt != 0) {
          return fail(std::string("unknown option '-") + static_cast<char>(optopt) +
                      "' (see --help)");
        }
        const std::string word = optind - 1 < argc ? argv[optind - 1] : "";
        return fail("unknown option '" + word + "' (see --help)");
      }
    }
  }
  // Like cyclictest, words that are not options are ignored (rteval passes
  // an empty one when no interval is configured).
  for (int i = optind; i < argc; ++i) {
    if (argv[i][0] != '\0') {
      o.notes.push_back(std::string("ignoring argument '") + argv[i] +
                        "' (not an option; cyclictest ignores it too)");
    }
  }

  // cyclictest's checks and fix-ups, in its order, with its messages as notes.
  if (aligned && secaligned) return fail("-A and --secaligned cannot be used together");
  if (o.oscope > 1 && !o.verbose) return fail("-o is only meaningful with -v");
  if (o.system_sleep && o.mode == Mode::kSignal) {
    o.notes.push_back(
        "-s needs clock_nanosleep and is not compatible with -x (POSIX timers): using "
        "clock_nanosleep");
    o.mode = Mode::kNanosleep;
  }
  if ((o.relative || o.system_sleep) && o.mode != Mode::kNanosleep && o.mode != Mode::kSignal) {
    o.notes.push_back(std::string(o.relative ? "-r" : "-s") + " has no effect with --mode " +
                      mode_name(o.mode) + " (its timer is absolute)");
    o.relative = o.system_sleep = false;
  }
  if (o.smp) {
    o.threads = -1;
    if (threads_given) o.notes.push_back("-t ignored due to smp mode");
    if (o.affinity) o.notes.push_back("-a ignored due to smp mode");
    o.affinity = true;
    o.affinity_cpus.clear();
  }
  if (o.histogram > 0 && distance_given) {
    o.notes.push_back("distance is ignored and set to 0, if histogram enabled");
  }
  if (o.histogram > 0) o.distance_us = 0;
  if (o.threads == -1) {
    // cyclictest: the CPUs of the -a set, else of this process's affinity.
    const size_t n = o.affinity_cpus.empty() ? allowed_cpus.size() : o.affinity_cpus.size();
    o.threads = std::clamp<int>(static_cast<int>(n), 1, kMaxThreads);
  }
  if (o.priospread && o.priority == 0) {
    o.priority = o.threads + 1;
    o.notes.push_back("defaulting realtime priority to " + std::to_string(o.priority));
  }
  if (o.priority > 0 && o.policy != SCHED_FIFO && o.policy != SCHED_RR) {
    if (policy_given)
      o.notes.push_back("policy and priority don't match: setting policy to SCHED_FIFO");
    o.policy = SCHED_FIFO;
  }
  if ((o.policy == SCHED_FIFO || o.policy == SCHED_RR) && o.priority == 0) {
    o.priority = o.threads + 1;
    o.notes.push_back("defaulting realtime priority to " + std::to_string(o.priority));
  }
  if (o.priority > 99)
    return fail("-p: a priority of " + std::to_string(o.priority) + " is above 99");
  if (o.priospread && o.priority - (o.threads - 1) < 1) {
    return fail("--priospread: " + std::to_string(o.threads) + " threads from priority " +
                std::to_string(o.priority) + " would go below 1");
  }
  if (!o.histfile.empty() && o.histogram == 0) {
    o.notes.push_back("--histfile has no effect without -h or -H");
    o.histfile.clear();
  }
  if (json_given && o.json_path.empty()) {
    o.notes.push_back("--json with an empty file name: no JSON, as cyclictest");
  }
  if (o.tracemark && o.breaktrace == 0) {
    o.notes.push_back("--tracemark has no effect without -b");
    o.tracemark = false;
  }
  return res;
}

std::vector<ThreadPlan> plan_threads(const Options& o, const std::vector<int>& allowed_cpus) {
  std::vector<ThreadPlan> plans;
  for (int i = 0; i < o.threads; ++i) {
    ThreadPlan p;
    p.index = i;
    p.policy = o.policy;
    p.priority = o.priority > 0 ? (o.priospread ? o.priority - i : o.priority) : 0;
    p.interval_ns = (o.interval_us + static_cast<int64_t>(i) * o.distance_us) * 1000;
    if (o.affinity && !o.affinity_cpus.empty()) {
      p.cpu = o.affinity_cpus[static_cast<size_t>(i) % o.affinity_cpus.size()];
    } else if (!allowed_cpus.empty()) {
      // -a alone, -S, and (as cyclictest 2.4 does) no -a at all: thread i on
      // the i-th CPU of this process's affinity, round robin.
      p.cpu = allowed_cpus[static_cast<size_t>(i) % allowed_cpus.size()];
    }
    plans.push_back(p);
  }
  return plans;
}

}  // namespace pb::cyclic
