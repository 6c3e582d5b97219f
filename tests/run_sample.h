// A fixed "preemptbench run" document for the run_* tests: two workloads,
// NONE and FULL at two loads, a second measuring task, a cell that failed,
// notes with characters every format must escape. Every figure is fixed, so
// the outputs are deterministic.
#pragma once

#include <cstdint>
#include <string>

#include "pb/report/run_document.h"
#include "pb/workloads/result.h"

namespace pb::testing {

inline wl::MeasuredTask sample_task(const std::string& name, int64_t base_ns, uint64_t n) {
  wl::MeasuredTask m;
  m.name = name;
  m.sched = "fifo:90";
  m.vcpu = 0;
  m.period_ns = 1'000'000;
  m.periods = n;
  for (uint64_t i = 0; i < n; ++i) {
    m.latency_hist.record(base_ns + static_cast<int64_t>(i % 50) * 100);
    m.model_delay_hist.record(base_ns / 4 + static_cast<int64_t>(i % 7) * 10);
  }
  m.latency_hist.record(base_ns * 20);  // one outlier
  const auto summary = [](const LatencyHistogram& h, uint64_t missed) {
    wl::LatencySummary s;
    s.min = h.min();
    s.p50 = h.percentile(50);
    s.p90 = h.percentile(90);
    s.p99 = h.percentile(99);
    s.p999 = h.percentile(99.9);
    s.max = h.max();
    s.count = h.count();
    s.missed = missed;
    return s;
  };
  m.latency = summary(m.latency_hist, 2);
  m.model_delay = summary(m.model_delay_hist, 0);
  return m;
}

inline wl::CellResult sample_cell(const std::string& workload, const std::string& model,
                                  double load, double ops_per_s, int64_t base_ns) {
  wl::CellResult c;
  c.model = model;
  c.workload = workload;
  c.load = load;
  c.duration_ns = 2'000'000'000;
  c.host_fifo = true;
  c.measured.push_back(sample_task("rt-periodic", base_ns, 400));
  c.throughput.ops = static_cast<uint64_t>(ops_per_s * 2);
  c.throughput.ops_per_s = ops_per_s;
  c.throughput.work_fraction = 0.625;
  c.throughput.ctx_switches_per_s = 1500.5;
  c.throughput.preemptions_per_s = 250.25;
  c.throughput.preemptions_by_point_per_s = {{"irq_exit_to_kernel", 200.25}, {"cond_resched", 50}};
  c.windows.preemptoff_max_ns = 123'456;
  c.windows.preemptoff_where = "workloads/src/kpath.cc:42";
  c.windows.irqsoff_max_ns = 7'890;
  c.counters = {{"dispatches", 12345}, {"ctx_involuntary", 500}};
  // Every task instance: the measuring FIFO task and a fair background one.
  wl::TaskRecord rt;
  rt.name = "rt-periodic";
  rt.sched_class = "fifo";
  rt.priority = 90;
  rt.ops = 400;
  rt.runtime_ns = 40'000'000;
  rt.wait_ns = 1'200'000;
  rt.dispatches = 401;
  rt.periodic = true;
  rt.latency = c.measured[0].latency;
  rt.deadline_misses = 2;
  wl::TaskRecord bg;
  bg.name = "bg";
  bg.sched_class = "fair";
  bg.nice = 5;
  bg.vcpu = 0;
  bg.ops = 123;
  bg.runtime_ns = 1'500'000'000;
  bg.wait_ns = 60'000'000;
  bg.dispatches = 700;
  bg.preemptions = {{"irq_exit_to_user", 300}, {"cond_resched", 12}};
  c.tasks = {rt, bg};
  return c;
}

inline report::RunDocument sample_document() {
  report::RunDocument d;
  d.tool_version = "0.1.0";
  d.tool_git_commit = "0123456789ab";
  d.label = "test-vm";
  d.started = "2026-11-22T05:00:00Z";
  d.finished = "2026-11-22T05:00:09Z";
  d.elapsed_s = 9.25;
  d.cells_planned = 6;
  d.machine = {{"hostname", "testhost"},
               {"cpu", {{"model", "Test CPU"}, {"online_count", 2}}},
               {"kernel", {{"release", "6.18.0-test"}}},
               {"preemption", {{"model", "full"}}},
               {"virtualization", {{"hypervisor_type", "kvm"}}}};
  d.config.models = {"none", "full"};
  d.config.workloads = {"mixed", "/tmp/my,file.json"};
  d.config.sets = {"period_us=500"};
  d.config.loads = {0.5, 1};
  d.config.duration_s = 2;
  d.config.seed = 7;
  d.config.out_dir = "out/run-test";
  d.config.formats = {"table", "md"};
  d.config.command_line = "preemptbench run --models none,full";
  d.workloads = {{"mixed", {{"name", "mixed"}, {"tasks", nlohmann::json::array()}}}};

  d.cells.push_back(sample_cell("mixed", "none", 0.5, 10000, 5000));
  d.cells.push_back(sample_cell("mixed", "full", 0.5, 5000, 3000));
  d.cells.push_back(sample_cell("mixed", "none", 1, 20000, 9000));
  wl::CellResult full1 = sample_cell("mixed", "full", 1, 18000, 4000);
  full1.measured.push_back(sample_task("fair-reader", 20000, 100));
  full1.notes.push_back("io_uring unavailable: \"ENOSYS\", skipped | part");
  full1.segments.push_back(
      {0, 10'000'000'000, 1'500'000, 40'000'000, 120'000'000, 9990, 1, 870'000});
  full1.segments.push_back({10'150'000'000, 5'000'000'000, 0, 0, 60'000'000, 5000, 0, 65'000});
  full1.partial = true;
  d.cells.push_back(full1);
  d.cells.push_back(sample_cell("my_file", "none", 0.5, 800, 6000));
  wl::CellResult failed;
  failed.model = "full";
  failed.workload = "my_file";
  failed.load = 0.5;
  failed.error = "no usable CPU: only CPU 0, which stays with the system";
  d.cells.push_back(failed);
  return d;
}

}  // namespace pb::testing
