// run_cell(): a cell's plan (plan_cell()) becomes executive tasks and
// devices, runs in real time, and the executive's RunResult is assembled
// into a CellResult (assemble_cell()): plan, allocate, add the tasks and
// devices, run, assemble.
//
// Everything a task body touches during the run (compiled programs, locks,
// channels, counters, I/O rings) is allocated here before start() and freed
// after the executive has joined its threads. Bodies allocate nothing, take
// no libc lock and throw nothing (task.h, "Host locks").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

#include "cell_internal.h"
#include "io.h"
#include "pb/executive/executive.h"
#include "pb/sys.h"
#include "pb/workloads/cell.h"
#include "pb/xorshift.h"

namespace pb::wl {
namespace {

using exec::TaskApi;

constexpr int64_t kNsPerUs = 1000;
// How often a task waiting for an io_uring completion looks again.
constexpr int64_t kIoPollNs = 20'000;
// The scratch file "io" segments read and write.
constexpr int64_t kScratchMinBytes = 1 << 20;
constexpr int64_t kScratchMaxBytes = 16 << 20;

// One lock object of the type its description asks for.
struct LockSlot {
  LockType kind = LockType::kSpinlock;
  std::unique_ptr<exec::RawSpinlock> raw;
  std::unique_ptr<exec::Spinlock> spin;
  std::unique_ptr<exec::Mutex> mutex;
  std::unique_ptr<exec::RtMutex> rt;

  const exec::detail::LockBase& base() const {
    switch (kind) {
      case LockType::kRawSpinlock:
        return *raw;
      case LockType::kSpinlock:
        return *spin;
      case LockType::kMutex:
        return *mutex;
      case LockType::kRtMutex:
        return *rt;
    }
    return *spin;
  }
};

// What one task instance did, written only by its own thread, read after the
// run (the join orders it).
struct alignas(64) TaskCounters {
  uint64_t iterations = 0;
  int64_t work_ns = 0;  // busy work completed (user and kernel)
  uint64_t sends = 0;
  uint64_t recvs = 0;
  uint64_t deadline_misses = 0;
  detail::IoCounters io;
};

struct RunState {
  std::vector<LockSlot> locks;
  std::vector<std::unique_ptr<exec::Completion>> channels;
  std::vector<TaskCounters> counters;  // per instance
  detail::ScratchFile scratch;
  std::vector<std::unique_ptr<detail::IoContext>> io;  // per instance, null: no I/O
  const std::atomic<bool>* interrupt = nullptr;
};

// One instance's view, captured by its body.
struct Instance {
  const PlannedTask* plan = nullptr;  // name, vCPU, pacing, seed
  const detail::Program* program = nullptr;
  TaskCounters* counters = nullptr;
  detail::IoContext* io = nullptr;
  RunState* st = nullptr;
  exec::TaskId id = -1;
};

// The call sites that open sections, one per lock type and variant and per
// section kind: the executive names preempt-off and IRQ-off windows by where
// they were opened, and where_string() turns these back into the operation.
struct Site {
  const char* label;
  std::source_location loc;
};
const Site kSites[] = {
    {"raw_spin_lock", std::source_location::current()},
    {"raw_spin_lock_irqsave", std::source_location::current()},
    {"spin_lock", std::source_location::current()},
    {"spin_lock_irqsave", std::source_location::current()},
    {"mutex_lock", std::source_location::current()},
    {"rt_mutex_lock", std::source_location::current()},
    {"preempt_disable", std::source_location::current()},
    {"local_irq_save", std::source_location::current()},
    {"local_bh_disable", std::source_location::current()},
};
enum SiteIndex {
  kSiteRaw,
  kSiteRawIrq,
  kSiteSpin,
  kSiteSpinIrq,
  kSiteMutex,
  kSiteRtMutex,
  kSitePreempt,
  kSiteIrq,
  kSiteBh,
};

// Busy work with the preemption points of a compute segment: at most
// cond_resched_ns (might_sleep_ns) of work between two cond_resched()
// (might_sleep()) calls; no point at the start or the end.
void compute_with_points(TaskApi& api, const detail::Instr& in, TaskCounters& c) noexcept {
  constexpr int64_t kNever = INT64_MAX;
  const int64_t total = in.ns;
  int64_t next_cr = in.cond_resched_ns > 0 ? in.cond_resched_ns : kNever;
  int64_t next_ms = in.might_sleep_ns > 0 ? in.might_sleep_ns : kNever;
  int64_t done = 0;
  while (done < total) {
    const int64_t until = std::min({total, next_cr, next_ms});
    api.compute(until - done);
    if (!api.running()) return;
    c.work_ns += until - done;
    done = until;
    if (done >= total) break;
    if (done == next_cr) {
      api.cond_resched();
      next_cr += in.cond_resched_ns;
    }
    if (done == next_ms) {
      api.might_sleep();
      next_ms += in.might_sleep_ns;
    }
  }
}

// Interprets a compiled kernel path. Sections are balanced by construction;
// a sleeping lock that was not taken (the run is stopping) is "unlocked"
// anyway, which the executive ignores.
void run_program(TaskApi& api, const Instance& inst) noexcept {
  RunState& st = *inst.st;
  TaskCounters& c = *inst.counters;
  unsigned long flags[kMaxNesting + 1] = {};
  int depth = 0;
  for (const detail::Instr& in : inst.program->code) {
    switch (in.op) {
      case detail::Op::kCompute:
        compute_with_points(api, in, c);
        break;
      case detail::Op::kCondResched:
        api.cond_resched();
        break;
      case detail::Op::kMightSleep:
        api.might_sleep();
        break;
      case detail::Op::kMightResched:
        api.might_resched();
        break;
      case detail::Op::kLock: {
        LockSlot& l = st.locks[static_cast<size_t>(in.index)];
        unsigned long f = 0;
        switch (in.kind) {
          case LockType::kRawSpinlock:
            if (in.irqsave) {
              f = api.raw_spin_lock_irqsave(*l.raw, kSites[kSiteRawIrq].loc);
            } else {
              api.raw_spin_lock(*l.raw, kSites[kSiteRaw].loc);
            }
            break;
          case LockType::kSpinlock:
            if (in.irqsave) {
              f = api.spin_lock_irqsave(*l.spin, kSites[kSiteSpinIrq].loc);
            } else {
              (void)api.spin_lock(*l.spin, kSites[kSiteSpin].loc);
            }
            break;
          case LockType::kMutex:
            (void)api.mutex_lock(*l.mutex, kSites[kSiteMutex].loc);
            break;
          case LockType::kRtMutex:
            (void)api.rt_mutex_lock(*l.rt, kSites[kSiteRtMutex].loc);
            break;
        }
        flags[depth++] = f;
        break;
      }
      case detail::Op::kUnlock: {
        LockSlot& l = st.locks[static_cast<size_t>(in.index)];
        const unsigned long f = flags[--depth];
        switch (in.kind) {
          case LockType::kRawSpinlock:
            if (in.irqsave) {
              api.raw_spin_unlock_irqrestore(*l.raw, f);
            } else {
              api.raw_spin_unlock(*l.raw);
            }
            break;
          case LockType::kSpinlock:
            if (in.irqsave) {
              api.spin_unlock_irqrestore(*l.spin, f);
            } else {
              api.spin_unlock(*l.spin);
            }
            break;
          case LockType::kMutex:
            api.mutex_unlock(*l.mutex);
            break;
          case LockType::kRtMutex:
            api.rt_mutex_unlock(*l.rt);
            break;
        }
        break;
      }
      case detail::Op::kPreemptOff:
        api.preempt_disable(kSites[kSitePreempt].loc);
        break;
      case detail::Op::kPreemptOn:
        api.preempt_enable();
        break;
      case detail::Op::kIrqSave:
        flags[depth++] = api.local_irq_save(kSites[kSiteIrq].loc);
        break;
      case detail::Op::kIrqRestore:
        api.local_irq_restore(flags[--depth]);
        break;
      case detail::Op::kBhOff:
        api.local_bh_disable(kSites[kSiteBh].loc);
        break;
      case detail::Op::kBhOn:
        api.local_bh_enable();
        break;
      case detail::Op::kSleep:
        (void)api.sleep_ns(in.ns);
        break;
      case detail::Op::kSend:
        for (int i = 0; i < in.count; ++i)
          api.complete(*st.channels[static_cast<size_t>(in.index)]);
        c.sends += static_cast<uint64_t>(in.count);
        break;
      case detail::Op::kRecv:
        if (api.wait_for_completion(*st.channels[static_cast<size_t>(in.index)])) ++c.recvs;
        break;
      case detail::Op::kIo:
        if (inst.io != nullptr) (void)inst.io->run(api, in.io, in.bytes, kIoPollNs, c.io);
        break;
    }
  }
}

// The body of every task instance.
void task_body(TaskApi& api, Instance& inst) noexcept {
  const PlannedTask& p = *inst.plan;
  TaskCounters& c = *inst.counters;
  Xorshift64Star rng(p.seed);
  const bool periodic = p.period_ns > 0;
  const int64_t user_ns = p.user_ns;
  const bool has_path = !inst.program->code.empty();
  const int64_t deadline_ns = p.deadline_ns > 0 ? p.deadline_ns : p.period_ns;
  // Paced by load: iterations start on an absolute schedule, one every
  // cycle (jittered uniformly in [0.5, 1.5] x the mean, so the background
  // does not lock into a rhythm with the measuring tasks), from a random
  // phase. An iteration that ends late is followed at once (the offered load
  // is kept) but the backlog is dropped past kMaxBacklogCycles, so a stalled
  // task does not burst.
  constexpr int64_t kMaxBacklogCycles = 4;
  const int64_t cycle = p.cycle_mean_ns;
  auto jittered = [&] {
    return std::max<int64_t>(1,
                             static_cast<int64_t>(static_cast<double>(cycle) * (0.5 + rng.unit())));
  };
  int64_t next_start =
      cycle > 0 ? api.now_ns() + static_cast<int64_t>(static_cast<double>(cycle) * rng.unit()) : 0;
  for (;;) {
    // RunOptions::interrupt: any task may end the run; each checks once per
    // iteration (a relaxed load).
    if (inst.st->interrupt != nullptr && inst.st->interrupt->load(std::memory_order_relaxed)) {
      api.request_stop();
    }
    if (periodic) {
      if (!api.wait_next_period()) break;
    } else if (cycle > 0 && next_start > api.now_ns()) {
      if (!api.sleep_until(next_start)) break;  // user mode: a system call
    } else if (!api.running()) {
      break;
    }
    if (user_ns > 0) {
      api.compute(user_ns);
      if (api.running()) c.work_ns += user_ns;
    }
    if (has_path) {
      api.kernel_enter();
      run_program(api, inst);
      api.kernel_exit();
    }
    if (!api.running()) break;
    ++c.iterations;
    if (periodic && api.now_ns() - api.release_ns() > deadline_ns) ++c.deadline_misses;
    if (cycle > 0) {
      next_start += jittered();
      const int64_t now = api.now_ns();
      if (now - next_start > kMaxBacklogCycles * cycle) next_start = now;
    }
  }
}

// --- reading the RunResult ----------------------------------------------------------------

template <typename T>
std::string where_string(const T& w) {
  std::string s;
  if constexpr (std::is_convertible_v<const T&, std::string>) {
    s = std::string(w);
  } else if constexpr (std::is_same_v<std::decay_t<T>, const char*>) {
    s = w != nullptr ? w : "";
  } else if constexpr (requires {
                         w.file_name();
                         w.line();
                       }) {
    s = std::string(w.file_name()) + ":" + std::to_string(w.line());
  } else if constexpr (requires {
                         w.file;
                         w.line;
                       }) {
    s = std::string(w.file != nullptr ? w.file : "") + ":" + std::to_string(w.line);
  }
  // A window opened by the path interpreter: name the operation.
  for (const Site& site : kSites) {
    const std::string at =
        std::string(site.loc.file_name()) + ":" + std::to_string(site.loc.line());
    if (s == at || (s.size() > at.size() && s.compare(s.size() - at.size(), at.size(), at) == 0)) {
      return std::string(site.label) + " (a workload's path)";
    }
  }
  return s;
}

// kernel.sched_rt_runtime_us and sched_rt_period_us; throttles() is false
// when RT throttling is off or the values are unreadable.
struct RtBandwidth {
  long runtime_us = -1;
  long period_us = -1;
  bool throttles() const { return runtime_us >= 0 && period_us > 0 && runtime_us < period_us; }
};

RtBandwidth host_rt_bandwidth() {
  auto read = [](const char* path) -> long {
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) return -1;
    long v = -1;
    if (std::fscanf(f, "%ld", &v) != 1) v = -1;
    std::fclose(f);
    return v;
  };
  return {read("/proc/sys/kernel/sched_rt_runtime_us"),
          read("/proc/sys/kernel/sched_rt_period_us")};
}

// Everything a body touches during the run, allocated before start(): lock
// objects, channels, per-instance counters, io_uring rings on a scratch
// file. What the host cannot provide (io_uring) becomes a note.
void allocate(const Workload& w, const CellPlan& plan, const RunOptions& opt, RunState& st,
              std::vector<Instance>& insts, std::vector<std::string>& notes) {
  st.interrupt = opt.interrupt;
  st.locks.resize(w.locks.size());
  for (size_t i = 0; i < w.locks.size(); ++i) {
    LockSlot& l = st.locks[i];
    l.kind = w.locks[i].kind;
    const char* n = w.locks[i].name.c_str();  // `w` outlives the run
    switch (l.kind) {
      case LockType::kRawSpinlock:
        l.raw = std::make_unique<exec::RawSpinlock>(n);
        break;
      case LockType::kSpinlock:
        l.spin = std::make_unique<exec::Spinlock>(n);
        break;
      case LockType::kMutex:
        l.mutex = std::make_unique<exec::Mutex>(n);
        break;
      case LockType::kRtMutex:
        l.rt = std::make_unique<exec::RtMutex>(n);
        break;
    }
  }
  for (size_t i = 0; i < w.channels.size(); ++i) {
    st.channels.push_back(std::make_unique<exec::Completion>());
  }
  st.counters.resize(plan.tasks.size());
  st.io.resize(plan.tasks.size());

  bool io_ok = false;
  if (plan.has_io) {
    const int probe = detail::probe_io_uring();
    if (probe < 0) {
      notes.push_back(std::string("io_uring unavailable (io_uring_queue_init: ") +
                      std::strerror(-probe) + "): io segments skipped");
    } else {
      std::string where;
      const int64_t size =
          std::clamp<int64_t>(plan.max_io_bytes * 16, kScratchMinBytes, kScratchMaxBytes);
      const int r = st.scratch.open(size, &where);
      if (r < 0) {
        notes.push_back(std::string("io segments skipped: no scratch file (") + std::strerror(-r) +
                        ")");
      } else {
        io_ok = true;
        notes.push_back("io segments: io_uring on " + where);
      }
    }
  }

  insts.reserve(plan.tasks.size());
  for (size_t k = 0; k < plan.tasks.size(); ++k) {
    const PlannedTask& p = plan.tasks[k];
    Instance in;
    in.plan = &p;
    in.program = &plan.programs[p.entry];
    in.counters = &st.counters[k];
    in.st = &st;
    if (io_ok && in.program->has_io) {
      auto ctx = std::make_unique<detail::IoContext>();
      const int r = ctx->init(&st.scratch, in.program->max_io_bytes);
      if (r < 0) {
        notes.push_back("io_uring ring for " + p.name + " failed (" + std::strerror(-r) +
                        "): its io segments skipped");
      } else {
        in.io = ctx.get();
        st.io[k] = std::move(ctx);
      }
    }
    insts.push_back(std::move(in));
  }
}

exec::Config executive_config(exec::Model model, const RunOptions& opt) {
  exec::Config cfg;
  cfg.model = model;
  cfg.hz = opt.hz;
  cfg.vcpus = opt.vcpus;
  cfg.use_fifo = opt.use_fifo;
  cfg.base_slice_ns = opt.base_slice_ns;
  cfg.direct_wakeup = opt.direct_wakeup;
  // BUGs are counted in might_sleep_bugs, schedule_while_atomic_bugs,
  // preempt_leaks and lockdep_*; printed too with debug aids on.
  cfg.print_debug_reports = opt.debug_aids == 1;
  if (opt.debug_aids >= 0) cfg.lockdep = opt.debug_aids == 1;
  cfg.track_windows = true;  // CellResult::windows
  return cfg;
}

// The plan's instances and devices on the executive. "" or what failed.
std::string add_tasks_and_devices(exec::Executive& ex, const CellPlan& plan,
                                  std::vector<Instance>& insts) {
  for (Instance& in : insts) {
    const PlannedTask& p = *in.plan;
    Instance* ip = &in;
    in.id = ex.add_task({.name = p.name,
                         .policy = p.desc->sched,
                         .priority = p.desc->priority,
                         .nice = p.desc->nice,
                         .vcpu = p.vcpu,
                         .period_ns = p.period_ns,
                         .phase_ns = p.phase_ns,
                         .histograms = p.desc->measure,
                         .body = [ip](TaskApi& api) { task_body(api, *ip); }});
    if (in.id < 0) return "task " + p.name + ": " + ex.error();
  }
  for (const PlannedIrq& q : plan.irqs) {
    if (ex.add_irq({.name = q.name,
                    .vcpu = q.vcpu,
                    .period_ns = q.period_ns,
                    .handler_ns = q.handler_ns,
                    .softirq_ns = q.softirq_ns,
                    .flags = q.flags,
                    .thread_priority = q.thread_priority}) < 0) {
      return "irq " + q.name + ": " + ex.error();
    }
  }
  return "";
}

// What the executive and the bodies counted, in the terms assemble_cell() reads.
CellFigures figures_of(const Workload& w, const CellPlan& plan, const RunState& st,
                       const std::vector<Instance>& insts, const exec::RunResult& r,
                       int64_t duration_ns) {
  CellFigures f;
  f.duration_ns = duration_ns;
  uint64_t io_done = 0, io_errors = 0;
  for (const Instance& in : insts) {
    const TaskCounters& c = *in.counters;
    io_done += c.io.completed;
    io_errors += c.io.errors;
    InstanceFigures t{c.iterations, c.work_ns, c.sends, c.recvs, c.deadline_misses};
    const auto ts = std::find_if(r.tasks.begin(), r.tasks.end(),
                                 [&](const exec::TaskStats& s) { return s.id == in.id; });
    if (ts != r.tasks.end()) {
      t.periods = ts->periods;
      t.overruns = ts->overruns;
      t.latency = ts->wakeup_latency.get();
      t.model_delay = ts->model_delay.get();
      t.runtime_ns = ts->runtime_ns;
      t.wait_ns = ts->wait_ns;
      t.dispatches = ts->dispatches;
      t.preemptions = ts->preempted_at;
    }
    f.tasks.push_back(t);
  }
  for (const exec::VcpuStats& v : r.vcpus) {
    detail::add_vcpu_figures(
        v, [](const auto& where) { return where_string(where); }, f.vcpus);
  }
  for (size_t i = 0; i < st.locks.size(); ++i) {
    const exec::LockStats ls = st.locks[i].base().stats();
    f.locks.push_back(
        {w.locks[i].name, ls.acquisitions, ls.contentions, ls.pi_boosts, ls.max_wait_ns});
  }
  for (const exec::IrqStats& q : r.irqs)
    f.irqs.push_back({q.name, q.fired, q.handled, q.coalesced, q.delivered,
                      q.worst_fire_to_handled_ns, q.threaded});
  if (plan.has_io) {
    f.extra_counters["io_completed"] = io_done;
    f.extra_counters["io_errors"] = io_errors;
  }
  return f;
}

// The host class mirrors the emulated one (executive, DESIGN.md "Host
// class"): only emulated RT-class time runs at host SCHED_FIFO, so the host
// throttles a vCPU only when its emulated RT-class tasks alone ask for more
// than the RT runtime of a period, which a real kernel would throttle too.
// Said when a vCPU's RT-class busy time, averaged over the cell, comes
// within 5 % of the runtime's share of a period (a shorter cell is not
// throttled on its own, but the same work run longer would be). "" or the
// note.
std::string throttle_note(const std::vector<int64_t>& rt_busy_ns, bool host_fifo,
                          int64_t duration_ns, const RtBandwidth& rt_bw) {
  if (!rt_bw.throttles() || duration_ns <= 0) return "";
  const double share = static_cast<double>(rt_bw.runtime_us) / static_cast<double>(rt_bw.period_us);
  for (size_t i = 0; i < rt_busy_ns.size(); ++i) {
    const auto busy = static_cast<double>(rt_busy_ns[i]);
    const double frac = busy / static_cast<double>(duration_ns);
    if (frac < share - 0.05) continue;
    char buf[520];
    std::snprintf(buf, sizeof(buf),
                  "vCPU %zu ran emulated RT-class tasks %.0f %% of the cell (%.2f s of %.2f s), "
                  "near or above the host's RT runtime (kernel.sched_rt_runtime_us = %ld per "
                  "%ld us): %s",
                  i, frac * 100.0, busy / 1e9, static_cast<double>(duration_ns) / 1e9,
                  rt_bw.runtime_us, rt_bw.period_us,
                  host_fifo ? "the host's RT throttling may have stalled it, as a real kernel's "
                              "would (sched_rt_runtime_us = -1 lifts it)"
                            : "a real kernel's RT throttling would stall it");
    return buf;
  }
  return "";
}

// A sum of segments' figures. Histograms are owned here; the figures point
// into them.
struct FigureSum {
  bool empty = true;
  CellFigures f;
  std::vector<LatencyHistogram> latency, model_delay;
  std::vector<bool> has_latency, has_delay;

  void add(const CellFigures& s) {
    if (empty) {
      f = s;
      latency.assign(s.tasks.size(), LatencyHistogram{});
      model_delay.assign(s.tasks.size(), LatencyHistogram{});
      has_latency.assign(s.tasks.size(), false);
      has_delay.assign(s.tasks.size(), false);
      f.duration_ns = 0;
      for (auto& t : f.tasks) t = InstanceFigures{};
      for (auto& [k, n] : f.vcpus.counters) n = 0;
      f.vcpus.ctx_voluntary = f.vcpus.ctx_involuntary = 0;
      f.vcpus.preemptions = {};
      f.vcpus.windows = Windows{};
      for (auto& l : f.locks) {
        l.acquisitions = l.contentions = l.pi_boosts = 0;
        l.max_wait_ns = 0;
      }
      for (auto& q : f.irqs) q.fired = q.handled = q.coalesced = 0;
      for (auto& [k, n] : f.extra_counters) n = 0;
      empty = false;
    }
    f.duration_ns += s.duration_ns;
    for (size_t i = 0; i < s.tasks.size() && i < f.tasks.size(); ++i) {
      InstanceFigures& a = f.tasks[i];
      const InstanceFigures& b = s.tasks[i];
      a.iterations += b.iterations;
      a.work_ns += b.work_ns;
      a.sends += b.sends;
      a.recvs += b.recvs;
      a.deadline_misses += b.deadline_misses;
      a.periods += b.periods;
      a.overruns += b.overruns;
      a.runtime_ns += b.runtime_ns;
      a.wait_ns += b.wait_ns;
      a.dispatches += b.dispatches;
      for (size_t p = 0; p < a.preemptions.size(); ++p) a.preemptions[p] += b.preemptions[p];
      if (b.latency != nullptr) {
        latency[i].merge(*b.latency);
        has_latency[i] = true;
      }
      if (b.model_delay != nullptr) {
        model_delay[i].merge(*b.model_delay);
        has_delay[i] = true;
      }
      a.latency = has_latency[i] ? &latency[i] : nullptr;
      a.model_delay = has_delay[i] ? &model_delay[i] : nullptr;
    }
    for (const auto& [k, n] : s.vcpus.counters) f.vcpus.counters[k] += n;
    f.vcpus.ctx_voluntary += s.vcpus.ctx_voluntary;
    f.vcpus.ctx_involuntary += s.vcpus.ctx_involuntary;
    for (size_t p = 0; p < exec::kNumPoints; ++p) f.vcpus.preemptions[p] += s.vcpus.preemptions[p];
    Windows& w = f.vcpus.windows;
    if (s.vcpus.windows.preemptoff_max_ns > w.preemptoff_max_ns) {
      w.preemptoff_max_ns = s.vcpus.windows.preemptoff_max_ns;
      w.preemptoff_where = s.vcpus.windows.preemptoff_where;
    }
    if (s.vcpus.windows.irqsoff_max_ns > w.irqsoff_max_ns) {
      w.irqsoff_max_ns = s.vcpus.windows.irqsoff_max_ns;
      w.irqsoff_where = s.vcpus.windows.irqsoff_where;
    }
    for (size_t i = 0; i < s.locks.size() && i < f.locks.size(); ++i) {
      f.locks[i].acquisitions += s.locks[i].acquisitions;
      f.locks[i].contentions += s.locks[i].contentions;
      f.locks[i].pi_boosts += s.locks[i].pi_boosts;
      f.locks[i].max_wait_ns = std::max(f.locks[i].max_wait_ns, s.locks[i].max_wait_ns);
    }
    for (size_t i = 0; i < s.irqs.size() && i < f.irqs.size(); ++i) {
      f.irqs[i].fired += s.irqs[i].fired;
      f.irqs[i].handled += s.irqs[i].handled;
      f.irqs[i].coalesced += s.irqs[i].coalesced;
    }
    for (const auto& [k, n] : s.extra_counters) f.extra_counters[k] += n;
  }
};

// What one executive run (a whole short cell, or one segment of a long
// one) measured.
struct SegmentRun {
  std::string error;  // the run could not start
  exec::RunResult r;
  CellFigures figures;  // points into `r` and `st`
  RunState st;
  std::vector<Instance> insts;
  std::vector<std::string> notes;  // allocation notes (io_uring, ...)
};

void run_segment(const Workload& w, exec::Model model, const CellPlan& plan, const RunOptions& opt,
                 int64_t duration_ns, SegmentRun& out) {
  allocate(w, plan, opt, out.st, out.insts, out.notes);
  exec::Executive ex(executive_config(model, opt));
  if (const std::string e = add_tasks_and_devices(ex, plan, out.insts); !e.empty()) {
    out.error = e;
    return;
  }
  if (ex.start() != 0) {
    out.error = ex.error();
    return;
  }
  const int64_t t0 = sys::now_ns();
  ex.run_for(duration_ns);
  const int64_t wall = sys::now_ns() - t0;
  out.r = ex.result();
  out.figures = figures_of(w, plan, out.st, out.insts, out.r,
                           out.r.duration_ns > 0 ? out.r.duration_ns : wall);
}

// The headline task of a plan (assemble_cell()'s choice): the first RT
// measuring instance, else the first measuring one; -1 when none.
int headline_index(const CellPlan& plan) {
  int first = -1;
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    if (!plan.tasks[i].desc->measure) continue;
    if (plan.tasks[i].desc->sched != Policy::kFair) return static_cast<int>(i);
    if (first < 0) first = static_cast<int>(i);
  }
  return first;
}

SegmentFigures segment_figures(const SegmentRun& s, int headline, int64_t start_ns) {
  SegmentFigures g;
  g.start_ns = start_ns;
  g.duration_ns = s.figures.duration_ns;
  for (const exec::VcpuStats& v : s.r.vcpus) {
    g.host_stolen_ns += v.host_stolen_ns;
    g.host_stall_ns += v.host_stall_ns;
    g.rt_busy_max_ns = std::max(g.rt_busy_max_ns, v.rt_busy_ns);
  }
  if (headline >= 0 && static_cast<size_t>(headline) < s.figures.tasks.size()) {
    const InstanceFigures& t = s.figures.tasks[static_cast<size_t>(headline)];
    g.missed = t.overruns;
    if (t.latency != nullptr) {
      g.samples = t.latency->count();
      g.max_ns = t.latency->max();
    }
  }
  return g;
}

bool interrupted(const RunOptions& opt) {
  return opt.interrupt != nullptr && opt.interrupt->load(std::memory_order_relaxed);
}

void add_note_once(std::vector<std::string>& notes, const std::string& n) {
  if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(n);
}

CellResult run_cell_impl(const Workload& w, exec::Model model, double load, const RunOptions& opt) {
  const CellResult identity = cell_identity(w, model, load, opt.round, "real");
  const int64_t seg_len = opt.segment_ns > 0 ? std::min(opt.segment_ns, opt.duration_ns)
                                             : segment_length_ns(opt.duration_ns);
  const CellPlan plan0 = plan_cell(w, load, opt.vcpus, opt.seed, opt.duration_ns);
  if (!plan0.error.empty()) return failed_cell(identity, plan0.error);
  const int headline = headline_index(plan0);
  const RtBandwidth rt_bw = host_rt_bandwidth();

  FigureSum sum;
  std::vector<int64_t> rt_busy;  // per vCPU, over the segments
  std::vector<std::string> notes;
  std::vector<SegmentFigures> segments;
  bool host_fifo = false, tripped = false;
  const int64_t cell_t0 = sys::now_ns();
  // Segments keep the plan; each after the first gets its own seed, so that
  // the pacing jitter does not repeat.
  int64_t done = 0;
  for (int64_t k = 0; done < opt.duration_ns; ++k) {
    const int64_t len = std::min(seg_len, opt.duration_ns - done);
    const CellPlan plan =
        k == 0 ? CellPlan{}
               : plan_cell(w, load, opt.vcpus,
                           opt.seed + static_cast<uint64_t>(k) * 0x9e3779b97f4a7c15ull,
                           opt.duration_ns);
    const CellPlan& p = k == 0 ? plan0 : plan;
    auto seg = std::make_unique<SegmentRun>();
    const int64_t seg_start = sys::now_ns() - cell_t0;
    run_segment(w, model, p, opt, len, *seg);
    if (!seg->error.empty()) {
      if (sum.empty) return failed_cell(identity, seg->error);
      notes.push_back("segment " + std::to_string(k + 1) + " could not start: " + seg->error);
      break;
    }
    host_fifo = seg->r.host_fifo;
    tripped = tripped || seg->r.watchdog_tripped;
    sum.add(seg->figures);
    rt_busy.resize(std::max(rt_busy.size(), seg->r.vcpus.size()), 0);
    for (size_t i = 0; i < seg->r.vcpus.size(); ++i) rt_busy[i] += seg->r.vcpus[i].rt_busy_ns;
    for (const auto& n : seg->r.notes) add_note_once(notes, n);
    for (const auto& n : seg->notes) add_note_once(notes, n);
    if (seg->r.watchdog_tripped && !seg->r.watchdog_message.empty()) {
      notes.push_back(seg->r.watchdog_message);
    }
    if (seg_len < opt.duration_ns && segments.size() < kMaxCellSegments) {
      segments.push_back(segment_figures(*seg, headline, seg_start));
    }
    done += len;
    const bool last = done >= opt.duration_ns || interrupted(opt) || tripped;
    if (opt.on_segment && !last) {
      CellResult so_far = identity;
      so_far.host_fifo = host_fifo;
      assemble_cell(plan0, opt.vcpus, sum.f, so_far);
      so_far.notes = notes;
      so_far.segments = segments;
      so_far.partial = true;
      so_far.notes.push_back("in progress: " + std::to_string(k + 1) + " segments, " +
                             std::to_string(done / 1'000'000) + " ms of " +
                             std::to_string(opt.duration_ns / 1'000'000) + " ms");
      opt.on_segment(so_far);
    }
    if (last) break;
  }

  CellResult res = identity;
  res.host_fifo = host_fifo;
  res.watchdog_tripped = tripped;
  assemble_cell(plan0, opt.vcpus, sum.f, res);
  res.segments = std::move(segments);
  if (!plan0.folded_note.empty()) add_note_once(notes, plan0.folded_note);
  if (std::string n = throttle_note(rt_busy, host_fifo, res.duration_ns, rt_bw); !n.empty()) {
    notes.push_back(std::move(n));
  }
  if (seg_len < opt.duration_ns) {
    notes.push_back("run in " + std::to_string(res.segments.size()) + " segments of up to " +
                    std::to_string(seg_len / 1'000'000) +
                    " ms (one executive run each; histograms merged)");
  }
  // The executive's and the cell's notes first, then what assemble_cell()
  // found (no samples, no progress, ...).
  std::vector<std::string> found = std::move(res.notes);
  res.notes = std::move(notes);
  res.notes.insert(res.notes.end(), found.begin(), found.end());
  // Short of its duration: interrupted, the watchdog, or a segment that
  // could not start.
  res.partial = done < opt.duration_ns || interrupted(opt);
  if (interrupted(opt)) res.notes.push_back("interrupted: partial cell");
  return res;
}

}  // namespace

CellResult run_cell(const Workload& w, exec::Model model, double load, const RunOptions& opt) {
  try {
    return run_cell_impl(w, model, load, opt);
  } catch (const std::exception& e) {  // allocation failures before or after the run
    CellResult res = cell_identity(w, model, load, opt.round, "real");
    res.error = std::string("run_cell: ") + e.what();
    return res;
  }
}

int64_t segment_length_ns(int64_t duration_ns) {
  if (duration_ns <= kSegmentThresholdNs) return duration_ns;
  const int64_t per = (duration_ns + static_cast<int64_t>(kMaxCellSegments) - 1) /
                      static_cast<int64_t>(kMaxCellSegments);
  const int64_t whole = (per + 999'999'999) / 1'000'000'000 * 1'000'000'000;
  return std::max(kMinSegmentNs, whole);
}

int64_t rt_throttle_rest_ns() {
  const RtBandwidth b = host_rt_bandwidth();
  if (!b.throttles()) return 0;
  return (static_cast<int64_t>(b.period_us - b.runtime_us) + 50'000) * 1'000;
}

}  // namespace pb::wl
