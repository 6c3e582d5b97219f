// simulate_cell(): a workload description as a simulated System, and the
// SimResult as a CellResult, field for field as workloads/src/runner.cc fills
// it from the executive's RunResult.
#include "pb/sim/cell.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <string>

namespace pb::sim {
namespace {

constexpr double kNsPerSec = 1e9;

exec::LockType lock_type_of(wl::LockKind k) {
  switch (k) {
    case wl::LockKind::kRawSpinlock:
      return exec::LockType::kRawSpinlock;
    case wl::LockKind::kSpinlock:
      return exec::LockType::kSpinlock;
    case wl::LockKind::kMutex:
      return exec::LockType::kMutex;
    case wl::LockKind::kRtMutex:
      return exec::LockType::kRtMutex;
  }
  return exec::LockType::kSpinlock;
}

// The labels the real runner gives windows opened by a path (runner.cc kSites).
const char* lock_where(wl::LockKind k, bool irqsave) {
  switch (k) {
    case wl::LockKind::kRawSpinlock:
      return irqsave ? "raw_spin_lock_irqsave (a workload's path)"
                     : "raw_spin_lock (a workload's path)";
    case wl::LockKind::kSpinlock:
      return irqsave ? "spin_lock_irqsave (a workload's path)" : "spin_lock (a workload's path)";
    case wl::LockKind::kMutex:
      return "mutex_lock (a workload's path)";
    case wl::LockKind::kRtMutex:
      return "rt_mutex_lock (a workload's path)";
  }
  return "lock (a workload's path)";
}

int index_of(const std::vector<std::string>& names, const std::string& n) {
  auto it = std::find(names.begin(), names.end(), n);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

// A kernel path as steps, as runner.cc's run_program() interprets the
// compiled program (workloads/src/program.cc).
void emit(const std::vector<wl::Segment>& path, const wl::Workload& w, std::vector<Step>& out,
          bool* has_io) {
  for (const wl::Segment& s : path) {
    switch (s.kind) {
      case wl::SegmentKind::kCompute:
        out.push_back(ops::compute(s.us * kNsPerUs, s.cond_resched_us * kNsPerUs,
                                   s.might_sleep_us * kNsPerUs));
        break;
      case wl::SegmentKind::kPoint:
        out.push_back(ops::simple(s.point == wl::PointKind::kCondResched  ? StepOp::kCondResched
                                  : s.point == wl::PointKind::kMightSleep ? StepOp::kMightSleep
                                                                          : StepOp::kMightResched));
        break;
      case wl::SegmentKind::kSleep:
        out.push_back(ops::sleep(s.us * kNsPerUs));
        break;
      case wl::SegmentKind::kSend:
        out.push_back(ops::send(index_of(w.channels, s.target), s.count));
        break;
      case wl::SegmentKind::kRecv:
        out.push_back(ops::recv(index_of(w.channels, s.target)));
        break;
      case wl::SegmentKind::kIo:
        *has_io = true;  // not simulated: no device model for real I/O
        break;
      case wl::SegmentKind::kLock: {
        int idx = -1;
        wl::LockKind kind = wl::LockKind::kSpinlock;
        for (size_t i = 0; i < w.locks.size(); ++i) {
          if (w.locks[i].name == s.target) {
            idx = static_cast<int>(i);
            kind = w.locks[i].kind;
          }
        }
        Step l = ops::lock(idx, s.irqsave);
        l.where = lock_where(kind, s.irqsave);
        out.push_back(l);
        emit(s.path, w, out, has_io);
        out.push_back(ops::unlock(idx, s.irqsave));
        break;
      }
      case wl::SegmentKind::kPreemptOff: {
        Step i = ops::simple(StepOp::kPreemptOff);
        i.where = "preempt_disable (a workload's path)";
        out.push_back(i);
        emit(s.path, w, out, has_io);
        out.push_back(ops::simple(StepOp::kPreemptOn));
        break;
      }
      case wl::SegmentKind::kIrqsOff: {
        Step i = ops::simple(StepOp::kIrqSave);
        i.where = "local_irq_save (a workload's path)";
        out.push_back(i);
        emit(s.path, w, out, has_io);
        out.push_back(ops::simple(StepOp::kIrqRestore));
        break;
      }
      case wl::SegmentKind::kBhOff: {
        Step i = ops::simple(StepOp::kBhOff);
        i.where = "local_bh_disable (a workload's path)";
        out.push_back(i);
        emit(s.path, w, out, has_io);
        out.push_back(ops::simple(StepOp::kBhOn));
        break;
      }
    }
  }
}

wl::CellResult fail(wl::CellResult r, std::string why) {
  r.error = std::move(why);
  return r;
}

}  // namespace

SimOptions sim_options_from(const wl::RunOptions& ro) {
  SimOptions o;
  o.duration_ns = ro.duration_ns;
  o.vcpus = ro.vcpus;
  o.hz = ro.hz;
  o.seed = ro.seed;
  o.round = ro.round;
  o.interrupt = ro.interrupt;
  return o;
}

System system_from_workload(const wl::Workload& w, double load, const SimOptions& opt,
                            std::vector<std::string>* notes) {
  System sys;
  for (const wl::LockDesc& l : w.locks) sys.locks.push_back(LockSpec{l.name, lock_type_of(l.kind)});
  sys.channels = w.channels;
  std::vector<std::string> folded;
  auto fold = [&](int vcpu, const std::string& what) {
    if (vcpu < opt.vcpus) return vcpu;
    folded.push_back(what + " (vCPU " + std::to_string(vcpu) + ")");
    return vcpu % opt.vcpus;
  };
  bool any_io = false;
  // Load (workloads/README.md "Load"): below 1 the continuous background
  // tasks of a vCPU think after each iteration, busy x (n / load - 1) on average.
  std::vector<int> loaded(static_cast<size_t>(std::max(opt.vcpus, 1)), 0);
  auto is_loaded = [](const wl::TaskDesc& t) {
    return !t.measure && t.period_us == 0 && wl::nominal_busy_us(t) > 0;
  };
  for (const wl::TaskDesc& t : w.tasks) {
    for (int i = 0; i < t.count; ++i) {
      if (is_loaded(t))
        ++loaded[static_cast<size_t>(t.vcpu < opt.vcpus ? t.vcpu : t.vcpu % opt.vcpus)];
    }
  }
  for (const wl::TaskDesc& t : w.tasks) {
    std::vector<Step> path;
    bool has_io = false;
    emit(t.path, w, path, &has_io);
    if (has_io && t.count > 0) any_io = true;
    for (int i = 0; i < t.count; ++i) {
      SimTask s;
      s.name = wl::instance_name(t, i);
      s.policy = t.sched == wl::Sched::kFifo ? exec::Policy::kFifo
                 : t.sched == wl::Sched::kRr ? exec::Policy::kRr
                                             : exec::Policy::kFair;
      s.priority = t.priority;
      s.vcpu = fold(t.vcpu, s.name);
      s.period_ns = t.period_us * kNsPerUs;
      s.phase_ns = t.phase_us * kNsPerUs;
      s.deadline_ns = t.deadline_us * kNsPerUs;
      s.measure = t.measure;
      if (s.period_ns > 0) s.body.push_back(ops::simple(StepOp::kWaitPeriod));
      if (t.user_us > 0) s.body.push_back(ops::compute(t.user_us * kNsPerUs));
      if (!t.path.empty()) {
        s.body.push_back(ops::simple(StepOp::kKernelEnter));
        s.body.insert(s.body.end(), path.begin(), path.end());
        s.body.push_back(ops::simple(StepOp::kKernelExit));
      }
      s.body.push_back(ops::simple(StepOp::kIterEnd));
      if (load < 1.0 && is_loaded(t)) {
        const double n = loaded[static_cast<size_t>(s.vcpu)];
        const auto mean =
            std::llround(static_cast<double>(wl::nominal_busy_us(t) * kNsPerUs) * (n / load - 1.0));
        if (mean > 0) s.body.push_back(ops::think(mean));
      }
      sys.tasks.push_back(std::move(s));
    }
  }
  for (const wl::IrqDesc& q : w.irqs) {
    DeviceSpec d;
    d.name = q.name;
    d.vcpu = fold(q.vcpu, "irq " + q.name);
    d.period_ns =
        std::max<int64_t>(1000, std::llround(kNsPerSec / (static_cast<double>(q.rate_hz) * load)));
    d.handler_ns = q.handler_us * kNsPerUs;
    d.softirq_ns = q.softirq_us * kNsPerUs;
    d.flags = q.threading == wl::IrqThreading::kAlways  ? exec::kIrqfThreadFn
              : q.threading == wl::IrqThreading::kNever ? exec::kIrqfNoThread
                                                        : 0;
    d.thread_priority = q.thread_priority;
    sys.devices.push_back(d);
  }
  if (notes != nullptr) {
    if (any_io)
      notes->push_back("io segments skipped: the simulated clock has no I/O device model");
    if (!folded.empty()) {
      std::string n =
          "vCPU indices folded onto the run's " + std::to_string(opt.vcpus) + " vCPU(s): ";
      for (size_t i = 0; i < folded.size(); ++i) n += (i ? ", " : "") + folded[i];
      notes->push_back(std::move(n));
    }
  }
  return sys;
}

wl::CellResult simulate_cell(const wl::Workload& w, exec::Model model, double load,
                             const SimOptions& opt) {
  wl::CellResult res;
  res.model = std::string(exec::to_string(model));
  res.workload = w.name;
  res.load = load;
  res.round = opt.round;
  res.clock = "simulated";
  if (!(load > 0.0 && load <= 1.0))
    return fail(res, "load must be in (0, 1], got " + std::to_string(load));
  if (opt.duration_ns <= 0) return fail(res, "duration must be positive");
  if (opt.vcpus < 1 || opt.vcpus > wl::kMaxVcpuIndex + 1) {
    return fail(res, "vcpus must be in 1.." + std::to_string(wl::kMaxVcpuIndex + 1));
  }
  std::vector<std::string> notes;
  SimResult r;
  try {
    const System sys = system_from_workload(w, load, opt, &notes);
    r = simulate(sys, model, opt);
  } catch (const std::exception& e) {
    return fail(res, std::string("simulation: ") + e.what());
  }

  res.duration_ns = r.end_ns;
  res.host_fifo = false;
  const double secs = static_cast<double>(std::max<int64_t>(res.duration_ns, 1)) / kNsPerSec;

  // Tasks of the description come first in r.tasks, in instance order.
  uint64_t ops_done = 0, overruns = 0, deadline_misses = 0, sends = 0, recvs = 0;
  int64_t work_ns = 0;
  int headline = -1;
  size_t k = 0;
  for (const wl::TaskDesc& t : w.tasks) {
    for (int i = 0; i < t.count; ++i, ++k) {
      const TaskResult& tr = r.tasks[k];
      sends += tr.sends;
      recvs += tr.recvs;
      deadline_misses += tr.deadline_misses;  // every periodic task's, background too
      if (!t.measure) {
        ops_done += tr.iterations;
        work_ns += tr.work_ns;
        continue;
      }
      wl::MeasuredTask m;
      m.name = tr.name;
      m.sched = wl::sched_label(t);
      m.vcpu = tr.vcpu;
      m.period_ns = t.period_us * kNsPerUs;
      m.periods = tr.periods;
      overruns += tr.overruns;
      if (tr.latency) m.latency_hist = *tr.latency;
      if (tr.model_delay) m.model_delay_hist = *tr.model_delay;
      m.latency = wl::LatencySummary::of(m.latency_hist, tr.overruns);
      m.model_delay = wl::LatencySummary::of(m.model_delay_hist, 0);
      if (headline < 0 && t.sched != wl::Sched::kFair)
        headline = static_cast<int>(res.measured.size());
      res.measured.push_back(std::move(m));
    }
  }
  if (headline > 0) {
    std::rotate(res.measured.begin(), res.measured.begin() + headline,
                res.measured.begin() + headline + 1);
  }

  auto& cnt = res.counters;
  uint64_t ctx_vol = 0, ctx_invol = 0;
  std::array<uint64_t, kNumPoints> by_point{};
  for (const VcpuResult& v : r.vcpus) {
#define PB_SIM_COUNT(f) cnt[#f] += static_cast<uint64_t>(v.f > 0 ? v.f : 0);
    PB_SIM_COUNT(dispatches)
    PB_SIM_COUNT(ctx_voluntary)
    PB_SIM_COUNT(ctx_involuntary)
    PB_SIM_COUNT(idle_exits)
    PB_SIM_COUNT(irq_timer)
    PB_SIM_COUNT(irq_ipi)
    PB_SIM_COUNT(irq_spurious)
    PB_SIM_COUNT(irq_masked)
    PB_SIM_COUNT(irq_replayed)
    PB_SIM_COUNT(irq_device)
    PB_SIM_COUNT(irq_thread_wakeups)
    PB_SIM_COUNT(softirq_raised)
    PB_SIM_COUNT(softirq_at_irq_exit)
    PB_SIM_COUNT(softirq_at_bh_enable)
    PB_SIM_COUNT(softirq_in_ksoftirqd)
    PB_SIM_COUNT(softirq_deferred)
    PB_SIM_COUNT(softirq_rounds)
    PB_SIM_COUNT(ksoftirqd_wakeups)
    PB_SIM_COUNT(softirq_ns)
    PB_SIM_COUNT(ticks)
    PB_SIM_COUNT(ticks_missed)
    PB_SIM_COUNT(hrtimers_expired)
    PB_SIM_COUNT(lazy_promotions)
    PB_SIM_COUNT(rr_expiries)
    PB_SIM_COUNT(fair_slice_expiries)
    PB_SIM_COUNT(ipis_sent)
    PB_SIM_COUNT(ipis_received)
    PB_SIM_COUNT(ipis_coalesced)
    PB_SIM_COUNT(wakeups_local)
    PB_SIM_COUNT(wakeups_remote)
    PB_SIM_COUNT(might_sleep_bugs)
    PB_SIM_COUNT(schedule_while_atomic_bugs)
    PB_SIM_COUNT(preempt_leaks)
    PB_SIM_COUNT(lock_contentions)
    PB_SIM_COUNT(pi_boosts)
    PB_SIM_COUNT(user_ns)
    PB_SIM_COUNT(kernel_ns)
    PB_SIM_COUNT(irq_ns)
    PB_SIM_COUNT(idle_ns)
#undef PB_SIM_COUNT
    if (v.preemptoff_max_ns > res.windows.preemptoff_max_ns) {
      res.windows.preemptoff_max_ns = v.preemptoff_max_ns;
      res.windows.preemptoff_where = v.preemptoff_where;
    }
    if (v.irqsoff_max_ns > res.windows.irqsoff_max_ns) {
      res.windows.irqsoff_max_ns = v.irqsoff_max_ns;
      res.windows.irqsoff_where = v.irqsoff_where;
    }
    ctx_vol += v.ctx_voluntary;
    ctx_invol += v.ctx_involuntary;
    for (size_t p = 0; p < kNumPoints; ++p) by_point[p] += v.preemptions[p];
  }
  cnt["overruns"] = overruns;
  cnt["ops"] = ops_done;
  cnt["work_ns"] = static_cast<uint64_t>(std::max<int64_t>(work_ns, 0));
  cnt["messages_sent"] = sends;
  cnt["messages_received"] = recvs;
  cnt["deadline_misses"] = deadline_misses;
  for (const LockResult& l : r.locks) {
    const std::string p = "lock." + l.name + ".";
    cnt[p + "acquisitions"] = l.acquisitions;
    cnt[p + "contentions"] = l.contentions;
    cnt[p + "pi_boosts"] = l.pi_boosts;
    cnt[p + "max_wait_ns"] = static_cast<uint64_t>(std::max<int64_t>(l.max_wait_ns, 0));
  }
  for (const DeviceResult& d : r.devices) {
    const std::string p = "irq." + d.name + ".";
    cnt[p + "fired"] = d.fired;
    cnt[p + "handled"] = d.handled;
    cnt[p + "coalesced"] = d.coalesced;
  }

  wl::Throughput& tp = res.throughput;
  tp.ops = ops_done;
  tp.ops_per_s = static_cast<double>(ops_done) / secs;
  tp.work_fraction =
      static_cast<double>(work_ns) /
      (static_cast<double>(opt.vcpus) * static_cast<double>(std::max<int64_t>(res.duration_ns, 1)));
  tp.ctx_switches_per_s = static_cast<double>(ctx_vol + ctx_invol) / secs;
  tp.preemptions_per_s = static_cast<double>(ctx_invol) / secs;
  for (size_t p = 0; p < kNumPoints; ++p) {
    if (by_point[p] == 0) continue;
    tp.preemptions_by_point_per_s[std::string(exec::to_string(exec::kAllPoints[p]))] =
        static_cast<double>(by_point[p]) / secs;
  }

  res.notes.push_back("simulated clock: ctx_switch " + std::to_string(opt.ctx_switch_ns) +
                      " ns, irq entry " + std::to_string(opt.irq_entry_ns) + " ns, ipi " +
                      std::to_string(opt.ipi_ns) + " ns, seed " + std::to_string(opt.seed) + "; " +
                      std::to_string(r.events) + " events");
  res.notes.insert(res.notes.end(), notes.begin(), notes.end());
  if (r.interrupted) res.notes.push_back("interrupted: partial cell");
  return res;
}

}  // namespace pb::sim
