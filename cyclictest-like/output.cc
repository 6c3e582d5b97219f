#include "output.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "pb/version.h"

namespace pb::cyclic {
namespace {

std::string rfc2822(int64_t wall_s) {
  const time_t t = static_cast<time_t>(wall_s);
  tm utc;
  gmtime_r(&t, &utc);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %T %z", &utc);
  return buf;
}

int read_realtime_flag() {
  FILE* f = std::fopen("/sys/kernel/realtime", "r");
  if (f == nullptr) return 0;
  int v = 0;
  if (std::fscanf(f, "%d", &v) != 1) v = 0;
  std::fclose(f);
  return v;
}

// Two decimals, as cyclictest prints avg ("%.2f"); done with integers so
// pb-cyclictest does not map libm (every mapped page is locked under -m).
double round2(double v) {
  const double scaled = v * 100.0;
  const auto whole = static_cast<int64_t>(scaled >= 0 ? scaled + 0.5 : scaled - 0.5);
  return static_cast<double>(whole) / 100.0;
}

}  // namespace

LineFigures figures_from_live(const ThreadPlan& plan, const LiveStats& live, bool nsecs) {
  LineFigures f;
  f.index = plan.index;
  f.tid = live.tid.load(std::memory_order_relaxed);
  f.priority = plan.priority;
  f.interval_us = plan.interval_ns / 1000;
  f.cycles = live.cycles.load(std::memory_order_acquire);
  if (f.cycles > 0) {
    f.min = to_unit(live.min_ns.load(std::memory_order_relaxed), nsecs);
    f.act = to_unit(live.act_ns.load(std::memory_order_relaxed), nsecs);
    f.avg = to_unit(live.sum_ns.load(std::memory_order_relaxed) / static_cast<int64_t>(f.cycles),
                    nsecs);
    f.max = to_unit(live.max_ns.load(std::memory_order_relaxed), nsecs);
  } else {
    f.min = 1000000;
  }
  return f;
}

LineFigures figures_from_result(const ThreadResult& r, bool nsecs) {
  LineFigures f;
  f.index = r.plan.index;
  f.tid = r.tid;
  f.priority = r.plan.priority;
  f.interval_us = r.plan.interval_ns / 1000;
  f.cycles = r.cycles;
  if (r.cycles > 0) {
    f.min = to_unit(r.min_ns, nsecs);
    f.act = to_unit(r.act_ns, nsecs);
    f.avg = to_unit(r.sum_ns / static_cast<int64_t>(r.cycles), nsecs);
    f.max = to_unit(r.max_ns, nsecs);
  } else {
    f.min = 1000000;
  }
  return f;
}

std::string format_thread_line(const LineFigures& f, bool nsecs) {
  // cyclictest widens Act and Avg to 8 columns with -N.
  if (nsecs) {
    return fmt::format(
        "T:{:2d} ({:5d}) P:{:2d} I:{} C:{:7d} Min:{:7d} Act:{:8d} Avg:{:8d} Max:{:8d}", f.index,
        f.tid, f.priority, f.interval_us, f.cycles, f.min, f.act, f.avg, f.max);
  }
  return fmt::format("T:{:2d} ({:5d}) P:{:2d} I:{} C:{:7d} Min:{:7d} Act:{:5d} Avg:{:5d} Max:{:8d}",
                     f.index, f.tid, f.priority, f.interval_us, f.cycles, f.min, f.act, f.avg,
                     f.max);
}

std::string format_comment_lines(const RunResult& run, bool nsecs) {
  std::string out;
  auto row = [&](const char* title, auto value) {
    out += title;
    for (const ThreadResult& r : run.threads) out += fmt::format(" {:05d}", value(r));
    out += '\n';
  };
  struct P {
    const char* title;
    double q;
  };
  static constexpr P kPercentiles[] = {{"# P50 Latencies:", 50},
                                       {"# P90 Latencies:", 90},
                                       {"# P99 Latencies:", 99},
                                       {"# P99.9 Latencies:", 99.9},
                                       {"# P99.99 Latencies:", 99.99}};
  for (const P& p : kPercentiles) {
    row(p.title,
        [&](const ThreadResult& r) { return to_unit(r.histogram.percentile(p.q), nsecs); });
  }
  row("# Missed Periods:", [](const ThreadResult& r) { return r.missed; });
  if (run.partial && run.stop == StopReason::kSignal) {
    out +=
        fmt::format("# Partial Run Seconds: {:.3f}\n", static_cast<double>(run.elapsed_ns) / 1e9);
  }
  return out;
}

std::string format_status_block(const std::vector<LineFigures>& lines, bool nsecs) {
  std::string out = "#---------------------------\n# cyclictest current status:\n";
  for (const LineFigures& f : lines) out += format_thread_line(f, nsecs) + "\n";
  out += "#---------------------------\n";
  return out;
}

std::string format_verbose_line(int thread, uint64_t cycle, int64_t value) {
  return fmt::format("{:8d}:{:8d}:{:8d}\n", thread, cycle, value);
}

std::string format_spikes(const RunResult& run, bool nsecs) {
  if (run.spikes.empty()) return "";
  std::string out = "\n";
  for (const Spike& s : run.spikes) {
    out += fmt::format("T:{:2d} Spike:{:8d}: TS: {:12d}\n", s.thread, to_unit(s.latency_ns, nsecs),
                       s.at_ns / 1000);
  }
  out += fmt::format("spikes = {}\n\n", run.spike_count);
  return out;
}

std::string format_histogram(const RunResult& run, const Options& opts) {
  std::string out = "# Histogram\n";
  const auto& th = run.threads;
  const size_t buckets = static_cast<size_t>(opts.histogram);
  for (size_t b = 0; b < buckets; ++b) {
    out += fmt::format("{:06d} ", b);
    uint64_t all = 0;
    for (size_t j = 0; j < th.size(); ++j) {
      const uint64_t n = b < th[j].linear.size() ? th[j].linear[b] : 0;
      all += n;
      out += fmt::format("{:06d}", n);
      if (j + 1 < th.size()) out += '\t';
    }
    if (opts.histofall && th.size() > 1) out += fmt::format("\t{:06d}", all);
    out += '\n';
  }
  auto row = [&](const char* title, auto value, int width, bool with_all, auto combine) {
    out += title;
    decltype(value(th[0])) acc{};
    for (size_t j = 0; j < th.size(); ++j) {
      const auto v = value(th[j]);
      acc = j == 0 ? v : combine(acc, v);
      out += fmt::format(" {:0{}d}", v, width);
    }
    if (opts.histofall && with_all && th.size() > 1) out += fmt::format(" {:0{}d}", acc, width);
    out += '\n';
  };
  auto sum = [](auto a, auto b) { return a + b; };
  auto larger = [](auto a, auto b) { return std::max(a, b); };
  const bool ns = opts.nsecs;
  if (!th.empty()) {
    row(
        "# Total:",
        [&](const ThreadResult& r) {
          uint64_t n = 0;
          for (uint64_t c : r.linear) n += c;
          return n;
        },
        9, true, sum);
    row(
        "# Min Latencies:",
        [&](const ThreadResult& r) { return r.cycles ? to_unit(r.min_ns, ns) : 0; }, 5, false,
        larger);
    row(
        "# Avg Latencies:",
        [&](const ThreadResult& r) {
          return r.cycles ? to_unit(r.sum_ns / static_cast<int64_t>(r.cycles), ns) : 0;
        },
        5, false, larger);
    row(
        "# Max Latencies:", [&](const ThreadResult& r) { return to_unit(r.max_ns, ns); }, 5, true,
        larger);
    row(
        "# Histogram Overflows:", [&](const ThreadResult& r) { return r.linear_overflow; }, 5, true,
        sum);
  }
  out += "# Histogram Overflow at cycle number:\n";
  for (const ThreadResult& r : th) {
    out += fmt::format("# Thread {}:", r.plan.index);
    for (uint64_t c : r.overflow_cycles) out += fmt::format(" {:05d}", c);
    if (r.linear_overflow > r.overflow_cycles.size()) {
      out += fmt::format(" # {:05d} others", r.linear_overflow - r.overflow_cycles.size());
    }
    out += '\n';
  }
  out += '\n';
  return out;
}

nlohmann::ordered_json to_json(const RunResult& run, const Options& opts,
                               const nlohmann::json& machine, int return_code) {
  using json = nlohmann::ordered_json;
  const bool ns = opts.nsecs;
  utsname u{};
  uname(&u);
  json doc = json::object();
  // cyclictest's keys first, spelled as cyclictest spells them (stray colons included).
  doc["file_version"] = 1;
  doc["cmdline:"] = opts.cmdline;
  doc["rt_test_version:"] = std::string("pb-cyclictest ") + kVersion;
  doc["start_time"] = rfc2822(run.start_wall_s);
  doc["end_time"] = rfc2822(run.end_wall_s);
  doc["return_code"] = return_code;
  doc["sysinfo"] = {{"sysname", u.sysname}, {"nodename", u.nodename},
                    {"release", u.release}, {"version", u.version},
                    {"machine", u.machine}, {"realtime", read_realtime_flag()}};
  doc["num_threads"] = run.threads.size();
  doc["resolution_in_ns"] = ns ? 1 : 0;
  json threads = json::object();
  for (const ThreadResult& r : run.threads) {
    json t = json::object();
    json hist = json::object();
    for (size_t b = 0; b < r.linear.size(); ++b) {
      if (r.linear[b] != 0) hist[std::to_string(b)] = r.linear[b];
    }
    t["histogram"] = hist;
    t["cycles"] = r.cycles;
    t["min"] = r.cycles ? to_unit(r.min_ns, ns) : 0;
    t["max"] = to_unit(r.max_ns, ns);
    t["avg"] = round2(ns ? r.avg_ns() : r.avg_ns() / 1000.0);
    t["cpu"] = r.plan.cpu;
    t["node"] = r.node;
    // Our additions.
    t["p50"] = to_unit(r.histogram.percentile(50), ns);
    t["p90"] = to_unit(r.histogram.percentile(90), ns);
    t["p99"] = to_unit(r.histogram.percentile(99), ns);
    t["p999"] = to_unit(r.histogram.percentile(99.9), ns);
    t["p9999"] = to_unit(r.histogram.percentile(99.99), ns);
    t["missed"] = r.missed;
    t["histogram_overflows"] = r.linear_overflow;
    t["tid"] = r.tid;
    t["priority"] = r.plan.priority;
    t["interval_us"] = r.plan.interval_ns / 1000;
    t["latency_histogram"] = json::parse(pb::to_json(r.histogram).dump());
    if (r.error != 0) t["error"] = fmt::format("{} failed: errno {}", r.error_where, -r.error);
    threads[std::to_string(r.plan.index)] = t;
  }
  doc["thread"] = threads;
  doc["schema"] = kJsonSchema;
  doc["tool"] = {{"name", "pb-cyclictest"}, {"version", kVersion}, {"git_commit", kGitCommit}};
  doc["mode"] = mode_name(opts.mode);
  doc["clock"] = opts.clock_index == 1 ? "realtime" : "monotonic";
  doc["unit"] = ns ? "ns" : "us";
  doc["partial"] = run.partial;
  const char* stop = "none";
  switch (run.stop) {
    case StopReason::kNone:
      stop = "none";
      break;
    case StopReason::kDuration:
      stop = "duration";
      break;
    case StopReason::kLoops:
      stop = "loops";
      break;
    case StopReason::kSignal:
      stop = "signal";
      break;
    case StopReason::kBreak:
      stop = "breaktrace";
      break;
    case StopReason::kError:
      stop = "error";
      break;
  }
  doc["stopped_by"] = stop;
  doc["elapsed_s"] = static_cast<double>(run.elapsed_ns) / 1e9;
  if (run.break_thread >= 0) {
    doc["break"] = {{"thread", run.break_thread}, {"value", to_unit(run.break_value_ns, ns)}};
  }
  doc["machine"] =
      json::parse(machine.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return doc;
}

}  // namespace pb::cyclic
