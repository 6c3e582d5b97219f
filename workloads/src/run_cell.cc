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
    f.irqs.push_back({q.name, q.fired, q.handled, q.coalesced});
  if (plan.has_io) {
    f.extra_counters["io_completed"] = io_done;
    f.extra_counters["io_errors"] = io_errors;
  }
  return f;
}

// Every task thread runs at host SCHED_FIFO, so a vCPU busy within the cell
// for about the host's RT runtime of one period or more may be throttled by
// the host (stalled for the rest of the period: ~50 ms per second by
// default). Shorter cells are safe when the sweep rests between them
// (rt_throttle_rest_ns(), as `preemptbench run` does). "" or the note.
std::string throttle_note(const exec::RunResult& r, int64_t duration_ns, const RtBandwidth& rt_bw) {
  if (!r.host_fifo || !rt_bw.throttles()) return "";
  const double runtime_s = static_cast<double>(rt_bw.runtime_us) / 1e6;
  for (size_t i = 0; i < r.vcpus.size(); ++i) {
    const double busy_s = static_cast<double>(duration_ns - r.vcpus[i].idle_ns) / 1e9;
    if (busy_s > runtime_s - 0.02) {
      char buf[480];
      std::snprintf(buf, sizeof(buf),
                    "vCPU %zu was busy %.2f s at host SCHED_FIFO, about the host's RT runtime "
                    "or more (kernel.sched_rt_runtime_us = %ld per %ld us period): RT "
                    "throttling may have stalled it (~50 ms a period), and the latency maxima "
                    "then include those stalls; a --duration below %.2f s, a load below 1 or "
                    "sched_rt_runtime_us = -1 avoids them",
                    i, busy_s, rt_bw.runtime_us, rt_bw.period_us, runtime_s - 0.05);
      return buf;
    }
  }
  return "";
}

CellResult run_cell_impl(const Workload& w, exec::Model model, double load, const RunOptions& opt) {
  CellResult res = cell_identity(w, model, load, opt.round, "real");
  const CellPlan plan = plan_cell(w, load, opt.vcpus, opt.seed, opt.duration_ns);
  if (!plan.error.empty()) return failed_cell(res, plan.error);

  RunState st;
  std::vector<Instance> insts;
  std::vector<std::string> notes;
  allocate(w, plan, opt, st, insts, notes);
  exec::Executive ex(executive_config(model, opt));
  if (const std::string e = add_tasks_and_devices(ex, plan, insts); !e.empty()) {
    return failed_cell(res, e);
  }
  if (!plan.folded_note.empty()) notes.push_back(plan.folded_note);

  const RtBandwidth rt_bw = host_rt_bandwidth();
  if (ex.start() != 0) return failed_cell(res, ex.error());
  const int64_t t0 = sys::now_ns();
  ex.run_for(opt.duration_ns);
  const int64_t wall = sys::now_ns() - t0;
  const exec::RunResult& r = ex.result();

  res.host_fifo = r.host_fifo;
  res.watchdog_tripped = r.watchdog_tripped;
  assemble_cell(plan, opt.vcpus,
                figures_of(w, plan, st, insts, r, r.duration_ns > 0 ? r.duration_ns : wall), res);
  if (std::string n = throttle_note(r, res.duration_ns, rt_bw); !n.empty()) {
    notes.push_back(std::move(n));
  }
  // The executive's notes first, then the cell's, then what assemble_cell() found.
  std::vector<std::string> found = std::move(res.notes);
  res.notes = r.notes;
  res.notes.insert(res.notes.end(), notes.begin(), notes.end());
  res.notes.insert(res.notes.end(), found.begin(), found.end());
  if (r.watchdog_tripped && !r.watchdog_message.empty()) res.notes.push_back(r.watchdog_message);
  if (opt.interrupt != nullptr && opt.interrupt->load())
    res.notes.push_back("interrupted: partial cell");
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

int64_t rt_throttle_rest_ns() {
  const RtBandwidth b = host_rt_bandwidth();
  if (!b.throttles()) return 0;
  return (static_cast<int64_t>(b.period_us - b.runtime_us) + 50'000) * 1'000;
}

}  // namespace pb::wl
