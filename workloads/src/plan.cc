// plan_cell() and assemble_cell(): what both clocks share of a cell, so that
// the executive and the simulator run the same tasks, devices and pacing and
// report them the same way.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "pb/workloads/cell.h"
#include "pb/xorshift.h"

namespace pb::wl {
namespace {

constexpr int64_t kNsPerUs = 1000;
constexpr double kNsPerSec = 1e9;

exec::IrqFlags flags_of(IrqThreading t) {
  return t == IrqThreading::kAlways  ? exec::kIrqfThreadFn
         : t == IrqThreading::kNever ? exec::kIrqfNoThread
                                     : 0;
}

std::string fmt_more(size_t n) { return " and " + std::to_string(n) + " more"; }

// A vCPU at or above this share of the run in interrupts is overloaded: its
// tasks' figures measure the overload more than the model.
constexpr double kIrqOverloadShare = 0.5;

// One note per overloaded vCPU: its interrupt time share, and what happened
// to the softirqs it could not run at irq exit.
void interrupt_load_notes(const CellFigures& f, int64_t duration_ns,
                          std::vector<std::string>& notes) {
  if (duration_ns <= 0) return;
  const auto count = [&](const char* key) {
    const auto it = f.vcpus.counters.find(key);
    return it == f.vcpus.counters.end() ? uint64_t{0} : it->second;
  };
  const uint64_t bounded = count("softirq_bounded");
  const uint64_t deferred = count("softirq_deferred");
  for (size_t i = 0; i < f.vcpus.irq_ns.size(); ++i) {
    const double share = static_cast<double>(f.vcpus.irq_ns[i]) / static_cast<double>(duration_ns);
    if (share < kIrqOverloadShare) continue;
    char buf[320];
    std::snprintf(buf, sizeof(buf),
                  "interrupt overload: vCPU %zu spent %.0f%% of the run in hardirqs and "
                  "softirqs at irq exit; %llu softirq runs reached the restart bounds "
                  "(handed to ksoftirqd), %llu were deferred at irq exit (counters "
                  "irq_ns, softirq_bounded, softirq_deferred)",
                  i, share * 100.0, static_cast<unsigned long long>(bounded),
                  static_cast<unsigned long long>(deferred));
    notes.emplace_back(buf);
  }
}

// Notes on what a cell did not measure: a measuring task with no or too few
// wakeups (starved, a phase past the run's end, an interrupt storm), and
// background tasks that made no progress at all (a send/recv with no
// partner, a lock never released). A result that looks good but was never
// measured must say so.
void sample_notes(const CellPlan& plan, const CellFigures& f, int64_t duration_ns,
                  std::vector<std::string>& notes) {
  const double secs = static_cast<double>(duration_ns) / kNsPerSec;
  std::vector<std::string> stuck;
  size_t background = 0;
  for (size_t i = 0; i < plan.tasks.size() && i < f.tasks.size(); ++i) {
    const PlannedTask& p = plan.tasks[i];
    const InstanceFigures& t = f.tasks[i];
    if (!p.desc->measure) {
      if (p.desc->path.empty() && p.busy_ns == 0) continue;
      ++background;
      if (t.iterations == 0) stuck.push_back(p.name);
      continue;
    }
    const uint64_t count = t.latency != nullptr ? t.latency->count() : 0;
    // Releases the run had room for (the first comes one period after the phase).
    const int64_t span = duration_ns - p.phase_ns;
    const uint64_t expected =
        p.period_ns > 0 && span > 0 ? static_cast<uint64_t>(span / p.period_ns) : 0;
    char buf[400];
    if (count == 0) {
      if (p.period_ns > 0 && p.phase_ns >= duration_ns) {
        std::snprintf(buf, sizeof(buf),
                      "no samples: measuring task %s has its phase (%.3f s) at or past the "
                      "run's end (%.3f s)",
                      p.name.c_str(), static_cast<double>(p.phase_ns) / kNsPerSec, secs);
      } else {
        std::snprintf(buf, sizeof(buf),
                      "no samples: measuring task %s recorded no wakeup in %.3f s (~%llu "
                      "releases; %llu overran): it never ran after a release (starved by "
                      "higher-priority work or interrupts, or blocked), so it has no latency "
                      "figures",
                      p.name.c_str(), secs, static_cast<unsigned long long>(expected),
                      static_cast<unsigned long long>(t.overruns));
      }
      notes.emplace_back(buf);
    } else if (expected >= 4 && count < expected / 2) {
      std::snprintf(buf, sizeof(buf),
                    "too few samples: measuring task %s recorded %llu wakeups of ~%llu "
                    "releases in %.3f s (%llu overran): its percentiles describe the few "
                    "wakeups that happened",
                    p.name.c_str(), static_cast<unsigned long long>(count),
                    static_cast<unsigned long long>(expected), secs,
                    static_cast<unsigned long long>(t.overruns));
      notes.emplace_back(buf);
    }
  }
  // Only when no background task progressed at all (0 ops): one starved
  // instance beside busy siblings is a scheduling result, not a dead cell.
  if (!stuck.empty() && stuck.size() == background) {
    std::string names;
    for (size_t i = 0; i < stuck.size() && i < 6; ++i) names += (i ? ", " : "") + stuck[i];
    if (stuck.size() > 6) names += fmt_more(stuck.size() - 6);
    char buf[160];
    std::snprintf(buf, sizeof(buf), " completed no iteration in %.3f s", secs);
    notes.push_back("no progress: background task(s) " + names + buf +
                    " (blocked for the whole run: a recv with no sender, a lock never "
                    "released, or starved)");
  }
}

}  // namespace

CellResult cell_identity(const Workload& w, exec::Model model, double load, int round,
                         const char* clock) {
  CellResult res;
  res.model = std::string(exec::to_string(model));
  res.workload = w.name;
  res.load = load;
  res.round = round;
  res.clock = clock;
  return res;
}

CellResult failed_cell(CellResult res, std::string why) {
  res.error = std::move(why);
  return res;
}

CellPlan plan_cell(const Workload& w, double load, int vcpus, uint64_t seed, int64_t duration_ns) {
  CellPlan plan;
  if (!(load >= kMinLoad && load <= kMaxLoad)) {
    char buf[120];
    std::snprintf(buf, sizeof(buf), "load must be in [%g, %g], got %g", kMinLoad, kMaxLoad, load);
    plan.error = buf;
    return plan;
  }
  if (duration_ns <= 0) {
    plan.error = "duration must be positive";
    return plan;
  }
  if (vcpus < 1 || vcpus > kMaxVcpuIndex + 1) {
    plan.error = "vcpus must be in 1.." + std::to_string(kMaxVcpuIndex + 1);
    return plan;
  }

  // A description names vCPUs up to kMaxVcpuIndex; a run has fewer: indices
  // fold modulo the run's count, and the note lists what moved.
  std::vector<std::string> folded;
  auto fold = [&](int vcpu, const std::string& what) {
    if (vcpu < vcpus) return vcpu;
    folded.push_back(what + " (vCPU " + std::to_string(vcpu) + ")");
    return vcpu % vcpus;
  };
  for (size_t ti = 0; ti < w.tasks.size(); ++ti) {
    const TaskDesc& t = w.tasks[ti];
    plan.programs.push_back(detail::compile(t.path, w));
    const detail::Program& program = plan.programs.back();
    if (program.has_io && t.count > 0) plan.has_io = true;
    plan.max_io_bytes = std::max(plan.max_io_bytes, program.max_io_bytes);
    for (int i = 0; i < t.count; ++i) {
      PlannedTask p;
      p.desc = &t;
      p.entry = ti;
      p.name = instance_name(t, i);
      p.vcpu = fold(t.vcpu, p.name);
      p.busy_ns = nominal_busy_us(t) * kNsPerUs;
      p.seed = task_seed(seed, plan.tasks.size());
      p.period_ns = t.period_us * kNsPerUs;
      p.phase_ns = t.phase_us * kNsPerUs;
      p.deadline_ns = t.deadline_us * kNsPerUs;
      p.user_ns = t.user_us * kNsPerUs;
      plan.tasks.push_back(std::move(p));
    }
  }
  // Load (README, "Load"): below 1, the n continuous background tasks of a
  // vCPU are paced so that together they offer `load` of it (a duty cycle of
  // load / n each). At 1 they run back to back.
  if (load < 1.0) {
    const auto paced = [](const PlannedTask& p) {
      return !p.desc->measure && p.desc->period_us == 0 && p.busy_ns > 0;
    };
    std::vector<int> loaded(static_cast<size_t>(vcpus), 0);
    for (const PlannedTask& p : plan.tasks) {
      if (paced(p)) ++loaded[static_cast<size_t>(p.vcpu)];
    }
    for (PlannedTask& p : plan.tasks) {
      if (!paced(p)) continue;
      const double n = loaded[static_cast<size_t>(p.vcpu)];
      const auto busy = static_cast<double>(p.busy_ns);
      p.cycle_mean_ns = std::llround(busy * n / load);
      p.think_mean_ns = std::llround(busy * (n / load - 1.0));
    }
  }
  for (const IrqDesc& q : w.irqs) {
    PlannedIrq d;
    d.name = q.name;
    d.vcpu = fold(q.vcpu, "irq " + q.name);
    d.period_ns =
        std::max<int64_t>(1000, std::llround(kNsPerSec / (static_cast<double>(q.rate_hz) * load)));
    d.handler_ns = q.handler_us * kNsPerUs;
    d.softirq_ns = q.softirq_us * kNsPerUs;
    d.flags = flags_of(q.threading);
    d.thread_priority = q.thread_priority;
    plan.irqs.push_back(std::move(d));
  }
  if (!folded.empty()) {
    std::string n = "vCPU indices folded onto the run's " + std::to_string(vcpus) + " vCPU(s): ";
    for (size_t i = 0; i < folded.size(); ++i) n += (i ? ", " : "") + folded[i];
    plan.folded_note = std::move(n);
  }
  return plan;
}

void assemble_cell(const CellPlan& plan, int vcpus, const CellFigures& f, CellResult& res) {
  res.duration_ns = f.duration_ns;
  const double secs = static_cast<double>(std::max<int64_t>(res.duration_ns, 1)) / kNsPerSec;

  uint64_t ops = 0, overruns = 0, deadline_misses = 0, sends = 0, recvs = 0;
  int64_t work_ns = 0;
  int headline = -1;
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const PlannedTask& p = plan.tasks[i];
    const InstanceFigures& t = f.tasks[i];
    sends += t.sends;
    recvs += t.recvs;
    deadline_misses += t.deadline_misses;  // every periodic task's, background too
    TaskRecord tr;
    tr.name = p.name;
    tr.sched_class = to_string(p.desc->sched);
    tr.priority = p.desc->sched == Policy::kFair ? 0 : p.desc->priority;
    tr.nice = p.desc->sched == Policy::kFair ? p.desc->nice : 0;
    tr.vcpu = p.vcpu;
    tr.ops = t.iterations;
    tr.runtime_ns = t.runtime_ns;
    tr.wait_ns = t.wait_ns;
    tr.dispatches = t.dispatches;
    for (exec::Point pt : exec::kAllPoints) {
      const uint64_t n = t.preemptions[static_cast<size_t>(pt)];
      if (n != 0) tr.preemptions[std::string(exec::to_string(pt))] = n;
    }
    tr.periodic = p.period_ns > 0;
    if (tr.periodic && t.latency != nullptr)
      tr.latency = LatencySummary::of(*t.latency, t.overruns);
    tr.deadline_misses = t.deadline_misses;
    res.tasks.push_back(std::move(tr));
    if (!p.desc->measure) {
      ops += t.iterations;
      work_ns += t.work_ns;
      continue;
    }
    MeasuredTask m;
    m.name = p.name;
    m.sched = sched_label(*p.desc);
    m.vcpu = p.vcpu;
    m.period_ns = p.desc->period_us * kNsPerUs;
    m.periods = t.periods;
    overruns += t.overruns;
    if (t.latency != nullptr) m.latency_hist = *t.latency;
    if (t.model_delay != nullptr) m.model_delay_hist = *t.model_delay;
    m.latency = LatencySummary::of(m.latency_hist, t.overruns);
    m.model_delay = LatencySummary::of(m.model_delay_hist, 0);
    if (headline < 0 && p.desc->sched != Policy::kFair) {
      headline = static_cast<int>(res.measured.size());
    }
    res.measured.push_back(std::move(m));
  }
  // measured[0] is the headline: the first RT measuring task, else the first.
  if (headline > 0) {
    std::rotate(res.measured.begin(), res.measured.begin() + headline,
                res.measured.begin() + headline + 1);
  }

  sample_notes(plan, f, res.duration_ns, res.notes);
  interrupt_load_notes(f, res.duration_ns, res.notes);

  auto& cnt = res.counters;
  cnt = f.vcpus.counters;
  res.windows = f.vcpus.windows;
  cnt["overruns"] = overruns;
  cnt["ops"] = ops;
  cnt["work_ns"] = static_cast<uint64_t>(std::max<int64_t>(work_ns, 0));
  cnt["messages_sent"] = sends;
  cnt["messages_received"] = recvs;
  cnt["deadline_misses"] = deadline_misses;
  for (const auto& [name, n] : f.extra_counters) cnt[name] = n;
  for (const LockFigures& l : f.locks) {
    const std::string p = "lock." + l.name + ".";
    cnt[p + "acquisitions"] = l.acquisitions;
    cnt[p + "contentions"] = l.contentions;
    cnt[p + "pi_boosts"] = l.pi_boosts;
    cnt[p + "max_wait_ns"] = static_cast<uint64_t>(std::max<int64_t>(l.max_wait_ns, 0));
  }
  for (const IrqFigures& q : f.irqs) {
    const std::string p = "irq." + q.name + ".";
    cnt[p + "fired"] = q.fired;
    cnt[p + "handled"] = q.handled;
    cnt[p + "coalesced"] = q.coalesced;
    cnt[p + "delivered"] = q.delivered;
    cnt[p + "worst_fire_to_handled_ns"] =
        static_cast<uint64_t>(std::max<int64_t>(q.worst_fire_to_handled_ns, 0));
    // A threaded handler slower than its device: the ONESHOT line stayed
    // masked while the thread was pending or running and the firings merged.
    if (q.threaded && q.coalesced > 0) {
      res.notes.push_back("device " + q.name + ": " + std::to_string(q.coalesced) + " of " +
                          std::to_string(q.fired) +
                          " interrupts coalesced while its thread was pending or running "
                          "(the line stays masked until the handler ends: the handler falls "
                          "behind the device); worst firing to handled " +
                          std::to_string(q.worst_fire_to_handled_ns / 1000) + " us");
    }
  }

  Throughput& tp = res.throughput;
  tp.ops = ops;
  tp.ops_per_s = static_cast<double>(ops) / secs;
  tp.work_fraction =
      static_cast<double>(work_ns) /
      (static_cast<double>(vcpus) * static_cast<double>(std::max<int64_t>(res.duration_ns, 1)));
  const uint64_t ctx_vol = f.vcpus.ctx_voluntary, ctx_invol = f.vcpus.ctx_involuntary;
  tp.ctx_switches_per_s = static_cast<double>(ctx_vol + ctx_invol) / secs;
  tp.preemptions_per_s = static_cast<double>(ctx_invol) / secs;
  for (size_t p = 0; p < exec::kNumPoints; ++p) {
    if (f.vcpus.preemptions[p] == 0) continue;
    tp.preemptions_by_point_per_s[std::string(exec::to_string(exec::kAllPoints[p]))] =
        static_cast<double>(f.vcpus.preemptions[p]) / secs;
  }
}

}  // namespace pb::wl
