// pb-cyclictest: wires options, the measurement and the outputs together.
// Order matters: signal handlers first (so Ctrl-C always ends cleanly), all
// validation before anything is measured (bad input: one message, exit 2),
// every allocation before mlockall and before threads turn real-time.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

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
#include "pb/subprocess.h"
#include "pb/sys.h"
#include "pb/cpu_list.h"

namespace {

using namespace pb::cyclic;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int64_t kRefreshNs = 100'000'000;  // live display period

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
    case SCHED_FIFO: return "fifo";
    case SCHED_RR: return "rr";
    case SCHED_BATCH: return "batch";
    case SCHED_IDLE: return "idle";
    default: return "other";
  }
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

std::string clock_text(int64_t s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

// The live block: cyclictest's policy/loadavg line, a progress line where
// cyclictest leaves a blank one, then one line per thread.
void print_live(const Options& o, const std::vector<ThreadPlan>& plans, const Measurement& m,
                int64_t elapsed_ns, bool first) {
  std::string load = read_text("/proc/loadavg");
  while (!load.empty() && load.back() == '\n') load.pop_back();
  std::string out;
  if (!first) out += "\033[" + std::to_string(plans.size() + 2) + "A";
  out += std::string("policy: ") + policy_name(o.policy) + ": loadavg: " + load + "          \n";
  const int64_t el = elapsed_ns / pb::sys::kNsPerSec;
  out += "# elapsed " + clock_text(el);
  if (o.duration_s > 0) {
    out += " / " + clock_text(o.duration_s) + " (" +
           std::to_string(std::min<int64_t>(100, el * 100 / o.duration_s)) + " %)";
  }
  out += "\033[K\n";
  for (size_t i = 0; i < plans.size(); ++i) {
    out += format_thread_line(figures_from_live(plans[i], m.live(i), o.nsecs), o.nsecs) + "\n";
  }
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  install_stop_signal_handlers();

  const std::vector<int> online = online_cpus();
  const std::vector<int> allowed = allowed_cpus();
  ParseResult parsed = parse_options(argc, argv, online, allowed);
  if (parsed.status == ParseResult::Status::kHelp) {
    std::fputs(usage_text(), stdout);
    return kExitOk;
  }
  if (parsed.status == ParseResult::Status::kError) return fail(kExitUsage, parsed.error);
  const Options& o = parsed.options;
  for (const auto& note : o.notes) std::fprintf(stderr, "pb-cyclictest: note: %s\n", note.c_str());

  std::string error;
  if (!o.json_path.empty() && pb::check_writable(o.json_path, &error) < 0) {
    return fail(kExitUsage, "--json: " + error);
  }
  if (!o.histfile.empty() && pb::check_writable(o.histfile, &error) < 0) {
    return fail(kExitUsage, "--histfile: " + error);
  }
  if ((o.policy == SCHED_FIFO || o.policy == SCHED_RR) && pb::sys::can_use_fifo(o.priority) != 1) {
    return fail(kExitUsage,
                "no permission for real-time priority " + std::to_string(o.priority) +
                    ". Run as root, or grant it: 'setcap cap_sys_nice+ep pb-cyclictest', or raise "
                    "the rtprio limit (ulimit -r " + std::to_string(o.priority) +
                    "; '@group - rtprio 99' in /etc/security/limits.conf)");
  }

  const std::vector<ThreadPlan> plans = plan_threads(o, allowed);
  // The fingerprint only goes to the JSON; collected before measuring so it
  // describes the machine as measured.
  const nlohmann::json machine =
      o.json_path.empty() ? nlohmann::json::object() : machine_fingerprint();
  Measurement m(o, plans);
  if (m.prepare(&error) < 0) return fail(kExitUsage, error);

  // Power management: hold /dev/cpu_dma_latency open for the whole run.
  int dma_fd = -1;
  if (!o.default_system) {
    dma_fd = ::open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
    const int32_t target = o.latency_target;
    if (dma_fd >= 0 && ::write(dma_fd, &target, sizeof target) == sizeof target) {
      std::printf("# /dev/cpu_dma_latency set to %dus\n", o.latency_target);
    } else {
      std::fprintf(stderr, "pb-cyclictest: note: cannot set /dev/cpu_dma_latency: %s\n",
                   std::strerror(errno));
    }
  }
  if (!o.main_cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : o.main_cpus) CPU_SET(cpu, &set);
    if (pb::sys::set_affinity(0, set) < 0) std::fprintf(stderr, "pb-cyclictest: note: --mainaffinity failed\n");
  }
  if (o.mlock) {
#if defined(PB_SANITIZED)
    std::fprintf(stderr, "pb-cyclictest: note: -m ignored in a sanitizer build (shadow memory)\n");
#else
    if (pb::sys::lock_all_memory() < 0) {
      std::fprintf(stderr, "pb-cyclictest: note: mlockall failed: %s\n", std::strerror(errno));
    }
#endif
  }

  RunResult run;
  const int64_t start_ns = pb::sys::now_ns();
  const int64_t start_wall = static_cast<int64_t>(std::time(nullptr));
  if (m.start(&error) < 0) return fail(kExitFailed, error);

  const int64_t end_ns = o.duration_s > 0 ? start_ns + o.duration_s * pb::sys::kNsPerSec : 0;
  StopReason reason = StopReason::kNone;
  bool first = true;
  for (;;) {
    const int64_t now = pb::sys::now_ns();
    if (pb::cyclic::stop_signal_flag().load(std::memory_order_relaxed) != 0) {
      reason = StopReason::kSignal;
      break;
    }
    if (m.thread_requested_stop()) break;
    if (end_ns != 0 && now >= end_ns) {
      reason = StopReason::kDuration;
      break;
    }
    if (!o.quiet) {
      print_live(o, plans, m, now - start_ns, first);
      first = false;
    }
    int64_t wake = now + kRefreshNs;
    if (end_ns != 0 && wake > end_ns) wake = end_ns;
    pb::sys::sleep_until_ns(wake);  // EINTR on SIGINT/SIGTERM: loop re-checks
  }
  const int64_t elapsed = pb::sys::now_ns() - start_ns;
  run = m.finish(reason, elapsed);
  run.start_wall_s = start_wall;
  run.end_wall_s = static_cast<int64_t>(std::time(nullptr));
  int rc = kExitOk;
  for (const ThreadResult& r : run.threads) {
    if (r.error != 0) {
      std::fprintf(stderr, "pb-cyclictest: thread %d: %s failed: %s\n", r.plan.index,
                   r.error_where.c_str(), std::strerror(-r.error));
      rc = kExitFailed;
    }
  }

  // Final summary: the live block once more with final figures, or in quiet
  // mode the thread lines (cyclictest prints none with -q and a histogram).
  if (!o.quiet) {
    print_live(o, plans, m, elapsed, first);
  } else if (o.histogram == 0 || !o.histfile.empty()) {
    for (const ThreadResult& r : run.threads) {
      std::printf("%s\n", format_thread_line(figures_from_result(r, o.nsecs), o.nsecs).c_str());
    }
  }
  if (o.histogram > 0) {
    const std::string hist = format_histogram(run, o);
    if (!o.histfile.empty()) {
      if (pb::write_file_atomic(o.histfile, hist, &error) < 0) {
        std::fprintf(stderr, "pb-cyclictest: %s\n", error.c_str());
        rc = kExitFailed;
      }
    } else {
      std::fputs(hist.c_str(), stdout);
    }
  }
  for (const ThreadResult& r : run.threads) {
    std::printf("%s\n", format_percentile_line(r, o.nsecs).c_str());
  }
  if (o.breaktrace_us > 0) {
    std::string ids = "# Thread Ids:";
    for (const ThreadResult& r : run.threads) ids += fmt::format(" {:05d}", r.tid);
    std::printf("%s\n", ids.c_str());
    if (run.break_thread >= 0) {
      std::printf("# Break thread: %d\n# Break value: %lld\n",
                  run.threads[static_cast<size_t>(run.break_thread)].tid,
                  static_cast<long long>(to_unit(run.break_value_ns, o.nsecs)));
    }
  }
  if (run.partial && run.stop == StopReason::kSignal) {
    std::printf("# Interrupted after %.3f s: results are partial\n", static_cast<double>(elapsed) / 1e9);
  }
  std::fflush(stdout);

  if (!o.json_path.empty()) {
    nlohmann::ordered_json doc = to_json(run, o, machine, rc);
    // This process's own peak RSS (VmHWM), taken after the document is built:
    // wait4's figure for this process would also count the preemptbench child.
    doc["peak_rss_kib"] = peak_rss_kib();
    const std::string text =
        doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (pb::write_file_atomic(o.json_path, text, &error) < 0) {
      std::fprintf(stderr, "pb-cyclictest: %s\n", error.c_str());
      rc = kExitFailed;
    }
  }
  if (dma_fd >= 0) ::close(dma_fd);
  return rc;
}
