// The discrete-event engine behind pb::sim::simulate().
//
// Shape. Virtual time is integer ns. Each vCPU consumes time in exactly one
// of: a hardirq frame (a queue of interrupt sources, each costing its entry
// and handler work), an inline softirq frame (rounds of the pending softirq
// work, IRQs on), a context switch (IRQs off), or its current task's busy
// work (compute, spinning, an IRQ thread's handler); nesting follows the
// kernel: task <- softirq <- hardirq. The next instant is the earliest of the
// vCPUs' "busy work ends" and the event heap (ticks, hrtimers, devices,
// IPIs); at one instant, busy work ending comes first, then events in arming
// order, then late releases (SimTask::late_release). A task runs its
// zero-time steps (locks, points, preempt_disable, ...) back to back until it
// starts busy work, blocks or is switched out, so "the interrupt arrives just
// after the task entered its section" is exact.
//
// Mechanism only: every decision is the policy module's (policy.h), asked at
// the points executive/src/{sched,irq,locks}.cc ask it, with the same
// context: decide(), on_wakeup(), resched_curr(), promote_lazy_at_tick(),
// resched_curr_lazy_flag(), lock_impl(), lock_preempt_offset(),
// lock_irq_variant_masks_irqs(), lock_acquire_is_bug(), might_sleep_is_bug(),
// schedule_while_atomic(), irq_threaded(), forced_irq_thread_masks_irqs(),
// softirq_at_irq_exit(), softirq_after_round(), irq_exit_point().
#include "pb/sim/engine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <deque>
#include <queue>
#include <stdexcept>
#include <string>
#include <vector>

#include "pb/executive/fair.h"
#include "pb/executive/irq_line.h"
#include "pb/xorshift.h"

namespace pb::sim {

namespace ops {
Step compute(int64_t ns, int64_t cond_resched_ns, int64_t might_sleep_ns) {
  Step i;
  i.op = StepOp::kCompute;
  i.ns = ns;
  i.cond_resched_ns = cond_resched_ns;
  i.might_sleep_ns = might_sleep_ns;
  return i;
}
Step simple(StepOp op) {
  Step i;
  i.op = op;
  return i;
}
Step lock(int index, bool irqsave) {
  Step i;
  i.op = StepOp::kLock;
  i.index = index;
  i.flag = irqsave;
  return i;
}
Step unlock(int index, bool irqsave) {
  Step i;
  i.op = StepOp::kUnlock;
  i.index = index;
  i.flag = irqsave;
  return i;
}
Step sleep(int64_t ns) {
  Step i;
  i.op = StepOp::kSleep;
  i.ns = ns;
  return i;
}
Step think(int64_t mean_ns) {
  Step i;
  i.op = StepOp::kThink;
  i.ns = mean_ns;
  return i;
}
Step send(int channel, int count) {
  Step i;
  i.op = StepOp::kSend;
  i.index = channel;
  i.count = count;
  return i;
}
Step recv(int channel) {
  Step i;
  i.op = StepOp::kRecv;
  i.index = channel;
  return i;
}
Step load(int var) {
  Step i;
  i.op = StepOp::kLoad;
  i.index = var;
  return i;
}
Step store(int var) {
  Step i;
  i.op = StepOp::kStore;
  i.index = var;
  return i;
}
}  // namespace ops

namespace {

using exec::Context;
using exec::Decision;
using exec::LockImpl;
using exec::LockType;
using exec::Point;
using exec::Policy;
using exec::PreemptCount;
using exec::Reason;
using exec::Resched;
using exec::ReschedAction;
using exec::ReschedFlags;
using exec::SchedClass;
using exec::TaskClass;

constexpr int64_t kNever = INT64_MAX / 4;
constexpr PreemptCount kWindowMask = exec::kPreemptMask | exec::kSoftirqMask;

enum class Kind : uint8_t { kUser, kIdle, kIrqThread, kKsoftirqd };
enum class Mode : uint8_t { kUser, kKernel };
enum class State : uint8_t { kRunnable, kBlocked, kDead };
enum class Busy : uint8_t { kNone, kCompute, kSpin, kHandler, kSoftirq, kGuard };
enum class SoftOrigin : uint8_t { kBhEnable, kKsoftirqd };
enum class EvKind : uint8_t { kTick, kTimer, kDevice, kIpi };

struct Source {
  EvKind kind = EvKind::kTick;
  int32_t who = 0;
  uint32_t gen = 0;
};

struct Event {
  int64_t t = 0;
  uint8_t cls = 1;  // 1: ordinary; 2: late (after everything else of its instant)
  uint64_t seq = 0;
  EvKind kind = EvKind::kTick;
  int32_t who = 0;
  uint32_t gen = 0;
};
struct EventLater {
  bool operator()(const Event& a, const Event& b) const noexcept {
    if (a.t != b.t) return a.t > b.t;
    if (a.cls != b.cls) return a.cls > b.cls;
    return a.seq > b.seq;
  }
};

int prio_of(const TaskClass& c) noexcept {
  switch (c.sched_class) {
    case SchedClass::kRt:
      return c.rt_priority;
    case SchedClass::kFair:
      return 0;
    case SchedClass::kIdle:
      return -1;
  }
  return -1;
}

struct Task {
  int id = 0;  // index into Engine::tasks_ (user tasks first)
  std::string name;
  Kind kind = Kind::kUser;
  int vcpu = 0;
  Policy policy = Policy::kFair;
  int priority = 0;
  TaskClass base{};
  TaskClass cls{};
  // The context the policy reads.
  PreemptCount count = 0;
  bool irqs_off = false;
  ReschedFlags flags{};
  int64_t wake_req_at = -1;  // its last wakeup asked for a reschedule (model delay start)
  Mode mode = Mode::kUser;
  State state = State::kRunnable;
  bool on_rq = false;
  bool requeue_tail = false;
  int rr_ticks_left = 0;
  // The program.
  const std::vector<Step>* body = nullptr;
  size_t pc = 0;
  int phase = 0;  // a composite step's progress (locks, sleeps, waits)
  int sub = 0;
  bool entered = false;  // the composite step entered the kernel from user mode
  int64_t arg = 0;       // a composite step's instant (sleep end, release)
  bool c_active = false;
  int64_t cdone = 0, next_cr = 0, next_ms = 0, chunk = 0;
  int64_t busy = -1;  // remaining busy work; kNever while spinning
  Busy busy_kind = Busy::kNone;
  bool pend_pe = false, pend_cr = false, pend_ms = false;
  // Softirqs run in task context (local_bh_enable(), ksoftirqd): busy work
  // of the task, preemptible where the count allows it (RT).
  SoftOrigin soft_origin = SoftOrigin::kBhEnable;
  int64_t soft_work = 0, soft_start = 0;
  int soft_rounds = 0;
  std::vector<uint8_t> irq_saved;
  // Periodic.
  int64_t period = 0, deadline = 0, first_release = 0, next_release = -1, release = 0;
  bool late = false;
  int64_t iterations_limit = 0;
  int64_t iter_start = 0;
  int keep = 0;
  // The hrtimer (sleeps, releases, start).
  uint32_t timer_gen = 0;
  bool timer_armed = false;
  // Locks.
  int spin_on = -1;
  int blocked_on = -1;
  int64_t wait_start = -1;
  std::vector<int> held_pi;
  uint32_t rcu_depth = 0;
  bool bh_rcu = false;  // RT: its BH-disabled section holds rcu_read_lock()
  int64_t reg = 0;
  bool token = false;  // block()'s wake token (ksoftirqd)
  bool wq_queued = false;
  int device = -1;  // IRQ thread: its device
  // Windows.
  int64_t poff_start = -1, ioff_start = -1;
  const char* poff_where = nullptr;
  const char* ioff_where = nullptr;
  int64_t picked_at = 0;
  int64_t runnable_at = -1;  // became runnable (woken, preempted) and not yet dispatched; -1: not
  // The fair class's entity (fair.h): its vruntime, deadline and lag; the
  // vCPU's FairRunQueue links it while the task is a fair one.
  exec::FairEntity se;
  Xorshift64Star rng;  // think-time jitter
  TaskResult out;
};

// Per vCPU: 99 FIFO lists for RT, as executive/src/sched.cc, and the fair
// class's EEVDF queue (fair.h). The running task is on no RT list; a running
// fair task is the fair queue's curr until a pick puts it back.
// Task::on_rq: runnable and waiting for the CPU (not the running task).
class RunQueue {
 public:
  exec::FairRunQueue& fair() { return fair_; }
  const exec::FairRunQueue& fair() const { return fair_; }

  // A task becomes runnable: RT at the tail of its list; fair through
  // enqueue_task_fair() (a delayed sleeper is requeued where it is).
  void activate(Task* t, int64_t clock, exec::FairEnqueue kind) {
    t->on_rq = true;
    if (is_rt(t)) {
      push_rt(t, false);
    } else {
      fair_.enqueue(&t->se, clock, kind);
    }
  }
  // The running task stays runnable at a switch: RT at the head of its list
  // (the tail after an RR expiry); a fair one stays the fair queue's curr
  // and the pick puts it back (put_prev_entity()).
  void requeue_prev(Task* t, bool at_head) {
    t->on_rq = true;
    if (is_rt(t)) push_rt(t, at_head);
  }
  // A task stops being runnable (blocks, exits) or leaves its class: RT off
  // its list if queued; fair through dequeue_task_fair() (a sleeper that is
  // not eligible stays queued, delayed).
  void deactivate(Task* t, int64_t clock, exec::FairDequeue kind) {
    if (is_rt(t)) {
      if (t->on_rq) erase_rt(t);
    } else if (t->se.on_rq) {
      fair_.dequeue(&t->se, clock, kind);
    }
    t->on_rq = false;
  }
  // pick_next_task(): the highest RT priority, FIFO within it (the fair curr
  // is put back, put_prev_task_fair()); else the fair class's pick; null
  // when nothing is runnable.
  Task* pick(int64_t clock) {
    int p = -1;
    if (bits_[1] != 0) {
      p = 64 + 63 - __builtin_clzll(bits_[1]);
    } else if (bits_[0] != 0) {
      p = 63 - __builtin_clzll(bits_[0]);
    }
    if (p > 0) {
      auto& l = rt_[static_cast<size_t>(p)];
      Task* t = l.front();
      l.pop_front();
      if (l.empty()) clear_bit(p);
      --nr_rt_;
      t->on_rq = false;
      fair_.put_prev(clock);
      return t;
    }
    exec::FairEntity* se = fair_.pick_next(clock);
    if (se == nullptr) return nullptr;
    Task* t = static_cast<Task*>(se->owner);
    t->on_rq = false;
    return t;
  }
  bool has_rt_prio(int p) const {
    return p >= 1 && p <= 99 && !rt_[static_cast<size_t>(p)].empty();
  }
  // Runnable tasks waiting for the CPU.
  size_t nr() const {
    const exec::FairEntity* c = fair_.curr();
    const uint32_t running_fair = (c != nullptr && c->on_rq && !c->sched_delayed) ? 1 : 0;
    return nr_rt_ + fair_.nr_runnable() - running_fair;
  }

 private:
  static bool is_rt(const Task* t) { return t->cls.sched_class == SchedClass::kRt; }
  void push_rt(Task* t, bool at_head) {
    auto& l = rt_[static_cast<size_t>(t->cls.rt_priority)];
    if (at_head) {
      l.push_front(t);
    } else {
      l.push_back(t);
    }
    set_bit(t->cls.rt_priority);
    ++nr_rt_;
  }
  void erase_rt(Task* t) {
    auto& l = rt_[static_cast<size_t>(t->cls.rt_priority)];
    auto it = std::find(l.begin(), l.end(), t);
    if (it == l.end()) return;
    l.erase(it);
    if (l.empty()) clear_bit(t->cls.rt_priority);
    --nr_rt_;
  }
  void set_bit(int p) { bits_[static_cast<size_t>(p) / 64] |= uint64_t{1} << (p % 64); }
  void clear_bit(int p) { bits_[static_cast<size_t>(p) / 64] &= ~(uint64_t{1} << (p % 64)); }
  std::array<std::deque<Task*>, 100> rt_{};
  std::array<uint64_t, 2> bits_{};
  size_t nr_rt_ = 0;
  exec::FairRunQueue fair_;
};

struct Vcpu {
  int index = 0;
  Task* curr = nullptr;
  Task* idle = nullptr;
  RunQueue rq;
  int64_t last = 0;
  // rq_clock_task(): time spent on tasks and switches up to `last`, not in
  // interrupt frames (IRQ_TIME_ACCOUNTING); the fair class's clock.
  int64_t task_clock = 0;
  // Hardirq frame: hq.front() is the source being handled.
  bool hard = false;
  std::deque<Source> hq;
  int64_t hard_rem = 0;
  // Inline softirq frame (at irq exit, on the interrupted task).
  bool soft = false;
  int64_t soft_rem = 0, soft_work = 0, soft_start = 0;
  int soft_rounds = 0;
  // Context switch.
  int64_t switch_rem = -1;
  // Interrupts that arrived while IRQs were off.
  std::vector<Source> masked;
  // Interrupts arriving at the current instant, taken together.
  std::vector<Source> batch;
  bool tick_pending = false;
  int64_t softirq_pending = 0;
  bool ipi_in_flight = false;
  uint32_t ipi_gen = 0;
  Task* ksoftirqd = nullptr;
  bool ksoftirqd_woken = false;
  int rr_ticks = 1;
  VcpuResult st;
};

struct Lock {
  LockSpec spec;
  Task* owner = nullptr;
  std::vector<Task*> waiters;  // highest priority first, FIFO among equals
  std::deque<Task*> spinners;
  LockResult out;
};

struct Channel {
  uint32_t done = 0;
  std::deque<Task*> waiters;
};

struct Device {
  DeviceSpec spec;
  bool threaded = false;
  // The line as the kernel's IRQ layer runs it (irq_line.h): pending at the
  // CPU, masked while a ONESHOT thread is pending or running, RUNTHREAD.
  exec::IrqLine line;
  int64_t entry = 0;
  Task* thread = nullptr;
  DeviceResult out;
};

struct Var {
  VarSpec spec;
  std::vector<int64_t> val;
  uint64_t stores = 0;
};

const char* default_where(StepOp op, LockType type, bool irqsave) {
  switch (op) {
    case StepOp::kLock:
      switch (type) {
        case LockType::kRawSpinlock:
          return irqsave ? "raw_spin_lock_irqsave" : "raw_spin_lock";
        case LockType::kSpinlock:
          return irqsave ? "spin_lock_irqsave" : "spin_lock";
        case LockType::kMutex:
          return "mutex_lock";
        case LockType::kRtMutex:
          return "rt_mutex_lock";
      }
      return "lock";
    case StepOp::kPreemptOff:
      return "preempt_disable";
    case StepOp::kGetCpu:
      return "get_cpu";
    case StepOp::kIrqSave:
      return "local_irq_save";
    case StepOp::kBhOff:
      return "local_bh_disable";
    default:
      return "?";
  }
}

class Engine {
 public:
  Engine(const System& sys, Model m, const SimOptions& o) : sys_(sys), m_(m), o_(o) {}

  SimResult run() {
    build();
    const int64_t end = o_.duration_ns;
    for (Vcpu& v : vcpus_) {
      Task* next = v.rq.pick(0);
      v.curr = next != nullptr ? next : v.idle;
      v.curr->picked_at = 0;
      v.curr->runnable_at = -1;
      ++v.st.dispatches;
      ++v.curr->out.dispatches;
      trace(v, v.curr, nullptr, SwitchCause::kStart, Point::kSchedule);
    }
    for (Vcpu& v : vcpus_) settle(v);
    uint64_t n = 0;
    while (!done_) {
      if (o_.interrupt != nullptr && (n & 4095) == 0 &&
          o_.interrupt->load(std::memory_order_relaxed)) {
        res_.interrupted = true;
        break;
      }
      Vcpu* vp = nullptr;
      int64_t tp = kNever;
      for (Vcpu& v : vcpus_) {
        const int64_t t = next_progress(v);
        if (t < tp) {
          tp = t;
          vp = &v;
        }
      }
      const int64_t te = heap_.empty() ? kNever : heap_.top().t;
      const int64_t t = std::min(tp, te);
      if (t >= kNever || t >= end) break;  // the window is [0, duration)
      now_ = t;
      ++n;
      if (tp <= te) {
        advance(*vp, now_);
        complete(*vp);
        // A source raised by the completed work itself (a ONESHOT line's
        // latched firing at the unmask) is taken at this instant.
        take_batch(*vp);
        settle(*vp);
      } else {
        // Every event of this instant and class arrives before any is taken:
        // one hardirq frame per vCPU takes them all (hrtimer_interrupt() runs
        // every expired timer), each source still paying its own entry.
        const Event first = heap_.top();
        do {
          const Event e = heap_.top();
          heap_.pop();
          on_event(e);
        } while (!heap_.empty() && heap_.top().t == first.t && heap_.top().cls == first.cls);
        for (Vcpu& v : vcpus_) {
          if (v.batch.empty()) continue;
          take_batch(v);
          settle(v);
        }
      }
    }
    if (!done_ && !res_.interrupted) now_ = std::max(now_, end);
    for (Vcpu& v : vcpus_) advance(v, now_);
    // A task still waiting for its vCPU waited until the end.
    for (auto& t : tasks_) {
      if (t->runnable_at >= 0 && now_ > t->runnable_at) t->out.wait_ns += now_ - t->runnable_at;
      t->runnable_at = -1;
    }
    return collect(n);
  }

 private:
  // --- setup -------------------------------------------------------------------------

  void build() {
    if (o_.vcpus < 1 || o_.vcpus > 64) throw std::invalid_argument("vcpus must be in 1..64");
    if (o_.hz < 1 || o_.hz > 10000) throw std::invalid_argument("hz must be in 1..10000");
    vcpus_.resize(static_cast<size_t>(o_.vcpus));
    const int64_t tick = 1'000'000'000 / o_.hz;
    const int64_t rr_ticks = std::max<int64_t>(1, o_.rr_timeslice_ns / tick);  // as the executive
    if (o_.base_slice_ns < 0 || o_.base_slice_ns > int64_t{UINT32_MAX}) {
      throw std::invalid_argument("base_slice_ns must be in 0..4294967295 (0: the default)");
    }
    const exec::FairParams fair = exec::fair_params_for(static_cast<unsigned>(o_.vcpus), o_.hz,
                                                        static_cast<uint64_t>(o_.base_slice_ns));
    for (int i = 0; i < o_.vcpus; ++i) {
      Vcpu& v = vcpus_[static_cast<size_t>(i)];
      v.index = i;
      v.rr_ticks = static_cast<int>(rr_ticks);
      v.rq.fair().set_params(fair);
    }
    tick_ns_ = tick;
    for (const LockSpec& l : sys_.locks) {
      Lock k;
      k.spec = l;
      k.out.name = l.name;
      locks_.push_back(std::move(k));
    }
    channels_.resize(sys_.channels.size());
    for (const VarSpec& s : sys_.vars) {
      Var v;
      v.spec = s;
      v.val.assign(s.per_cpu ? vcpus_.size() : 1, 0);
      vars_.push_back(std::move(v));
    }
    // User tasks, in SimTask order (their index is their id).
    size_t n_kernel = 0;
    for (const DeviceSpec& d : sys_.devices) {
      (void)d;
      n_kernel += 2;
    }
    tasks_.reserve(sys_.tasks.size() + n_kernel + vcpus_.size());
    for (size_t i = 0; i < sys_.tasks.size(); ++i) {
      const SimTask& s = sys_.tasks[i];
      check_vcpu(s.vcpu, "task " + s.name);
      check_program(s.body, s.name);
      tasks_.push_back(std::make_unique<Task>());
      Task& t = *tasks_.back();
      t.id = static_cast<int>(i);
      t.name = s.name;
      t.kind = Kind::kUser;
      t.vcpu = s.vcpu;
      set_class(t, s.policy, s.priority);
      if (!exec::nice_valid(s.nice)) {
        throw std::invalid_argument("task " + s.name + ": nice must be -20..19");
      }
      t.se.set_nice(s.nice);
      t.se.owner = &t;
      t.body = &s.body;
      t.rr_ticks_left = static_cast<int>(rr_ticks);
      t.iterations_limit = s.iterations;
      t.keep = s.keep_responses;
      t.rng = Xorshift64Star(task_seed(o_.seed, i));
      t.out.name = s.name;
      t.out.vcpu = s.vcpu;
      if (s.measure || s.period_ns > 0) t.out.latency = std::make_shared<LatencyHistogram>();
      if (s.measure) {
        t.out.model_delay = std::make_shared<LatencyHistogram>();
        t.out.response = std::make_shared<LatencyHistogram>();
      }
      if (s.iterations > 0) ++limited_;
      if (s.period_ns > 0) {
        if (s.body.empty() || s.body.front().op != StepOp::kWaitPeriod) {
          throw std::invalid_argument("task " + s.name +
                                      ": a periodic body starts with kWaitPeriod");
        }
        t.period = s.period_ns;
        t.deadline = s.deadline_ns > 0 ? s.deadline_ns : s.period_ns;
        t.first_release = s.first_release_ns >= 0 ? s.first_release_ns : s.phase_ns + s.period_ns;
        t.late = s.late_release;
        // Blocked in its first wait_next_period(), entered from user mode.
        t.next_release = t.first_release;
        t.release = t.first_release;
        ++t.out.periods;
        t.mode = Mode::kKernel;
        t.entered = true;
        t.phase = 2;
        t.state = State::kBlocked;
        arm_timer(t, t.first_release, t.late);
      } else if (s.start_ns >= 0) {
        t.state = State::kBlocked;
        arm_timer(t, s.start_ns, s.late_release);
      }
    }
    // Devices, their threads, and ksoftirqd on every vCPU with a device.
    for (size_t i = 0; i < sys_.devices.size(); ++i) {
      const DeviceSpec& s = sys_.devices[i];
      check_vcpu(s.vcpu, "device " + s.name);
      if (s.period_ns <= 0)
        throw std::invalid_argument("device " + s.name + ": period must be positive");
      if (s.var >= static_cast<int>(vars_.size()))
        throw std::invalid_argument("device " + s.name + ": no such variable");
      Device d;
      d.spec = s;
      d.threaded = exec::irq_threaded(m_, s.flags, o_.threadirqs);
      d.line = exec::IrqLine(exec::irq_line_kind(m_, s.flags, o_.threadirqs));
      d.entry = s.entry_ns >= 0 ? s.entry_ns : o_.irq_entry_ns;
      d.out.name = s.name;
      d.out.threaded = d.threaded;
      devices_.push_back(std::move(d));
    }
    for (size_t i = 0; i < devices_.size(); ++i) {
      Device& d = devices_[i];
      Vcpu& v = vcpus_[static_cast<size_t>(d.spec.vcpu)];
      if (v.ksoftirqd == nullptr) {
        // run_ksoftirqd(): handle_softirqs() then cond_resched(); a fair task.
        Task& k = kernel_task("ksoftirqd/" + std::to_string(v.index), Kind::kKsoftirqd, v.index,
                              Policy::kFair, 0, &ksoftirqd_body_);
        v.ksoftirqd = &k;
      }
      if (d.threaded) {
        // irq_thread(): a forced handler runs inside local_bh_disable() and,
        // off RT, local_irq_disable() (irq_forced_thread_fn()).
        const bool forced = (d.spec.flags & exec::kIrqfThreadFn) == 0;
        const bool mask = forced && exec::forced_irq_thread_masks_irqs(m_);
        auto body = std::make_unique<std::vector<Step>>();
        Step w = ops::simple(StepOp::kIrqThreadWait);
        w.index = static_cast<int>(i);
        body->push_back(w);
        if (forced) body->push_back(ops::simple(StepOp::kBhOff));
        if (mask) body->push_back(ops::simple(StepOp::kIrqSave));
        Step h = ops::simple(StepOp::kIrqHandler);
        h.index = static_cast<int>(i);
        body->push_back(h);
        if (mask) body->push_back(ops::simple(StepOp::kIrqRestore));
        if (forced) body->push_back(ops::simple(StepOp::kBhOn));
        thread_bodies_.push_back(std::move(body));
        Task& th =
            kernel_task("irq/" + std::to_string(i) + "-" + d.spec.name, Kind::kIrqThread, v.index,
                        Policy::kFifo, d.spec.thread_priority, thread_bodies_.back().get());
        th.device = static_cast<int>(i);
        d.thread = &th;
      }
      const int64_t first =
          d.spec.first_ns >= 0 ? d.spec.first_ns : d.spec.phase_ns + d.spec.period_ns;
      push(first, 1, EvKind::kDevice, static_cast<int>(i), 0);
    }
    for (Vcpu& v : vcpus_) {
      tasks_.push_back(std::make_unique<Task>());
      Task& t = *tasks_.back();
      t.id = -1;
      t.name = "swapper/" + std::to_string(v.index);
      t.kind = Kind::kIdle;
      t.vcpu = v.index;
      t.cls = t.base = TaskClass{SchedClass::kIdle, 0};
      t.count = exec::kPreemptDisableOffset;  // do_idle() runs with preemption off
      t.mode = Mode::kKernel;
      v.idle = &t;
      push(tick, 1, EvKind::kTick, v.index, 0);
    }
    // Runnable tasks queue in creation order (new tasks: ENQUEUE_INITIAL).
    for (auto& tp : tasks_) {
      Task& t = *tp;
      if (t.kind == Kind::kIdle || t.state != State::kRunnable) continue;
      t.runnable_at = 0;
      vcpus_[static_cast<size_t>(t.vcpu)].rq.activate(&t, 0, exec::FairEnqueue::kInitial);
    }
  }

  void check_vcpu(int vcpu, const std::string& what) const {
    if (vcpu < 0 || vcpu >= o_.vcpus) {
      throw std::invalid_argument(what + ": vCPU " + std::to_string(vcpu) + " outside 0.." +
                                  std::to_string(o_.vcpus - 1));
    }
  }

  void check_program(const std::vector<Step>& code, const std::string& who) const {
    for (const Step& in : code) {
      auto bad = [&](const char* what) {
        throw std::invalid_argument("task " + who + ": " + what + " index out of range");
      };
      switch (in.op) {
        case StepOp::kLock:
        case StepOp::kUnlock:
          if (in.index < 0 || in.index >= static_cast<int>(locks_.size())) bad("lock");
          break;
        case StepOp::kSend:
        case StepOp::kRecv:
          if (in.index < 0 || in.index >= static_cast<int>(channels_.size())) bad("channel");
          break;
        case StepOp::kLoad:
        case StepOp::kStore:
          if (in.index < 0 || in.index >= static_cast<int>(vars_.size())) bad("variable");
          break;
        case StepOp::kIrqThreadWait:
        case StepOp::kIrqHandler:
        case StepOp::kKsoftirqdWait:
        case StepOp::kRunSoftirqs:
          throw std::invalid_argument("task " + who + ": a kernel-task step in a task body");
        default:
          break;
      }
    }
  }

  void set_class(Task& t, Policy s, int prio) {
    t.policy = s;
    if (s == Policy::kFair) {
      t.priority = 0;
      t.cls = t.base = TaskClass{SchedClass::kFair, 0};
    } else {
      if (prio < 1 || prio > 99)
        throw std::invalid_argument("task " + t.name + ": RT priority must be 1..99");
      t.priority = prio;
      t.cls = t.base = TaskClass{SchedClass::kRt, prio};
    }
  }

  Task& kernel_task(std::string name, Kind kind, int vcpu, Policy s, int prio,
                    const std::vector<Step>* body) {
    tasks_.push_back(std::make_unique<Task>());
    Task& t = *tasks_.back();
    t.id = static_cast<int>(tasks_.size() - 1);
    t.name = std::move(name);
    t.kind = kind;
    t.vcpu = vcpu;
    set_class(t, s, prio);
    t.se.owner = &t;
    t.body = body;
    t.mode = Mode::kKernel;
    t.state = State::kBlocked;  // in its first wait step (body[0])
    t.phase = 1;
    t.out.name = t.name;
    t.out.vcpu = vcpu;
    t.out.kernel_task = true;
    return t;
  }

  // --- events and time ------------------------------------------------------------------

  void push(int64_t t, uint8_t cls, EvKind k, int who, uint32_t gen) {
    heap_.push(Event{t, cls, seq_++, k, who, gen});
  }

  static bool frame_active(const Vcpu& v) { return v.hard || v.soft || v.switch_rem >= 0; }

  int64_t next_progress(const Vcpu& v) const {
    if (v.hard) return v.last + v.hard_rem;
    if (v.soft) return v.last + v.soft_rem;
    if (v.switch_rem >= 0) return v.last + v.switch_rem;
    const Task* t = v.curr;
    if (t != nullptr && t->busy >= 0 && t->busy < kNever) return v.last + t->busy;
    return kNever;
  }

  void advance(Vcpu& v, int64_t t) {
    const int64_t dt = t - v.last;
    if (dt <= 0) return;
    v.last = t;
    if (v.hard) {
      v.hard_rem -= dt;
      v.st.irq_ns += dt;
    } else if (v.soft) {
      v.soft_rem -= dt;
      v.st.irq_ns += dt;
    } else if (v.switch_rem >= 0) {
      v.switch_rem -= dt;
      v.st.kernel_ns += dt;
      v.task_clock += dt;
    } else {
      v.task_clock += dt;
      Task* c = v.curr;
      if (c->kind != Kind::kIdle) c->out.runtime_ns += dt;
      if (c->busy >= 0 && c->busy < kNever) c->busy -= dt;
      if (c->kind == Kind::kIdle) {
        v.st.idle_ns += dt;
      } else if (c->mode == Mode::kUser) {
        v.st.user_ns += dt;
      } else {
        v.st.kernel_ns += dt;
      }
    }
  }

  void on_event(const Event& e) {
    switch (e.kind) {
      case EvKind::kTick: {
        Vcpu& v = vcpus_[static_cast<size_t>(e.who)];
        push(e.t + tick_ns_, 1, EvKind::kTick, e.who, 0);
        advance(v, now_);
        if (v.tick_pending) {
          ++v.st.ticks_missed;  // the previous tick has not been taken yet
        } else {
          v.tick_pending = true;
          deliver(v, Source{EvKind::kTick, e.who, 0});
        }
        break;
      }
      case EvKind::kTimer: {
        Task& t = *tasks_[static_cast<size_t>(e.who)];
        if (!t.timer_armed || t.timer_gen != e.gen) break;  // cancelled or re-armed
        t.timer_armed = false;
        Vcpu& v = vcpus_[static_cast<size_t>(t.vcpu)];
        advance(v, now_);
        deliver(v, Source{EvKind::kTimer, e.who, e.gen});
        break;
      }
      case EvKind::kDevice: {
        Device& d = devices_[static_cast<size_t>(e.who)];
        Vcpu& v = vcpus_[static_cast<size_t>(d.spec.vcpu)];
        push(e.t + d.spec.period_ns, 1, EvKind::kDevice, e.who, 0);
        advance(v, now_);
        // The device asserts its line: a hardirq unless the line is masked
        // (latched) or one is already pending at the CPU (merged).
        if (d.line.fire(now_)) deliver(v, Source{EvKind::kDevice, e.who, 0});
        break;
      }
      case EvKind::kIpi: {
        Vcpu& v = vcpus_[static_cast<size_t>(e.who)];
        advance(v, now_);
        ++v.st.ipis_received;
        deliver(v, Source{EvKind::kIpi, e.who, e.gen});
        break;
      }
    }
  }

  // --- interrupts --------------------------------------------------------------------------

  static bool interruptible(const Vcpu& v) {
    if (v.hard || v.switch_rem >= 0) return false;
    if (v.soft) return true;  // softirqs run with IRQs on
    return !v.curr->irqs_off;
  }

  // An interrupt arrives: joins the running hardirq frame (taken before its
  // exit), waits while IRQs are off, or is taken with the instant's others.
  void deliver(Vcpu& v, Source s) {
    if (v.hard) {
      v.hq.push_back(s);
      return;
    }
    if (!interruptible(v)) {
      ++v.st.irq_masked;
      v.masked.push_back(s);
      return;
    }
    v.batch.push_back(s);
  }

  // The sources delivered at this instant (deliver()) start one hardirq
  // frame, or join the one running.
  void take_batch(Vcpu& v) {
    if (v.batch.empty()) return;
    if (v.hard) {
      v.hq.insert(v.hq.end(), v.batch.begin(), v.batch.end());
    } else {
      v.hq.assign(v.batch.begin(), v.batch.end());
      v.batch.clear();
      start_hard(v);
    }
    v.batch.clear();
  }

  void replay_masked(Vcpu& v) {
    if (v.masked.empty() || !interruptible(v)) return;
    v.st.irq_replayed += v.masked.size();
    v.hq.clear();
    v.hq.insert(v.hq.end(), v.masked.begin(), v.masked.end());
    v.masked.clear();
    start_hard(v);
  }

  // irq_enter(): HARDIRQ_OFFSET on the interrupted task, IRQs off.
  // REQUIRES: v.hq holds the sources to take.
  void start_hard(Vcpu& v) {
    v.hard = true;
    v.curr->count += exec::kHardirqOffset;
    v.hard_rem = begin_source(v, v.hq.front());
    pump_hard(v);
  }

  // Handles every source whose cost is spent, then irq exit.
  void pump_hard(Vcpu& v) {
    while (v.hard && v.hard_rem <= 0) {
      v.hq.pop_front();
      if (!v.hq.empty()) {
        v.hard_rem = begin_source(v, v.hq.front());
        continue;
      }
      irq_exit(v);
    }
  }

  // The source's effect (at its start) and its cost.
  int64_t begin_source(Vcpu& v, const Source& s) {
    Task* curr = v.curr;
    switch (s.kind) {
      case EvKind::kTick:
        v.tick_pending = false;
        ++v.st.ticks;
        ++v.st.irq_timer;
        sched_tick(v);
        return o_.irq_entry_ns + o_.tick_ns;
      case EvKind::kTimer: {
        ++v.st.hrtimers_expired;
        ++v.st.irq_timer;
        Task& t = *tasks_[static_cast<size_t>(s.who)];
        if (t.state == State::kBlocked && t.timer_gen == s.gen) try_to_wake_up(v, t);
        return o_.irq_entry_ns;
      }
      case EvKind::kDevice: {
        Device& d = devices_[static_cast<size_t>(s.who)];
        const exec::IrqHardirqAction a = d.line.hardirq();
        if (d.threaded) {
          // The flow handler masks a ONESHOT line; irq_default_primary_handler()
          // only sets IRQTF_RUNTHREAD and wakes the thread (__irq_wake_thread()).
          if (a.wake_thread) {
            ++v.st.irq_thread_wakeups;
            if (d.thread->state == State::kBlocked) try_to_wake_up(v, *d.thread);
          }
          return d.entry;
        }
        ++v.st.irq_device;
        d.line.handler_begin();
        d.line.handler_end(now_ + d.entry + d.spec.handler_ns);
        if (d.spec.var >= 0) var_increment(d.spec.var, v.index);
        raise_softirq(v, d.spec.softirq_ns);
        return d.entry + d.spec.handler_ns;
      }
      case EvKind::kIpi:
        // scheduler_ipi(): the flag is already on the task; acknowledge.
        if (v.ipi_in_flight && s.gen == v.ipi_gen) {
          v.ipi_in_flight = false;
          ++v.st.irq_ipi;
        } else {
          ++v.st.irq_spurious;  // superseded by a dispatch
        }
        (void)curr;
        return o_.irq_entry_ns;
    }
    return 0;
  }

  // irq_exit(): HARDIRQ_OFFSET off, softirqs where the policy puts them, then
  // irqentry_exit()'s decision (after an inline softirq run, if one starts).
  void irq_exit(Vcpu& v) {
    Task* t = v.curr;
    v.hard = false;
    t->count -= exec::kHardirqOffset;
    if (v.softirq_pending > 0) {
      exec::SoftirqExit se;
      se.count = t->count;
      se.pending = true;
      // RT's softirq_ctrl.cnt: the interrupted task's own BH count, as the executive.
      se.cpu_bh_disabled = exec::softirq_count(se.count) != 0;
      se.threadirqs = o_.threadirqs;
      switch (exec::softirq_at_irq_exit(m_, se)) {
        case exec::SoftirqPlacement::kInline:
          ++v.st.softirq_at_irq_exit;
          start_soft(v);
          return;
        case exec::SoftirqPlacement::kWakeKsoftirqd:
          wakeup_softirqd(v);
          break;
        case exec::SoftirqPlacement::kDeferred:
          ++v.st.softirq_deferred;
          break;
        case exec::SoftirqPlacement::kNothingPending:
          break;
      }
    }
    irq_exit_decide(v);
  }

  void irq_exit_decide(Vcpu& v) {
    Task* t = v.curr;
    // A hardirq nested in a softirq returns to the softirq: kernel code with
    // SOFTIRQ_OFFSET held, whatever the task's mode.
    const Point p = v.soft ? Point::kIrqExitToKernel : exec::irq_exit_point(t->mode == Mode::kUser);
    const Decision d = decide(*t, p, Context{t->count, false, t->flags});
    record(v, p, d);
    if (!d.switch_now) return;
    if (p != Point::kReturnToUser) check_atomic_switch(v, *t);
    schedule(v, SwitchCause::kPreempt, p);
  }

  // __do_softirq() at irq exit: SOFTIRQ_OFFSET on the interrupted task, IRQs on.
  void start_soft(Vcpu& v) {
    v.soft = true;
    v.soft_start = now_;
    v.soft_rounds = 0;
    v.curr->count += exec::kSoftirqOffset;
    soft_round(v);
  }

  void soft_round(Vcpu& v) {
    v.soft_work = v.softirq_pending;
    v.softirq_pending = 0;
    v.soft_rem = v.soft_work;
    ++v.soft_rounds;
    if (v.soft_rem <= 0) soft_round_done(v);
  }

  // handle_softirqs()'s restart rule after each round.
  void soft_round_done(Vcpu& v) {
    v.st.softirq_ns += v.soft_work;
    ++v.st.softirq_rounds;
    const exec::SoftirqNext next = exec::softirq_after_round(
        v.soft_rounds, now_ - v.soft_start, v.curr->flags.need_resched, v.softirq_pending > 0);
    if (next == exec::SoftirqNext::kRestart) {
      soft_round(v);
      return;
    }
    if (next == exec::SoftirqNext::kWakeKsoftirqd) {
      ++v.st.softirq_bounded;
      wakeup_softirqd(v);
    }
    v.soft = false;
    v.curr->count -= exec::kSoftirqOffset;
    irq_exit_decide(v);
  }

  // The same loop in task context (local_bh_enable(), ksoftirqd): the task's
  // busy work, so a model that allows it (RT) preempts it between or inside rounds.
  void start_task_soft(Vcpu& v, Task& t, SoftOrigin origin) {
    t.soft_origin = origin;
    t.soft_start = now_;
    t.soft_rounds = 0;
    t.count += exec::kSoftirqOffset;
    task_soft_round(v, t);
  }

  void task_soft_round(Vcpu& v, Task& t) {
    t.soft_work = v.softirq_pending;
    v.softirq_pending = 0;
    ++t.soft_rounds;
    start_busy(t, t.soft_work, Busy::kSoftirq);
  }

  void task_soft_round_done(Vcpu& v, Task& t) {
    v.st.softirq_ns += t.soft_work;
    ++v.st.softirq_rounds;
    const exec::SoftirqNext next = exec::softirq_after_round(
        t.soft_rounds, now_ - t.soft_start, t.flags.need_resched, v.softirq_pending > 0);
    if (next == exec::SoftirqNext::kRestart) {
      task_soft_round(v, t);
      return;
    }
    if (next == exec::SoftirqNext::kWakeKsoftirqd) {
      ++v.st.softirq_bounded;
      wakeup_softirqd(v);
    }
    t.count -= exec::kSoftirqOffset;
    if (t.soft_origin == SoftOrigin::kBhEnable) t.pend_pe = true;  // preempt_check_resched()
  }

  void raise_softirq(Vcpu& v, int64_t ns) {
    if (ns <= 0) return;
    v.softirq_pending += ns;
    ++v.st.softirq_raised;
  }

  void wakeup_softirqd(Vcpu& v) {
    if (v.ksoftirqd == nullptr || v.ksoftirqd_woken) return;
    v.ksoftirqd_woken = true;
    ++v.st.ksoftirqd_wakeups;
    v.ksoftirqd->token = true;
    if (v.ksoftirqd->state == State::kBlocked) try_to_wake_up(v, *v.ksoftirqd);
  }

  // rq_clock_task() of `v` now (Vcpu::task_clock brought up to now_ when the
  // vCPU is running a task or a switch).
  int64_t task_clock(const Vcpu& v) const {
    int64_t c = v.task_clock;
    if (!v.hard && !v.soft && now_ > v.last) c += now_ - v.last;
    return c;
  }

  // scheduler_tick(): LAZY promotion, then the class's task_tick (RR slice,
  // the fair class's update_curr()), as executive/src/irq.cc sched_tick().
  void sched_tick(Vcpu& v) {
    Task* t = v.curr;
    const ReschedFlags flags = t->flags;
    Resched req = Resched::kNone;
    if (exec::promote_lazy_at_tick(m_, flags)) {
      req = Resched::kFull;
      ++v.st.lazy_promotions;
    }
    if (t->kind == Kind::kIdle) {
      if (v.rq.nr() != 0) req = Resched::kFull;
    } else if (t->policy == Policy::kRr && t->cls.rt_priority == t->priority) {
      if (--t->rr_ticks_left <= 0) {
        t->rr_ticks_left = v.rr_ticks;
        if (v.rq.has_rt_prio(t->priority)) {
          t->requeue_tail = true;
          req = Resched::kFull;
          ++v.st.rr_expiries;
        }
      }
    } else if (t->cls.sched_class == SchedClass::kFair && v.rq.fair().curr() == &t->se) {
      // task_tick_fair() -> update_curr(): the request used up, or the
      // protected slice over, with a peer queued.
      if (v.rq.fair().tick(task_clock(v)) && req == Resched::kNone) {
        req = exec::resched_curr_lazy_flag(m_);
      }
    }
    if (req != Resched::kNone) resched(*t, req, false);
  }

  // --- scheduling ----------------------------------------------------------------------------

  Decision decide(const Task& t, Point p, const Context& c) const {
    const Decision d = exec::decide(m_, p, c);
    if (o_.broken_preempt_at_count_one && !d.switch_now && d.reason == Reason::kCountNonZero &&
        (p == Point::kPreemptEnable || p == Point::kIrqExitToKernel) && !c.irqs_disabled &&
        exec::kernel_preempt_count(c.preempt_count, m_) == exec::kPreemptOffset &&
        t.kind != Kind::kIdle) {
      return Decision{true, Reason::kNeedResched};
    }
    return d;
  }

  void record(Vcpu& v, Point p, const Decision& d) {
    ++v.st.decisions[static_cast<size_t>(p)][static_cast<size_t>(d.reason)];
  }

  // A preemption with the count raised: only the broken rule gets here. The
  // kernel's schedule_debug() reports it (in_atomic_preempt_off()).
  void check_atomic_switch(Vcpu& v, Task& t) {
    const PreemptCount c = t.count & ~exec::kHardirqMask;
    if (!exec::schedule_while_atomic(c, m_)) return;
    ++v.st.schedule_while_atomic_bugs;
    char buf[160];
    std::snprintf(buf, sizeof(buf), "BUG: scheduling while atomic: %s/%d/0x%08x\n", t.name.c_str(),
                  t.id, static_cast<unsigned>(c));
    report(v, t, "BUG: scheduling while atomic", buf);
  }

  // A preemption point reached by the current task: decide(), then switch.
  bool point(Vcpu& v, Task& t, Point p) {
    const Decision d = decide(t, p, Context{t.count, t.irqs_off, t.flags});
    record(v, p, d);
    if (!d.switch_now) return false;
    if (p != Point::kReturnToUser && p != Point::kSchedule) check_atomic_switch(v, t);
    schedule(v, SwitchCause::kPreempt, p);
    return true;
  }

  void schedule(Vcpu& v, SwitchCause cause, Point p) {
    Task* prev = v.curr;
    const bool blocking = cause == SwitchCause::kExit ||
                          (cause == SwitchCause::kBlock && prev->state != State::kRunnable);
    const int64_t clock = task_clock(v);
    if (prev->kind != Kind::kIdle) {
      if (!blocking) {
        v.rq.requeue_prev(prev, !prev->requeue_tail);
      } else {
        v.rq.deactivate(
            prev, clock,
            cause == SwitchCause::kExit ? exec::FairDequeue::kSpecial : exec::FairDequeue::kSleep);
      }
    }
    Task* next = v.rq.pick(clock);
    if (next == nullptr) next = v.idle;
    // clear_tsk_need_resched(prev): both flags, whatever comes next.
    prev->flags = ReschedFlags{};
    prev->requeue_tail = false;
    if (next == prev) return;
    // The model delay runs from next's own wakeup request (as the executive's
    // schedule_core()).
    const int64_t stamp = next->wake_req_at;
    next->wake_req_at = -1;
    ++v.st.dispatches;
    switch (cause) {
      case SwitchCause::kIdle:
        ++v.st.idle_exits;
        break;
      case SwitchCause::kExit:
        ++v.st.ctx_voluntary;
        break;
      case SwitchCause::kBlock:
        ++v.st.ctx_voluntary;
        ++prev->out.blocked;
        break;
      case SwitchCause::kPreempt:
        ++v.st.ctx_involuntary;
        ++v.st.preemptions[static_cast<size_t>(p)];
        ++prev->out.preempted;
        ++prev->out.preempted_at[static_cast<size_t>(p)];
        prev->runnable_at = now_;
        if (stamp >= 0 && next->out.model_delay) next->out.model_delay->record(now_ - stamp);
        break;
      case SwitchCause::kStart:
        break;
    }
    trace(v, next, prev->kind == Kind::kIdle ? nullptr : prev, cause, p);
    ++next->out.dispatches;
    if (next->runnable_at >= 0) next->out.wait_ns += now_ - next->runnable_at;
    next->runnable_at = -1;
    next->picked_at = now_;
    v.curr = next;
    // An IPI in flight is superseded: this pick saw the runqueue as its sender left it.
    v.ipi_in_flight = false;
    if (o_.ctx_switch_ns > 0) {
      v.switch_rem = o_.ctx_switch_ns;
    } else {
      after_switch(v);
    }
  }

  void after_switch(Vcpu& v) { replay_masked(v); }

  // schedule() of a blocking task: schedule_debug()'s check, then
  // rcu_note_context_switch()'s (a wait for an RT spinlock_t is
  // __schedule(SM_RTLOCK_WAIT), which RCU counts as a preemption: no warning).
  void schedule_block(Vcpu& v, Task& t, bool rtlock_wait = false) {
    if (exec::schedule_while_atomic(t.count, m_)) {
      ++v.st.schedule_while_atomic_bugs;
      char buf[160];
      std::snprintf(buf, sizeof(buf), "BUG: scheduling while atomic: %s/%d/0x%08x\n",
                    t.name.c_str(), t.id, static_cast<unsigned>(t.count));
      report(v, t, "BUG: scheduling while atomic", buf);
    }
    if (!rtlock_wait && exec::voluntary_switch_in_rcu_reader(t.rcu_depth)) {
      ++v.st.rcu_voluntary_switch_warnings;
      report(v, t, "Voluntary context switch within RCU read-side critical section!",
             "Voluntary context switch within RCU read-side critical section!\n");
    }
    const Decision d = exec::decide(m_, Point::kSchedule, Context{t.count, t.irqs_off, t.flags});
    record(v, Point::kSchedule, d);
    if (d.switch_now) schedule(v, SwitchCause::kBlock, Point::kSchedule);
  }

  ReschedAction resched(Task& curr, Resched r, bool remote) {
    const ReschedAction a = exec::resched_curr(r, curr.flags, curr.kind == Kind::kIdle, remote);
    if (a.set != Resched::kNone) {
      curr.flags = exec::with_flag(curr.flags, a.set);
    }
    return a;
  }

  void send_ipi(Vcpu& from, Vcpu& to) {
    if (to.ipi_in_flight) {
      ++from.st.ipis_coalesced;
      return;
    }
    ++from.st.ipis_sent;
    to.ipi_in_flight = true;
    push(now_ + o_.ipi_ns, 1, EvKind::kIpi, to.index, ++to.ipi_gen);
  }

  // try_to_wake_up() + ttwu_do_activate() + wakeup_preempt(), the waker on `from`.
  bool try_to_wake_up(Vcpu& from, Task& p) {
    if (p.state != State::kBlocked) return false;
    p.state = State::kRunnable;
    Vcpu& tv = vcpus_[static_cast<size_t>(p.vcpu)];
    const bool remote = &from != &tv;
    Task* curr = tv.curr;
    bool ipi = false;
    if (!p.on_rq && curr != &p) {
      p.runnable_at = now_;
      const int64_t clock = task_clock(tv);
      tv.rq.activate(&p, clock, exec::FairEnqueue::kWakeup);
      exec::Wakeup w;
      w.curr = curr->kind == Kind::kIdle ? TaskClass{SchedClass::kIdle, 0} : curr->cls;
      w.wakee = p.cls;
      w.remote = remote;
      w.curr_flags = curr->flags;
      // Fair vs fair: check_preempt_wakeup_fair() decides (EEVDF).
      if (w.curr.sched_class == SchedClass::kFair && w.wakee.sched_class == SchedClass::kFair) {
        w.fair_wakee_wins = tv.rq.fair().wakeup_preempt(&p.se, clock, curr->flags.need_resched);
      }
      // update_curr() on the way may have found curr's request used up.
      const bool curr_expired = tv.rq.fair().take_resched() && !w.fair_wakee_wins;
      const exec::WakeupAction a = exec::on_wakeup(m_, w);
      p.wake_req_at = a.requested != Resched::kNone ? now_ : -1;
      if (a.requested != Resched::kNone) ipi = resched(*curr, a.requested, remote).ipi;
      if (curr_expired && curr->cls.sched_class == SchedClass::kFair) {
        ipi = resched(*curr, exec::resched_curr_lazy_flag(m_), remote).ipi || ipi;
      }
    }
    if (remote) {
      ++from.st.wakeups_remote;
    } else {
      ++from.st.wakeups_local;
    }
    if (ipi) send_ipi(from, tv);
    return true;
  }

  void arm_timer(Task& t, int64_t at, bool late) {
    ++t.timer_gen;
    t.timer_armed = true;
    push(std::max(at, now_), late ? 2 : 1, EvKind::kTimer, t.id, t.timer_gen);
  }
  void cancel_timer(Task& t) {
    if (t.timer_armed) ++t.timer_gen;
    t.timer_armed = false;
  }

  // --- the current task ------------------------------------------------------------------------

  // Drives `v` until it consumes time: a frame, busy work, or idle.
  void settle(Vcpu& v) {
    for (int guard = 0; !done_; ++guard) {
      if (frame_active(v)) return;
      Task* t = v.curr;
      if (t->busy >= 0) {
        if (t->busy_kind == Busy::kSpin) spin_resume(v, *t);
        if (t->busy >= 0) return;
        continue;
      }
      if (t->kind == Kind::kIdle) {
        // do_idle(): schedule when need_resched().
        if (!t->flags.need_resched) return;
        schedule(v, SwitchCause::kIdle, Point::kSchedule);
        continue;
      }
      run_task(v, *t);
      if (guard > 1'000'000) throw std::logic_error("simulator: no progress at one instant");
    }
  }

  // Busy work of the current task ended at now_.
  void complete(Vcpu& v) {
    if (v.hard) {
      pump_hard(v);
      return;
    }
    if (v.soft) {
      soft_round_done(v);
      return;
    }
    if (v.switch_rem >= 0) {
      v.switch_rem = -1;
      after_switch(v);
      return;
    }
    Task& t = *v.curr;
    const Busy kind = t.busy_kind;
    t.busy = -1;
    t.busy_kind = Busy::kNone;
    switch (kind) {
      case Busy::kCompute: {
        const Step& in = code(t)[t.pc];
        t.cdone += t.chunk;
        if (t.kind == Kind::kUser) t.out.work_ns += t.chunk;
        if (t.cdone >= in.ns) {
          t.c_active = false;
          ++t.pc;
        } else {
          if (t.cdone == t.next_cr) {
            t.pend_cr = true;
            t.next_cr += in.cond_resched_ns;
          }
          if (t.cdone == t.next_ms) {
            t.pend_ms = true;
            t.next_ms += in.might_sleep_ns;
          }
        }
        break;
      }
      case Busy::kSpin:
        t.phase = 2;  // granted: the lock is ours
        break;
      case Busy::kHandler: {
        Device& d = devices_[static_cast<size_t>(t.device)];
        if (d.spec.var >= 0) var_increment(d.spec.var, v.index);
        raise_softirq(v, d.spec.softirq_ns);
        // irq_finalize_oneshot(): unmask unless RUNTHREAD was set again; a
        // firing latched meanwhile is delivered at once.
        if (d.line.handler_end(now_)) deliver(v, Source{EvKind::kDevice, t.device, 0});
        ++t.pc;
        break;
      }
      case Busy::kSoftirq:
        task_soft_round_done(v, t);
        break;
      case Busy::kGuard:
      case Busy::kNone:
        break;
    }
  }

  const std::vector<Step>& code(const Task& t) const { return *t.body; }

  void start_busy(Task& t, int64_t ns, Busy kind) {
    t.busy = ns;
    t.busy_kind = kind;
  }

  void count_add(Vcpu& v, Task& t, PreemptCount off, const char* where) {
    (void)v;
    const PreemptCount old = t.count;
    t.count += off;
    if ((old & kWindowMask) == 0 && (t.count & kWindowMask) != 0) {
      t.poff_start = now_;
      t.poff_where = where;
    }
  }
  void count_sub(Vcpu& v, Task& t, PreemptCount off) {
    const PreemptCount old = t.count;
    t.count -= off;
    if ((old & kWindowMask) != 0 && (t.count & kWindowMask) == 0) close_poff(v, t);
  }
  void close_poff(Vcpu& v, Task& t) {
    if (t.poff_start < 0) return;
    const int64_t d = now_ - t.poff_start;
    t.poff_start = -1;
    if (d > v.st.preemptoff_max_ns) {
      v.st.preemptoff_max_ns = d;
      v.st.preemptoff_where = t.poff_where != nullptr ? t.poff_where : "";
    }
  }
  void irq_save(Task& t, const char* where) {
    t.irq_saved.push_back(t.irqs_off ? 1 : 0);
    if (!t.irqs_off) {
      t.irqs_off = true;
      t.ioff_start = now_;
      t.ioff_where = where;
    }
  }
  // local_irq_restore(); true when a replayed interrupt now runs.
  bool irq_restore(Vcpu& v, Task& t) {
    uint8_t was = 0;
    if (!t.irq_saved.empty()) {
      was = t.irq_saved.back();
      t.irq_saved.pop_back();
    }
    if (was != 0 || !t.irqs_off) return false;
    t.irqs_off = false;
    if (t.ioff_start >= 0) {
      const int64_t d = now_ - t.ioff_start;
      t.ioff_start = -1;
      if (d > v.st.irqsoff_max_ns) {
        v.st.irqsoff_max_ns = d;
        v.st.irqsoff_where = t.ioff_where != nullptr ? t.ioff_where : "";
      }
    }
    replay_masked(v);
    return stopped(v, t);
  }

  const char* where_of(const Step& in, StepOp op, LockType type = LockType::kSpinlock) const {
    return in.where != nullptr ? in.where : default_where(op, type, in.flag);
  }

  void might_sleep_check(Vcpu& v, Task& t) {
    if (!exec::might_sleep_is_bug(t.count, t.irqs_off, m_, t.rcu_depth)) return;
    ++v.st.might_sleep_bugs;
    char buf[320];
    std::snprintf(buf, sizeof(buf),
                  "BUG: sleeping function called from invalid context\n"
                  "in_atomic(): %d, irqs_disabled(): %d, non_block: 0, pid: %d, name: %s\n"
                  "preempt_count: %x, expected: 0\n",
                  exec::in_atomic(t.count, m_) ? 1 : 0, t.irqs_off ? 1 : 0, t.id, t.name.c_str(),
                  static_cast<unsigned>(exec::kernel_preempt_count(t.count, m_)));
    report(v, t, "BUG: sleeping function called from invalid context", buf);
  }

  void report(Vcpu& v, Task& t, const char* title, const char* text) {
    BugReport r;
    r.at_ns = now_;
    r.vcpu = v.index;
    r.task = t.name;
    r.title = title;
    r.text = text;
    res_.reports.push_back(std::move(r));
  }

  // exit_to_user_mode_loop(): the leak check, then decide() on either flag.
  // True when the task was switched out (the caller re-runs this on resume).
  bool return_to_user(Vcpu& v, Task& t) {
    if ((t.count & (exec::kPreemptMask | exec::kSoftirqMask)) != 0) {
      ++v.st.preempt_leaks;
      char buf[160];
      std::snprintf(buf, sizeof(buf),
                    "BUG: %s/%d returning to user space with preempt_count 0x%08x (leak)\n",
                    t.name.c_str(), t.id, static_cast<unsigned>(t.count));
      report(v, t, "BUG: returning to user space with preempt_count", buf);
      t.count &= ~(exec::kPreemptMask | exec::kSoftirqMask);
      close_poff(v, t);
    }
    if (point(v, t, Point::kReturnToUser)) return true;
    t.mode = Mode::kUser;
    return false;
  }

  bool stopped(const Vcpu& v, const Task& t) const {
    return v.curr != &t || frame_active(v) || t.busy >= 0 || t.state != State::kRunnable;
  }

  // Runs the task's zero-time steps until it starts busy work, blocks, is
  // switched out or an interrupt frame starts.
  void run_task(Vcpu& v, Task& t) {
    for (;;) {
      if (stopped(v, t) || done_) return;
      if (t.pend_pe) {
        t.pend_pe = false;
        if (point(v, t, Point::kPreemptEnable)) return;
        continue;
      }
      if (t.pend_cr) {
        t.pend_cr = false;
        might_sleep_check(v, t);  // cond_resched()'s __might_resched()
        if (point(v, t, Point::kCondResched)) return;
        continue;
      }
      if (t.pend_ms) {
        t.pend_ms = false;
        might_sleep_check(v, t);
        if (point(v, t, Point::kMightResched)) return;
        continue;
      }
      const std::vector<Step>& c = code(t);
      if (t.pc >= c.size()) {
        if (c.empty()) {
          exit_task(v, t);
          return;
        }
        t.pc = 0;
        continue;
      }
      const Step& in = c[t.pc];
      if (!step(v, t, in)) return;
    }
  }

  // One step; false when the task stopped (busy, blocked, switched, frame).
  bool step(Vcpu& v, Task& t, const Step& in) {
    switch (in.op) {
      case StepOp::kCompute: {
        if (!t.c_active) {
          if (in.ns <= 0) {
            ++t.pc;
            return true;
          }
          t.c_active = true;
          t.cdone = 0;
          t.next_cr = in.cond_resched_ns > 0 ? in.cond_resched_ns : kNever;
          t.next_ms = in.might_sleep_ns > 0 ? in.might_sleep_ns : kNever;
        }
        const int64_t boundary = std::min({in.ns, t.next_cr, t.next_ms});
        t.chunk = boundary - t.cdone;
        start_busy(t, t.chunk, Busy::kCompute);
        return false;
      }
      case StepOp::kKernelEnter:
        t.mode = Mode::kKernel;
        ++t.pc;
        return true;
      case StepOp::kKernelExit:
        if (return_to_user(v, t)) return false;
        ++t.pc;
        return true;
      case StepOp::kCondResched:
        ++t.pc;
        might_sleep_check(v, t);
        return !point(v, t, Point::kCondResched);
      case StepOp::kMightSleep:
        ++t.pc;
        might_sleep_check(v, t);
        return !point(v, t, Point::kMightResched);
      case StepOp::kMightResched:
        ++t.pc;
        return !point(v, t, Point::kMightResched);
      case StepOp::kPreemptOff:
      case StepOp::kGetCpu:
        count_add(v, t, exec::kPreemptDisableOffset, where_of(in, in.op));
        ++t.pc;
        return true;
      case StepOp::kPreemptOn:
      case StepOp::kPutCpu:
        count_sub(v, t, exec::kPreemptDisableOffset);
        ++t.pc;
        if (t.flags.need_resched || t.flags.need_resched_lazy)
          return !point(v, t, Point::kPreemptEnable);
        return true;
      case StepOp::kIrqSave:
        irq_save(t, where_of(in, StepOp::kIrqSave));
        ++t.pc;
        return true;
      case StepOp::kIrqRestore:
        ++t.pc;
        return !irq_restore(v, t);
      case StepOp::kBhOff:
        // RT: the first entry enters an RCU read-side section (and disables
        // migration, a no-op here), as __local_bh_disable_ip().
        if (exec::bh_disable_enters_rcu(m_, exec::softirq_count(t.count) == 0,
                                        exec::preemptible(t.count, t.irqs_off, m_))) {
          ++t.rcu_depth;
          t.bh_rcu = true;
        }
        count_add(v, t, exec::kSoftirqDisableOffset, where_of(in, StepOp::kBhOff));
        ++t.pc;
        return true;
      case StepOp::kBhOn: {
        count_sub(v, t, exec::kSoftirqDisableOffset);
        ++t.pc;
        // __local_bh_enable_ip(): pending softirqs where bh_enable_softirqs()
        // says, then preempt_check_resched(); on RT the end of the section
        // leaves the RCU read-side section.
        const exec::BhEnableSoftirqs soft =
            exec::bh_enable_softirqs(m_, t.count, t.irqs_off, v.softirq_pending > 0);
        if (t.bh_rcu && exec::softirq_count(t.count) == 0) {
          --t.rcu_depth;
          t.bh_rcu = false;
        }
        if (soft == exec::BhEnableSoftirqs::kWakeKsoftirqd) wakeup_softirqd(v);
        if (t.flags.need_resched || t.flags.need_resched_lazy ||
            soft == exec::BhEnableSoftirqs::kInline) {
          if (soft == exec::BhEnableSoftirqs::kInline) {
            ++v.st.softirq_at_bh_enable;
            start_task_soft(v, t, SoftOrigin::kBhEnable);
            return false;
          }
          return !point(v, t, Point::kPreemptEnable);
        }
        return true;
      }
      case StepOp::kSleep:
      case StepOp::kThink:
        return step_sleep(v, t, in);
      case StepOp::kSend:
        while (t.sub < in.count) {
          ++t.sub;
          // complete() under guard(preempt): its preempt_enable() is the point.
          t.count += exec::kPreemptDisableOffset;
          Channel& ch = channels_[static_cast<size_t>(in.index)];
          ++ch.done;
          if (!ch.waiters.empty()) {
            Task* w = ch.waiters.front();
            ch.waiters.pop_front();
            w->wq_queued = false;
            try_to_wake_up(v, *w);
          }
          t.count -= exec::kPreemptDisableOffset;
          ++t.out.sends;
          if ((t.flags.need_resched || t.flags.need_resched_lazy) &&
              point(v, t, Point::kPreemptEnable)) {
            if (t.sub >= in.count) {
              t.sub = 0;
              ++t.pc;
            }
            return false;
          }
        }
        t.sub = 0;
        ++t.pc;
        return true;
      case StepOp::kRecv:
        return step_recv(v, t, in);
      case StepOp::kLoad: {
        Var& x = vars_[static_cast<size_t>(in.index)];
        t.reg = x.val[x.spec.per_cpu ? static_cast<size_t>(v.index) : 0];
        ++t.pc;
        return true;
      }
      case StepOp::kStore: {
        Var& x = vars_[static_cast<size_t>(in.index)];
        x.val[x.spec.per_cpu ? static_cast<size_t>(v.index) : 0] = t.reg + 1;
        ++x.stores;
        ++t.pc;
        return true;
      }
      case StepOp::kLock:
        return step_lock(v, t, in);
      case StepOp::kUnlock:
        return step_unlock(v, t, in);
      case StepOp::kWaitPeriod:
        return step_wait_period(v, t);
      case StepOp::kMark:
        if (t.out.marks_ns.size() < 1024) t.out.marks_ns.push_back(now_);
        ++t.pc;
        return true;
      case StepOp::kIterEnd:
        return step_iter_end(v, t);
      case StepOp::kIrqThreadWait: {
        Device& d = devices_[static_cast<size_t>(in.index)];
        // irq_wait_for_interrupt(): test_and_clear_bit(IRQTF_RUNTHREAD).
        if (d.line.thread_take()) {
          t.phase = 0;
          ++t.pc;
          return true;
        }
        t.phase = 1;
        t.state = State::kBlocked;
        schedule_block(v, t);
        return false;
      }
      case StepOp::kIrqHandler: {
        Device& d = devices_[static_cast<size_t>(in.index)];
        d.line.handler_begin();  // the handler serves every firing so far
        if (d.spec.handler_ns <= 0) {
          start_busy(t, 0, Busy::kHandler);
          return false;
        }
        start_busy(t, d.spec.handler_ns, Busy::kHandler);
        return false;
      }
      case StepOp::kKsoftirqdWait:
        if (t.token) {
          t.token = false;
          v.ksoftirqd_woken = false;
          ++t.pc;
          return true;
        }
        t.state = State::kBlocked;
        schedule_block(v, t);
        return false;
      case StepOp::kRunSoftirqs:
        ++t.pc;
        if (v.softirq_pending > 0) {
          ++v.st.softirq_in_ksoftirqd;
          start_task_soft(v, t, SoftOrigin::kKsoftirqd);
          return false;
        }
        return true;
    }
    ++t.pc;
    return true;
  }

  void var_increment(int var, int vcpu) {
    Var& x = vars_[static_cast<size_t>(var)];
    ++x.val[x.spec.per_cpu ? static_cast<size_t>(vcpu) : 0];
    ++x.stores;
  }

  // sleep_ns(): a system call from user mode; might_sleep(), an hrtimer, schedule().
  bool step_sleep(Vcpu& v, Task& t, const Step& in) {
    switch (t.phase) {
      case 0: {
        int64_t ns = in.ns;
        if (in.op == StepOp::kThink) {
          ns = std::max<int64_t>(
              1, static_cast<int64_t>(static_cast<double>(in.ns) * (0.5 + t.rng.unit())));
        }
        t.arg = now_ + ns;
        t.entered = t.mode == Mode::kUser;
        t.mode = Mode::kKernel;
        t.phase = 1;
        // hrtimer_nanosleep() -> do_nanosleep(), like msleep() ->
        // schedule_timeout(): no might_sleep() on the way to schedule().
        [[fallthrough]];
      }
      case 1:
        arm_timer(t, t.arg, false);
        t.state = State::kBlocked;
        t.phase = 2;
        schedule_block(v, t);
        return false;
      case 2:
        cancel_timer(t);
        t.phase = 3;
        [[fallthrough]];
      default:
        if (t.entered) {
          if (return_to_user(v, t)) return false;
          t.entered = false;
        }
        t.phase = 0;
        ++t.pc;
        return true;
    }
  }

  // wait_for_completion(): might_sleep(), then wait until done > 0.
  bool step_recv(Vcpu& v, Task& t, const Step& in) {
    Channel& ch = channels_[static_cast<size_t>(in.index)];
    switch (t.phase) {
      case 0:
        t.entered = t.mode == Mode::kUser;
        t.mode = Mode::kKernel;
        t.phase = 1;
        might_sleep_check(v, t);
        if (point(v, t, Point::kMightResched)) return false;
        [[fallthrough]];
      case 1:
        if (ch.done > 0) {
          --ch.done;
          if (t.wq_queued) {
            ch.waiters.erase(std::find(ch.waiters.begin(), ch.waiters.end(), &t));
            t.wq_queued = false;
          }
          ++t.out.recvs;
          t.phase = 3;
        } else {
          if (!t.wq_queued) {
            ch.waiters.push_back(&t);
            t.wq_queued = true;
          }
          t.state = State::kBlocked;
          schedule_block(v, t);
          return false;
        }
        [[fallthrough]];
      default:
        if (t.entered) {
          if (return_to_user(v, t)) return false;
          t.entered = false;
        }
        t.phase = 0;
        ++t.pc;
        return true;
    }
  }

  // wait_next_period(): the next absolute release; a release already past
  // returns at once (an overrun: the job starts late, nothing is skipped).
  bool step_wait_period(Vcpu& v, Task& t) {
    switch (t.phase) {
      case 0:
        t.next_release = t.next_release < 0 ? t.first_release : t.next_release + t.period;
        t.release = t.next_release;
        ++t.out.periods;
        if (t.release <= now_) {
          ++t.out.overruns;
          if (t.out.latency) t.out.latency->record(now_ - t.release);
          ++t.pc;
          return true;
        }
        t.entered = t.mode == Mode::kUser;
        t.mode = Mode::kKernel;
        t.phase = 1;
        might_sleep_check(v, t);
        if (point(v, t, Point::kMightResched)) return false;
        [[fallthrough]];
      case 1:
        arm_timer(t, t.release, t.late);
        t.state = State::kBlocked;
        t.phase = 2;
        schedule_block(v, t);
        return false;
      case 2:
        cancel_timer(t);
        t.phase = 3;
        [[fallthrough]];
      default:
        if (t.entered) {
          if (return_to_user(v, t)) return false;
          t.entered = false;
        }
        if (t.out.latency) t.out.latency->record(now_ - t.release);
        t.phase = 0;
        ++t.pc;
        return true;
    }
  }

  bool step_iter_end(Vcpu& v, Task& t) {
    ++t.out.iterations;
    if (t.period > 0) {
      const int64_t r = now_ - t.release;
      t.out.worst_response_ns = std::max(t.out.worst_response_ns, r);
      if (t.out.response) t.out.response->record(r);
      if (static_cast<int>(t.out.responses_ns.size()) < t.keep) t.out.responses_ns.push_back(r);
      if (r > t.deadline) ++t.out.deadline_misses;
    }
    ++t.pc;
    if (t.iterations_limit > 0 && static_cast<int64_t>(t.out.iterations) >= t.iterations_limit) {
      exit_task(v, t);
      return false;
    }
    if (now_ == t.iter_start) {
      // An iteration that took no virtual time would loop forever at this
      // instant: it costs 1 ns.
      t.iter_start = now_ + 1;
      start_busy(t, 1, Busy::kGuard);
      return false;
    }
    t.iter_start = now_;
    return true;
  }

  void exit_task(Vcpu& v, Task& t) {
    t.state = State::kDead;
    cancel_timer(t);
    if (t.iterations_limit > 0 && --limited_ == 0 && sys_.stop_when_done) done_ = true;
    schedule(v, SwitchCause::kExit, Point::kSchedule);
  }

  // --- locks (executive/src/locks.cc)
  // -------------------------------------------------------------

  bool step_lock(Vcpu& v, Task& t, const Step& in) {
    Lock& L = locks_[static_cast<size_t>(in.index)];
    const LockType type = L.spec.type;
    const LockImpl impl = exec::lock_impl(m_, type);
    if (impl == LockImpl::kSpinning) {
      if (t.phase == 0) {
        const char* where = where_of(in, StepOp::kLock, type);
        if (in.flag && exec::lock_irq_variant_masks_irqs(m_, type)) irq_save(t, where);
        count_add(v, t, exec::lock_preempt_offset(m_, type), where);
        if (L.owner == nullptr) {
          L.owner = &t;
          ++L.out.acquisitions;
          ++t.pc;
          return true;
        }
        ++L.out.contentions;
        ++v.st.lock_contentions;
        if (L.owner->vcpu == t.vcpu) {
          // The holder is switched out on this very vCPU: nothing can release
          // the lock while we spin (a lockup on SMP; no lock word at all on UP).
          // Reported; the spinner goes in, as a UP kernel would, so the broken
          // atomicity shows in the data.
          ++v.st.atomicity_breaks;
          char buf[256];
          std::snprintf(buf, sizeof(buf),
                        "BUG: spinlock atomicity broken on CPU#%d: %s/%d takes '%s' held by %s/%d, "
                        "which is switched out on this CPU\n",
                        v.index, t.name.c_str(), t.id, L.spec.name.c_str(), L.owner->name.c_str(),
                        L.owner->id);
          report(v, t, "BUG: spinlock atomicity broken", buf);
          L.owner = &t;
          ++L.out.acquisitions;
          ++t.pc;
          return true;
        }
        t.phase = 1;
        t.spin_on = in.index;
        t.wait_start = now_;
        L.spinners.push_back(&t);
        start_busy(t, kNever, Busy::kSpin);
        return false;
      }
      // Granted.
      t.spin_on = -1;
      L.out.max_wait_ns = std::max(L.out.max_wait_ns, now_ - t.wait_start);
      ++L.out.acquisitions;
      t.phase = 0;
      ++t.pc;
      return true;
    }
    // Sleeping locks: the checks (might_sleep(), or rtlock_might_resched() for
    // RT spinlock_t), the might_resched() point, then the lock.
    if (t.phase == 0) {
      if (exec::lock_acquire_is_bug(m_, type, t.count, t.irqs_off, t.rcu_depth))
        might_sleep_check(v, t);
      t.phase = 1;
      if (type != LockType::kSpinlock && point(v, t, Point::kMightResched)) return false;
    }
    if (t.phase == 1) {
      if (type == LockType::kSpinlock) ++t.rcu_depth;  // rt_spin_lock(): rcu_read_lock()
      t.phase = 2;
    }
    if (t.phase == 3) {
      t.blocked_on = -1;
      if (impl == LockImpl::kSleepingPi && L.owner == &t) {
        // Handed over by the unlocker.
        t.held_pi.push_back(in.index);
        adjust_prio(v, t);
        acquired_after_wait(L, t);
        t.phase = 0;
        ++t.pc;
        return true;
      }
      t.phase = 2;  // mutex.c: the woken waiter competes again
    }
    if (L.owner == nullptr) {
      L.owner = &t;
      if (impl == LockImpl::kSleepingPi) {
        t.held_pi.push_back(in.index);
        if (t.wait_start >= 0) adjust_prio(v, t);
      }
      acquired_after_wait(L, t);
      t.phase = 0;
      ++t.pc;
      return true;
    }
    if (t.wait_start < 0) {
      t.wait_start = now_;
      ++L.out.contentions;
      ++v.st.lock_contentions;
    }
    waiter_insert(L, t, impl == LockImpl::kSleepingPi);
    t.blocked_on = in.index;
    if (impl == LockImpl::kSleepingPi && L.owner != &t &&
        set_effective_class(v, t, *L.owner, t.cls, true)) {
      ++L.out.pi_boosts;
      ++v.st.pi_boosts;
      boost_chain(v, t, *L.owner);
    }
    t.state = State::kBlocked;
    t.phase = 3;
    schedule_block(v, t, type == LockType::kSpinlock && exec::model_is_rt(m_));
    return false;
  }

  void acquired_after_wait(Lock& L, Task& t) {
    ++L.out.acquisitions;
    if (t.wait_start >= 0) {
      L.out.max_wait_ns = std::max(L.out.max_wait_ns, now_ - t.wait_start);
      t.wait_start = -1;
    }
  }

  bool step_unlock(Vcpu& v, Task& t, const Step& in) {
    Lock& L = locks_[static_cast<size_t>(in.index)];
    const LockType type = L.spec.type;
    const LockImpl impl = exec::lock_impl(m_, type);
    if (impl == LockImpl::kSpinning) {
      if (t.phase == 0) {
        if (L.owner == &t) {
          L.owner = nullptr;
          grant_spinner(L);
        }
        t.phase = 1;
        if (in.flag && exec::lock_irq_variant_masks_irqs(m_, type) && irq_restore(v, t))
          return false;
      }
      t.phase = 0;
      ++t.pc;
      count_sub(v, t, exec::lock_preempt_offset(m_, type));
      if (t.flags.need_resched || t.flags.need_resched_lazy)
        return !point(v, t, Point::kPreemptEnable);
      return true;
    }
    ++t.pc;
    if (L.owner != &t) return true;  // not ours: ignored, as the executive does
    if (impl == LockImpl::kSleepingPi) {
      auto it = std::find(t.held_pi.begin(), t.held_pi.end(), in.index);
      if (it != t.held_pi.end()) t.held_pi.erase(it);
      Task* next = nullptr;
      if (!L.waiters.empty()) {
        next = L.waiters.front();
        L.waiters.erase(L.waiters.begin());
      }
      L.owner = next;
      adjust_prio(v, t);  // rt_mutex_adjust_prio(): drop what this lock lent
      if (next != nullptr) try_to_wake_up(v, *next);
    } else {
      L.owner = nullptr;
      if (!L.waiters.empty()) {
        Task* first = L.waiters.front();
        L.waiters.erase(L.waiters.begin());
        try_to_wake_up(v, *first);
      }
    }
    if (type == LockType::kSpinlock && t.rcu_depth > 0) --t.rcu_depth;
    if (t.flags.need_resched || t.flags.need_resched_lazy)
      return !point(v, t, Point::kPreemptEnable);
    return true;
  }

  // A released spinning lock goes to the first waiter that is spinning right
  // now (not interrupted, not switched out); the others find it at resume.
  void grant_spinner(Lock& L) {
    for (auto it = L.spinners.begin(); it != L.spinners.end(); ++it) {
      Task* s = *it;
      Vcpu& sv = vcpus_[static_cast<size_t>(s->vcpu)];
      if (sv.curr != s || frame_active(sv) || s->busy_kind != Busy::kSpin) continue;
      advance(sv, now_);
      L.owner = s;
      L.spinners.erase(it);
      s->busy = 0;  // completes now
      return;
    }
  }

  void spin_resume(Vcpu& v, Task& t) {
    (void)v;
    Lock& L = locks_[static_cast<size_t>(t.spin_on)];
    if (L.owner != nullptr) return;
    L.owner = &t;
    L.spinners.erase(std::find(L.spinners.begin(), L.spinners.end(), &t));
    t.busy = -1;
    t.busy_kind = Busy::kNone;
    t.phase = 2;
  }

  // rt_mutex_adjust_prio_chain(), as the executive's boost_chain(): `owner`
  // was just raised to t's class; while it waits for a PI lock itself, it
  // moves up that lock's waiters and the lock's owner inherits the class,
  // at most 8 links (exec: kMaxPiChainDepth).
  void boost_chain(Vcpu& v, Task& t, Task& first) {
    Task* owner = &first;
    for (int depth = 0; depth < 8 && owner->blocked_on >= 0; ++depth) {
      Lock& L = locks_[static_cast<size_t>(owner->blocked_on)];
      if (exec::lock_impl(m_, L.spec.type) != LockImpl::kSleepingPi) return;
      auto it = std::find(L.waiters.begin(), L.waiters.end(), owner);
      if (it != L.waiters.end()) L.waiters.erase(it);
      waiter_insert(L, *owner);
      Task* next = L.owner;
      if (next == nullptr || next == owner || next == &t ||
          !set_effective_class(v, t, *next, t.cls, true))
        return;
      ++L.out.pi_boosts;
      ++v.st.pi_boosts;
      owner = next;
    }
  }

  // PI locks keep their waiters by priority (rt_mutex_enqueue(), FIFO within
  // one); a plain mutex in arrival order (__mutex_add_waiter()).
  static void waiter_insert(Lock& L, Task& t, bool by_priority = true) {
    if (std::find(L.waiters.begin(), L.waiters.end(), &t) != L.waiters.end()) return;
    const int p = prio_of(t.cls);
    auto it = L.waiters.begin();
    while (it != L.waiters.end() && (!by_priority || prio_of((*it)->cls) >= p)) ++it;
    L.waiters.insert(it, &t);
  }

  // rt_mutex_setprio(): `p` to class `c`, requeued if queued; its vCPU's
  // current task is asked to reschedule when p now outranks it.
  bool set_effective_class(Vcpu& by_v, Task& by, Task& p, TaskClass c, bool only_raise) {
    if (only_raise && prio_of(c) <= prio_of(p.cls)) return false;
    Vcpu& pv = vcpus_[static_cast<size_t>(p.vcpu)];
    const bool queued = p.on_rq;
    const bool was_fair = p.cls.sched_class == SchedClass::kFair;
    const bool to_fair = c.sched_class == SchedClass::kFair;
    Task* curr = pv.curr;
    const int64_t clock = task_clock(pv);
    // rt_mutex_setprio(): dequeue (DEQUEUE_SAVE), put_prev if running,
    // change, enqueue (ENQUEUE_RESTORE), set_next if running. A fair
    // sleeper still queued as delayed finishes its dequeue first.
    if (queued) {
      pv.rq.deactivate(&p, clock, exec::FairDequeue::kSave);
    } else if (was_fair && !to_fair && p.se.on_rq) {
      pv.rq.fair().dequeue(&p.se, clock, exec::FairDequeue::kSave);
      if (pv.rq.fair().curr() == &p.se) pv.rq.fair().put_prev(clock);
    }
    p.cls = c;
    if (queued) {
      pv.rq.activate(&p, clock, exec::FairEnqueue::kRestore);
    } else if (curr == &p && !was_fair && to_fair) {
      pv.rq.fair().enqueue(&p.se, clock, exec::FairEnqueue::kRestore);
      pv.rq.fair().set_next(&p.se, clock);
      // switched_to_fair(): a running task that comes back to the fair
      // class is rescheduled (resched_curr()).
      resched(p, Resched::kFull, false);
    }
    bool ipi = false;
    if (queued && curr != &p && curr != &by &&
        prio_of(c) > (curr->kind == Kind::kIdle ? -1 : prio_of(curr->cls))) {
      ipi = resched(*curr, Resched::kFull, &pv != &by_v).ipi;
    }
    if (curr == &p && &p == &by) {
      const int mine = prio_of(c);
      for (int q = 99; q > mine && q > 0; --q) {
        if (pv.rq.has_rt_prio(q)) {
          resched(p, Resched::kFull, false);
          break;
        }
      }
    }
    if (ipi) send_ipi(by_v, pv);
    return true;
  }

  // rt_mutex_adjust_prio(): the task's own class, or the highest top waiter
  // of the PI locks it holds.
  void adjust_prio(Vcpu& v, Task& t) {
    TaskClass want = t.base;
    for (int l : t.held_pi) {
      const Lock& L = locks_[static_cast<size_t>(l)];
      if (L.waiters.empty()) continue;
      const int p = prio_of(L.waiters.front()->cls);
      if (p > prio_of(want) && p > 0) want = TaskClass{SchedClass::kRt, p};
    }
    if (want.sched_class != t.cls.sched_class || want.rt_priority != t.cls.rt_priority) {
      set_effective_class(v, t, t, want, false);
    }
  }

  // --- results ----------------------------------------------------------------------------------

  void trace(Vcpu& v, Task* next, Task* prev, SwitchCause cause, Point p) {
    if (static_cast<int>(res_.trace.size()) >= o_.trace_capacity) return;
    TraceRecord r;
    r.at_ns = now_;
    r.vcpu = v.index;
    r.task = next->kind == Kind::kIdle ? -1 : next->id;
    r.prev = prev == nullptr ? -1 : prev->id;
    r.cause = cause;
    r.point = p;
    res_.trace.push_back(r);
  }

  SimResult collect(uint64_t n) {
    res_.end_ns = now_;
    res_.events = n;
    for (auto& tp : tasks_) {
      if (tp->kind == Kind::kIdle) continue;
      res_.tasks.push_back(std::move(tp->out));
    }
    for (Vcpu& v : vcpus_) {
      v.st.fair_slice_expiries = v.rq.fair().stats().slice_expiries;
      res_.vcpus.push_back(v.st);
    }
    for (Lock& l : locks_) res_.locks.push_back(l.out);
    for (Device& d : devices_) {
      const exec::IrqLineStats& ls = d.line.stats();
      d.out.fired = ls.fired;
      d.out.delivered = ls.delivered;
      d.out.coalesced = ls.coalesced;
      d.out.handled = ls.handled;
      d.out.worst_fire_to_handled_ns = ls.worst_fire_to_handled_ns;
      d.out.pending = d.line.latched() || d.line.pending_at_cpu() || d.line.runthread();
      res_.devices.push_back(d.out);
    }
    for (Var& x : vars_) {
      VarResult r;
      r.name = x.spec.name;
      r.stores = x.stores;
      for (int64_t s : x.val) r.value += s;
      r.lost = r.value >= 0 && static_cast<uint64_t>(r.value) < r.stores
                   ? r.stores - static_cast<uint64_t>(r.value)
                   : 0;
      res_.vars.push_back(r);
    }
    return std::move(res_);
  }

  const System& sys_;
  const Model m_;
  const SimOptions o_;
  int64_t now_ = 0;
  int64_t tick_ns_ = 0;
  uint64_t seq_ = 0;
  bool done_ = false;
  int64_t limited_ = 0;
  std::priority_queue<Event, std::vector<Event>, EventLater> heap_;
  std::vector<Vcpu> vcpus_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<Lock> locks_;
  std::vector<Channel> channels_;
  std::vector<Device> devices_;
  std::vector<Var> vars_;
  std::vector<std::unique_ptr<std::vector<Step>>> thread_bodies_;
  const std::vector<Step> ksoftirqd_body_{ops::simple(StepOp::kKsoftirqdWait),
                                          ops::simple(StepOp::kRunSoftirqs),
                                          ops::simple(StepOp::kCondResched)};
  SimResult res_;
};

}  // namespace

SimResult simulate(const System& sys, Model model, const SimOptions& opt) {
  Engine e(sys, model, opt);
  return e.run();
}

}  // namespace pb::sim
