// `preemptbench run`: the headline sweep, models x workloads x loads x rounds
// on the executive (or the simulator). This file is the command: it parses,
// plans (plan_sweep()), runs the sweep (run_sweep(), sweep.h) with an
// observer that prints progress and checkpoints run.json, and writes the
// reports. Order matters, as in pb-cyclictest: every input is validated and
// the output directory proven writable before the first cell (bad input: one
// message, exit 2, no file); then the signal handlers; then the sweep,
// rewriting run.json after every cell so that even a killed run leaves the
// cells it finished; then the reports and the plots.
//
// Exit codes: 0 every cell ran; 1 a cell failed (its "error" says why), a
// cell's headline measuring task recorded no wakeup (its notes say why), or
// an output could not be written; 2 bad input; 128+signal (130 for Ctrl-C) when
// a signal ended the sweep — the result is then written with "partial": true.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "cpu_guard.h"
#include "pb/atomic_file.h"
#include "pb/cpu_claim.h"
#include "pb/executive/executive.h"
#include "pb/executive/policy.h"
#include "pb/report/format.h"
#include "pb/report/plots.h"
#include "pb/report/reporter.h"
#include "pb/report/run_document.h"
#include "pb/subprocess.h"
#include "pb/sys.h"
#include "pb/sysinfo.h"
#include "pb/utc.h"
#include "pb/version.h"
#include "pb/workloads/cell.h"
#include "pb/workloads/workload.h"
#include "run_options.h"
#include "stop_signal.h"
#include "sweep.h"

namespace pb::cli {
namespace {

using report::Format;
using report::RunDocument;

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "unknown-host";
  return buf;
}

int allowed_cpu_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

std::string minutes(double s) {
  const auto t = static_cast<long>(s + 0.5);
  return fmt::format("{}:{:02d}", t / 60, t % 60);
}

// Bytes the run's results may take, for the out-dir's space probe: a cell
// is about 13 KiB of run.json with one measuring task (results/vm/run), up
// to 64 KiB with several; run.json is written twice over (the atomic
// rewrite keeps the old one until the new one is flushed), plus run.md,
// run.csv and the plots.
uint64_t expected_output_bytes(size_t cells) {
  constexpr uint64_t kPerCell = 64 * 1024;
  constexpr uint64_t kFixed = 4 * 1024 * 1024;  // reports and plots
  constexpr uint64_t kCap = 512ull * 1024 * 1024;
  return std::min<uint64_t>(kFixed + 3 * kPerCell * cells, kCap);
}

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// The directory exists (created if needed), holds no earlier run unless
// `force` (then its run files are removed first, so that a checkpoint never
// sits beside an older run.md), has room for the results (probe_space()),
// and every result file in it can be written. Returns "" or the reason.
std::string prepare_out_dir(const std::string& dir, bool force, uint64_t bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("--out: cannot create directory '{}': {}", dir, ec.message());
  if (exists(dir + "/run.json")) {
    if (!force) {
      return fmt::format(
          "--out: '{}' already holds a run (run.json); give another --out, or --force to "
          "replace it",
          dir);
    }
    for (Format f : {Format::kJson, Format::kMarkdown, Format::kCsv}) {
      std::filesystem::remove(dir + "/" + std::string(report::run_file_name(f)), ec);
    }
  }
  for (Format f : {Format::kJson, Format::kMarkdown, Format::kCsv}) {
    std::string error;
    const std::string path = dir + "/" + std::string(report::run_file_name(f));
    if (check_writable(path, &error) < 0) return "--out: " + error;
  }
  if (std::string error; probe_space(dir, bytes, &error) < 0) return "--out: " + error;
  return "";
}

// The default --out is per second: a second run in the same second gets
// "-2", "-3", ... rather than the first run's directory.
std::string unused_default_dir(const std::string& dir) {
  if (!exists(dir + "/run.json")) return dir;
  for (int i = 2;; ++i) {
    std::string d = fmt::format("{}-{}", dir, i);
    if (!exists(d + "/run.json")) return d;
  }
}

// Writes run.json (and, when `final`, run.md and run.csv) atomically; the
// final three all or none, so they always agree with each other (a full
// disk at the end leaves the last checkpoint, not a run.md of another
// run.json). Returns "" or what failed.
std::string write_outputs(const RunDocument& doc, const std::string& dir, bool final) {
  std::vector<std::string> texts;
  std::vector<FileContent> files;
  for (Format f : {Format::kJson, Format::kMarkdown, Format::kCsv}) {
    if (!final && f != Format::kJson) continue;
    texts.push_back(report::render(f, doc));
  }
  size_t i = 0;
  for (Format f : {Format::kJson, Format::kMarkdown, Format::kCsv}) {
    if (!final && f != Format::kJson) continue;
    files.push_back({dir + "/" + std::string(report::run_file_name(f)), texts[i++]});
  }
  std::string error;
  if (write_files_atomic(files, &error) < 0) return error;
  return "";
}

// Runs `python3 plot_run.py run.json DIR`. Plots are a convenience: any
// failure is a note on stderr and never changes the exit status.
void run_plots(const std::string& dir) {
  const std::string why =
      report::run_plot_script(exe_dir() + "/plot_run.py", {dir + "/run.json", dir});
  if (!why.empty()) std::fprintf(stderr, "note: plots skipped: %s\n", why.c_str());
}

// One line per finished cell on stderr.
void progress_line(const RunDocument& doc, size_t index, int total, double elapsed_s,
                   double eta_s) {
  const wl::CellResult& c = doc.cells[index];
  std::string figures;
  if (!c.error.empty()) {
    figures = "error: " + c.error;
  } else if (const wl::MeasuredTask* h = report::headline(c);
             h != nullptr && h->latency.count == 0) {
    figures = fmt::format("NO SAMPLES (see the notes)  ops/s {:>9}",
                          report::format_fixed(c.throughput.ops_per_s, 0));
  } else if (h != nullptr) {
    figures = fmt::format("n {:>7}  p99 {:>8} us  max {:>8} us  ops/s {:>9}", h->latency.count,
                          report::format_us(h->latency.p99), report::format_us(h->latency.max),
                          report::format_fixed(c.throughput.ops_per_s, 0));
  } else {
    figures = "no measuring task";
  }
  std::fprintf(stderr, "[%*zu/%d] %-9s %-16s load %-5s%s  %s  (%s elapsed, ETA %s)\n",
               static_cast<int>(std::to_string(total).size()), index + 1, total, c.model.c_str(),
               c.workload.c_str(), report::format_load(c.load).c_str(),
               doc.config.rounds > 1
                   ? fmt::format(" round {}/{}", c.round + 1, doc.config.rounds).c_str()
                   : "",
               figures.c_str(), minutes(elapsed_s).c_str(), minutes(eta_s).c_str());
}

// The CLI's observer: a "running" line on a terminal, one progress line per
// finished cell on stderr, and run.json rewritten after every cell.
class ProgressObserver final : public harness::SweepObserver {
 public:
  explicit ProgressObserver(const std::string& out_dir)
      : out_dir_(out_dir), tty_(isatty(STDERR_FILENO) == 1) {}

  void cell_starting(const harness::SweepPlan& plan, size_t index) override {
    if (!tty_) return;
    const harness::SweepCell& p = plan.cells[index];
    std::fprintf(stderr, "[%zu/%zu] %s %s load %s: running\r", index + 1, plan.cells.size(),
                 plan.config.models[p.model].c_str(), plan.workloads[p.workload].name.c_str(),
                 report::format_load(p.load).c_str());
  }

  void cell_progress(const harness::SweepPlan& plan, size_t index,
                     const RunDocument& doc) override {
    const wl::CellResult& c = doc.cells.back();
    if (tty_) std::fputs("\33[K", stderr);
    std::string figures = "no measuring task";
    if (const wl::MeasuredTask* h = report::headline(c)) {
      figures = fmt::format("p99 {} us  max {} us", report::format_us(h->latency.p99),
                            report::format_us(h->latency.max));
    }
    int64_t stolen = 0, stall = 0;
    for (const auto& s : c.segments) {
      stolen += s.host_stolen_ns;
      stall += s.host_stall_ns;
    }
    std::fprintf(stderr,
                 "[%zu/%zu] %s %s load %s: %s of %s s  %s  host stolen %s ms, stalled %s ms "
                 "(%s elapsed)\n",
                 index + 1, plan.cells.size(), c.model.c_str(), c.workload.c_str(),
                 report::format_load(c.load).c_str(),
                 report::format_fixed(static_cast<double>(c.duration_ns) / 1e9, 0).c_str(),
                 report::format_fixed(plan.config.duration_s, 0).c_str(), figures.c_str(),
                 report::format_fixed(static_cast<double>(stolen) / 1e6, 1).c_str(),
                 report::format_fixed(static_cast<double>(stall) / 1e6, 1).c_str(),
                 minutes(doc.elapsed_s).c_str());
    if (const std::string e = write_outputs(doc, out_dir_, false); !e.empty() && !warned_) {
      std::fprintf(stderr, "warning: checkpoint: %s\n", e.c_str());
      warned_ = true;
    }
  }

  void cell_finished(const harness::SweepPlan& plan, const RunDocument& doc) override {
    const auto total = static_cast<double>(plan.cells.size());
    const auto done = static_cast<double>(doc.cells.size());
    if (tty_) std::fputs("\33[K", stderr);  // erase the "running" line
    progress_line(doc, doc.cells.size() - 1, static_cast<int>(plan.cells.size()), doc.elapsed_s,
                  doc.elapsed_s / done * (total - done));
    // Checkpoint: a killed run still leaves a valid, partial run.json.
    if (const std::string e = write_outputs(doc, out_dir_, false); !e.empty() && !warned_) {
      std::fprintf(stderr, "warning: checkpoint: %s\n", e.c_str());
      warned_ = true;
    }
  }

 private:
  std::string out_dir_;
  bool tty_;
  bool warned_ = false;
};

}  // namespace

int run_main(const std::vector<std::string>& args) {
  const time_t start_wall = std::time(nullptr);
  harness::RunDefaults defaults;
  defaults.workloads = wl::default_suite();
  defaults.label = host_name();
  defaults.timestamp = compact_utc(start_wall);
  defaults.max_vcpus = allowed_cpu_count() - 1;
  const harness::ParsedRun parsed = harness::parse_run_args(args, defaults);
  if (parsed.help) {
    std::cout << parsed.help_text << '\n';
    return kExitOk;
  }
  if (parsed.list_workloads) {
    const auto suite = wl::default_suite();
    for (const auto& n : wl::builtin_names()) {
      const bool in_suite = std::find(suite.begin(), suite.end(), n) != suite.end();
      std::cout << n << (in_suite ? "  (default suite)" : "") << '\n';
    }
    return kExitOk;
  }
  report::RunConfig config = parsed.config;
  if (!parsed.out_given) config.out_dir = unused_default_dir(config.out_dir);
  // Every description is loaded (and --set applied) before anything runs:
  // WorkloadError reaches main() and becomes exit 2.
  const harness::SweepPlan plan = harness::plan_sweep(config);
  if (const std::string e =
          prepare_out_dir(config.out_dir, parsed.force, expected_output_bytes(plan.cells.size()));
      !e.empty()) {
    throw harness::UsageError(e);
  }

  // Contention (the real clock only): our own measuring tools hold a lock per
  // host CPU; a CPU another holds is refused unless --allow-shared-cpu.
  // Other processes' real-time threads allowed on a measured CPU are looked
  // for before and after every cell, and named in its notes.
  CpuClaim claim;
  std::vector<int> host_cpus;
  std::vector<std::string> shared_notes;
  if (config.clock == "real") {
    // (a plan error fails every cell, with its message)
    host_cpus = exec::plan_host_cpus(config.vcpus, false).vcpu_cpus;
    claim = harness::claim_measuring_cpus(config.vcpus, "preemptbench run --label " + parsed.label,
                                          parsed.allow_shared_cpu, &shared_notes);
  }

  install_stop_signal_handlers();

  RunDocument doc;
  doc.tool_version = kVersion;
  doc.tool_git_commit = kGitCommit;
  doc.label = parsed.label;
  doc.clock = config.clock;
  doc.started = iso8601_utc(start_wall);
  doc.config = config;
  doc.machine = to_json(collect_machine_info());
  for (const auto& w : plan.workloads) {
    try {
      doc.workloads[w.name] = nlohmann::json::parse(wl::to_json_text(w));
    } catch (const std::exception& e) {
      doc.workloads[w.name] = std::string("description unavailable: ") + e.what();
    }
  }
  const int total = static_cast<int>(plan.cells.size());
  doc.cells_planned = total;

  std::fprintf(stderr,
               "preemptbench run: %d cells (%zu models x %zu workloads x %zu loads x %d rounds), "
               "%s s each; results in %s\n",
               total, plan.models.size(), plan.workloads.size(), config.loads.size(), config.rounds,
               report::format_fixed(config.duration_s, 2).c_str(), config.out_dir.c_str());

  ProgressObserver observer(config.out_dir);
  harness::SweepControl control;
  control.interrupt = &g_interrupt;
  control.signal = &g_signal;
  control.rest_ns = config.clock == "real" ? wl::rt_throttle_rest_ns() : 0;
  if (config.clock == "real") {
    control.contention = [&host_cpus, &shared_notes] {
      std::vector<std::string> notes = shared_notes;
      for (int cpu : host_cpus) {
        const auto others = rt_competitors(cpu, ::getpid());
        if (others.empty()) continue;
        notes.push_back(fmt::format(
            "shared CPU: host CPU {} is also allowed to real-time threads of other processes: "
            "{} (they may preempt the measurement)",
            cpu, describe(others)));
      }
      return notes;
    };
  }
  const harness::SweepOutcome outcome = harness::run_sweep(plan, &doc, observer, control);

  const int sig = g_signal.load(std::memory_order_relaxed);
  const bool interrupted = g_interrupt.load(std::memory_order_relaxed);
  int rc = interrupted                                     ? 128 + (sig > 0 ? sig : SIGINT)
           : outcome.cell_failed || outcome.no_samples > 0 ? kExitFailed
                                                           : kExitOk;

  if (const std::string e = write_outputs(doc, config.out_dir, true); !e.empty()) {
    std::fprintf(stderr,
                 "preemptbench run: %s; run.md and run.csv were not written, run.json holds the "
                 "last checkpoint (marked partial)\n",
                 e.c_str());
    if (rc == kExitOk) rc = kExitFailed;
  }
  bool first = true;
  for (const auto& f : config.formats) {
    if (!first) std::cout << '\n';
    first = false;
    std::cout << report::render(*report::parse_run_format(f), doc);
  }
  std::cout.flush();
  if (!std::cout && rc == kExitOk) rc = kExitFailed;

  if (interrupted) {
    std::fprintf(
        stderr, "preemptbench run: interrupted by %s after %zu of %d cells%s; plots skipped\n",
        signal_name(sig), doc.cells.size(), total, doc.partial ? ": the result is partial" : "");
  } else if (config.plots) {
    run_plots(config.out_dir);
  }
  if (outcome.cell_failed) {
    std::fprintf(stderr, "preemptbench run: some cells failed (see their notes)\n");
  }
  if (outcome.no_samples > 0) {
    std::fprintf(stderr,
                 "preemptbench run: %zu cell(s) measured no wakeup of their headline task: "
                 "no latency figures there (see their notes)\n",
                 outcome.no_samples);
  }
  std::fprintf(stderr, "results: %s\n", config.out_dir.c_str());
  return rc;
}

}  // namespace pb::cli
