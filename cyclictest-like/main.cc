// pb-cyclictest: wires options, the measurement and the outputs together.
// Order matters: signal handlers first (so Ctrl-C always ends cleanly), all
// validation before anything is measured (bad input: one message, exit 2),
// every allocation before mlockall and before threads turn real-time. The
// machine fingerprint (a child process) is gathered after the measurement,
// so that it neither disturbs the run nor is mapped into it.
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "measure.h"
#include "options.h"
#include "output.h"
#include "pb/atomic_file.h"
#include "pb/cpu_claim.h"
#include "pb/cpu_list.h"
#include "pb/subprocess.h"
#include "pb/sys.h"

namespace {

using namespace pb::cyclic;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kLivePeriodNs = 100 * kMs;    // live display refresh
constexpr int64_t kVerbosePeriodNs = 10 * kMs;  // -v: as often as cyclictest prints
constexpr int64_t kFifoPeriodNs = 500 * kMs;    // -F: as often as cyclictest looks for a reader

std::string read_text(const char* path) {
  std::string out;
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

std::vector<int> online_cpus() {
  if (auto cpus = pb::parse_cpu_list(read_text("/sys/devices/system/cpu/online"))) return *cpus;
  std::vector<int> all;
  for (long i = 0; i < sysconf(_SC_NPROCESSORS_ONLN); ++i) all.push_back(static_cast<int>(i));
  return all;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  std::vector<int> out;
  if (pb::sys::get_affinity(0, &set) < 0) return online_cpus();
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) out.push_back(i);
  }
  return out;
}

const char* policy_name(int policy) {
  switch (policy) {
    case SCHED_FIFO:
      return "fifo";
    case SCHED_RR:
      return "rr";
    case SCHED_BATCH:
      return "batch";
    case SCHED_IDLE:
      return "idle";
    default:
      return "other";
  }
}

// cyclictest's "policy: fifo" for real-time threads, "policy: other/other"
// for the rest (it names the policy asked for, then the one it runs).
std::string policy_text(int policy) {
  if (policy == SCHED_FIFO || policy == SCHED_RR) return policy_name(policy);
  return std::string(policy_name(policy)) + "/" + policy_name(policy);
}

// The machine fingerprint, from `preemptbench sysinfo --json` (the binary
// beside this one, else on PATH). Run as a child so that hwloc and zlib are
// never mapped into this process — under mlockall every mapped page is
// locked. Never fails: an object with "error" says what went wrong.
nlohmann::json machine_fingerprint() {
  std::string tool = "preemptbench";
  const std::string beside = pb::exe_dir() + "/preemptbench";
  if (::access(beside.c_str(), X_OK) == 0) tool = beside;
  const pb::ChildResult child =
      pb::run_child({"preemptbench", "sysinfo", "--json"},
                    {.out = pb::ChildOutput::kCapture, .silence_stderr = true, .program = tool});
  if (child.spawn_error != 0) {
    return {{"error", "cannot run " + tool + ": " + std::strerror(child.spawn_error)}};
  }
  auto doc = nlohmann::json::parse(child.out, nullptr, /*allow_exceptions=*/false);
  if (child.exit_code() != 0 || !doc.is_object()) {
    return {{"error", tool + " sysinfo --json failed"}};
  }
  return doc;
}

// VmHWM of this process in KiB, or -1.
long peak_rss_kib() {
  const std::string status = read_text("/proc/self/status");
  const auto at = status.find("VmHWM:");
  return at == std::string::npos ? -1 : std::strtol(status.c_str() + at + 6, nullptr, 10);
}

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "pb-cyclictest: %s\n", msg.c_str());
  return code;
}

void note(const std::string& msg) {
  std::fprintf(stderr, "pb-cyclictest: note: %s\n", msg.c_str());
}

std::string clock_text(int64_t s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::vector<LineFigures> live_figures(const Options& o, const std::vector<ThreadPlan>& plans,
                                      const Measurement& m) {
  std::vector<LineFigures> lines;
  for (size_t i = 0; i < plans.size(); ++i)
    lines.push_back(figures_from_live(plans[i], m.live(i), o.nsecs));
  return lines;
}

// Files that live only as long as the run: cyclictest's status file
// (/dev/shm/cyclictest<pid>), the -F fifo and /dev/cpu_dma_latency. Removed
// and closed on every way out of main().
struct RunFiles {
  std::string shm_name;  // "/cyclictest<pid>", for shm_open / shm_unlink
  int shm_fd = -1;
  std::string fifo_path;
  int dma_fd = -1;
  int trace_marker_fd = -1;
  int tracing_on_fd = -1;
  RunFiles() = default;
  RunFiles(const RunFiles&) = delete;
  RunFiles& operator=(const RunFiles&) = delete;
  ~RunFiles() {
    if (shm_fd >= 0) {
      ::close(shm_fd);
      ::shm_unlink(shm_name.c_str());
    }
    if (!fifo_path.empty()) ::unlink(fifo_path.c_str());
    for (int fd : {dma_fd, trace_marker_fd, tracing_on_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

// The status file get_cyclictest_snapshot (rt-tests) lists and prints:
// created empty at the start, rewritten on each SIGUSR2.
void create_status_file(RunFiles* files) {
  files->shm_name = "/cyclictest" + std::to_string(::getpid());
  ::shm_unlink(files->shm_name.c_str());
  files->shm_fd = ::shm_open(files->shm_name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (files->shm_fd < 0) {
    note("cannot create /dev/shm" + files->shm_name + ": " + std::strerror(errno) +
         " (SIGUSR2 snapshots are off)");
  }
}

void write_status_file(const RunFiles& files, const std::string& text) {
  if (files.shm_fd < 0) return;
  if (::ftruncate(files.shm_fd, 0) != 0 ||
      ::pwrite(files.shm_fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    note(std::string("cannot write the status file: ") + std::strerror(errno));
  }
}

// -F: hands the thread lines to a reader, if one has the fifo open.
void serve_fifo(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;  // no reader (ENXIO): try again later
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

// --tracemark: the tracing directory of tracefs, if mounted.
void open_trace_files(RunFiles* files) {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    const std::string marker = std::string(dir) + "/trace_marker";
    if (::access(marker.c_str(), W_OK) != 0) continue;
    files->trace_marker_fd = ::open(marker.c_str(), O_WRONLY | O_CLOEXEC);
    files->tracing_on_fd = ::open((std::string(dir) + "/tracing_on").c_str(), O_WRONLY | O_CLOEXEC);
    if (files->trace_marker_fd >= 0 && files->tracing_on_fd >= 0) return;
  }
  note("--tracemark: no writable tracefs (/sys/kernel/tracing): no trace mark will be written");
}

// -R: cyclictest's check of the clock's resolution. Reads the clock for about
// a millisecond; says what it found when -v is given or when the readings
// step more coarsely than clock_getres() claims. --dbg_cyclictest lists them.
void check_clock_resolution(const Options& o) {
  const clockid_t clock = o.clock();
  timespec res{};
  const bool have_res = ::clock_getres(clock, &res) == 0;
  const int64_t reported = have_res ? pb::sys::to_ns(res) : INT64_MAX;
  if (!have_res) note("clock_getres failed");
  int times = 1000;
  const int64_t t0 = pb::sys::clock_ns(clock);
  int64_t t1 = t0;
  for (int k = 0; k < times; ++k) t1 = pb::sys::clock_ns(clock);
  if (t1 != t0) {
    const int64_t per_call = std::max<int64_t>(1, (t1 - t0) / times);
    times = std::max<int>(1000, static_cast<int>(pb::sys::kNsPerSec / per_call / 1000));
  }
  times = std::min(times, 100'000);
  std::vector<int64_t> stamps(static_cast<size_t>(times));
  for (auto& s : stamps) s = pb::sys::clock_ns(clock);
  if (o.debug) {
    std::fprintf(stderr, "pb-cyclictest: info: For %d consecutive calls to clock_gettime():\n",
                 times);
    std::fprintf(stderr, "pb-cyclictest: info: time, delta time (nsec)\n");
  }
  int64_t min_step = INT64_MAX;
  for (size_t k = 1; k < stamps.size(); ++k) {
    const int64_t d = stamps[k] - stamps[k - 1];
    if (d > 0) min_step = std::min(min_step, d);
    if (o.debug) {
      std::fprintf(stderr, "pb-cyclictest: info: %lld.%06lld  %5lld\n",
                   static_cast<long long>(stamps[k] / pb::sys::kNsPerSec),
                   static_cast<long long>(stamps[k] % pb::sys::kNsPerSec / 1000),
                   static_cast<long long>(d));
    }
  }
  if (o.verbose || (min_step != INT64_MAX && min_step > reported)) {
    note("reported clock resolution: " + std::to_string(reported) + " nsec");
    note("measured clock resolution approximately: " +
         (min_step == INT64_MAX ? std::string("unknown") : std::to_string(min_step)) + " nsec");
  }
}

// The live block: cyclictest's policy/loadavg line, the line cyclictest
// leaves blank (elapsed time when stdout is a terminal), then one line per
// thread. `up` moves the cursor over the previous block first, as
// cyclictest does between refreshes.
void print_live(const Options& o, const std::vector<LineFigures>& lines, int64_t elapsed_ns,
                bool up, bool tty) {
  std::string load = read_text("/proc/loadavg");
  while (!load.empty() && load.back() == '\n') load.pop_back();
  std::string out;
  if (up) out += "\033[" + std::to_string(lines.size() + 2) + "A";
  out += "policy: " + policy_text(o.policy) + ": loadavg: " + load + "          \n";
  if (tty) {
    const int64_t el = elapsed_ns / pb::sys::kNsPerSec;
    out += "# elapsed " + clock_text(el);
    if (o.duration_s > 0) {
      out += " / " + clock_text(o.duration_s) + " (" +
             std::to_string(std::min<int64_t>(100, el * 100 / o.duration_s)) + " %)";
    }
    out += "\033[K";
  }
  out += '\n';
  for (const LineFigures& f : lines) out += format_thread_line(f, o.nsecs) + "\n";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

// -v: prints every sample the threads stored since the last call, reduced
// by -o as cyclictest reduces them. Samples overwritten before they could
// be printed (the main thread fell more than Measurement::kValueRing behind)
// are counted in `lost`.
struct VerbosePrinter {
  struct Cursor {
    uint64_t next = 0;
    uint64_t reduce = 0;
    int64_t redmax = 0;
    uint64_t cycle_of_max = 0;
  };
  std::vector<Cursor> cursors;
  uint64_t lost = 0;

  void drain(const Options& o, const Measurement& m) {
    cursors.resize(m.size());
    std::string out;
    for (size_t i = 0; i < m.size(); ++i) {
      Cursor& c = cursors[i];
      const uint64_t cycles = m.live(i).cycles.load(std::memory_order_acquire);
      if (cycles - c.next > Measurement::kValueRing) {
        lost += cycles - Measurement::kValueRing - c.next;
        c.next = cycles - Measurement::kValueRing;
      }
      for (; c.next < cycles; ++c.next) {
        const int64_t v = m.value(i, c.next);
        if (v > c.redmax) {
          c.redmax = v;
          c.cycle_of_max = c.next;
        }
        if (++c.reduce == static_cast<uint64_t>(o.oscope)) {
          out += format_verbose_line(static_cast<int>(i), c.cycle_of_max, c.redmax);
          c.reduce = 0;
          c.redmax = 0;
        }
      }
    }
    std::fputs(out.c_str(), stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  install_signal_handlers();

  const std::vector<int> online = online_cpus();
  const std::vector<int> allowed = allowed_cpus();
  ParseResult parsed = parse_options(argc, argv, online, allowed);
  if (parsed.status == ParseResult::Status::kHelp) {
    std::fputs(usage_text(), stdout);
    return kExitOk;
  }
  if (parsed.status == ParseResult::Status::kError) return fail(kExitUsage, parsed.error);
  const Options& o = parsed.options;
  if (o.unbuffered) std::setvbuf(stdout, nullptr, _IONBF, 0);
  for (const auto& n : o.notes) note(n);

  std::string error;
  const bool json_to_stdout = o.json_path == "-";
  if (!o.json_path.empty() && !json_to_stdout && pb::check_writable(o.json_path, &error) < 0) {
    return fail(kExitUsage, "--json: " + error);
  }
  if (!o.histfile.empty() && pb::check_writable(o.histfile, &error) < 0) {
    return fail(kExitUsage, "--histfile: " + error);
  }
  if ((o.policy == SCHED_FIFO || o.policy == SCHED_RR) && pb::sys::can_use_fifo(o.priority) != 1) {
    return fail(kExitUsage,
                "no permission for real-time priority " + std::to_string(o.priority) +
                    ". Run as root, or grant it: 'setcap cap_sys_nice+ep pb-cyclictest', or raise "
                    "the rtprio limit (ulimit -r " +
                    std::to_string(o.priority) +
                    "; '@group - rtprio 99' in /etc/security/limits.conf)");
  }

  const std::vector<ThreadPlan> plans = plan_threads(o, allowed);
  // Another of our measuring tools on one of these CPUs would disturb both
  // measurements: its per-CPU lock says so (pb/cpu_claim.h). Threads that
  // are not pinned may run on any allowed CPU.
  std::vector<int> measured_cpus;
  for (const ThreadPlan& p : plans) {
    if (p.cpu < 0) {
      measured_cpus = allowed;
      break;
    }
    measured_cpus.push_back(p.cpu);
  }
  std::sort(measured_cpus.begin(), measured_cpus.end());
  measured_cpus.erase(std::unique(measured_cpus.begin(), measured_cpus.end()), measured_cpus.end());
  pb::ClaimResult claim = pb::claim_cpus(measured_cpus, "pb-cyclictest");
  if (!claim.error.empty()) note(claim.error + ": not claimed");
  for (const std::string& b : claim.busy) {
    if (!o.allow_shared_cpu) {
      return fail(kExitUsage, b + " is held by another measurement: two measurements on one CPU "
                                  "disturb each other's latencies. Wait for it to end, or give "
                                  "--allow-shared-cpu to measure anyway");
    }
    note("shared CPU (--allow-shared-cpu): " + b + " is held by another measurement");
  }
  Measurement m(o, plans);
  if (m.prepare(&error) < 0) return fail(kExitUsage, error);
  RunFiles files;

  if (o.verbose) {  // cyclictest's -v preamble
    if (o.verbose_before_affinity && !o.affinity_cpus.empty()) {
      std::printf("Using %zu cpus.\n", o.affinity_cpus.size());
    }
    std::printf("Max CPUs = %ld\nOnline CPUs = %ld\n", sysconf(_SC_NPROCESSORS_CONF),
                sysconf(_SC_NPROCESSORS_ONLN));
    if (!o.affinity_cpus.empty()) std::printf("Using %zu cpus.\n", o.affinity_cpus.size());
  }
  if (o.mlock) {
#if defined(PB_SANITIZED)
    note("-m ignored in a sanitizer build (shadow memory)");
#else
    if (pb::sys::lock_all_memory() < 0)
      note(std::string("mlockall failed: ") + std::strerror(errno));
#endif
  }
  // Power management: hold /dev/cpu_dma_latency open for the whole run.
  if (o.laptop) {
    note("not setting cpu_dma_latency to save battery power (--laptop)");
  } else if (o.default_system) {
    note("not setting cpu_dma_latency (--default-system)");
  } else {
    files.dma_fd = ::open("/dev/cpu_dma_latency", O_RDWR | O_CLOEXEC);
    const int32_t target = o.latency_target;
    if (files.dma_fd >= 0 && ::write(files.dma_fd, &target, sizeof target) == sizeof target) {
      std::printf("# /dev/cpu_dma_latency set to %dus\n", o.latency_target);
    } else {
      note(std::string("cannot set /dev/cpu_dma_latency: ") + std::strerror(errno));
    }
  }
  if (o.tracemark) {
    open_trace_files(&files);
    m.set_trace_files(files.trace_marker_fd, files.tracing_on_fd);
  }
  if (timespec res{};
      ::clock_getres(CLOCK_MONOTONIC, &res) != 0 || res.tv_sec != 0 || res.tv_nsec != 1) {
    note("High resolution timers not available");
  }
  if (o.check_resolution) check_clock_resolution(o);
  if (o.verbose) {
    for (const ThreadPlan& p : plans) {
      if (!o.affinity_cpus.empty()) std::printf("Thread %d using cpu %d.\n", p.index, p.cpu);
      // cyclictest prints the interval of the thread after this one.
      const int64_t next = p.interval_ns / 1000 + (o.histogram > 0 ? 0 : o.distance_us);
      std::printf("Thread %d Interval: %lld\n", p.index, static_cast<long long>(next));
    }
  }
  std::fflush(stdout);
  create_status_file(&files);
  if (!o.fifo_path.empty()) {
    // cyclictest unlinks whatever is at the path; only a fifo is replaced here.
    struct stat st {};
    if (::lstat(o.fifo_path.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode)) {
      note("-F: " + o.fifo_path + " exists and is not a fifo: left alone, no fifo");
    } else {
      ::unlink(o.fifo_path.c_str());
      if (::mkfifo(o.fifo_path.c_str(), 0666) == 0) {
        files.fifo_path = o.fifo_path;
      } else {
        note("Error creating fifo " + o.fifo_path + ": " + std::strerror(errno));
      }
    }
  }
  if (!o.main_cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : o.main_cpus) CPU_SET(cpu, &set);
    if (pb::sys::set_affinity(0, set) < 0) note("--mainaffinity failed");
  }

  const int64_t start_ns = pb::sys::now_ns();
  const int64_t start_wall = static_cast<int64_t>(std::time(nullptr));
  if (m.start(&error) < 0) return fail(kExitFailed, error);

  // The main loop sleeps until something is due: the end of -D, a live
  // refresh, -v output, a -F reader, a signal or a thread ending the run
  // (both wake it through main_wake_word()). With -q and none of -v, -F it
  // sleeps through the whole run.
  const bool live = !o.quiet && !o.verbose;
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const int64_t end_ns = o.duration_s > 0 ? start_ns + o.duration_s * pb::sys::kNsPerSec : 0;
  int64_t next_live = start_ns, next_verbose = start_ns, next_fifo = start_ns;
  bool live_shown = false;
  std::vector<int64_t> shown_max(plans.size(), -1);
  VerbosePrinter verbose;
  StopReason reason = StopReason::kNone;
  for (;;) {
    const uint32_t seen = main_wake_word().load(std::memory_order_acquire);
    if (stop_signal_flag().load(std::memory_order_relaxed) != 0) {
      reason = StopReason::kSignal;
      break;
    }
    if (status_request_flag().exchange(0, std::memory_order_relaxed) != 0) {
      std::fflush(stdout);
      const std::string text = format_status_block(live_figures(o, plans, m), o.nsecs);
      std::fputs(text.c_str(), stderr);
    }
    if (snapshot_request_flag().exchange(0, std::memory_order_relaxed) != 0) {
      write_status_file(files, format_status_block(live_figures(o, plans, m), o.nsecs));
    }
    if (m.thread_requested_stop()) break;
    const int64_t now = pb::sys::now_ns();
    if (end_ns != 0 && now >= end_ns) {
      reason = StopReason::kDuration;
      break;
    }
    int64_t wake = end_ns;
    auto due = [&wake](int64_t at) { wake = wake == 0 ? at : std::min(wake, at); };
    if (o.verbose) {
      if (now >= next_verbose) {
        verbose.drain(o, m);
        next_verbose = now + kVerbosePeriodNs;
      }
      due(next_verbose);
    }
    if (live) {
      if (now >= next_live) {
        const std::vector<LineFigures> lines = live_figures(o, plans, m);
        bool new_max = false;
        for (size_t i = 0; i < lines.size(); ++i) {
          new_max = new_max || lines[i].max != shown_max[i];
          shown_max[i] = lines[i].max;
        }
        if (!o.refresh_on_max || new_max || !live_shown) {
          print_live(o, lines, now - start_ns, live_shown, tty);
          live_shown = true;
        }
        next_live = now + kLivePeriodNs;
      }
      due(next_live);
    }
    if (!files.fifo_path.empty()) {
      if (now >= next_fifo) {
        std::string text;
        for (const LineFigures& f : live_figures(o, plans, m))
          text += format_thread_line(f, o.nsecs) + "\n";
        serve_fifo(files.fifo_path, text);
        next_fifo = now + kFifoPeriodNs;
      }
      due(next_fifo);
    }
    // Returns on a wake (signal, thread), at `wake`, or at once if
    // main_wake_word() moved since `seen`.
    pb::sys::futex_wait(&main_wake_word(), seen, wake);
  }
  const int64_t elapsed = pb::sys::now_ns() - start_ns;
  RunResult run = m.finish(reason, elapsed);
  run.start_wall_s = start_wall;
  run.end_wall_s = static_cast<int64_t>(std::time(nullptr));
  if (o.verbose) verbose.drain(o, m);  // the samples of the last moments
  // Measuring is over: what follows needs no locked memory (cyclictest also
  // unlocks before it exits).
  if (o.mlock) ::munlockall();
  if (verbose.lost > 0) {
    note("-v: " + std::to_string(verbose.lost) +
         " samples were overwritten before they could be printed");
  }
  int rc = kExitOk;
  for (const ThreadResult& r : run.threads) {
    if (r.error != 0) {
      std::fprintf(stderr, "pb-cyclictest: thread %d: %s failed: %s\n", r.plan.index,
                   r.error_where.c_str(), std::strerror(-r.error));
      rc = kExitFailed;
    }
  }

  if (o.histogram > 0 && !o.histfile.empty() &&
      pb::write_file_atomic(o.histfile, format_histogram(run, o), &error) < 0) {
    std::fprintf(stderr, "pb-cyclictest: %s\n", error.c_str());
    rc = kExitFailed;
  }

  // The machine fingerprint, for the JSON only, and what gathering it cost
  // (its child's CPU time and peak RSS, reported apart from this process's).
  nlohmann::json machine = nlohmann::json::object();
  nlohmann::ordered_json fingerprint_cost;
  if (!o.json_path.empty()) {
    rusage before{}, after{};
    ::getrusage(RUSAGE_CHILDREN, &before);
    const int64_t t0 = pb::sys::now_ns();
    machine = machine_fingerprint();
    const int64_t wall = pb::sys::now_ns() - t0;
    ::getrusage(RUSAGE_CHILDREN, &after);
    auto seconds = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
    };
    fingerprint_cost = {{"cpu_s", seconds(after.ru_utime) + seconds(after.ru_stime) -
                                      seconds(before.ru_utime) - seconds(before.ru_stime)},
                        {"peak_rss_kib", after.ru_maxrss},
                        {"wall_s", static_cast<double>(wall) / 1e9}};
  }
  std::string json_text;
  if (!o.json_path.empty()) {
    nlohmann::ordered_json doc = to_json(run, o, machine, rc);
    doc["fingerprint_cost"] = fingerprint_cost;
    // This process's own peak RSS (VmHWM), taken after the document is built:
    // the figure a parent's wait4 sees would also count the fingerprint child.
    doc["peak_rss_kib"] = peak_rss_kib();
    json_text = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (json_to_stdout) std::fputs(json_text.c_str(), stdout);  // where cyclictest prints it

  // The summary. Our comment lines come first, so that the output still ends
  // the way cyclictest's does: the last thread lines (live or -q), or the
  // histogram block.
  std::string out;
  if (live && live_shown && tty) out += "\033[" + std::to_string(plans.size() + 2) + "A\033[J";
  out += format_comment_lines(run, o.nsecs);
  std::fputs(out.c_str(), stdout);
  if (live) {
    std::vector<LineFigures> lines;
    for (const ThreadResult& r : run.threads) lines.push_back(figures_from_result(r, o.nsecs));
    print_live(o, lines, elapsed, false, tty);
  } else if (o.quiet && o.histogram == 0) {
    for (const ThreadResult& r : run.threads) {
      std::printf("%s\n", format_thread_line(figures_from_result(r, o.nsecs), o.nsecs).c_str());
    }
  }
  std::fputs(format_spikes(run, o.nsecs).c_str(), stdout);
  if (o.histogram > 0 && o.histfile.empty()) std::fputs(format_histogram(run, o).c_str(), stdout);
  if (o.breaktrace > 0) {
    std::string ids = "# Thread Ids:";
    for (const ThreadResult& r : run.threads) ids += fmt::format(" {:05d}", r.tid);
    std::printf("%s\n", ids.c_str());
    if (run.break_thread >= 0) {
      std::printf("# Break thread: %d\n# Break value: %lld\n",
                  run.threads[static_cast<size_t>(run.break_thread)].tid,
                  static_cast<long long>(to_unit(run.break_value_ns, o.nsecs)));
    }
  }
  std::fflush(stdout);

  if (!o.json_path.empty() && !json_to_stdout &&
      pb::write_file_atomic(o.json_path, json_text, &error) < 0) {
    std::fprintf(stderr, "pb-cyclictest: %s\n", error.c_str());
    rc = kExitFailed;
  }
  return rc;
}
