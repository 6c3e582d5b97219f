// The scenarios in real time, on the executive (one vCPU). Each body uses
// only TaskApi; everything the bodies write is allocated before start().
//
// Instants. Scenario time 0 is `base`, a moment far enough after setup for
// every thread to be parked (kLead). A task that must act at an exact
// instant (take a lock at 0, start its window at a release) sleeps until
// kSpinLead before it and spins the rest in user mode, so its own wakeup
// latency does not shift the scenario; the task whose latency is part of the
// outcome (the releases being measured) simply sleeps until its instant.
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pb/executive/executive.h"
#include "pb/scenarios/scenario.h"
#include "pb/sys.h"
#include "scenario_internal.h"

namespace pb::scenarios::detail {
namespace {

using exec::TaskApi;
using nlohmann::ordered_json;

constexpr int64_t kLead = 300'000'000;      // setup -> scenario time 0
constexpr int64_t kSpinLead = 1'000'000;    // sleep until 1 ms before, spin the rest
constexpr int64_t kBound = 30'000'000'000;  // a run never lasts longer

ordered_json real_us(int64_t ns) { return ordered_json((ns + kNsPerUs / 2) / kNsPerUs); }

void spin_until(TaskApi& api, int64_t t) {
  while (api.running()) {
    const int64_t left = t - api.now_ns();
    if (left <= 0) return;
    api.compute(std::min<int64_t>(left, 20'000));
  }
}

// Arrive at `t` exactly: sleep to kSpinLead before it, spin the rest.
void arrive_at(TaskApi& api, int64_t t) {
  if (api.now_ns() < t - kSpinLead) api.sleep_until(t - kSpinLead);
  spin_until(api, t);
}

// One run: an executive, a base instant, a count of tasks still to finish.
class Run {
 public:
  explicit Run(exec::Model m) {
    exec::Config c;
    c.model = m;
    c.print_debug_reports = false;  // counted in might_sleep_bugs / schedule_while_atomic_bugs
    ex_ = std::make_unique<exec::Executive>(c);
    base_ = sys::now_ns() + kLead;
  }
  exec::Executive& ex() { return *ex_; }
  int64_t base() const { return base_; }
  std::atomic<int>& left() { return left_; }

  // A task that ends the run with done(); `counted` false: one that runs
  // until the run stops.
  void add(exec::TaskSpec spec, bool counted = true) {
    if (counted) left_.fetch_add(1);
    if (ex_->add_task(std::move(spec)) < 0) throw ScenarioRunError("executive: " + ex_->error());
  }
  // A device on the scenario's grid: spec.first_ns is taken as an offset from
  // base() (>= 0) and made absolute.
  void add_irq(exec::IrqSpec spec) {
    spec.first_ns += base_;
    if (ex_->add_irq(std::move(spec)) < 0) throw ScenarioRunError("executive: " + ex_->error());
  }
  // A body ends with this.
  static void done(TaskApi& api, std::atomic<int>& left) {
    if (left.fetch_sub(1) == 1) api.request_stop();
  }

  const exec::RunResult& run(RealOut* out) {
    if (ex_->start() != 0) throw ScenarioRunError("executive: " + ex_->error());
    if (sys::now_ns() > base_ - kSpinLead) {
      ex_->stop();
      throw ScenarioRunError("executive setup overran its " + std::to_string(kLead / 1'000'000) +
                             " ms lead");
    }
    ex_->run_for(kBound);
    const exec::RunResult& r = ex_->result();
    out->notes.push_back("real: the executive on 1 vCPU, model " +
                         std::string(exec::to_string(r.model)) +
                         (r.host_fifo ? ", host SCHED_FIFO" : ", host SCHED_OTHER"));
    for (const std::string& n : r.notes) out->notes.push_back(n);
    for (const exec::IrqStats& q : r.irqs) {
      out->devices.push_back({q.name, q.threaded, q.fired, q.delivered, q.coalesced, q.handled,
                              q.worst_fire_to_handled_ns});
    }
    if (r.watchdog_tripped) throw ScenarioRunError("watchdog: " + r.watchdog_message);
    if (left_.load() != 0) throw ScenarioRunError("the run ended before its tasks finished");
    return r;
  }

 private:
  std::unique_ptr<exec::Executive> ex_;
  int64_t base_ = 0;
  std::atomic<int> left_{0};
};

exec::TaskSpec fifo(const char* name, int prio, std::function<void(TaskApi&)> body) {
  exec::TaskSpec s;
  s.name = name;
  s.policy = exec::Policy::kFifo;
  s.priority = prio;
  s.body = std::move(body);
  return s;
}

exec::TaskSpec fair(const char* name, std::function<void(TaskApi&)> body) {
  exec::TaskSpec s;
  s.name = name;
  s.policy = exec::Policy::kFair;
  s.body = std::move(body);
  return s;
}

ordered_json reports_of(const exec::RunResult& r) {
  uint64_t sleeping = 0, atomic = 0, rcu = 0;
  for (const auto& v : r.vcpus) {
    sleeping += v.might_sleep_bugs;
    atomic += v.schedule_while_atomic_bugs;
    rcu += v.rcu_voluntary_switch_warnings;
  }
  ordered_json out = ordered_json::array();
  if (sleeping > 0) out.push_back(kBugSleeping);
  if (atomic > 0) out.push_back(kBugAtomic);
  if (rcu > 0) out.push_back(kWarnRcuSwitch);
  return out;
}

// Job k of a periodic task is released at base + k x period and computes
// `work`, starting when the previous job has finished (nothing is skipped,
// as in the analysis); out[k] (n slots, allocated before start()) is its
// response time.
exec::TaskSpec periodic_jobs(const char* name, int prio, Run* r, int64_t period, int64_t work,
                             int n, int64_t* out) {
  return fifo(name, prio, [=](TaskApi& api) {
    for (int k = 0; k < n && api.running(); ++k) {
      const int64_t rel = r->base() + k * period;
      if (api.now_ns() < rel) api.sleep_until(rel);
      api.compute(work);
      out[k] = api.now_ns() - rel;
    }
    Run::done(api, r->left());
  });
}

// {"worst_response_us", "deadline_misses"} of periodic_jobs()' responses.
ordered_json response_outcome(const std::vector<int64_t>& resp, int64_t deadline) {
  int64_t worst = 0, misses = 0;
  for (int64_t x : resp) {
    worst = std::max(worst, x);
    if (x > deadline) ++misses;
  }
  ordered_json o;
  o["worst_response_us"] = real_us(worst);
  o["deadline_misses"] = misses;
  return o;
}

}  // namespace

ordered_json real_pathfinder(const Params& p, exec::Model m, RealOut* out) {
  Run run(m);
  exec::Mutex mutex("resource");
  exec::RtMutex rt("resource");
  const bool use_rt = p.s("lock") == "rt_mutex";
  // T_H's and T_M's releases count from the instant T_L took the lock, which
  // each learns through a completion: a host stall or a late wakeup of T_L
  // cannot let T_H find the lock free (it did, on a noisy host, with both
  // releases counted from a fixed base).
  exec::Completion locked_h, locked_m;
  std::atomic<int64_t> lock_at{-1}, acquired{-1};
  Run* r = &run;
  const int64_t hold = p.ns("hold_us"), high_at = p.ns("high_at_us"), mid_at = p.ns("mid_at_us");
  const int64_t mid = p.ns("mid_us"), high = p.ns("high_us");
  auto lock = [&, use_rt](TaskApi& api) {
    return use_rt ? api.rt_mutex_lock(rt) : api.mutex_lock(mutex);
  };
  auto unlock = [&, use_rt](TaskApi& api) {
    if (use_rt) {
      api.rt_mutex_unlock(rt);
    } else {
      api.mutex_unlock(mutex);
    }
  };
  run.add(fifo("T_L", static_cast<int>(p.i("low_prio")),
               [=, &lock_at, &locked_h, &locked_m](TaskApi& api) {
                 arrive_at(api, r->base());
                 api.kernel_enter();
                 lock(api);
                 lock_at.store(api.now_ns());
                 api.complete(locked_h);
                 api.complete(locked_m);
                 api.compute(hold);
                 unlock(api);
                 api.kernel_exit();
                 Run::done(api, r->left());
               }));
  run.add(fifo("T_H", static_cast<int>(p.i("high_prio")),
               [=, &lock_at, &acquired, &locked_h](TaskApi& api) {
                 api.wait_for_completion(locked_h);
                 api.sleep_until(lock_at.load() + high_at);
                 api.kernel_enter();
                 lock(api);
                 acquired.store(api.now_ns());
                 api.compute(high);
                 unlock(api);
                 api.kernel_exit();
                 Run::done(api, r->left());
               }));
  run.add(fifo("T_M", static_cast<int>(p.i("mid_prio")), [=, &lock_at, &locked_m](TaskApi& api) {
    api.wait_for_completion(locked_m);
    api.sleep_until(lock_at.load() + mid_at);
    api.compute(mid);
    Run::done(api, r->left());
  }));
  run.run(out);
  ordered_json o;
  o["high_blocking_us"] = real_us(acquired.load() - (lock_at.load() + high_at));
  return o;
}

ordered_json real_audio_isr(const Params& p, exec::Model m, RealOut* out) {
  Run run(m);
  const int64_t T = p.ns("period_us"), C = p.ns("compute_us");
  const int n = static_cast<int>(p.i("periods"));
  std::vector<int64_t> resp(static_cast<size_t>(n), -1);
  run.add(periodic_jobs("audio", static_cast<int>(p.i("audio_prio")), &run, T, C, n, resp.data()));
  // The vCPU never idles: a halted virtual machine CPU wakes late (a host
  // scheduling decision), which the analysis does not have. A fair task in
  // user mode changes no outcome: every model preempts it at once.
  run.add(fair("hog",
               [](TaskApi& api) {
                 while (api.running()) api.compute(50'000);
               }),
          /*counted=*/false);
  exec::IrqSpec dev;
  dev.name = "audio-dev";
  dev.period_ns = p.ns("irq_period_us");
  dev.first_ns = p.ns("irq_phase_us");
  dev.entry_ns = p.ns("prologue_us");
  dev.handler_ns = p.ns("handler_us");
  dev.thread_priority = static_cast<int>(p.i("thread_prio"));
  run.add_irq(dev);
  const exec::RunResult& res = run.run(out);
  const exec::VcpuStats& v = res.vcpus.at(0);
  const uint64_t irqs = v.irq_timer + v.irq_ipi;
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                "real: %llu interrupts, %.1f us each in the handler on average (prologue_us and "
                "handler_us included); host stalls %.0f us",
                static_cast<unsigned long long>(irqs),
                irqs > 0 ? static_cast<double>(v.irq_ns) / static_cast<double>(irqs) / 1e3 : 0.0,
                static_cast<double>(v.host_stolen_ns) / 1e3);
  out->notes.push_back(buf);
  ordered_json o = response_outcome(resp, T);
  ordered_json list = ordered_json::array();
  for (int64_t x : resp) list.push_back(real_us(x));
  o["responses_us"] = list;
  return o;
}

ordered_json real_braking(const Params& p, exec::Model m, RealOut* out) {
  Run run(m);
  Run* r = &run;
  const int64_t P = p.ns("period_us"), D = p.ns("deadline_us"), C = p.ns("compute_us");
  const int64_t S = p.ns("section_us"), npr = p.ns("npr_us");
  const int n = static_cast<int>(p.i("periods"));
  // The background enters its section `lead` before the brake's release, the
  // section longer by as much: at the release it has section_us left, at a
  // region boundary (the real-time form of the simulated "just after").
  const int64_t lead = ((200'000 + npr - 1) / npr) * npr;
  std::vector<int64_t> resp(static_cast<size_t>(n), -1);
  run.add(fair("kernel-section", [=](TaskApi& api) {
    for (int k = 0; k < n && api.running(); ++k) {
      arrive_at(api, r->base() + k * P - lead);
      api.kernel_enter();
      for (int64_t done = 0; done < lead + S; done += npr) {
        api.preempt_disable();
        api.compute(std::min(npr, lead + S - done));
        api.preempt_enable();
      }
      api.kernel_exit();
    }
    Run::done(api, r->left());
  }));
  run.add(periodic_jobs("brake", static_cast<int>(p.i("brake_prio")), &run, P, C, n, resp.data()));
  run.run(out);
  return response_outcome(resp, D);
}

ordered_json real_nested_locks(const Params& p, exec::Model m, RealOut* out) {
  if (p.b("wrong_rule")) {
    throw ScenarioError(
        "wrong_rule=true exists in simulated time only: the executive runs the real rule");
  }
  Run run(m);
  Run* r = &run;
  const bool raw = p.s("lock_type") == "raw_spinlock";
  exec::Spinlock sa("A"), sb("B");
  exec::RawSpinlock ra("A"), rb("B");
  const int64_t before = p.ns("outer_before_us"), inner = p.ns("inner_us"),
                after = p.ns("outer_after_us");
  const int64_t req = p.ns("request_at_us"), high = p.ns("high_us");
  std::atomic<int64_t> dispatched{-1};
  auto lock = [&, raw](TaskApi& api, bool outer) {
    if (raw) {
      api.raw_spin_lock(outer ? ra : rb);
    } else {
      (void)api.spin_lock(outer ? sa : sb);
    }
  };
  auto unlock = [&, raw](TaskApi& api, bool outer) {
    if (raw) {
      api.raw_spin_unlock(outer ? ra : rb);
    } else {
      api.spin_unlock(outer ? sa : sb);
    }
  };
  run.add(fifo("T_L", 10, [=](TaskApi& api) {
    arrive_at(api, r->base());
    api.kernel_enter();
    lock(api, true);
    if (before > 0) api.compute(before);
    lock(api, false);
    api.compute(inner);
    unlock(api, false);
    if (after > 0) api.compute(after);
    unlock(api, true);
    api.kernel_exit();
    Run::done(api, r->left());
  }));
  run.add(fifo("T_H", 90, [=, &dispatched](TaskApi& api) {
    api.sleep_until(r->base() + req);
    dispatched.store(api.now_ns());
    api.kernel_enter();
    lock(api, true);
    api.compute(high);
    unlock(api, true);
    api.kernel_exit();
    Run::done(api, r->left());
  }));
  const exec::RunResult& res = run.run(out);
  ordered_json o;
  o["reports"] = reports_of(res);
  o["resched_delay_us"] = real_us(dispatched.load() - (run.base() + req));
  return o;
}

ordered_json real_reentrancy(const Params& p, exec::Model m, RealOut* out) {
  Run run(m);
  Run* r = &run;
  const std::string prot = p.s("protect");
  const int64_t P = p.ns("period_us"), at = p.ns("high_at_us");
  const int n = static_cast<int>(p.i("periods"));
  // One accumulator, or one per vCPU; loads and stores are separate atomic
  // operations (no host-level race), the read-modify-write is not atomic.
  std::atomic<int64_t> acc{0};
  exec::PerCpu<std::atomic<int64_t>> per_cpu;
  std::atomic<uint64_t> stores{0};
  auto helper = [&, prot](TaskApi& api, int64_t work) {
    if (prot == "preempt_disable") api.preempt_disable();
    std::atomic<int64_t>* slot = &acc;
    if (prot == "percpu") slot = &per_cpu.on(api.get_cpu());
    const int64_t v = slot->load(std::memory_order_relaxed);
    api.compute(work);
    slot->store(v + 1, std::memory_order_relaxed);
    stores.fetch_add(1, std::memory_order_relaxed);
    if (prot == "percpu") api.put_cpu();
    if (prot == "preempt_disable") api.preempt_enable();
  };
  const int64_t low_w = p.ns("low_us"), high_w = p.ns("high_us");
  run.add(fifo("low", 10, [=](TaskApi& api) {
    for (int k = 0; k < n && api.running(); ++k) {
      arrive_at(api, r->base() + k * P);
      api.kernel_enter();
      helper(api, low_w);
      api.kernel_exit();
    }
    Run::done(api, r->left());
  }));
  run.add(fifo("high", 90, [=](TaskApi& api) {
    for (int k = 0; k < n && api.running(); ++k) {
      const int64_t rel = r->base() + k * P + at;
      if (api.now_ns() < rel) api.sleep_until(rel);
      api.kernel_enter();
      helper(api, high_w);
      api.kernel_exit();
    }
    Run::done(api, r->left());
  }));
  run.run(out);
  int64_t value = acc.load();
  for (int i = 0; i < exec::kMaxVcpus; ++i) value += per_cpu.on(i).load();
  const uint64_t s = stores.load();
  ordered_json o;
  o["lost_updates"] =
      value >= 0 && static_cast<uint64_t>(value) < s ? s - static_cast<uint64_t>(value) : 0;
  return o;
}

namespace {

// percpu-irq's per-CPU counter: the task's read-modify-write is a separate
// load and store; the handler's increment is one atomic add (it runs on the
// slot's own vCPU, as the kernel's this_cpu_inc()).
struct PercpuCounter {
  exec::PerCpu<std::atomic<int64_t>> slot;
  std::atomic<uint64_t> increments{0};  // every update made, by the task or the handler
  int vcpu = 0;
  static void handler(void* arg) {  // async-signal-safe: lock-free atomics only
    auto* c = static_cast<PercpuCounter*>(arg);
    c->slot.on(c->vcpu).fetch_add(1, std::memory_order_relaxed);
    c->increments.fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace

ordered_json real_percpu_irq(const Params& p, exec::Model m, RealOut* out) {
  Run run(m);
  Run* r = &run;
  const bool irq_save = p.s("protect") == "irq_save";
  const int64_t P = p.ns("period_us"), w = p.ns("window_us");
  const int n = static_cast<int>(p.i("periods"));
  auto counter = std::make_unique<PercpuCounter>();
  PercpuCounter* c = counter.get();
  run.add(fifo("task", static_cast<int>(p.i("task_prio")), [=](TaskApi& api) {
    for (int k = 0; k < n && api.running(); ++k) {
      arrive_at(api, r->base() + k * P);
      api.kernel_enter();
      unsigned long flags = 0;
      int cpu = 0;
      if (irq_save) {
        flags = api.local_irq_save();
        cpu = api.vcpu();
      } else {
        cpu = api.get_cpu();
      }
      std::atomic<int64_t>& slot = c->slot.on(cpu);
      const int64_t v = slot.load(std::memory_order_relaxed);
      api.compute(w);
      slot.store(v + 1, std::memory_order_relaxed);
      c->increments.fetch_add(1, std::memory_order_relaxed);
      if (irq_save) {
        api.local_irq_restore(flags);
      } else {
        api.put_cpu();
      }
      api.kernel_exit();
    }
    Run::done(api, r->left());
  }));
  exec::IrqSpec dev;
  dev.name = "dev";
  dev.period_ns = P;
  dev.first_ns = p.ns("irq_at_us");
  dev.handler_ns = p.ns("handler_us");
  dev.flags = p.s("threading") == "never" ? exec::kIrqfNoThread : 0;
  dev.handler_fn = &PercpuCounter::handler;
  dev.handler_arg = c;
  run.add_irq(dev);
  run.run(out);
  int64_t value = 0;
  for (int i = 0; i < exec::kMaxVcpus; ++i) value += c->slot.on(i).load();
  const uint64_t made = c->increments.load();
  ordered_json o;
  o["lost_updates"] =
      value >= 0 && static_cast<uint64_t>(value) < made ? made - static_cast<uint64_t>(value) : 0;
  return o;
}

ordered_json real_sleep_in_atomic(const Params& p, exec::Model m, RealOut* out) {
  Run run(m);
  Run* r = &run;
  const std::string lt = p.s("lock_type");
  exec::Spinlock spin("lock");
  exec::RawSpinlock raw("lock");
  exec::Mutex mutex("lock");
  const int64_t hold = p.ns("hold_us"), sleep = p.ns("sleep_us");
  run.add(fair("sleeper", [=, &spin, &raw, &mutex](TaskApi& api) {
    arrive_at(api, r->base());
    api.kernel_enter();
    if (lt == "spinlock") {
      (void)api.spin_lock(spin);
    } else if (lt == "raw_spinlock") {
      api.raw_spin_lock(raw);
    } else if (lt == "bh") {
      api.local_bh_disable();
    } else {
      (void)api.mutex_lock(mutex);
    }
    if (hold > 0) api.compute(hold);
    api.sleep_ns(sleep);
    if (lt == "spinlock") {
      api.spin_unlock(spin);
    } else if (lt == "raw_spinlock") {
      api.raw_spin_unlock(raw);
    } else if (lt == "bh") {
      api.local_bh_enable();
    } else {
      api.mutex_unlock(mutex);
    }
    api.kernel_exit();
    Run::done(api, r->left());
  }));
  const exec::RunResult& res = run.run(out);
  ordered_json o;
  o["reports"] = reports_of(res);
  return o;
}

}  // namespace pb::scenarios::detail
