// run_cell(): a description becomes executive tasks and devices, runs, and
// the executive's RunResult becomes a CellResult.
//
// Everything a task body touches during the run (compiled programs, locks,
// channels, counters, I/O rings) is allocated here before start() and freed
// after the executive has joined its threads. Bodies allocate nothing, take
// no libc lock and throw nothing (task.h, "Host locks").
#include "pb/workloads/runner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

#include "io.h"
#include "pb/executive/executive.h"
#include "pb/sys.h"
#include "pb/xorshift.h"
#include "program.h"

namespace pb::wl {
namespace {

using exec::TaskApi;

constexpr int64_t kNsPerUs = 1000;
constexpr double kNsPerSec = 1e9;
// How often a task waiting for an io_uring completion looks again.
constexpr int64_t kIoPollNs = 20'000;
// The scratch file "io" segments read and write.
constexpr int64_t kScratchMinBytes = 1 << 20;
constexpr int64_t kScratchMaxBytes = 16 << 20;

// One lock object of the type its description asks for.
struct LockSlot {
  LockKind kind = LockKind::kSpinlock;
  std::unique_ptr<exec::RawSpinlock> raw;
  std::unique_ptr<exec::Spinlock> spin;
  std::unique_ptr<exec::Mutex> mutex;
  std::unique_ptr<exec::RtMutex> rt;

  const exec::detail::LockBase& base() const {
    switch (kind) {
      case LockKind::kRawSpinlock:
        return *raw;
      case LockKind::kSpinlock:
        return *spin;
      case LockKind::kMutex:
        return *mutex;
      case LockKind::kRtMutex:
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
  std::vector<detail::Program> programs;  // per task entry
  std::vector<TaskCounters> counters;     // per instance
  detail::ScratchFile scratch;
  std::vector<std::unique_ptr<detail::IoContext>> io;  // per instance, null: no I/O
  const std::atomic<bool>* interrupt = nullptr;
};

// One instance's view, captured by its body.
struct Instance {
  const TaskDesc* desc = nullptr;
  const detail::Program* program = nullptr;
  TaskCounters* counters = nullptr;
  detail::IoContext* io = nullptr;
  RunState* st = nullptr;
  std::string name;
  int vcpu = 0;
  bool background = true;
  int64_t busy_ns = 0;        // nominal busy work of one iteration
  // Load < 1: the mean time from one iteration's start to the next's (0: back
  // to back — load 1, periodic, measuring, or no busy work).
  int64_t cycle_mean_ns = 0;
  uint64_t seed = 1;
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
          case LockKind::kRawSpinlock:
            if (in.irqsave) {
              f = api.raw_spin_lock_irqsave(*l.raw, kSites[kSiteRawIrq].loc);
            } else {
              api.raw_spin_lock(*l.raw, kSites[kSiteRaw].loc);
            }
            break;
          case LockKind::kSpinlock:
            if (in.irqsave) {
              f = api.spin_lock_irqsave(*l.spin, kSites[kSiteSpinIrq].loc);
            } else {
              (void)api.spin_lock(*l.spin, kSites[kSiteSpin].loc);
            }
            break;
          case LockKind::kMutex:
            (void)api.mutex_lock(*l.mutex, kSites[kSiteMutex].loc);
            break;
          case LockKind::kRtMutex:
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
          case LockKind::kRawSpinlock:
            if (in.irqsave) {
              api.raw_spin_unlock_irqrestore(*l.raw, f);
            } else {
              api.raw_spin_unlock(*l.raw);
            }
            break;
          case LockKind::kSpinlock:
            if (in.irqsave) {
              api.spin_unlock_irqrestore(*l.spin, f);
            } else {
              api.spin_unlock(*l.spin);
            }
            break;
          case LockKind::kMutex:
            api.mutex_unlock(*l.mutex);
            break;
          case LockKind::kRtMutex:
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
        for (int i = 0; i < in.count; ++i) api.complete(*st.channels[static_cast<size_t>(in.index)]);
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

// The body of every task instance. A template only so that optional
// executive interfaces are used when they exist (release_ns()).
template <typename Api>
void task_body(Api& api, Instance& inst) noexcept {
  const TaskDesc& t = *inst.desc;
  TaskCounters& c = *inst.counters;
  Xorshift64Star rng(inst.seed);
  const bool periodic = t.period_us > 0;
  const int64_t user_ns = t.user_us * kNsPerUs;
  const bool has_path = !inst.program->code.empty();
  const int64_t deadline_ns = (t.deadline_us > 0 ? t.deadline_us : t.period_us) * kNsPerUs;
  // Paced by load: iterations start on an absolute schedule, one every
  // cycle (jittered uniformly in [0.5, 1.5] x the mean, so the background
  // does not lock into a rhythm with the measuring tasks), from a random
  // phase. An iteration that ends late is followed at once (the offered load
  // is kept) but the backlog is dropped past kMaxBacklogCycles, so a stalled
  // task does not burst.
  constexpr int64_t kMaxBacklogCycles = 4;
  const int64_t cycle = inst.cycle_mean_ns;
  auto jittered = [&] {
    return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(cycle) * (0.5 + rng.unit())));
  };
  int64_t next_start = cycle > 0 ? api.now_ns() + static_cast<int64_t>(static_cast<double>(cycle) * rng.unit()) : 0;
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
    if constexpr (requires { api.release_ns(); }) {
      if (periodic && api.now_ns() - api.release_ns() > deadline_ns) ++c.deadline_misses;
    } else {
      (void)deadline_ns;
    }
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
  } else if constexpr (requires { w.file_name(); w.line(); }) {
    s = std::string(w.file_name()) + ":" + std::to_string(w.line());
  } else if constexpr (requires { w.file; w.line; }) {
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

#define PB_COUNT(field)                                                               \
  if constexpr (requires { v.field; }) {                                              \
    counters[#field] += static_cast<uint64_t>(v.field > 0 ? v.field : 0);             \
  }

template <typename V>
void add_vcpu_counters(const V& v, std::map<std::string, uint64_t>& counters) {
  PB_COUNT(dispatches)
  PB_COUNT(ctx_voluntary)
  PB_COUNT(ctx_involuntary)
  PB_COUNT(idle_exits)
  PB_COUNT(irq_timer)
  PB_COUNT(irq_ipi)
  PB_COUNT(irq_spurious)
  PB_COUNT(irq_masked)
  PB_COUNT(irq_replayed)
  PB_COUNT(irq_forwarded)
  PB_COUNT(timer_syscalls)
  PB_COUNT(irq_device)
  PB_COUNT(irq_thread_wakeups)
  PB_COUNT(softirq_raised)
  PB_COUNT(softirq_at_irq_exit)
  PB_COUNT(softirq_at_bh_enable)
  PB_COUNT(softirq_in_ksoftirqd)
  PB_COUNT(softirq_deferred)
  PB_COUNT(softirq_rounds)
  PB_COUNT(ksoftirqd_wakeups)
  PB_COUNT(softirq_ns)
  PB_COUNT(ticks)
  PB_COUNT(ticks_missed)
  PB_COUNT(hrtimers_expired)
  PB_COUNT(lazy_promotions)
  PB_COUNT(rr_expiries)
  PB_COUNT(fair_slice_expiries)
  PB_COUNT(ipis_sent)
  PB_COUNT(ipis_received)
  PB_COUNT(ipis_coalesced)
  PB_COUNT(wakeups_local)
  PB_COUNT(wakeups_remote)
  PB_COUNT(might_sleep_bugs)
  PB_COUNT(schedule_while_atomic_bugs)
  PB_COUNT(preempt_leaks)
  PB_COUNT(lockdep_cycles)
  PB_COUNT(lockdep_inconsistent)
  PB_COUNT(lockdep_held_at_exit)
  PB_COUNT(lock_contentions)
  PB_COUNT(pi_boosts)
  PB_COUNT(user_ns)
  PB_COUNT(kernel_ns)
  PB_COUNT(irq_ns)
  PB_COUNT(idle_ns)
  PB_COUNT(host_stolen_ns)
}
#undef PB_COUNT

template <typename V>
void add_windows(const V& v, Windows& w) {
  if constexpr (requires { v.preemptoff_max_ns; }) {
    if (v.preemptoff_max_ns > w.preemptoff_max_ns) {
      w.preemptoff_max_ns = v.preemptoff_max_ns;
      if constexpr (requires { v.preemptoff_where; }) w.preemptoff_where = where_string(v.preemptoff_where);
    }
  }
  if constexpr (requires { v.irqsoff_max_ns; }) {
    if (v.irqsoff_max_ns > w.irqsoff_max_ns) {
      w.irqsoff_max_ns = v.irqsoff_max_ns;
      if constexpr (requires { v.irqsoff_where; }) w.irqsoff_where = where_string(v.irqsoff_where);
    }
  }
}

// Whether TaskApi tells a periodic task its release (deadline misses are
// counted only then).
template <typename Api>
constexpr bool has_release_ns() {
  return requires(Api& a) { a.release_ns(); };
}

// Whether the executive reports lock figures per vCPU (else they are summed
// from the locks).
template <typename V>
constexpr bool vcpu_has_lock_counters() {
  return requires(const V& v) { v.lock_contentions; };
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
  return {read("/proc/sys/kernel/sched_rt_runtime_us"), read("/proc/sys/kernel/sched_rt_period_us")};
}

CellResult fail(CellResult r, std::string why) {
  r.error = std::move(why);
  return r;
}

CellResult run_cell_impl(const Workload& w, exec::Model model, double load, const RunOptions& opt) {
  CellResult res;
  res.model = std::string(exec::to_string(model));
  res.workload = w.name;
  res.load = load;
  res.round = opt.round;
  res.clock = "real";
  if (!(load > 0.0 && load <= 1.0)) return fail(res, "load must be in (0, 1], got " + std::to_string(load));
  if (opt.duration_ns <= 0) return fail(res, "duration must be positive");
  if (opt.vcpus < 1 || opt.vcpus > kMaxVcpuIndex + 1) {
    return fail(res, "vcpus must be in 1.." + std::to_string(kMaxVcpuIndex + 1));
  }

  // --- everything the bodies touch, allocated before start -------------------------------
  RunState st;
  st.interrupt = opt.interrupt;
  st.locks.resize(w.locks.size());
  for (size_t i = 0; i < w.locks.size(); ++i) {
    LockSlot& l = st.locks[i];
    l.kind = w.locks[i].kind;
    const char* n = w.locks[i].name.c_str();  // `w` outlives the run
    switch (l.kind) {
      case LockKind::kRawSpinlock:
        l.raw = std::make_unique<exec::RawSpinlock>(n);
        break;
      case LockKind::kSpinlock:
        l.spin = std::make_unique<exec::Spinlock>(n);
        break;
      case LockKind::kMutex:
        l.mutex = std::make_unique<exec::Mutex>(n);
        break;
      case LockKind::kRtMutex:
        l.rt = std::make_unique<exec::RtMutex>(n);
        break;
    }
  }
  for (size_t i = 0; i < w.channels.size(); ++i) {
    st.channels.push_back(std::make_unique<exec::Completion>());
  }
  bool any_io = false;
  int64_t max_io_bytes = 0;
  int instances = 0;
  for (const TaskDesc& t : w.tasks) {
    st.programs.push_back(detail::compile(t.path, w));
    any_io = any_io || (st.programs.back().has_io && t.count > 0);
    max_io_bytes = std::max(max_io_bytes, st.programs.back().max_io_bytes);
    instances += t.count;
  }
  st.counters.resize(static_cast<size_t>(instances));
  st.io.resize(static_cast<size_t>(instances));

  std::vector<std::string> notes;
  bool io_ok = false;
  if (any_io) {
    const int probe = detail::probe_io_uring();
    if (probe < 0) {
      notes.push_back(std::string("io_uring unavailable (io_uring_queue_init: ") +
                      std::strerror(-probe) + "): io segments skipped");
    } else {
      std::string where;
      const int64_t size = std::clamp<int64_t>(max_io_bytes * 16, kScratchMinBytes, kScratchMaxBytes);
      const int r = st.scratch.open(size, &where);
      if (r < 0) {
        notes.push_back(std::string("io segments skipped: no scratch file (") + std::strerror(-r) + ")");
      } else {
        io_ok = true;
        notes.push_back("io segments: io_uring on " + where);
      }
    }
  }

  // --- tasks ---------------------------------------------------------------------------------
  std::vector<Instance> insts;
  insts.reserve(static_cast<size_t>(instances));
  std::vector<std::string> folded;
  auto fold = [&](int vcpu, const std::string& what) {
    if (vcpu < opt.vcpus) return vcpu;
    folded.push_back(what + " (vCPU " + std::to_string(vcpu) + ")");
    return vcpu % opt.vcpus;
  };
  int k = 0;
  for (size_t ti = 0; ti < w.tasks.size(); ++ti) {
    const TaskDesc& t = w.tasks[ti];
    for (int i = 0; i < t.count; ++i, ++k) {
      Instance in;
      in.desc = &t;
      in.program = &st.programs[ti];
      in.counters = &st.counters[static_cast<size_t>(k)];
      in.st = &st;
      in.name = instance_name(t, i);
      in.vcpu = fold(t.vcpu, in.name);
      in.background = !t.measure;
      in.seed = task_seed(opt.seed, static_cast<uint64_t>(k));
      in.busy_ns = nominal_busy_us(t) * kNsPerUs;
      if (io_ok && st.programs[ti].has_io) {
        auto ctx = std::make_unique<detail::IoContext>();
        const int r = ctx->init(&st.scratch, st.programs[ti].max_io_bytes);
        if (r < 0) {
          notes.push_back("io_uring ring for " + in.name + " failed (" + std::strerror(-r) +
                          "): its io segments skipped");
        } else {
          in.io = ctx.get();
          st.io[static_cast<size_t>(k)] = std::move(ctx);
        }
      }
      insts.push_back(std::move(in));
    }
  }
  // Load (README, "Load"): below 1, the n continuous background tasks of a
  // vCPU are paced so that together they offer `load` of it: each starts an
  // iteration every busy x n / load on average (a duty cycle of load / n).
  // At 1 they run back to back.
  if (load < 1.0) {
    std::vector<int> loaded(static_cast<size_t>(opt.vcpus), 0);
    auto is_loaded = [](const Instance& in) {
      return in.background && in.desc->period_us == 0 && in.busy_ns > 0;
    };
    for (const Instance& in : insts) {
      if (is_loaded(in)) ++loaded[static_cast<size_t>(in.vcpu)];
    }
    for (Instance& in : insts) {
      if (!is_loaded(in)) continue;
      const double n = loaded[static_cast<size_t>(in.vcpu)];
      in.cycle_mean_ns = std::llround(static_cast<double>(in.busy_ns) * n / load);
    }
  }

  exec::Config cfg;
  cfg.model = model;
  cfg.hz = opt.hz;
  cfg.vcpus = opt.vcpus;
  cfg.use_fifo = opt.use_fifo;
  // BUGs are counted in might_sleep_bugs, schedule_while_atomic_bugs,
  // preempt_leaks and lockdep_*; printed too with debug aids on.
  cfg.print_debug_reports = opt.debug_aids == 1;
  if (opt.debug_aids >= 0) cfg.lockdep = opt.debug_aids == 1;
  cfg.track_windows = true;         // CellResult::windows
  exec::Executive ex(cfg);
  for (Instance& in : insts) {
    const TaskDesc& t = *in.desc;
    exec::TaskSpec spec;
    spec.name = in.name;
    spec.policy = t.sched == Sched::kFifo ? exec::Policy::kFifo
                  : t.sched == Sched::kRr ? exec::Policy::kRr
                                          : exec::Policy::kFair;
    spec.priority = t.priority;
    spec.vcpu = in.vcpu;
    spec.period_ns = t.period_us * kNsPerUs;
    spec.phase_ns = t.phase_us * kNsPerUs;
    spec.histograms = t.measure;
    Instance* ip = &in;
    spec.body = [ip](TaskApi& api) { task_body(api, *ip); };
    in.id = ex.add_task(std::move(spec));
    if (in.id < 0) return fail(res, "task " + in.name + ": " + ex.error());
  }
  for (const IrqDesc& q : w.irqs) {
    exec::IrqSpec spec;
    spec.name = q.name;
    spec.vcpu = fold(q.vcpu, "irq " + q.name);
    // Load scales the device's rate.
    spec.period_ns = std::max<int64_t>(
        1000, std::llround(kNsPerSec / (static_cast<double>(q.rate_hz) * load)));
    spec.handler_ns = q.handler_us * kNsPerUs;
    spec.softirq_ns = q.softirq_us * kNsPerUs;
    spec.flags = q.threading == IrqThreading::kAlways  ? exec::kIrqfThreadFn
                 : q.threading == IrqThreading::kNever ? exec::kIrqfNoThread
                                                       : 0;
    spec.thread_priority = q.thread_priority;
    if (ex.add_irq(std::move(spec)) < 0) return fail(res, "irq " + q.name + ": " + ex.error());
  }
  if (!folded.empty()) {
    std::string n = "vCPU indices folded onto the run's " + std::to_string(opt.vcpus) + " vCPU(s): ";
    for (size_t i = 0; i < folded.size(); ++i) n += (i ? ", " : "") + folded[i];
    notes.push_back(std::move(n));
  }

  // --- the run ---------------------------------------------------------------------------------
  const RtBandwidth rt_bw = host_rt_bandwidth();
  if (ex.start() != 0) return fail(res, ex.error());
  const int64_t t0 = sys::now_ns();
  ex.run_for(opt.duration_ns);
  const int64_t wall = sys::now_ns() - t0;
  const exec::RunResult& r = ex.result();

  // --- the result --------------------------------------------------------------------------------
  res.duration_ns = r.duration_ns > 0 ? r.duration_ns : wall;
  res.host_fifo = r.host_fifo;
  res.watchdog_tripped = r.watchdog_tripped;
  const double secs = static_cast<double>(std::max<int64_t>(res.duration_ns, 1)) / kNsPerSec;

  auto stats_of = [&](exec::TaskId id) -> const exec::TaskStats* {
    for (const auto& ts : r.tasks) {
      if (ts.id == id) return &ts;
    }
    return nullptr;
  };
  uint64_t ops = 0, overruns = 0, deadline_misses = 0, sends = 0, recvs = 0, io_done = 0,
           io_errors = 0;
  int64_t work_ns = 0;
  int headline = -1;
  for (size_t i = 0; i < insts.size(); ++i) {
    const Instance& in = insts[i];
    const TaskCounters& c = *in.counters;
    sends += c.sends;
    recvs += c.recvs;
    io_done += c.io.completed;
    io_errors += c.io.errors;
    deadline_misses += c.deadline_misses;  // every periodic task's, background too
    if (in.background) {
      ops += c.iterations;
      work_ns += c.work_ns;
      continue;
    }
    const exec::TaskStats* ts = stats_of(in.id);
    MeasuredTask m;
    m.name = in.name;
    m.sched = sched_label(*in.desc);
    m.vcpu = in.vcpu;
    m.period_ns = in.desc->period_us * kNsPerUs;
    if (ts != nullptr) {
      m.periods = ts->periods;
      overruns += ts->overruns;
      if (ts->wakeup_latency) m.latency_hist = *ts->wakeup_latency;
      if (ts->model_delay) m.model_delay_hist = *ts->model_delay;
      m.latency = LatencySummary::of(m.latency_hist, ts->overruns);
      m.model_delay = LatencySummary::of(m.model_delay_hist, 0);
    }
    if (headline < 0 && in.desc->sched != Sched::kFair) headline = static_cast<int>(res.measured.size());
    res.measured.push_back(std::move(m));
  }
  // measured[0] is the headline: the first RT measuring task, else the first.
  if (headline > 0) {
    std::rotate(res.measured.begin(), res.measured.begin() + headline,
                res.measured.begin() + headline + 1);
  }

  auto& cnt = res.counters;
  uint64_t ctx_vol = 0, ctx_invol = 0;
  std::array<uint64_t, exec::kNumPoints> by_point{};
  for (const auto& v : r.vcpus) {
    add_vcpu_counters(v, cnt);
    add_windows(v, res.windows);
    ctx_vol += v.ctx_voluntary;
    ctx_invol += v.ctx_involuntary;
    for (size_t p = 0; p < exec::kNumPoints; ++p) by_point[p] += v.preemptions[p];
  }
  cnt["overruns"] = overruns;
  cnt["ops"] = ops;
  cnt["work_ns"] = static_cast<uint64_t>(std::max<int64_t>(work_ns, 0));
  cnt["messages_sent"] = sends;
  cnt["messages_received"] = recvs;
  if (any_io) {
    cnt["io_completed"] = io_done;
    cnt["io_errors"] = io_errors;
  }
  if constexpr (has_release_ns<TaskApi>()) cnt["deadline_misses"] = deadline_misses;
  uint64_t lock_contentions = 0, pi_boosts = 0;
  for (size_t i = 0; i < st.locks.size(); ++i) {
    const exec::LockStats ls = st.locks[i].base().stats();
    const std::string p = "lock." + w.locks[i].name + ".";
    cnt[p + "acquisitions"] = ls.acquisitions;
    cnt[p + "contentions"] = ls.contentions;
    cnt[p + "pi_boosts"] = ls.pi_boosts;
    cnt[p + "max_wait_ns"] = static_cast<uint64_t>(std::max<int64_t>(ls.max_wait_ns, 0));
    lock_contentions += ls.contentions;
    pi_boosts += ls.pi_boosts;
  }
  if constexpr (!vcpu_has_lock_counters<exec::VcpuStats>()) {
    cnt["lock_contentions"] = lock_contentions;
    cnt["pi_boosts"] = pi_boosts;
  }
  for (const auto& q : r.irqs) {
    const std::string p = "irq." + q.name + ".";
    cnt[p + "fired"] = q.fired;
    cnt[p + "handled"] = q.handled;
    cnt[p + "coalesced"] = q.coalesced;
  }

  Throughput& tp = res.throughput;
  tp.ops = ops;
  tp.ops_per_s = static_cast<double>(ops) / secs;
  tp.work_fraction = static_cast<double>(work_ns) /
                     (static_cast<double>(opt.vcpus) * static_cast<double>(std::max<int64_t>(res.duration_ns, 1)));
  tp.ctx_switches_per_s = static_cast<double>(ctx_vol + ctx_invol) / secs;
  tp.preemptions_per_s = static_cast<double>(ctx_invol) / secs;
  for (size_t p = 0; p < exec::kNumPoints; ++p) {
    if (by_point[p] == 0) continue;
    tp.preemptions_by_point_per_s[std::string(exec::to_string(exec::kAllPoints[p]))] =
        static_cast<double>(by_point[p]) / secs;
  }

  // Every task thread runs at host SCHED_FIFO, so a vCPU busy within the
  // cell for about the host's RT runtime of one period or more may be
  // throttled by the host (stalled for the rest of the period: ~50 ms per
  // second by default). Shorter cells are safe when the sweep rests between
  // them (rt_throttle_rest_ns(), as `preemptbench run` does).
  if (r.host_fifo && rt_bw.throttles()) {
    const double runtime_s = static_cast<double>(rt_bw.runtime_us) / 1e6;
    for (size_t i = 0; i < r.vcpus.size(); ++i) {
      const double busy_s = static_cast<double>(res.duration_ns - r.vcpus[i].idle_ns) / 1e9;
      if (busy_s > runtime_s - 0.02) {
        char buf[480];
        std::snprintf(buf, sizeof(buf),
                      "vCPU %zu was busy %.2f s at host SCHED_FIFO, about the host's RT runtime "
                      "or more (kernel.sched_rt_runtime_us = %ld per %ld us period): RT "
                      "throttling may have stalled it (~50 ms a period), and the latency maxima "
                      "then include those stalls; a --duration below %.2f s, a load below 1 or "
                      "sched_rt_runtime_us = -1 avoids them",
                      i, busy_s, rt_bw.runtime_us, rt_bw.period_us, runtime_s - 0.05);
        notes.push_back(buf);
        break;
      }
    }
  }
  res.notes = r.notes;
  res.notes.insert(res.notes.end(), notes.begin(), notes.end());
  if (r.watchdog_tripped && !r.watchdog_message.empty()) res.notes.push_back(r.watchdog_message);
  if (opt.interrupt != nullptr && opt.interrupt->load()) res.notes.push_back("interrupted: partial cell");
  return res;
}

}  // namespace

CellResult run_cell(const Workload& w, exec::Model model, double load, const RunOptions& opt) {
  try {
    return run_cell_impl(w, model, load, opt);
  } catch (const std::exception& e) {  // allocation failures before or after the run
    CellResult res;
    res.model = std::string(exec::to_string(model));
    res.workload = w.name;
    res.load = load;
    res.round = opt.round;
    res.error = std::string("run_cell: ") + e.what();
    return res;
  }
}

int64_t rt_throttle_rest_ns() {
  const RtBandwidth b = host_rt_bandwidth();
  if (!b.throttles()) return 0;
  return (static_cast<int64_t>(b.period_us - b.runtime_us) + 50'000) * 1'000;
}

}  // namespace pb::wl
