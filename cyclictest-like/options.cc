#include "options.h"

#include <getopt.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>

#include "pb/sysinfo.h"

namespace pb::cyclic {
namespace {

constexpr int kMaxThreads = 4096;
constexpr int kMaxHistogram = 1'000'000;  // cyclictest's HIST_MAX

enum LongOnly {
  kOptPolicy = 1000,
  kOptPriospread,
  kOptMainaffinity,
  kOptHistfile,
  kOptJson,
  kOptLatency,
  kOptDefaultSystem,
  kOptMode,
};

// Parses all of `text` as a decimal integer in [lo, hi].
template <typename T>
bool parse_int(const char* text, T lo, T hi, T* out) {
  if (text == nullptr || *text == '\0') return false;
  T v{};
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, v);
  if (ec != std::errc() || ptr != end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool parse_policy(const char* name, int* policy) {
  struct P {
    const char* name;
    int policy;
  };
  static constexpr P kPolicies[] = {{"other", SCHED_OTHER}, {"normal", SCHED_OTHER},
                                    {"batch", SCHED_BATCH}, {"idle", SCHED_IDLE},
                                    {"fifo", SCHED_FIFO},   {"rr", SCHED_RR}};
  for (const auto& p : kPolicies) {
    if (std::strcmp(p.name, name) == 0) {
      *policy = p.policy;
      return true;
    }
  }
  return false;
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

std::string cpus_to_string(const std::vector<int>& cpus) {
  return format_cpu_list(cpus);
}

// Parses a CPU set and checks every CPU is online.
bool parse_cpuset(const char* flag, const char* text, const std::vector<int>& online,
                  std::vector<int>* out, std::string* error) {
  // libnuma's forms that cyclictest accepts: "all" and "!LIST" (all but LIST).
  std::string why;
  const bool invert = text[0] == '!';
  auto cpus = std::strcmp(text, "all") == 0 ? std::optional<std::vector<int>>(online)
                                             : parse_cpu_list(text + (invert ? 1 : 0), &why);
  if (cpus && invert) {
    std::vector<int> rest;
    for (int cpu : online) {
      if (!std::binary_search(cpus->begin(), cpus->end(), cpu)) rest.push_back(cpu);
    }
    cpus = std::move(rest);
  }
  if (!cpus || cpus->empty()) {
    *error = std::string(flag) + ": invalid CPU set '" + text + "'" + (why.empty() ? "" : ": " + why);
    return false;
  }
  *out = std::move(*cpus);
  for (int cpu : *out) {
    if (!std::binary_search(online.begin(), online.end(), cpu)) {
      *error = std::string(flag) + ": CPU " + std::to_string(cpu) + " is not online (online: " +
               cpus_to_string(online) + ")";
      return false;
    }
  }
  return true;
}

// For flags with an optional argument (-t, -a): getopt only sees an attached
// value (-t4, --threads=4); like cyclictest, also take a detached one
// (-t 4) when the next word looks like a value.
const char* optional_value(int argc, const char* const* argv, bool (*looks_like)(const char*)) {
  if (optarg != nullptr) return optarg;
  if (optind < argc && argv[optind][0] != '-' && looks_like(argv[optind])) {
    return argv[optind++];
  }
  return nullptr;
}

bool looks_like_number(const char* s) {
  return *s != '\0' && std::all_of(s, s + std::strlen(s), [](char c) { return c >= '0' && c <= '9'; });
}

bool looks_like_cpuset(const char* s) {
  if (std::strcmp(s, "all") == 0) return true;
  if (*s == '!') ++s;
  return *s != '\0' && std::all_of(s, s + std::strlen(s), [](char c) {
           return (c >= '0' && c <= '9') || c == ',' || c == '-';
         });
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kNanosleep: return "nanosleep";
    case Mode::kTimerfd: return "timerfd";
    case Mode::kUring: return "uring";
    case Mode::kSignal: return "signal";
    case Mode::kFutex: return "futex";
  }
  return "?";
}

bool parse_duration(const std::string& text, int64_t* seconds) {
  if (text.empty()) return false;
  int64_t mult = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's': case 'S': mult = 1; digits.pop_back(); break;
    case 'm': case 'M': mult = 60; digits.pop_back(); break;
    case 'h': case 'H': mult = 3600; digits.pop_back(); break;
    case 'd': case 'D': mult = 86400; digits.pop_back(); break;
    default: break;
  }
  int64_t v = 0;
  if (!parse_int<int64_t>(digits.c_str(), 0, std::numeric_limits<int64_t>::max() / 86400, &v)) {
    return false;
  }
  *seconds = v * mult;
  return true;
}

const char* usage_text() {
  return
      "pb-cyclictest: wakeup latency of this host, a drop-in for rt-tests' cyclictest\n"
      "usage: pb-cyclictest [options]\n"
      "\n"
      "cyclictest's options (same meaning and defaults):\n"
      "  -a [CPUSET] --affinity[=CPUSET]  pin thread N to CPU N, or round-robin over CPUSET\n"
      "  -b USEC     --breaktrace=USEC    stop when a latency exceeds USEC\n"
      "              --default-system     do not write /dev/cpu_dma_latency\n"
      "  -d DIST     --distance=DIST      interval increment per thread in us (default 500)\n"
      "  -D TIME     --duration=TIME      run time; suffix s, m, h or d (default: endless)\n"
      "  -h US       --histogram=US       print a histogram of US buckets (us; ns with -N)\n"
      "  -H US       --histofall=US       same, with a summary column for all threads\n"
      "              --histfile=PATH      write the histogram to PATH instead of stdout\n"
      "  -i INTV     --interval=INTV      base interval in us (default 1000)\n"
      "              --json=FILE          write results to FILE (cyclictest's JSON, extended)\n"
      "              --latency=PM_QOS     value for /dev/cpu_dma_latency (default 0)\n"
      "  -l LOOPS    --loops=LOOPS        cycles per thread; the first thread done ends the run\n"
      "              --mainaffinity=CPUSET  run the main thread on CPUSET\n"
      "  -m          --mlockall           lock memory (mlockall) and prefault stacks\n"
      "  -N          --nsecs              print results in ns instead of us\n"
      "  -p PRIO     --priority=PRIO      SCHED_FIFO priority of the threads (default: not RT)\n"
      "              --policy=NAME        other, normal, batch, idle, fifo or rr\n"
      "              --priospread         lower the priority by one per thread\n"
      "  -q          --quiet              print a summary only on exit\n"
      "  -S          --smp                one thread per CPU, pinned (= -t -a)\n"
      "  -t [N]      --threads[=N]        N threads; without N one per allowed CPU (default 1)\n"
      "  -u          --unbuffered         unbuffered output\n"
      "  -x          --posix_timers       same as --mode signal\n"
      "  -n                               accepted and ignored (obsolete in cyclictest)\n"
      "\n"
      "pb-cyclictest's own:\n"
      "              --mode=MODE          how threads wake: nanosleep (default), timerfd,\n"
      "                                   uring, signal, futex (thread-to-thread wakeup)\n"
      "              --help               this text\n"
      "\n"
      "Missed periods are counted (cyclictest skips them silently) and shown as Missed;\n"
      "percentiles p50..p99.99 follow the summary. Exit codes: 0 done, 1 failed, 2 bad input.\n";
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
      {"breaktrace", required_argument, nullptr, 'b'},
      {"distance", required_argument, nullptr, 'd'},
      {"duration", required_argument, nullptr, 'D'},
      {"histogram", required_argument, nullptr, 'h'},
      {"histofall", required_argument, nullptr, 'H'},
      {"interval", required_argument, nullptr, 'i'},
      {"loops", required_argument, nullptr, 'l'},
      {"mlockall", no_argument, nullptr, 'm'},
      {"nsecs", no_argument, nullptr, 'N'},
      {"priority", required_argument, nullptr, 'p'},
      {"quiet", no_argument, nullptr, 'q'},
      {"smp", no_argument, nullptr, 'S'},
      {"threads", optional_argument, nullptr, 't'},
      {"unbuffered", no_argument, nullptr, 'u'},
      {"posix_timers", no_argument, nullptr, 'x'},
      {"policy", required_argument, nullptr, kOptPolicy},
      {"priospread", no_argument, nullptr, kOptPriospread},
      {"mainaffinity", required_argument, nullptr, kOptMainaffinity},
      {"histfile", required_argument, nullptr, kOptHistfile},
      {"json", required_argument, nullptr, kOptJson},
      {"latency", required_argument, nullptr, kOptLatency},
      {"default-system", no_argument, nullptr, kOptDefaultSystem},
      {"mode", required_argument, nullptr, kOptMode},
      {"help", no_argument, nullptr, '?' + 256},
      {nullptr, 0, nullptr, 0},
  };
  // getopt keeps global state: reset it fully (glibc: optind = 0).
  optind = 0;
  opterr = 0;
  bool policy_given = false, threads_given = false, distance_given = false;
  auto* av = const_cast<char* const*>(argv);
  int c;
  while ((c = getopt_long(argc, av, ":a::b:d:D:h:H:i:l:mNnp:qSt::ux", kLong, nullptr)) != -1) {
    const char* v = optarg;
    switch (c) {
      case 'a': {
        o.affinity = true;
        const char* set = optional_value(argc, argv, &looks_like_cpuset);
        if (set != nullptr) {
          std::string err;
          if (!parse_cpuset("-a", set, online_cpus, &o.affinity_cpus, &err)) return fail(err);
        }
        break;
      }
      case 'b':
        if (!parse_int<int64_t>(v, 1, std::numeric_limits<int64_t>::max() / 1000, &o.breaktrace_us))
          return fail(std::string("-b: expected a positive number of microseconds, got '") + v + "'");
        break;
      case 'd':
        distance_given = true;
        if (!parse_int<int64_t>(v, 0, 3'600'000'000LL, &o.distance_us))
          return fail(std::string("-d: expected a distance in us >= 0, got '") + v + "'");
        break;
      case 'D':
        if (!parse_duration(v, &o.duration_s))
          return fail(std::string("-D: expected a duration like 30, 30s, 10m, 2h or 1d, got '") + v + "'");
        break;
      case 'H':
        o.histofall = true;
        [[fallthrough]];
      case 'h':
        if (!parse_int<int>(v, 1, kMaxHistogram, &o.histogram))
          return fail(std::string("-h/-H: expected a number of buckets from 1 to ") +
                      std::to_string(kMaxHistogram) + ", got '" + v + "'");
        break;
      case 'i':
        if (!parse_int<int64_t>(v, 1, 3'600'000'000LL, &o.interval_us))
          return fail(std::string("-i: expected an interval in us greater than 0, got '") + v + "'");
        break;
      case 'l':
        if (!parse_int<uint64_t>(v, 0, std::numeric_limits<uint64_t>::max(), &o.loops))
          return fail(std::string("-l: expected a number of loops >= 0, got '") + v + "'");
        break;
      case 'm': o.mlock = true; break;
      case 'N': o.nsecs = true; break;
      case 'n':
        o.notes.push_back("-n is obsolete and ignored: clock_nanosleep is already the default (--mode nanosleep)");
        break;
      case 'p': {
        if (!parse_int<int>(v, 0, 99, &o.priority))
          return fail(std::string("-p: expected a priority from 0 to 99, got '") + v + "'");
        break;
      }
      case 'q': o.quiet = true; break;
      case 'S': o.smp = true; break;
      case 't': {
        threads_given = true;
        const char* n = optional_value(argc, argv, &looks_like_number);
        if (n == nullptr) {
          o.threads = -1;  // one per allowed CPU, resolved below
        } else if (!parse_int<int>(n, 1, kMaxThreads, &o.threads)) {
          return fail(std::string("-t: expected a thread count from 1 to ") +
                      std::to_string(kMaxThreads) + ", got '" + n + "'");
        }
        break;
      }
      case 'u': setvbuf(stdout, nullptr, _IONBF, 0); break;
      case 'x':
        o.mode = Mode::kSignal;
        o.notes.push_back("-x: POSIX timers, measured as --mode signal");
        break;
      case kOptPolicy:
        if (!parse_policy(v, &o.policy))
          return fail(std::string("--policy: expected other, normal, batch, idle, fifo or rr, got '") + v + "'");
        policy_given = true;
        break;
      case kOptPriospread: o.priospread = true; break;
      case kOptMainaffinity: {
        std::string err;
        if (!parse_cpuset("--mainaffinity", v, online_cpus, &o.main_cpus, &err)) return fail(err);
        break;
      }
      case kOptHistfile:
        if (*v == '\0') return fail("--histfile: expected a file name");
        o.histfile = v;
        break;
      case kOptJson:
        if (*v == '\0') return fail("--json: expected a file name");
        o.json_path = v;
        break;
      case kOptLatency:
        if (!parse_int<int>(v, 0, std::numeric_limits<int>::max(), &o.latency_target))
          return fail(std::string("--latency: expected a value in us >= 0, got '") + v + "'");
        break;
      case kOptDefaultSystem: o.default_system = true; break;
      case kOptMode:
        if (!parse_mode(v, &o.mode))
          return fail(std::string("--mode: expected nanosleep, timerfd, uring, signal or futex, got '") + v + "'");
        break;
      case '?' + 256:
        res.status = ParseResult::Status::kHelp;
        return res;
      case ':':
        return fail(std::string("option '") + argv[optind - 1] + "' needs a value");
      default: {
        const std::string word = optind - 1 < argc ? argv[optind - 1] : "";
        if (optopt != 0 && optopt != '?') {
          return fail(std::string("unknown or unsupported option '-") + static_cast<char>(optopt) +
                      "' (see --help)");
        }
        return fail("unknown or unsupported option '" + word + "' (see --help)");
      }
    }
  }
  if (optind < argc) return fail(std::string("unexpected argument '") + argv[optind] + "'");

  // cyclictest's fix-ups, with its messages as notes: a priority forces
  // SCHED_FIFO unless the policy is FIFO or RR; FIFO/RR (or --priospread)
  // without a priority gets threads + 1.
  if (o.smp) {
    o.threads = std::max<int>(1, static_cast<int>(allowed_cpus.size()));
  } else if (o.threads == -1) {
    o.threads = std::max<int>(1, static_cast<int>(allowed_cpus.size()));
  }
  if (o.priority > 0 && o.policy != SCHED_FIFO && o.policy != SCHED_RR) {
    if (policy_given) o.notes.push_back("policy and priority don't match: setting policy to SCHED_FIFO");
    o.policy = SCHED_FIFO;
  }
  if (o.priority == 0 && (o.priospread || o.policy == SCHED_FIFO || o.policy == SCHED_RR)) {
    o.priority = o.threads + 1;
    if (o.policy != SCHED_RR) o.policy = SCHED_FIFO;
    o.notes.push_back("defaulting realtime priority to " + std::to_string(o.priority));
  }
  if (o.histogram > 0 && o.distance_us != 0) {
    if (distance_given) o.notes.push_back("distance is ignored and set to 0, if histogram enabled");
    o.distance_us = 0;
  }
  if (o.smp) {
    if (threads_given) o.notes.push_back("-t ignored due to smp mode");
    if (o.affinity) o.notes.push_back("-a ignored due to smp mode");
    o.affinity = true;
    o.affinity_cpus.clear();
  }
  if (o.priospread && o.priority - (o.threads - 1) < 1) {
    return fail("--priospread: " + std::to_string(o.threads) + " threads from priority " +
                std::to_string(o.priority) + " would go below 1");
  }
  if (!o.histfile.empty() && o.histogram == 0) {
    return fail("--histfile needs -h or -H");
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
