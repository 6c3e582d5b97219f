// The executive's life cycle: setup (CPUs, tasks, threads, timers, signal
// handlers), the first dispatch, run control, the watchdog, teardown and the
// results.
#include "pb/executive/executive.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "cpus.h"
#include "internal.h"
#include "pb/cycleclock.h"
#include "pb/sys.h"

namespace pb::exec {

using detail::ExecState;
using detail::Task;
using detail::Vcpu;

namespace {

std::atomic<bool> g_active{false};

constexpr int kWatchdogPriority = 99;
constexpr int64_t kJoinGraceNs = 10'000'000'000;
constexpr size_t kThreadStack = 1 << 20;

// --- PREEMPT_RT hosts: the timer softirq thread -------------------------------------------
// The emulated interrupts are POSIX timers. A PREEMPT_RT kernel expires
// every hrtimer not marked hard (POSIX timers among them) in the timer
// softirq, which it runs in a per-CPU thread, ktimers/N, at SCHED_FIFO 1
// (kernel/time/hrtimer.c, __hrtimer_init() making such timers soft on RT;
// kernel/softirq.c's timersd thread, from the RT patch set). Our task
// threads at SCHED_FIFO 1..98 would starve it: a vCPU's tick or hrtimer
// would fire only when its current task blocked. So for the run each vCPU
// CPU's ktimers/N is raised above every task thread, to SCHED_FIFO 99, and
// put back by stop().
constexpr int kTimerThreadPriority = 99;

bool host_is_preempt_rt() {
  std::ifstream in("/sys/kernel/realtime");
  int v = 0;
  return static_cast<bool>(in >> v) && v == 1;
}

// The PID of the kernel thread named `comm`, or 0.
pid_t find_kernel_thread(const std::string& comm) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "comm");
    std::string name;
    if (std::getline(in, name) && name == comm) return static_cast<pid_t>(std::stoi(pid));
  }
  return 0;
}

// A kernel thread whose scheduling start() changed, to put back in stop().
struct RaisedKernelThread {
  pid_t pid = 0;
  int policy = SCHED_OTHER;
  sched_param param{};
};

}  // namespace

struct Executive::Impl {
  ExecState st;
  std::vector<TaskSpec> specs;
  std::vector<IrqSpec> irq_specs;
  std::string error;
  RunResult result;
  CpuPlan plan;
  bool started = false;
  bool stopped = false;
  bool owns_active = false;
  bool handlers_installed = false;

  // Watchdog.
  pthread_t wd_thread{};
  bool wd_started = false;
  pid_t wd_tid = 0;
  bool wd_fifo = false;
  std::atomic<uint32_t> wd_stop{0};
  std::atomic<int64_t> run_deadline_ns{0};
  // start()'s caller, pinned to the system CPU until stop().
  pid_t caller_tid = 0;
  cpu_set_t caller_affinity{};
  bool caller_moved = false;
  std::atomic<uint32_t> wd_tripped{0};
  char wd_msg[320] = {};
  // PREEMPT_RT hosts: the ktimers/N threads raised for the run.
  std::vector<RaisedKernelThread> raised;
  // The session's autogroup nice, lowered to -20 for the run (hostclass.cc)
  // and given back by stop().
  bool autogroup_lowered = false;
  int autogroup_saved = 0;
  // Host stalls per vCPU: written by the watchdog thread only, read after
  // it was joined (sized by start_watchdog()).
  struct HostStalls {
    int64_t stall_ns = 0;
    uint64_t windows = 0;
    int64_t max_ns = 0;
    int64_t max_at_ns = 0;
    char message[320] = {};
  };
  std::vector<HostStalls> stalls;

  explicit Impl(Config c) { st.cfg = c; }

  void raise_timer_threads();
  void restore_timer_threads() noexcept;

  std::vector<Task*> all_tasks() {
    std::vector<Task*> v;
    for (auto& t : st.tasks) v.push_back(t.get());
    for (auto& t : st.ktasks) v.push_back(t.get());
    for (auto& t : st.idles) v.push_back(t.get());
    return v;
  }

  // Async-signal-safe enough for the watchdog: no allocation.
  void demote_all() noexcept {
    for (auto* list : {&st.tasks, &st.ktasks, &st.idles}) {
      for (auto& t : *list) {
        if (t->tid != 0) sys::set_scheduler(t->tid, SCHED_OTHER, 0);
      }
    }
  }

  Task* add_kernel_task(Vcpu* v, TaskId id, const char* name, Policy policy, int priority,
                        std::function<void(TaskApi&)> body);
  // A task's place on its vCPU and its class from its policy.
  void init_task(Task* t, Vcpu* v);
  void set_policy(Task* t, Policy policy, int priority);

  // The steps of start(), in their order.
  int claim();
  int plan_host();
  void build_vcpus();
  void build_tasks();
  void build_devices();
  void queue_tasks();
  int create_threads(const std::vector<Task*>& all);
  void index_tasks(const std::vector<Task*>& all);
  int start_watchdog();
  void pin_caller();
  void boot(const std::vector<Task*>& all);

  static void* task_thread(void* arg);
  static void* watchdog_thread(void* arg);
  void watchdog_trip(const char* msg) noexcept;
  int create_thread(Task* t);
  void teardown_threads();
  void collect();
  // When the stop began: closes the open runtime and wait intervals.
  int64_t stop_ns = 0;
};

// --- kernel tasks ------------------------------------------------------------------------------

void Executive::Impl::init_task(Task* t, Vcpu* v) {
  t->v = v;
  t->ex = &st;
  t->irq_pending = &v->irq_pending;
  t->softirq_pending = &v->softirq_pending;
  t->rr_ticks_left = v->rr_ticks;
}

void Executive::Impl::set_policy(Task* t, Policy policy, int priority) {
  t->policy = policy;
  t->priority = policy == Policy::kFair ? 0 : priority;
  t->cls = policy == Policy::kFair ? TaskClass{SchedClass::kFair, 0}
                                   : TaskClass{SchedClass::kRt, priority};
  t->base_cls = t->cls;
  t->se.owner = t;
  t->track_windows = st.cfg.track_windows ? 1 : 0;
  t->lockdep = st.cfg.lockdep ? 1 : 0;
  t->rt_bh = model_is_rt(st.cfg.model) ? 1 : 0;
}

Task* Executive::Impl::add_kernel_task(Vcpu* v, TaskId id, const char* name, Policy policy,
                                       int priority, std::function<void(TaskApi&)> body) {
  auto t = std::make_unique<Task>();
  init_task(t.get(), v);
  t->id = id;
  std::snprintf(t->name, sizeof(t->name), "%s", name);
  set_policy(t.get(), policy, priority);
  t->body = std::move(body);
  // Created blocked, waiting on its own token (like TaskSpec::start_blocked).
  t->state = detail::TaskState::kBlocked;
  t->wq_queued = true;
  detail::CompletionAccess::head(t->wake_token) = t.get();
  detail::CompletionAccess::tail(t->wake_token) = t.get();
  Task* raw = t.get();
  st.ktasks.push_back(std::move(t));
  return raw;
}

// --- the task thread -----------------------------------------------------------------------

void* Executive::Impl::task_thread(void* arg) {
  Task* t = static_cast<Task*>(arg);
  ExecState* ex = t->ex;
  detail::tls_task = t;
  t->tid = sys::gettid();
  t->lock_tid = static_cast<uint32_t>(t->tid);
  // Pinned first, then real-time: never RT on a CPU it was not meant for.
  int rc = sys::pin_to_cpu(0, t->v->host_cpu);
  // The host class mirrors the emulated one (hostclass.cc).
  if (rc == 0) rc = detail::host_class_setup(t);
  if (rc == 0) {
    sigevent sev;
    std::memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = detail::tick_signal();
    sev._sigev_un._tid = t->tid;
    if (::timer_create(CLOCK_MONOTONIC, &sev, &t->timer) == 0) {
      t->timer_created = true;
    } else {
      rc = -errno;
    }
  }
  t->setup_error = rc;
  ex->ready.fetch_add(1, std::memory_order_seq_cst);
  sys::futex_wake(&ex->ready, INT_MAX);
  if (rc != 0) {
    detail::tls_task = nullptr;
    return nullptr;
  }
  const sigset_t ours = detail::our_signals();
  ::pthread_sigmask(SIG_UNBLOCK, &ours, nullptr);

  detail::park_until_dispatched(t);
  detail::on_dispatched(t);
  if (!detail::stopping(t) && t->irq_pending->load(std::memory_order_relaxed) != 0) {
    detail::irq_loop(t, true);
  }
  if (t->is_idle) {
    detail::idle_loop(t);
  } else {
    detail::task_main_loop(t);
  }
  ::pthread_sigmask(SIG_BLOCK, &ours, nullptr);
  detail::timer_disarm(t);
  t->oncpu.store(false, std::memory_order_relaxed);
  detail::tls_task = nullptr;
  return nullptr;
}

int Executive::Impl::create_thread(Task* t) {
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, kThreadStack);
  // Created with every signal blocked; the thread unblocks its own two.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const int rc = ::pthread_create(&t->thread, &attr, &Impl::task_thread, t);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::pthread_attr_destroy(&attr);
  if (rc != 0) return -rc;
  t->thread_started = true;
  return 0;
}

// Only with host SCHED_FIFO (at SCHED_OTHER the task threads never hold
// off a SCHED_FIFO 1 thread). Each outcome is a note of the run.
void Executive::Impl::raise_timer_threads() {
  if (!st.host_fifo || !host_is_preempt_rt()) return;
  for (const auto& v : st.vcpus) {
    const std::string name = "ktimers/" + std::to_string(v->host_cpu);
    const pid_t pid = find_kernel_thread(name);
    if (pid == 0) {
      result.notes.push_back("PREEMPT_RT host without " + name +
                             ": its timer softirqs run in ksoftirqd, below the task threads, so "
                             "emulated interrupts on vCPU " +
                             std::to_string(v->index) + " wait until its current task blocks");
      continue;
    }
    RaisedKernelThread k;
    k.pid = pid;
    k.policy = ::sched_getscheduler(pid);
    if (k.policy < 0 || ::sched_getparam(pid, &k.param) != 0) continue;  // it exited
    if (k.policy == SCHED_FIFO && k.param.sched_priority >= kTimerThreadPriority) continue;
    const int rc = sys::set_scheduler(pid, SCHED_FIFO, kTimerThreadPriority);
    if (rc != 0) {
      result.notes.push_back("PREEMPT_RT host: cannot raise " + name + " to SCHED_FIFO " +
                             std::to_string(kTimerThreadPriority) + " (" + std::strerror(-rc) +
                             "): emulated interrupts on vCPU " + std::to_string(v->index) +
                             " wait until its current task blocks");
      continue;
    }
    raised.push_back(k);
    result.notes.push_back("PREEMPT_RT host: " + name + " (the timer softirq thread, in which " +
                           "the emulated interrupts' POSIX timers expire) raised from SCHED_FIFO " +
                           std::to_string(k.param.sched_priority) + " to " +
                           std::to_string(kTimerThreadPriority) + " for the run");
  }
}

void Executive::Impl::restore_timer_threads() noexcept {
  for (const auto& k : raised) ::sched_setscheduler(k.pid, k.policy, &k.param);
  raised.clear();
}

// --- the watchdog ---------------------------------------------------------------------------

void Executive::Impl::watchdog_trip(const char* msg) noexcept {
  if (wd_tripped.exchange(1, std::memory_order_seq_cst) != 0) return;
  std::snprintf(wd_msg, sizeof(wd_msg), "%s", msg);
  // Safety first: nothing of ours stays real-time.
  st.host_rt_off.store(1, std::memory_order_seq_cst);
  demote_all();
  st.aborted.store(1, std::memory_order_seq_cst);
  st.stopping.store(1, std::memory_order_seq_cst);
  detail::request_stop(&st);
  char line[360];
  std::snprintf(line, sizeof(line), "%s\n", msg);
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line, std::strlen(line));
}

void* Executive::Impl::watchdog_thread(void* arg) {
  auto* self = static_cast<Impl*>(arg);
  ExecState& st = self->st;
  self->wd_tid = sys::gettid();
  sys::pin_to_cpu(0, self->plan.system_cpu);
  if (self->wd_fifo) sys::set_scheduler(0, SCHED_FIFO, kWatchdogPriority);
  const int64_t budget = st.cfg.watchdog_budget_ns;
  // Every 10 ms at most, so that host stalls are located to ~10 ms.
  const int64_t period = std::clamp<int64_t>(budget / 4, 5'000'000, 10'000'000);
  const size_t n = st.vcpus.size();
  // Per vCPU: the window since the heartbeat last moved, the current
  // thread's host accounting at its start and at the previous check.
  struct Window {
    uint64_t hb = 0;
    const Task* task = nullptr;
    int64_t since = 0;
    bool base_ok = false;
    sys::ThreadSchedStat base;
    bool frozen = false;   // a check saw the heartbeat stand still
    bool stalled = false;  // judged kHostStalled at some check
    StuckWindow last;      // at the last check
  };
  std::vector<Window> win(n);
  for (Window& w : win) w.since = sys::now_ns();
  // The host adds a thread's runqueue wait to its schedstat when it next
  // runs, so a stall shows once the heartbeat moves again: the window's
  // thread is read once more as the window closes.
  auto close_window = [&](size_t i) {
    Window& w = win[i];
    sys::ThreadSchedStat end;
    if (w.frozen && w.base_ok && w.task != nullptr &&
        sys::read_thread_schedstat(w.task->tid, &end) == 0 && end.wait_ns > w.base.wait_ns) {
      const int64_t waited = end.wait_ns - w.base.wait_ns;
      self->stalls[i].stall_ns += waited;
      if (w.stalled) w.last.waited_ns = std::max(w.last.waited_ns, waited);
    }
    if (w.stalled) {
      HostStalls& h = self->stalls[i];
      ++h.windows;
      const int64_t lost = w.last.wall_ns - std::max<int64_t>(0, w.last.ran_ns);
      if (lost > h.max_ns) {
        h.max_ns = lost;
        h.max_at_ns = w.since - st.start_ns;
        format_stuck(h.message, sizeof(h.message), StuckVerdict::kHostStalled, w.last,
                     w.task != nullptr ? w.task->name : "?", i, budget);
      }
    }
    w.stalled = false;
    w.frozen = false;
  };
  int64_t next = sys::now_ns() + period;
  while (self->wd_stop.load(std::memory_order_acquire) == 0) {
    sys::futex_wait(&self->wd_stop, 0, next);
    if (self->wd_stop.load(std::memory_order_acquire) != 0) break;
    const int64_t now = sys::now_ns();
    next = now + period;
    if (st.stopping.load(std::memory_order_relaxed) != 0) continue;
    for (size_t i = 0; i < n; ++i) {
      Vcpu* v = st.vcpus[i].get();
      Window& w = win[i];
      const Task* curr = v->current.load(std::memory_order_relaxed);
      const uint64_t hb = v->heartbeat.load(std::memory_order_relaxed);
      sys::ThreadSchedStat ss;
      const bool ok = curr != nullptr && !curr->is_idle && curr->tid != 0 &&
                      sys::read_thread_schedstat(curr->tid, &ss) == 0;
      if (hb != w.hb || curr != w.task || curr == nullptr || curr->is_idle) {
        close_window(i);
        w.hb = hb;
        w.task = curr;
        w.since = now;
        w.base_ok = ok;
        w.base = ss;
        continue;
      }
      w.frozen = true;
      StuckWindow sw;
      sw.wall_ns = now - w.since;
      if (ok && w.base_ok) {
        sw.ran_ns = ss.run_ns - w.base.run_ns;
        sw.waited_ns = ss.wait_ns - w.base.wait_ns;
      }
      const StuckVerdict verdict = classify_stuck(sw, budget);
      if (verdict == StuckVerdict::kTaskOverran) {
        char msg[320];
        format_stuck(msg, sizeof(msg), verdict, sw, curr->name, i, budget);
        self->watchdog_trip(msg);
      } else if (verdict == StuckVerdict::kHostStalled) {
        w.stalled = true;
        w.last = sw;
      }
    }
    const int64_t deadline = self->run_deadline_ns.load(std::memory_order_relaxed);
    if (deadline != 0 && now > deadline + st.cfg.watchdog_deadline_grace_ns) {
      char msg[200];
      std::snprintf(msg, sizeof(msg), "watchdog: the run overstayed its deadline by %lld ms",
                    static_cast<long long>((now - deadline) / 1'000'000));
      self->watchdog_trip(msg);
    }
  }
  for (size_t i = 0; i < n; ++i) close_window(i);
  return nullptr;
}

// --- the watchdog's judgement (pure) ------------------------------------------------------

StuckVerdict classify_stuck(const StuckWindow& w, int64_t budget_ns) noexcept {
  if (w.wall_ns < budget_ns) return StuckVerdict::kQuiet;
  if (w.ran_ns < 0 || w.ran_ns >= budget_ns) return StuckVerdict::kTaskOverran;
  return StuckVerdict::kHostStalled;
}

void format_stuck(char* buf, size_t size, StuckVerdict v, const StuckWindow& w, const char* task,
                  size_t vcpu, int64_t budget_ns) noexcept {
  if (size == 0) return;
  const auto ms = [](int64_t ns) { return static_cast<long long>(ns / 1'000'000); };
  switch (v) {
    case StuckVerdict::kQuiet:
      std::snprintf(buf, size, "watchdog: task %s on vCPU %zu is within its budget", task, vcpu);
      return;
    case StuckVerdict::kTaskOverran:
      if (w.ran_ns < 0) {
        std::snprintf(buf, size,
                      "watchdog: task %s on vCPU %zu ran %lld ms without a preemption point "
                      "(budget %lld ms; wall time: the host's per-thread run time is unavailable)",
                      task, vcpu, ms(w.wall_ns), ms(budget_ns));
      } else {
        std::snprintf(buf, size,
                      "watchdog: task %s on vCPU %zu ran %lld ms without a preemption point "
                      "(budget %lld ms)",
                      task, vcpu, ms(w.ran_ns), ms(budget_ns));
      }
      return;
    case StuckVerdict::kHostStalled: {
      const int64_t lost = w.wall_ns - std::max<int64_t>(0, w.ran_ns);
      std::snprintf(buf, size,
                    "watchdog: the host did not run vCPU %zu for %lld ms of %lld ms (task %s "
                    "was runnable and waiting %lld ms of it: another real-time thread, RT "
                    "throttling; the rest blocked in the host or taken by the hypervisor); "
                    "not the task's doing",
                    vcpu, ms(lost), ms(w.wall_ns), task, ms(std::max<int64_t>(0, w.waited_ns)));
      return;
    }
  }
}

// --- Executive ------------------------------------------------------------------------------

Executive::Executive(Config config) : impl_(std::make_unique<Impl>(config)) {}

Executive::~Executive() { stop(); }

const std::string& Executive::error() const noexcept { return impl_->error; }
const RunResult& Executive::result() const noexcept { return impl_->result; }

TaskId Executive::add_task(TaskSpec spec) {
  Impl& im = *impl_;
  if (im.started) {
    im.error = "add_task() after start()";
    return -EINVAL;
  }
  if (spec.vcpu < 0 || spec.vcpu >= im.st.cfg.vcpus) {
    im.error = "task " + spec.name + ": vcpu " + std::to_string(spec.vcpu) + " out of range";
    return -EINVAL;
  }
  if (spec.policy != Policy::kFair && (spec.priority < 1 || spec.priority > 99)) {
    im.error = "task " + spec.name + ": RT priority must be 1..99";
    return -EINVAL;
  }
  if (!nice_valid(spec.nice)) {
    im.error = "task " + spec.name + ": nice must be -20..19";
    return -EINVAL;
  }
  if (spec.period_ns < 0 || spec.phase_ns < 0) {
    im.error = "task " + spec.name + ": negative period or phase";
    return -EINVAL;
  }
  im.specs.push_back(std::move(spec));
  return static_cast<TaskId>(im.specs.size() - 1);
}

int Executive::add_irq(IrqSpec spec) {
  Impl& im = *impl_;
  if (im.started) {
    im.error = "add_irq() after start()";
    return -EINVAL;
  }
  if (spec.vcpu < 0 || spec.vcpu >= im.st.cfg.vcpus) {
    im.error = "irq " + spec.name + ": vcpu out of range";
    return -EINVAL;
  }
  if (spec.period_ns <= 0 || spec.phase_ns < 0 || spec.first_ns < 0 || spec.entry_ns < 0 ||
      spec.handler_ns < 0 || spec.softirq_ns < 0) {
    im.error = "irq " + spec.name + ": period must be positive, times non-negative";
    return -EINVAL;
  }
  if (spec.thread_priority < 1 || spec.thread_priority > 99) {
    im.error = "irq " + spec.name + ": thread priority must be 1..99";
    return -EINVAL;
  }
  im.irq_specs.push_back(std::move(spec));
  return static_cast<int>(im.irq_specs.size() - 1);
}

// --- start(): a sequence of named steps -----------------------------------------------

int Executive::Impl::claim() {
  const Config& cfg = st.cfg;
  if (started) {
    error = "start() called twice";
    return -EBUSY;
  }
  if (cfg.hz < 1 || cfg.hz > 10000) {
    error = "hz must be 1..10000";
    return -EINVAL;
  }
  if (cfg.watchdog_budget_ns <= 0) {
    error = "watchdog_budget_ns must be positive";
    return -EINVAL;
  }
  if (cfg.base_slice_ns < 0 || cfg.base_slice_ns > int64_t{UINT32_MAX}) {
    error = "base_slice_ns must be 0..4294967295 (0: the kernel's default)";
    return -EINVAL;
  }
  if (g_active.exchange(true)) {
    error = "another executive is running in this process";
    return -EBUSY;
  }
  owns_active = true;
  started = true;  // from here on stop() cleans up
  return 0;
}

int Executive::Impl::plan_host() {
  const Config& cfg = st.cfg;
  const detail::MachineCpus cpus = detail::query_machine_cpus();
  plan = plan_cpus(cpus.allowed, cpus.core_of, cpus.isolated, cfg.vcpus, cfg.allow_system_cpu);
  if (!plan.error.empty()) {
    error = plan.error;
    stopped = true;
    g_active = false;
    owns_active = false;
    return -EINVAL;
  }
  if (cfg.use_fifo) {
    const int ok = sys::can_use_fifo(98);
    st.host_fifo = ok == 1;
    if (!st.host_fifo) {
      result.notes.push_back(
          "SCHED_FIFO unavailable (" + std::string(ok == 0 ? "not permitted" : std::strerror(-ok)) +
          "): task threads run at SCHED_OTHER; the emulated order is unchanged, the host may "
          "interleave other work");
    }
  }
  wd_fifo = sys::can_use_fifo(kWatchdogPriority) == 1;
  // With the host class mirrored, fair tasks and idle run at SCHED_OTHER
  // nice -20; with autogroups, CFS first splits the CPU between sessions,
  // and the nice values count only within ours: lower our autogroup's nice
  // too, for the run (DESIGN.md, "Host class").
  if (st.host_fifo) {
    int nice = 0;
    if (sys::get_autogroup_nice(&nice) == 0 && nice > -20 && sys::set_autogroup_nice(-20) == 0) {
      autogroup_lowered = true;
      autogroup_saved = nice;
    }
  }
  return 0;
}

void Executive::Impl::build_vcpus() {
  const Config& cfg = st.cfg;
  const int64_t period = sys::kNsPerSec / cfg.hz;
  for (int i = 0; i < cfg.vcpus; ++i) {
    auto v = std::make_unique<Vcpu>();
    v->index = i;
    v->host_cpu = plan.vcpu_cpus[static_cast<size_t>(i)];
    v->ex = &st;
    v->tick_period_ns = period;
    v->rr_ticks = static_cast<int>(std::max<int64_t>(1, cfg.rr_timeslice_ns / period));
    v->rq.fair().set_params(fair_params_for(static_cast<unsigned>(cfg.vcpus), cfg.hz,
                                            static_cast<uint64_t>(cfg.base_slice_ns)));
    v->max_parked_armed = std::clamp(cfg.parked_armed_timers, 0, 16);
    v->stats.host_cpu = v->host_cpu;
    v->stats.trace.reserve(static_cast<size_t>(std::max(0, cfg.trace_capacity)));
    v->tick_lateness = std::make_shared<LatencyHistogram>();
    v->ipi_lateness = std::make_shared<LatencyHistogram>();
    st.vcpus.push_back(std::move(v));
  }
  // On a PREEMPT_RT host, the timer softirq threads of the vCPUs' CPUs.
  raise_timer_threads();
  // Idle tasks: lowest class, kernel mode, preemption disabled as in do_idle().
  for (auto& v : st.vcpus) {
    auto t = std::make_unique<Task>();
    init_task(t.get(), v.get());
    t->is_idle = true;
    t->cls = TaskClass{SchedClass::kIdle, 0};
    t->mode = detail::Mode::kKernel;
    t->preempt_count.store(kPreemptDisableOffset, std::memory_order_relaxed);
    std::snprintf(t->name, sizeof(t->name), "swapper/%d", v->index);
    v->idle = t.get();
    st.idles.push_back(std::move(t));
  }
}

void Executive::Impl::build_tasks() {
  for (size_t i = 0; i < specs.size(); ++i) {
    TaskSpec& s = specs[i];
    auto t = std::make_unique<Task>();
    init_task(t.get(), st.vcpus[static_cast<size_t>(s.vcpu)].get());
    t->id = static_cast<TaskId>(i);
    std::snprintf(t->name, sizeof(t->name), "%s", s.name.c_str());
    set_policy(t.get(), s.policy, s.priority);
    t->se.set_nice(s.nice);
    t->body = std::move(s.body);
    t->period_ns = s.period_ns;
    t->phase_ns = s.phase_ns;
    if (s.histograms || s.period_ns > 0) {
      t->wakeup_hist = std::make_shared<LatencyHistogram>();
      t->delay_hist = std::make_shared<LatencyHistogram>();
    }
    st.tasks.push_back(std::move(t));
  }
}

void Executive::Impl::build_devices() {
  const Config& cfg = st.cfg;
  for (size_t i = 0; i < irq_specs.size(); ++i) {
    auto d = std::make_unique<detail::Device>();
    d->spec = irq_specs[i];
    d->index = static_cast<int>(i);
    d->v = st.vcpus[static_cast<size_t>(d->spec.vcpu)].get();
    d->timer.fn = &detail::device_fire;
    d->timer.owner = d.get();
    d->unmask_timer.fn = &detail::device_unmask_fire;
    d->unmask_timer.owner = d.get();
    d->threaded = irq_threaded(cfg.model, d->spec.flags, cfg.threadirqs);
    d->line = IrqLine(irq_line_kind(cfg.model, d->spec.flags, cfg.threadirqs));
    st.devices.push_back(std::move(d));
  }
  // Each such vCPU's ksoftirqd (a fair task: run_ksoftirqd() has no .setup
  // hook changing its policy) and each threaded device's IRQ thread; their
  // bodies are in irq.cc.
  for (auto& dp : st.devices) {
    detail::Device* d = dp.get();
    Vcpu* v = d->v;
    if (v->ksoftirqd == nullptr) {
      char name[32];
      std::snprintf(name, sizeof(name), "ksoftirqd/%d", v->index);
      v->ksoftirqd = add_kernel_task(v, kKsoftirqdTaskId, name, Policy::kFair, 0,
                                     [v](TaskApi& api) { detail::ksoftirqd_body(api, v); });
    }
    if (d->threaded) {
      char name[32];
      std::snprintf(name, sizeof(name), "irq/%d-%s", d->index, d->spec.name.c_str());
      const Model m = cfg.model;
      d->thread = add_kernel_task(v, kIrqThreadIdBase - d->index, name, Policy::kFifo,
                                  d->spec.thread_priority,
                                  [d, m](TaskApi& api) { detail::irq_thread_body(api, d, m); });
    }
  }
}

void Executive::Impl::queue_tasks() {
  // Each vCPU's timer heap holds at most its tasks' and devices' timers.
  std::vector<size_t> per_vcpu(st.vcpus.size(), 0);
  for (const auto& t : st.tasks) ++per_vcpu[static_cast<size_t>(t->v->index)];
  for (const auto& d : st.devices) per_vcpu[static_cast<size_t>(d->v->index)] += 2;
  for (size_t i = 0; i < st.vcpus.size(); ++i) st.vcpus[i]->timers.reserve(per_vcpu[i] + 8);
  // Runnable tasks queue in creation order; blocked ones wait on their token.
  for (size_t i = 0; i < st.tasks.size(); ++i) {
    Task* t = st.tasks[i].get();
    if (specs[i].start_blocked) {
      t->state = detail::TaskState::kBlocked;
      t->wq_queued = true;
      detail::CompletionAccess::head(t->wake_token) = t;
      detail::CompletionAccess::tail(t->wake_token) = t;
    } else {
      // New tasks (ENQUEUE_INITIAL: half a request to start with).
      t->v->rq.activate(t, detail::task_clock_locked(t->v), FairEnqueue::kInitial);
    }
  }
}

int Executive::Impl::create_threads(const std::vector<Task*>& all) {
  detail::install_signal_handlers();
  handlers_installed = true;
  int created = 0;
  for (Task* t : all) {
    const int rc = create_thread(t);
    if (rc != 0) {
      error = std::string("pthread_create: ") + std::strerror(-rc);
      break;
    }
    ++created;
  }
  // Wait (blocking, bounded) until every created thread has set itself up.
  const int64_t ready_deadline = sys::now_ns() + 10'000'000'000;
  for (;;) {
    const uint32_t r = st.ready.load(std::memory_order_seq_cst);
    if (r >= static_cast<uint32_t>(created)) break;
    if (sys::now_ns() > ready_deadline) {
      error = "task threads did not start within 10 s";
      break;
    }
    sys::futex_wait(&st.ready, r, sys::now_ns() + 100'000'000);
  }
  if (error.empty()) {
    for (Task* t : all) {
      if (t->setup_error != 0) {
        error = std::string("task ") + t->name +
                ": thread setup failed: " + std::strerror(-t->setup_error);
        break;
      }
    }
  }
  return error.empty() ? 0 : -EAGAIN;
}

void Executive::Impl::index_tasks(const std::vector<Task*>& all) {
  // lockdep-lite: a fresh graph; lock objects' cached classes go stale.
  static std::atomic<uint64_t> g_runs{0};
  st.lockdep.run = g_runs.fetch_add(1, std::memory_order_relaxed) + 1;
  // Lock owners are found by the TID in a lock word.
  st.by_tid.clear();
  for (Task* t : all) st.by_tid.emplace_back(t->tid, t);
  std::sort(st.by_tid.begin(), st.by_tid.end());
}

int Executive::Impl::start_watchdog() {
  stalls.assign(st.vcpus.size(), HostStalls{});
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, 256 * 1024);
  sigset_t allsig, old;
  sigfillset(&allsig);
  ::pthread_sigmask(SIG_SETMASK, &allsig, &old);
  const int rc = ::pthread_create(&wd_thread, &attr, &Impl::watchdog_thread, this);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::pthread_attr_destroy(&attr);
  if (rc != 0) {
    error = std::string("watchdog pthread_create: ") + std::strerror(rc);
    return -rc;
  }
  wd_started = true;
  return 0;
}

void Executive::Impl::pin_caller() {
  // The caller stays on the system CPU until stop(): on a vCPU's host CPU it
  // would queue behind the SCHED_FIFO tasks it just released, and reach
  // run_for() (or wake from it) late — the run, which lasts until stop(),
  // then overstays (20-200 ms were seen at load 1).
  caller_tid = sys::gettid();
  caller_moved = sys::get_affinity(caller_tid, &caller_affinity) == 0 &&
                 sys::pin_to_cpu(caller_tid, plan.system_cpu) == 0;
}

void Executive::Impl::boot(const std::vector<Task*>& all) {
  // The first task of every vCPU, then open the gates.
  st.start_ns = sys::now_ns();
  for (auto& v : st.vcpus) {
    v->next_tick_ns = st.start_ns + v->tick_period_ns;
    for (auto& d : st.devices) {
      if (d->v != v.get()) continue;
      d->timer.expires = d->spec.first_ns > 0 ? d->spec.first_ns
                                              : st.start_ns + d->spec.phase_ns + d->spec.period_ns;
      v->timers.push(&d->timer);
    }
    detail::update_programmed_locked(v.get());
    for (Task* t : all) {
      if (t->v == v.get()) t->parked_ns = st.start_ns;
    }
    detail::dispatch_first(v.get());
    // The others queued at start wait from the start (as the simulator counts).
    const Task* first = v->current.load(std::memory_order_relaxed);
    for (Task* t : all) {
      if (t->v == v.get() && t != first && t->on_rq && !t->is_idle) t->runnable_ns = st.start_ns;
    }
  }
  for (auto& v : st.vcpus) {
    Task* first = v->current.load(std::memory_order_relaxed);
    first->gate.store(1, std::memory_order_release);
    sys::futex_wake(&first->gate, 1);
  }
}

int Executive::start() {
  Impl& im = *impl_;
  if (const int rc = im.claim(); rc != 0) return rc;
  if (const int rc = im.plan_host(); rc != 0) return rc;
  im.build_vcpus();
  im.build_tasks();
  im.build_devices();
  im.queue_tasks();
  const std::vector<Task*> all = im.all_tasks();
  if (im.create_threads(all) != 0) {
    stop();
    return -EAGAIN;
  }
  im.index_tasks(all);
  if (const int rc = im.start_watchdog(); rc != 0) {
    stop();
    return rc;
  }
  im.pin_caller();
  im.boot(all);
  return 0;
}

void Executive::request_stop() noexcept {
  if (impl_ && impl_->started) detail::request_stop(&impl_->st);
}

void Executive::run_for(int64_t ns) {
  Impl& im = *impl_;
  if (!im.started || im.stopped) return;
  const int64_t deadline = sys::now_ns() + ns;
  im.run_deadline_ns.store(deadline, std::memory_order_relaxed);
  while (im.st.stop_word.load(std::memory_order_seq_cst) == 0) {
    if (sys::now_ns() >= deadline) break;
    sys::futex_wait(&im.st.stop_word, 0, deadline);
  }
  stop();
}

void Executive::Impl::teardown_threads() {
  std::vector<Task*> all = all_tasks();
  stop_ns = sys::now_ns();
  st.stopping.store(1, std::memory_order_seq_cst);
  detail::request_stop(&st);
  st.host_rt_off.store(1, std::memory_order_seq_cst);
  if (st.host_fifo) demote_all();
  for (Task* t : all) {
    if (t->timer_created) {
      itimerspec its{};
      ::timer_settime(t->timer, 0, &its, nullptr);
    }
  }
  for (Task* t : all) {
    t->gate.store(1, std::memory_order_seq_cst);
    sys::futex_wake(&t->gate, 1);
  }
  for (auto& v : st.vcpus) {
    v->idle_seq.fetch_add(1, std::memory_order_seq_cst);
    sys::futex_wake(&v->idle_seq, INT_MAX);
  }
  timespec deadline;
  ::clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += kJoinGraceNs / sys::kNsPerSec;
  for (Task* t : all) {
    if (!t->thread_started) continue;
    if (::pthread_timedjoin_np(t->thread, nullptr, &deadline) != 0) {
      char msg[160];
      std::snprintf(msg, sizeof(msg),
                    "executive: task %s did not return within 10 s of stop (its body must "
                    "loop on running()); aborting\n",
                    t->name);
      [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, msg, std::strlen(msg));
      std::abort();
    }
    t->thread_started = false;
  }
  if (wd_started) {
    wd_stop.store(1, std::memory_order_seq_cst);
    sys::futex_wake(&wd_stop, 1);
    ::pthread_join(wd_thread, nullptr);
    wd_started = false;
  }
  for (Task* t : all) {
    if (t->timer_created) {
      ::timer_delete(t->timer);
      t->timer_created = false;
    }
  }
  if (handlers_installed) {
    detail::restore_signal_handlers();
    handlers_installed = false;
  }
}

void Executive::Impl::collect() {
  RunResult& r = result;
  r.model = st.cfg.model;
  r.hz = st.cfg.hz;
  r.host_fifo = st.host_fifo;
  r.system_cpu = plan.system_cpu;
  r.duration_ns = st.start_ns != 0 ? sys::now_ns() - st.start_ns : 0;
  const double tps = cycleclock::ticks_per_second();
  auto to_ns = [tps](uint64_t ticks) {
    return static_cast<int64_t>(static_cast<double>(ticks) * 1e9 / tps);
  };
  for (auto& v : st.vcpus) {
    VcpuStats s = v->stats;
    s.tick_lateness = v->tick_lateness;
    s.lock_contentions = v->lock_contentions.load(std::memory_order_relaxed);
    s.pi_boosts = v->pi_boosts.load(std::memory_order_relaxed);
    auto where = [](const std::source_location& l) {
      return l.file_name()[0] == '\0' ? std::string()
                                      : std::string(l.file_name()) + ":" + std::to_string(l.line());
    };
    s.preemptoff_max_ns = static_cast<int64_t>(static_cast<double>(v->poff_max_ticks) * 1e9 /
                                               cycleclock::ticks_per_second());
    s.preemptoff_where = v->poff_max_ticks != 0 ? where(v->poff_max_loc) : std::string();
    s.irqsoff_max_ns = static_cast<int64_t>(static_cast<double>(v->ioff_max_ticks) * 1e9 /
                                            cycleclock::ticks_per_second());
    s.irqsoff_where = v->ioff_max_ticks != 0 ? where(v->ioff_max_loc) : std::string();
    s.ipi_lateness = v->ipi_lateness;
    s.user_ns = to_ns(v->acct_ticks[detail::kAcctUser]);
    s.kernel_ns = to_ns(v->acct_ticks[detail::kAcctKernel]);
    s.irq_ns = to_ns(v->acct_ticks[detail::kAcctIrq]);
    s.idle_ns = to_ns(v->acct_ticks[detail::kAcctIdle]);
    s.host_stolen_ns = v->host_stolen_ns.load(std::memory_order_relaxed);
    s.rt_busy_ns = detail::rt_busy_until(v.get(), st.start_ns + r.duration_ns);
    if (static_cast<size_t>(v->index) < stalls.size()) {
      const HostStalls& h = stalls[static_cast<size_t>(v->index)];
      s.host_stall_ns = h.stall_ns;
      s.host_stall_windows = h.windows;
      s.host_stall_max_ns = h.max_ns;
      s.host_stall_max_at_ns = h.max_at_ns;
      if (h.windows > 0) {
        r.notes.push_back(std::string(h.message) + " (the longest of " + std::to_string(h.windows) +
                          " such windows; at +" + std::to_string(h.max_at_ns / 1'000'000) + " ms)");
      }
    }
    s.fair_slice_expiries = v->rq.fair().stats().slice_expiries;
    for (Task* t : all_tasks()) {
      if (t->v != v.get()) continue;
      s.irq_forwarded += t->stale_signals.load();
      for (size_t i = 0; i < kNumDirectFallbacks; ++i) {
        s.direct_fallbacks[i] += t->direct_fallbacks[i].load();
      }
      s.ipis_received += t->ipis_received.load();
      s.timer_syscalls += t->timer_syscalls.load();
    }
    r.vcpus.push_back(std::move(s));
  }
  // The task current at the stop runs until then, a runnable one waits until
  // then (the stop switches nothing: the threads only unwind).
  for (auto& v : st.vcpus) {
    Task* c = v->current.load(std::memory_order_relaxed);
    if (c != nullptr && !c->is_idle && stop_ns > c->picked_ns)
      c->runtime_ns += stop_ns - c->picked_ns;
  }
  for (Task* t : all_tasks()) {
    if (t->runnable_ns != 0 && stop_ns > t->runnable_ns) t->wait_ns += stop_ns - t->runnable_ns;
    t->runnable_ns = 0;
  }
  auto task_stats = [](const Task* t) {
    TaskStats ts;
    ts.id = t->id;
    ts.name = t->name;
    ts.vcpu = t->v->index;
    ts.dispatches = t->dispatches;
    ts.preempted = t->preempted;
    ts.blocked = t->blocked;
    ts.runtime_ns = t->runtime_ns;
    ts.wait_ns = t->wait_ns;
    ts.preempted_at = t->preempted_at;
    ts.stale_signals = t->stale_signals.load();
    return ts;
  };
  for (auto& t : st.ktasks) r.kernel_tasks.push_back(task_stats(t.get()));
  for (auto& d : st.devices) {
    IrqStats is;
    is.name = d->spec.name;
    is.vcpu = d->v->index;
    is.threaded = d->threaded;
    const IrqLineStats& ls = d->line.stats();
    is.fired = ls.fired;
    is.delivered = ls.delivered;
    is.coalesced = ls.coalesced;
    is.handled = ls.handled;
    is.worst_fire_to_handled_ns = ls.worst_fire_to_handled_ns;
    r.irqs.push_back(std::move(is));
  }
  for (auto& t : st.tasks) {
    TaskStats ts;
    ts.id = t->id;
    ts.name = t->name;
    ts.vcpu = t->v->index;
    ts.dispatches = t->dispatches;
    ts.preempted = t->preempted;
    ts.blocked = t->blocked;
    ts.periods = t->periods;
    ts.overruns = t->overruns;
    ts.stale_signals = t->stale_signals.load();
    ts.runtime_ns = t->runtime_ns;
    ts.wait_ns = t->wait_ns;
    ts.preempted_at = t->preempted_at;
    ts.wakeup_latency = t->wakeup_hist;
    ts.model_delay = t->delay_hist;
    r.tasks.push_back(std::move(ts));
  }
  r.host_class_changes = st.host_class_changes.load();
  r.watchdog_tripped = wd_tripped.load() != 0;
  r.watchdog_message = wd_msg;
}

void Executive::stop() {
  Impl& im = *impl_;
  if (!im.started || im.stopped) return;
  im.stopped = true;
  im.teardown_threads();
  im.restore_timer_threads();
  if (im.autogroup_lowered) {
    sys::set_autogroup_nice(im.autogroup_saved);
    im.autogroup_lowered = false;
  }
  im.collect();
  if (im.caller_moved) {
    sys::set_affinity(im.caller_tid, im.caller_affinity);
    im.caller_moved = false;
  }
  if (im.owns_active) {
    g_active = false;
    im.owns_active = false;
  }
}

}  // namespace pb::exec
