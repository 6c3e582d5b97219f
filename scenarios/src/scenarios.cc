// The scenarios: parameters, validation, the analytic expectation, and the
// simulated run (a System built in code, simulated with zero switch and
// entry costs). The real-time runs are scenario_real.cc.
//
// How same-instant events are ordered matters for "just after" situations
// and is part of each analysis: at one instant, busy work ending comes
// first, then ordinary events (all taken in one hardirq frame per vCPU), then
// late releases (SimTask::late_release); a task runs its zero-time steps
// before the next event is taken (engine.h).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "pb/scenarios/rta.h"
#include "pb/scenarios/scenario.h"
#include "scenario_internal.h"

namespace pb::scenarios {

using detail::Params;
using nlohmann::ordered_json;

namespace detail {

ordered_json us_value(int64_t ns) {
  if (ns % kNsPerUs == 0) return ordered_json(ns / kNsPerUs);
  return ordered_json(static_cast<double>(ns) / static_cast<double>(kNsPerUs));
}

ordered_json report_titles(const std::vector<BugReport>& reports) {
  ordered_json out = ordered_json::array();
  std::vector<std::string> seen;
  for (const BugReport& r : reports) {
    if (std::find(seen.begin(), seen.end(), r.title) != seen.end()) continue;
    seen.push_back(r.title);
    out.push_back(r.title);
  }
  return out;
}

}  // namespace detail

namespace {

using detail::kBugAtomic;
using detail::kBugAtomicity;
using detail::kBugSleeping;
using detail::kWarnRcuSwitch;
using detail::us_value;
using exec::Model;

struct Expectation {
  ordered_json outcome;
  std::vector<std::string> analysis;
};

struct Def {
  ScenarioInfo info;
  std::function<void(const Params&)> validate;
  std::function<Expectation(const Params&, Model)> expect;
  // The simulated system, and the options it runs with (costs 0 unless the
  // scenario's parameters say otherwise).
  std::function<System(const Params&, Model, SimOptions&)> build;
  std::function<ordered_json(const Params&, Model, const SimResult&)> measure;
  // The same scenario on the executive, in real time (every scenario has one).
  std::function<ordered_json(const Params&, Model, detail::RealOut*)> real;
  // Real time only: the outcome keys left out of `pass` for this expectation,
  // each with the reason (a note); none when unset.
  std::function<std::vector<std::pair<std::string, std::string>>(const ordered_json& expected)>
      real_uncompared;
};

[[noreturn]] void bad(const std::string& msg) { throw ScenarioError(msg); }
void need(bool ok, const std::string& msg) {
  if (!ok) bad(msg);
}

constexpr int64_t kMaxUs = 10'000'000;  // any time parameter: 10 s

void need_us(const Params& p, const char* k, int64_t lo) {
  const int64_t v = p.i(k);
  need(v >= lo && v <= kMaxUs, std::string(k) + " must be in " + std::to_string(lo) + ".." +
                                   std::to_string(kMaxUs) + ", got " + std::to_string(v));
}
void need_prio(const Params& p, const char* k) {
  const int64_t v = p.i(k);
  need(v >= 1 && v <= 99,
       std::string(k) + " must be an RT priority 1..99, got " + std::to_string(v));
}
void need_count(const Params& p, const char* k, int64_t hi) {
  const int64_t v = p.i(k);
  need(v >= 1 && v <= hi,
       std::string(k) + " must be in 1.." + std::to_string(hi) + ", got " + std::to_string(v));
}

std::string fmt_us(int64_t ns) {
  const ordered_json j = us_value(ns);
  return j.dump() + " us";
}
std::string model_name(Model m) { return std::string(exec::to_string(m)); }
bool preemptible(Model m) { return exec::model_is_preemptible(m); }

SimOptions scenario_options() {
  SimOptions o;
  o.ctx_switch_ns = 0;
  o.irq_entry_ns = 0;
  o.ipi_ns = 0;
  o.tick_ns = 0;
  o.duration_ns = 120'000'000'000;  // a bound: scenarios end when their tasks are done
  return o;
}

ScenarioParam pint(const char* name, int64_t v, const char* help) {
  return {name, ordered_json(v), {}, help};
}
ScenarioParam pbool(const char* name, bool v, const char* help) {
  return {name, ordered_json(v), {}, help};
}
ScenarioParam pstr(const char* name, const char* v, std::vector<std::string> choices,
                   const char* help) {
  return {name, ordered_json(v), std::move(choices), help};
}

const TaskResult& task_named(const SimResult& r, const std::string& n) {
  for (const TaskResult& t : r.tasks) {
    if (t.name == n) return t;
  }
  throw std::logic_error("scenario: no task " + n);
}

Step mark() { return ops::simple(StepOp::kMark); }

// --- pathfinder ---------------------------------------------------------------------------

Def pathfinder() {
  Def d;
  d.info.name = "pathfinder";
  d.info.summary =
      "Priority inversion: T_L holds a lock that T_H needs while T_M is CPU-bound; T_H's blocking "
      "time with a plain mutex (no priority inheritance off RT) versus an rt_mutex (PI).";
  d.info.default_model = Model::kFull;
  d.info.params = {
      pstr("lock", "mutex", {"mutex", "rt_mutex"}, "the lock's type (mutex: PI only on RT)"),
      pint("hold_us", 1000, "T_L's critical section, from t = 0 (in a system call)"),
      pint("high_at_us", 100, "T_H's release (it takes the lock at once)"),
      pint("mid_at_us", 200, "T_M's release"),
      pint("mid_us", 5000, "T_M's CPU-bound work (user mode)"),
      pint("high_us", 100, "T_H's work under the lock"),
      pint("low_prio", 10, "T_L's SCHED_FIFO priority"),
      pint("mid_prio", 50, "T_M's SCHED_FIFO priority"),
      pint("high_prio", 90, "T_H's SCHED_FIFO priority"),
  };
  d.info.keys = {"high_blocking_us"};
  d.validate = [](const Params& p) {
    need_us(p, "hold_us", 1);
    need_us(p, "high_at_us", 0);
    need_us(p, "mid_at_us", 0);
    need_us(p, "mid_us", 1);
    need_us(p, "high_us", 1);
    need_prio(p, "low_prio");
    need_prio(p, "mid_prio");
    need_prio(p, "high_prio");
    need(p.i("high_at_us") < p.i("hold_us"),
         "high_at_us must fall inside T_L's section (< hold_us)");
    need(p.i("mid_at_us") >= p.i("high_at_us"), "mid_at_us must not come before high_at_us");
    need(p.i("low_prio") < p.i("mid_prio") && p.i("mid_prio") < p.i("high_prio"),
         "priorities must satisfy low_prio < mid_prio < high_prio");
  };
  d.expect = [](const Params& p, Model m) {
    Expectation e;
    const bool pi = p.s("lock") == "rt_mutex" || exec::model_is_rt(m);
    const int64_t rem = p.ns("hold_us") - p.ns("high_at_us");
    const int64_t mid_at = p.ns("mid_at_us"), high_at = p.ns("high_at_us");
    int64_t b = rem;
    e.analysis.push_back("T_L takes the " + p.s("lock") + " at 0 and holds it for " +
                         fmt_us(p.ns("hold_us")) + "; T_H (prio " +
                         std::to_string(p.i("high_prio")) + ") wants it at " + fmt_us(high_at) +
                         ", when " + fmt_us(rem) + " of the section remain.");
    if (!preemptible(m)) {
      e.analysis.push_back(
          model_name(m) +
          ": T_L's section is kernel code without a preemption point, so T_H runs only "
          "when T_L returns to user, lock released: B = " +
          fmt_us(rem) + ".");
    } else if (pi) {
      e.analysis.push_back(std::string(exec::model_is_rt(m) && p.s("lock") == "mutex"
                                           ? "RT: a mutex is an rt_mutex, "
                                           : "rt_mutex: ") +
                           "T_H preempts T_L, blocks, and lends T_L its priority; T_M (prio " +
                           std::to_string(p.i("mid_prio")) +
                           ") cannot preempt T_L: B = hold - high_at = " + fmt_us(rem) + ".");
    } else if (mid_at < high_at + rem) {
      b = rem + p.ns("mid_us");
      e.analysis.push_back(
          "plain mutex, no priority inheritance: T_M (prio " + std::to_string(p.i("mid_prio")) +
          ") preempts T_L (prio " + std::to_string(p.i("low_prio")) + ") at " + fmt_us(mid_at) +
          " and runs its " + fmt_us(p.ns("mid_us")) + " while T_H waits: B = " + fmt_us(rem) +
          " + " + fmt_us(p.ns("mid_us")) + " = " + fmt_us(b) +
          " (unbounded inversion: B grows "
          "with T_M's work).");
    } else {
      e.analysis.push_back(
          "plain mutex: T_M arrives after T_L released the lock: B = " + fmt_us(rem) + ".");
    }
    e.outcome["high_blocking_us"] = us_value(b);
    return e;
  };
  d.build = [](const Params& p, Model, SimOptions&) {
    System s;
    s.stop_when_done = true;
    s.locks.push_back(LockSpec{
        "resource", p.s("lock") == "rt_mutex" ? exec::LockType::kRtMutex : exec::LockType::kMutex});
    SimTask low;
    low.name = "T_L";
    low.policy = exec::Policy::kFifo;
    low.priority = static_cast<int>(p.i("low_prio"));
    low.iterations = 1;
    low.body = {ops::simple(StepOp::kKernelEnter), ops::lock(0),
                ops::compute(p.ns("hold_us")),     ops::unlock(0),
                ops::simple(StepOp::kKernelExit),  ops::simple(StepOp::kIterEnd)};
    SimTask high;
    high.name = "T_H";
    high.policy = exec::Policy::kFifo;
    high.priority = static_cast<int>(p.i("high_prio"));
    high.start_ns = p.ns("high_at_us");
    high.iterations = 1;
    high.body = {
        ops::simple(StepOp::kKernelEnter), ops::lock(0),   mark(),
        ops::compute(p.ns("high_us")),     ops::unlock(0), ops::simple(StepOp::kKernelExit),
        ops::simple(StepOp::kIterEnd)};
    SimTask mid;
    mid.name = "T_M";
    mid.policy = exec::Policy::kFifo;
    mid.priority = static_cast<int>(p.i("mid_prio"));
    mid.start_ns = p.ns("mid_at_us");
    mid.iterations = 1;
    mid.body = {ops::compute(p.ns("mid_us")), ops::simple(StepOp::kIterEnd)};
    s.tasks = {low, high, mid};
    return s;
  };
  d.measure = [](const Params& p, Model, const SimResult& r) {
    const TaskResult& h = task_named(r, "T_H");
    ordered_json o;
    o["high_blocking_us"] =
        h.marks_ns.empty() ? ordered_json(nullptr) : us_value(h.marks_ns[0] - p.ns("high_at_us"));
    return o;
  };
  d.real = detail::real_pathfinder;
  return d;
}

// --- audio-isr ------------------------------------------------------------------------------

// audio-isr on RT with the IRQ thread below the task: the forced-threaded
// line is ONESHOT (handle_fasteoi_irq() masks it before the primary handler,
// irq_finalize_oneshot() unmasks it after the thread's handler run), so only a
// firing that finds the line unmasked costs a hardirq prologue; one arriving
// while the thread is pending or running is latched (one interrupt delivered
// at the unmask) or merged. The walk follows the one CPU through the
// firings, the releases and the end of each piece of work (prologue above
// the task above the thread; a piece ending at an instant is taken before a
// firing or release at that instant) and returns each job's response.
std::vector<int64_t> oneshot_thread_below_responses(int64_t T, int64_t C, int64_t phase, int64_t Ti,
                                                    int64_t P, int64_t H, int n) {
  std::vector<int64_t> out;
  int64_t t = 0, next_fire = phase, next_release = 0;
  int64_t prologue = 0, audio = 0, job_release = 0, handler = 0;
  int queued = 0, released = 0;
  bool masked = false, latched = false, runthread = false, in_run = false;
  const auto deliver = [&] {
    prologue = P;
    masked = true;
    runthread = true;  // the primary handler sets IRQTF_RUNTHREAD
  };
  const auto start_job = [&] {
    if (audio == 0 && queued > 0) {
      --queued;
      audio = C;
      job_release = static_cast<int64_t>(out.size()) * T;
    }
  };
  while (static_cast<int>(out.size()) < n) {
    // The running piece and when it ends.
    if (prologue == 0 && audio == 0 && !in_run && runthread) {
      runthread = false;  // irq_wait_for_interrupt(); the run serves every firing so far
      in_run = true;
      latched = false;
      handler = H;
    }
    int64_t* piece = prologue > 0 ? &prologue : audio > 0 ? &audio : in_run ? &handler : nullptr;
    const int64_t piece_end = piece != nullptr ? t + *piece : INT64_MAX;
    const int64_t ev = std::min(next_fire, released < n ? next_release : INT64_MAX);
    if (piece_end <= ev) {
      t = piece_end;
      *piece = 0;
      if (piece == &audio) {
        out.push_back(t - job_release);
        start_job();
      } else if (piece == &handler) {
        in_run = false;
        if (!runthread) {
          masked = false;  // irq_finalize_oneshot()
          if (latched) {
            latched = false;
            deliver();
          }
        }
      }
      continue;
    }
    if (piece != nullptr) *piece -= ev - t;
    t = ev;
    if (t == next_fire) {
      next_fire += Ti;
      if (masked) {
        latched = true;
      } else {
        deliver();
      }
    }
    if (released < n && t == next_release) {
      ++released;
      next_release += T;
      ++queued;
      start_job();
    }
  }
  return out;
}

Def audio_isr() {
  Def d;
  d.info.name = "audio-isr";
  d.info.summary =
      "A 1 ms-period audio task computing 700 us against a device interrupting every 250 us with a "
      "100 us handler and a 5 us hard prologue: at interrupt level above the task off RT "
      "(overload), "
      "threaded below it on RT (met).";
  d.info.default_model = Model::kFull;
  d.info.params = {
      pint("period_us", 1000, "the audio task's period (its deadline)"),
      pint("compute_us", 700, "the audio task's work per period"),
      pint("audio_prio", 80, "the audio task's SCHED_FIFO priority"),
      pint("irq_period_us", 250, "the device's period"),
      pint("handler_us", 100, "the device's handler (hardirq off RT, its IRQ thread on RT)"),
      pint("prologue_us", 5, "the hard part every interrupt costs (entry, ack, wake the thread)"),
      pint("irq_phase_us", 0, "the device's first interrupt, from the task's first release"),
      pint("thread_prio", 50, "the IRQ thread's SCHED_FIFO priority (RT)"),
      pint("periods", 20, "jobs simulated"),
  };
  d.info.keys = {"worst_response_us", "deadline_misses", "responses_us"};
  d.validate = [](const Params& p) {
    need_us(p, "period_us", 10);
    need_us(p, "compute_us", 1);
    need_prio(p, "audio_prio");
    need_us(p, "irq_period_us", 10);
    need_us(p, "handler_us", 0);
    need_us(p, "prologue_us", 0);
    need_us(p, "irq_phase_us", 0);
    need_prio(p, "thread_prio");
    need_count(p, "periods", 1000);
    need(p.i("prologue_us") + p.i("handler_us") < p.i("irq_period_us"),
         "prologue_us + handler_us must be below irq_period_us (the device must keep up with "
         "itself)");
    need(p.i("irq_phase_us") < p.i("irq_period_us"), "irq_phase_us must be below irq_period_us");
    need(p.i("thread_prio") != p.i("audio_prio"),
         "thread_prio must differ from audio_prio (equal SCHED_FIFO priorities run in arrival "
         "order, "
         "behind the thread's backlog, which this analysis does not model)");
  };
  d.expect = [](const Params& p, Model m) {
    Expectation e;
    // Forced threading: a plain request_irq() handler runs in its thread on RT only
    // (irq_setup_forced_threading(), kernel/irq/manage.c).
    const bool threaded = exec::model_is_rt(m);
    const bool thread_above = threaded && p.i("thread_prio") > p.i("audio_prio");
    const int64_t T = p.ns("period_us"), C = p.ns("compute_us"), Ti = p.ns("irq_period_us");
    const int64_t cost = p.ns("prologue_us") + (threaded && !thread_above ? 0 : p.ns("handler_us"));
    const std::vector<rta::Source> hp = {{p.ns("irq_phase_us"), Ti, cost}};
    const int n = static_cast<int>(p.i("periods"));
    const std::vector<int64_t> rs =
        threaded && !thread_above
            ? oneshot_thread_below_responses(T, C, p.ns("irq_phase_us"), Ti, p.ns("prologue_us"),
                                             p.ns("handler_us"), n)
            : rta::job_responses(0, T, C, 0, hp, n, 1'000'000'000'000);
    int64_t worst = 0, misses = 0;
    ordered_json list = ordered_json::array();
    for (int64_t r : rs) {
      worst = std::max(worst, r);
      if (r > T) ++misses;
      list.push_back(us_value(r));
    }
    const double per_period = static_cast<double>(T) / static_cast<double>(Ti);
    char buf[256];
    std::snprintf(buf, sizeof(buf), "%.4g", per_period);
    if (!threaded || thread_above) {
      e.analysis.push_back(
          std::string(threaded ? "the IRQ thread (prio " + std::to_string(p.i("thread_prio")) +
                                     ") outranks the task"
                               : model_name(m) +
                                     ": the handler runs at interrupt level, above the task") +
          ": every interrupt costs it " + fmt_us(cost) + " (" + fmt_us(p.ns("prologue_us")) +
          " prologue + " + fmt_us(p.ns("handler_us")) + " handler).");
      e.analysis.push_back(
          "back of the envelope: " + fmt_us(C) + " + " + buf + " x " + fmt_us(p.ns("handler_us")) +
          " of handler = " +
          fmt_us(C + static_cast<int64_t>(per_period * static_cast<double>(p.ns("handler_us")))) +
          " of demand per " + fmt_us(T) + " period; with the prologue " +
          fmt_us(C + static_cast<int64_t>(per_period * static_cast<double>(cost))) + ".");
    } else {
      e.analysis.push_back(
          "RT: the handler is force-threaded (prio " + std::to_string(p.i("thread_prio")) +
          ", below the task's " + std::to_string(p.i("audio_prio")) + "); only the " +
          fmt_us(cost) +
          " hard prologue preempts the task, and only for a firing that finds the line "
          "unmasked: the ONESHOT line stays masked from the hardirq until the thread's handler "
          "run ends (irq_finalize_oneshot()), so while the thread waits behind the job the "
          "device's firings are latched, one delivered at the unmask, and cost the job "
          "nothing.");
    }
    if (threaded && !thread_above) {
      e.analysis.push_back(
          "exact: the CPU walked through the firings, the releases and the ends of the "
          "prologues (above the task), the jobs (a job starts at max(r_k, f_(k-1))) and the "
          "thread's handler runs (below it), the line masked from a delivered firing to the end "
          "of the thread's run; R_0 = " +
          fmt_us(rs.empty() ? 0 : rs[0]) + ".");
    } else {
      e.analysis.push_back(
          "exact: job k released at r_k = k x " + fmt_us(T) +
          " starts at s_k = max(r_k, f_(k-1)) "
          "and finishes at the least f = s_k + C + Q(s_k) + A[s_k, f) (A: interrupt work "
          "arriving, Q: interrupt work pending); R_k = f_k - r_k; R_0 = R = C + ceil(R/" +
          fmt_us(Ti) + ") x " + fmt_us(cost) + " = " + fmt_us(rs.empty() ? 0 : rs[0]) + ".");
    }
    if (misses > 0 && rs.size() > 1 && rs.back() > rs.front()) {
      e.analysis.push_back("overload: the backlog grows, R_k rises from " + fmt_us(rs.front()) +
                           " to " + fmt_us(rs.back()) + " over " + std::to_string(n) + " periods.");
    }
    e.analysis.push_back(
        "a job still running at its next release keeps the CPU and counts as a miss if its "
        "response exceeds the period; the next job starts when it finishes (nothing is "
        "skipped), its response counted from its own release.");
    e.outcome["worst_response_us"] = us_value(worst);
    e.outcome["deadline_misses"] = misses;
    e.outcome["responses_us"] = list;
    return e;
  };
  d.build = [](const Params& p, Model, SimOptions&) {
    System s;
    s.stop_when_done = true;
    SimTask a;
    a.name = "audio";
    a.policy = exec::Policy::kFifo;
    a.priority = static_cast<int>(p.i("audio_prio"));
    a.period_ns = p.ns("period_us");
    a.first_release_ns = 0;
    a.iterations = p.i("periods");
    a.keep_responses = static_cast<int>(p.i("periods"));
    a.body = {ops::simple(StepOp::kWaitPeriod), ops::compute(p.ns("compute_us")),
              ops::simple(StepOp::kIterEnd)};
    s.tasks = {a};
    DeviceSpec dev;
    dev.name = "audio-dev";
    dev.period_ns = p.ns("irq_period_us");
    dev.first_ns = p.ns("irq_phase_us");
    dev.handler_ns = p.ns("handler_us");
    dev.entry_ns = p.ns("prologue_us");
    dev.thread_priority = static_cast<int>(p.i("thread_prio"));
    s.devices = {dev};
    return s;
  };
  d.measure = [](const Params&, Model, const SimResult& r) {
    const TaskResult& a = task_named(r, "audio");
    ordered_json o;
    o["worst_response_us"] = us_value(a.worst_response_ns);
    o["deadline_misses"] = a.deadline_misses;
    ordered_json list = ordered_json::array();
    for (int64_t x : a.responses_ns) list.push_back(us_value(x));
    o["responses_us"] = list;
    return o;
  };
  d.real = detail::real_audio_isr;
  d.real_uncompared = [](const ordered_json& expected) {
    std::vector<std::pair<std::string, std::string>> out;
    if (expected.at("deadline_misses").get<int64_t>() > 0) {
      out.emplace_back("worst_response_us",
                       "in overload the backlog grows by every microsecond an interrupt costs "
                       "beyond prologue_us + handler_us (the host's timer interrupt and signal "
                       "delivery); the miss count is compared");
    }
    return out;
  };
  return d;
}

// --- braking ---------------------------------------------------------------------------------

Def braking() {
  Def d;
  d.info.name = "braking";
  d.info.summary =
      "A 5 ms-deadline brake task against a 3.5 ms kernel section of a lower-priority task: the "
      "whole "
      "section is non-preemptible under NONE/VOLUNTARY (missed), only its 0.05 ms "
      "preempt_disable() "
      "regions under FULL/LAZY/RT (met).";
  d.info.default_model = Model::kVoluntary;
  d.info.params = {
      pint("period_us", 10000, "both tasks' period"),
      pint("deadline_us", 5000, "the brake task's relative deadline"),
      pint("compute_us", 2000, "the brake task's work per period"),
      pint("brake_prio", 90, "the brake task's SCHED_FIFO priority"),
      pint("section_us", 3500, "the background's kernel section (no cond_resched inside)"),
      pint("npr_us", 50,
           "the section's preempt_disable() regions: its longest non-preemptible part"),
      pint("periods", 10, "jobs simulated"),
  };
  d.info.keys = {"worst_response_us", "deadline_misses"};
  d.validate = [](const Params& p) {
    need_us(p, "period_us", 10);
    need_us(p, "deadline_us", 1);
    need_us(p, "compute_us", 1);
    need_prio(p, "brake_prio");
    need_us(p, "section_us", 1);
    need_us(p, "npr_us", 1);
    need_count(p, "periods", 1000);
    need(p.i("deadline_us") <= p.i("period_us"), "deadline_us must not exceed period_us");
    need(p.i("section_us") + p.i("compute_us") < p.i("period_us"),
         "section_us + compute_us must be below period_us (each period starts afresh)");
    need((p.i("section_us") + p.i("npr_us") - 1) / p.i("npr_us") <= 20000,
         "section_us / npr_us must be at most 20000 regions");
  };
  d.expect = [](const Params& p, Model m) {
    Expectation e;
    const int64_t C = p.ns("compute_us"), D = p.ns("deadline_us"), S = p.ns("section_us");
    const int64_t b = preemptible(m) ? std::min(p.ns("npr_us"), S) : S;
    const int64_t r = b + C;
    e.analysis.push_back("the brake task is released just after the background entered its " +
                         fmt_us(S) +
                         " kernel section (the critical instant of blocking), every period.");
    if (preemptible(m)) {
      e.analysis.push_back(model_name(m) +
                           ": the section is preemptible except its preempt_disable() regions; "
                           "the brake waits for the current one: B = " +
                           fmt_us(b) + ".");
    } else {
      e.analysis.push_back(model_name(m) +
                           ": the section has no cond_resched() or might_sleep(), so it is "
                           "non-preemptible until the return to user: B = " +
                           fmt_us(b) + ".");
    }
    e.analysis.push_back("R = B + C = " + fmt_us(b) + " + " + fmt_us(C) + " = " + fmt_us(r) +
                         (r > D ? " > D = " + fmt_us(D) + ": every job misses."
                                : " <= D = " + fmt_us(D) + ": met."));
    e.outcome["worst_response_us"] = us_value(r);
    e.outcome["deadline_misses"] = r > D ? p.i("periods") : 0;
    return e;
  };
  d.build = [](const Params& p, Model, SimOptions&) {
    System s;
    s.stop_when_done = true;
    SimTask bg;
    bg.name = "kernel-section";
    bg.period_ns = p.ns("period_us");
    bg.first_release_ns = 0;
    bg.iterations = p.i("periods");
    bg.body = {ops::simple(StepOp::kWaitPeriod), ops::simple(StepOp::kKernelEnter)};
    for (int64_t done = 0, S = p.ns("section_us"), r = p.ns("npr_us"); done < S; done += r) {
      bg.body.push_back(ops::simple(StepOp::kPreemptOff));
      bg.body.push_back(ops::compute(std::min(r, S - done)));
      bg.body.push_back(ops::simple(StepOp::kPreemptOn));
    }
    bg.body.push_back(ops::simple(StepOp::kKernelExit));
    bg.body.push_back(ops::simple(StepOp::kIterEnd));
    SimTask brake;
    brake.name = "brake";
    brake.policy = exec::Policy::kFifo;
    brake.priority = static_cast<int>(p.i("brake_prio"));
    brake.period_ns = p.ns("period_us");
    brake.deadline_ns = p.ns("deadline_us");
    brake.first_release_ns = 0;
    brake.late_release = true;
    brake.iterations = p.i("periods");
    brake.keep_responses = static_cast<int>(p.i("periods"));
    brake.body = {ops::simple(StepOp::kWaitPeriod), ops::compute(p.ns("compute_us")),
                  ops::simple(StepOp::kIterEnd)};
    s.tasks = {bg, brake};
    return s;
  };
  d.measure = [](const Params&, Model, const SimResult& r) {
    const TaskResult& b = task_named(r, "brake");
    ordered_json o;
    o["worst_response_us"] = us_value(b.worst_response_ns);
    o["deadline_misses"] = b.deadline_misses;
    return o;
  };
  d.real = detail::real_braking;
  return d;
}

// --- nested-locks -------------------------------------------------------------------------------

Def nested_locks() {
  Def d;
  d.info.name = "nested-locks";
  d.info.summary =
      "A reschedule requested while T_L holds two nested spinlocks is deferred at every point "
      "until "
      "preempt_count reaches 0 (spin_unlock of the outer lock); the wrong rule \"preempt at count "
      "<= 1\" "
      "(wrong_rule=true, simulated only) preempts inside the outer lock and breaks its atomicity.";
  d.info.default_model = Model::kFull;
  d.info.params = {
      pstr("lock_type", "spinlock", {"spinlock", "raw_spinlock"}, "both locks' type"),
      pint("outer_before_us", 100, "work under the outer lock A before taking B"),
      pint("inner_us", 200, "work under A and B (preempt_count 2)"),
      pint("outer_after_us", 300, "work under A after releasing B (preempt_count 1)"),
      pint("request_at_us", 150, "T_H's release: the reschedule request"),
      pint("high_us", 50, "T_H's work under A"),
      pbool("wrong_rule", false, "simulate the mutated rule: preempt at preempt_count <= 1"),
  };
  d.info.keys = {"reports", "resched_delay_us"};
  d.validate = [](const Params& p) {
    need_us(p, "outer_before_us", 0);
    need_us(p, "inner_us", 1);
    need_us(p, "outer_after_us", 0);
    need_us(p, "request_at_us", 0);
    need_us(p, "high_us", 1);
    need(p.i("request_at_us") < p.i("outer_before_us") + p.i("inner_us") + p.i("outer_after_us"),
         "request_at_us must fall inside T_L's outer section");
  };
  d.expect = [](const Params& p, Model m) {
    Expectation e;
    const int64_t before = p.ns("outer_before_us"), inner = p.ns("inner_us"),
                  after = p.ns("outer_after_us");
    const int64_t req = p.ns("request_at_us"), total = before + inner + after;
    // spinlock_t adds to the count off RT only (PREEMPT_LOCK_OFFSET, include/linux/preempt.h);
    // raw_spinlock_t always.
    const bool counting = p.s("lock_type") == "raw_spinlock" || !exec::model_is_rt(m);
    const bool wrong = p.b("wrong_rule");
    ordered_json reports = ordered_json::array();
    int64_t delay = 0;
    if (!preemptible(m)) {
      delay = total - req;
      e.analysis.push_back(model_name(m) +
                           ": neither spin_unlock()'s preempt_enable() nor the interrupt's exit "
                           "is a preemption point; T_H runs at T_L's return to user: delay = " +
                           fmt_us(delay) + ".");
    } else if (!counting) {
      delay = 0;
      e.analysis.push_back(
          "RT: spinlock_t is a sleeping lock and leaves preempt_count at 0; T_H preempts at "
          "its release (delay 0) and blocks on A with priority inheritance.");
    } else {
      const int count = (req >= before && req < before + inner) ? 2 : 1;
      e.analysis.push_back("the request at " + fmt_us(req) + " finds preempt_count " +
                           std::to_string(count) + " (A" + (count == 2 ? " and B" : "") +
                           " held).");
      if (!wrong) {
        delay = total - req;
        e.analysis.push_back(
            "every point before spin_unlock(A) defers (count_nonzero); the switch happens when "
            "the count reaches 0: delay = " +
            fmt_us(delay) + "; no report.");
      } else {
        delay = count == 1 ? 0 : before + inner - req;
        e.analysis.push_back(
            std::string("wrong rule: the first point at count 1 switches (") +
            (count == 1 ? "the request's own interrupt exit" : "spin_unlock(B)") +
            "): delay = " + fmt_us(delay) +
            " while T_L still holds A; the scheduler reports "
            "scheduling while atomic, and T_H takes A inside T_L's critical section.");
        reports.push_back(kBugAtomic);
        reports.push_back(kBugAtomicity);
      }
    }
    e.outcome["reports"] = reports;
    e.outcome["resched_delay_us"] = us_value(delay);
    return e;
  };
  d.build = [](const Params& p, Model, SimOptions& o) {
    o.broken_preempt_at_count_one = p.b("wrong_rule");
    System s;
    s.stop_when_done = true;
    const exec::LockType t = p.s("lock_type") == "raw_spinlock" ? exec::LockType::kRawSpinlock
                                                                : exec::LockType::kSpinlock;
    s.locks = {LockSpec{"A", t}, LockSpec{"B", t}};
    SimTask low;
    low.name = "T_L";
    low.policy = exec::Policy::kFifo;
    low.priority = 10;
    low.iterations = 1;
    low.body = {ops::simple(StepOp::kKernelEnter),     ops::lock(0),
                ops::compute(p.ns("outer_before_us")), ops::lock(1),
                ops::compute(p.ns("inner_us")),        ops::unlock(1),
                ops::compute(p.ns("outer_after_us")),  ops::unlock(0),
                ops::simple(StepOp::kKernelExit),      ops::simple(StepOp::kIterEnd)};
    SimTask high;
    high.name = "T_H";
    high.policy = exec::Policy::kFifo;
    high.priority = 90;
    high.start_ns = p.ns("request_at_us");
    high.iterations = 1;
    high.body = {mark(),
                 ops::simple(StepOp::kKernelEnter),
                 ops::lock(0),
                 ops::compute(p.ns("high_us")),
                 ops::unlock(0),
                 ops::simple(StepOp::kKernelExit),
                 ops::simple(StepOp::kIterEnd)};
    s.tasks = {low, high};
    return s;
  };
  d.measure = [](const Params& p, Model, const SimResult& r) {
    const TaskResult& h = task_named(r, "T_H");
    ordered_json o;
    o["reports"] = detail::report_titles(r.reports);
    o["resched_delay_us"] = h.marks_ns.empty() ? ordered_json(nullptr)
                                               : us_value(h.marks_ns[0] - p.ns("request_at_us"));
    return o;
  };
  d.real = detail::real_nested_locks;
  return d;
}

// --- reentrancy
// ------------------------------------------------------------------------------------

Def reentrancy() {
  Def d;
  d.info.name = "reentrancy";
  d.info.summary =
      "A kernel helper that updates a static accumulator (load, work, store) called by two tasks: "
      "under "
      "a preemptible model the high-priority call lands inside the low one and its update is lost; "
      "none "
      "with preempt_disable() or with the per-CPU copy under get_cpu()/put_cpu().";
  d.info.default_model = Model::kFull;
  d.info.params = {
      pstr("protect", "none", {"none", "preempt_disable", "percpu"},
           "how the helper protects its accumulator"),
      pint("period_us", 1000, "both tasks' period"),
      pint("low_us", 200, "the low task's read-modify-write (work between load and store)"),
      pint("high_us", 50, "the high task's read-modify-write"),
      pint("high_at_us", 100, "the high task's release, after the low task's"),
      pint("periods", 20, "periods simulated"),
  };
  d.info.keys = {"lost_updates"};
  d.validate = [](const Params& p) {
    need_us(p, "period_us", 10);
    need_us(p, "low_us", 1);
    need_us(p, "high_us", 1);
    need_us(p, "high_at_us", 0);
    need_count(p, "periods", 10000);
    need(p.i("high_at_us") + p.i("low_us") + p.i("high_us") <= p.i("period_us"),
         "high_at_us + low_us + high_us must fit in period_us (each period starts afresh)");
  };
  d.expect = [](const Params& p, Model m) {
    Expectation e;
    const std::string prot = p.s("protect");
    const int64_t at = p.ns("high_at_us"), w = p.ns("low_us");
    const bool inside = at > 0 && at < w;
    int64_t lost = 0;
    e.analysis.push_back("each period the low task loads the accumulator at its release, works " +
                         fmt_us(w) + " and stores; the high task is released " + fmt_us(at) +
                         " later" + (inside ? ", inside that window." : ", outside that window."));
    if (prot != "none") {
      e.analysis.push_back(
          prot +
          ": preemption is off from load to store (get_cpu() is preempt_disable()), so "
          "the high task runs after the store: no update lost.");
    } else if (!preemptible(m)) {
      e.analysis.push_back(
          model_name(m) + ": kernel code is not preempted between load and store: no update lost.");
    } else if (!inside) {
      e.analysis.push_back(
          "the high task's release does not fall between load and store: no update lost.");
    } else {
      lost = p.i("periods");
      e.analysis.push_back(
          model_name(m) +
          ": the high task preempts at its release, loads the same value and "
          "stores it + 1; the low task then stores its stale + 1 over it: one update lost per "
          "period, " +
          std::to_string(lost) + " in all.");
    }
    e.outcome["lost_updates"] = lost;
    return e;
  };
  d.build = [](const Params& p, Model, SimOptions&) {
    System s;
    s.stop_when_done = true;
    const std::string prot = p.s("protect");
    s.vars = {VarSpec{"accumulator", prot == "percpu"}};
    auto body = [&](int64_t work) {
      std::vector<Step> b = {ops::simple(StepOp::kWaitPeriod), ops::simple(StepOp::kKernelEnter)};
      if (prot == "preempt_disable") b.push_back(ops::simple(StepOp::kPreemptOff));
      if (prot == "percpu") b.push_back(ops::simple(StepOp::kGetCpu));
      b.push_back(ops::load(0));
      b.push_back(ops::compute(work));
      b.push_back(ops::store(0));
      if (prot == "preempt_disable") b.push_back(ops::simple(StepOp::kPreemptOn));
      if (prot == "percpu") b.push_back(ops::simple(StepOp::kPutCpu));
      b.push_back(ops::simple(StepOp::kKernelExit));
      b.push_back(ops::simple(StepOp::kIterEnd));
      return b;
    };
    SimTask low;
    low.name = "low";
    low.policy = exec::Policy::kFifo;
    low.priority = 10;
    low.period_ns = p.ns("period_us");
    low.first_release_ns = 0;
    low.iterations = p.i("periods");
    low.body = body(p.ns("low_us"));
    SimTask high = low;
    high.name = "high";
    high.priority = 90;
    high.first_release_ns = p.ns("high_at_us");
    high.body = body(p.ns("high_us"));
    s.tasks = {low, high};
    return s;
  };
  d.measure = [](const Params&, Model, const SimResult& r) {
    ordered_json o;
    o["lost_updates"] = r.vars.at(0).lost;
    return o;
  };
  d.real = detail::real_reentrancy;
  return d;
}

// --- percpu-irq
// --------------------------------------------------------------------------------------

Def percpu_irq() {
  Def d;
  d.info.name = "percpu-irq";
  d.info.summary =
      "A task updates its CPU's slot of a per-CPU counter that the local interrupt handler also "
      "increments: get_cpu()/put_cpu() keeps other tasks out but not the handler (updates lost); "
      "local_irq_save() keeps the handler out.";
  d.info.default_model = Model::kFull;
  d.info.params = {
      pstr("protect", "get_cpu", {"get_cpu", "irq_save"},
           "the task's protection around load..store"),
      pint("period_us", 1000, "the task's and the device's period"),
      pint("window_us", 200, "the task's work between load and store"),
      pint("irq_at_us", 100, "the device's interrupt, after the task's release"),
      pint("handler_us", 20, "the handler's work (it increments the slot)"),
      pint("task_prio", 10, "the task's SCHED_FIFO priority"),
      pstr("threading", "never", {"never", "forced"},
           "never: IRQF_NO_THREAD (hardirq in every model); forced: threaded on RT"),
      pint("periods", 20, "periods simulated"),
  };
  d.info.keys = {"lost_updates"};
  d.real = detail::real_percpu_irq;
  d.validate = [](const Params& p) {
    need_us(p, "period_us", 10);
    need_us(p, "window_us", 1);
    need_us(p, "irq_at_us", 0);
    need_us(p, "handler_us", 1);
    need_prio(p, "task_prio");
    need_count(p, "periods", 10000);
    need(p.i("irq_at_us") + p.i("handler_us") + p.i("window_us") <= p.i("period_us"),
         "irq_at_us + handler_us + window_us must fit in period_us");
  };
  d.expect = [](const Params& p, Model m) {
    Expectation e;
    const bool hard = p.s("threading") == "never" || !exec::model_is_rt(m);
    const int64_t at = p.ns("irq_at_us"), w = p.ns("window_us");
    const bool inside = at > 0 && at < w;
    int64_t lost = 0;
    e.analysis.push_back(
        "the interrupt comes " + fmt_us(at) + " after the task loaded its slot" +
        (inside ? ", before it stores (window " + fmt_us(w) + ")." : ", outside its window."));
    if (p.s("protect") == "irq_save") {
      e.analysis.push_back(
          "local_irq_save(): the interrupt waits until local_irq_restore(), after the store: "
          "no update lost.");
    } else if (!hard) {
      e.analysis.push_back(
          "RT, forced threading: the handler runs in its thread, which get_cpu()'s "
          "preempt_disable() keeps out until put_cpu(): no update lost.");
    } else if (!inside) {
      e.analysis.push_back("the interrupt does not fall between load and store: no update lost.");
    } else {
      lost = p.i("periods");
      e.analysis.push_back(
          "get_cpu() disables preemption, not interrupts: the handler increments the slot "
          "between the task's load and store, and the task's store overwrites it: one update "
          "lost per period, " +
          std::to_string(lost) + " in all.");
    }
    e.outcome["lost_updates"] = lost;
    return e;
  };
  d.build = [](const Params& p, Model, SimOptions&) {
    System s;
    s.stop_when_done = true;
    s.vars = {VarSpec{"counter", true}};
    const bool irq = p.s("protect") == "irq_save";
    SimTask t;
    t.name = "task";
    t.policy = exec::Policy::kFifo;
    t.priority = static_cast<int>(p.i("task_prio"));
    t.period_ns = p.ns("period_us");
    t.first_release_ns = 0;
    t.iterations = p.i("periods");
    t.body = {ops::simple(StepOp::kWaitPeriod),
              ops::simple(StepOp::kKernelEnter),
              ops::simple(irq ? StepOp::kIrqSave : StepOp::kGetCpu),
              ops::load(0),
              ops::compute(p.ns("window_us")),
              ops::store(0),
              ops::simple(irq ? StepOp::kIrqRestore : StepOp::kPutCpu),
              ops::simple(StepOp::kKernelExit),
              ops::simple(StepOp::kIterEnd)};
    s.tasks = {t};
    DeviceSpec dev;
    dev.name = "dev";
    dev.period_ns = p.ns("period_us");
    dev.first_ns = p.ns("irq_at_us");
    dev.handler_ns = p.ns("handler_us");
    dev.entry_ns = 0;
    dev.flags = p.s("threading") == "never" ? exec::kIrqfNoThread : 0;
    dev.var = 0;
    s.devices = {dev};
    return s;
  };
  d.measure = [](const Params&, Model, const SimResult& r) {
    ordered_json o;
    o["lost_updates"] = r.vars.at(0).lost;
    return o;
  };
  return d;
}

// --- sleep-in-atomic
// ----------------------------------------------------------------------------------

Def sleep_in_atomic() {
  Def d;
  d.info.name = "sleep-in-atomic";
  d.info.summary =
      "A blocking call (msleep) under a lock or with BH off: schedule() reports scheduling while "
      "atomic under a spinning lock or BH off (off RT), RCU warns of a voluntary switch under a "
      "held RT spinlock_t or RT's BH-off section (rcu_read_lock), nothing under a mutex.";
  d.info.default_model = Model::kFull;
  d.info.params = {
      pstr("lock_type", "spinlock", {"spinlock", "raw_spinlock", "mutex", "bh"},
           "the lock held across the sleep (bh: a local_bh_disable() section)"),
      pint("hold_us", 100, "work under the lock before the sleep"),
      pint("sleep_us", 1000, "the sleep"),
  };
  d.info.keys = {"reports"};
  d.validate = [](const Params& p) {
    need_us(p, "hold_us", 0);
    need_us(p, "sleep_us", 1);
  };
  d.expect = [](const Params& p, Model m) {
    Expectation e;
    const std::string lt = p.s("lock_type");
    ordered_json reports = ordered_json::array();
    // msleep() -> schedule_timeout() calls schedule() with no might_sleep()
    // on the way (kernel/time/timer.c): the reports are schedule()'s.
    e.analysis.push_back(
        "msleep() reaches schedule() without might_sleep(): schedule_timeout() has none.");
    if (lt == "mutex") {
      e.analysis.push_back(
          "a mutex holder may sleep: preempt_count 0, no RCU read-side section; no report.");
    } else {
      // raw_spinlock_t always adds to preempt_count, spinlock_t and BH off
      // only off RT; on RT a held spinlock_t and a BH-off section hold
      // rcu_read_lock() instead (rt_spin_lock(), __local_bh_disable_ip()).
      const bool counted = lt == "raw_spinlock" || !exec::model_is_rt(m);
      const std::string what = lt == "bh" ? "local_bh_disable()" : lt;
      e.analysis.push_back(counted ? what + " raises preempt_count under " + model_name(m) + "."
                                   : "RT: " + what +
                                         " leaves preempt_count at 0 but holds rcu_read_lock().");
      if (counted) {
        reports.push_back(kBugAtomic);
        e.analysis.push_back(std::string("schedule_debug() with the count raised reports: ") +
                             kBugAtomic + ".");
      } else {
        reports.push_back(kWarnRcuSwitch);
        e.analysis.push_back(std::string("rcu_note_context_switch() warns: ") + kWarnRcuSwitch);
      }
    }
    e.outcome["reports"] = reports;
    return e;
  };
  d.build = [](const Params& p, Model, SimOptions&) {
    System s;
    s.stop_when_done = true;
    const std::string lt = p.s("lock_type");
    s.locks = {LockSpec{"lock", lt == "mutex"          ? exec::LockType::kMutex
                                : lt == "raw_spinlock" ? exec::LockType::kRawSpinlock
                                                       : exec::LockType::kSpinlock}};
    SimTask t;
    t.name = "sleeper";
    t.iterations = 1;
    const bool bh = lt == "bh";
    t.body = {ops::simple(StepOp::kKernelEnter),
              bh ? ops::simple(StepOp::kBhOff) : ops::lock(0),
              ops::compute(p.ns("hold_us")),
              ops::sleep(p.ns("sleep_us")),
              bh ? ops::simple(StepOp::kBhOn) : ops::unlock(0),
              ops::simple(StepOp::kKernelExit),
              ops::simple(StepOp::kIterEnd)};
    s.tasks = {t};
    return s;
  };
  d.measure = [](const Params&, Model, const SimResult& r) {
    ordered_json o;
    o["reports"] = detail::report_titles(r.reports);
    return o;
  };
  d.real = detail::real_sleep_in_atomic;
  return d;
}

const std::vector<Def>& defs() {
  static const std::vector<Def> kDefs = {pathfinder(),     audio_isr(),  braking(),
                                         nested_locks(),   reentrancy(), percpu_irq(),
                                         sleep_in_atomic()};
  return kDefs;
}

const Def& def_of(std::string_view name) {
  for (const Def& d : defs()) {
    if (d.info.name == name) return d;
  }
  std::string names;
  for (const Def& d : defs()) names += (names.empty() ? "" : ", ") + d.info.name;
  bad("unknown scenario '" + std::string(name) + "' (scenarios: " + names + ")");
}

std::string param_names(const Def& d) {
  std::string s;
  for (const ScenarioParam& p : d.info.params) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

Params params_of(const Def& d, const std::vector<std::string>& sets) {
  Params p;
  for (const ScenarioParam& sp : d.info.params) p.j[sp.name] = sp.value;
  for (const std::string& kv : sets) {
    const size_t eq = kv.find('=');
    need(eq != std::string::npos && eq > 0, "--set expects key=value, got '" + kv + "'");
    const std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
    auto it = std::find_if(d.info.params.begin(), d.info.params.end(),
                           [&](const ScenarioParam& sp) { return sp.name == key; });
    need(it != d.info.params.end(), "scenario " + d.info.name + " has no parameter '" + key +
                                        "' (parameters: " + param_names(d) + ")");
    if (it->value.is_boolean()) {
      need(val == "true" || val == "false", key + ": expected true or false, got '" + val + "'");
      p.j[key] = val == "true";
    } else if (it->value.is_number_integer()) {
      int64_t v = 0;
      const char* b = val.data();
      const char* e = val.data() + val.size();
      const auto r = std::from_chars(b, e, v);
      need(!val.empty() && r.ec == std::errc() && r.ptr == e,
           key + ": expected an integer, got '" + val + "'");
      p.j[key] = v;
    } else {
      std::string choices;
      for (const std::string& c : it->choices) choices += (choices.empty() ? "" : ", ") + c;
      need(std::find(it->choices.begin(), it->choices.end(), val) != it->choices.end(),
           key + ": expected one of " + choices + ", got '" + val + "'");
      p.j[key] = val;
    }
  }
  d.validate(p);
  return p;
}

bool time_key(const std::string& k) {
  return k.size() > 3 && k.compare(k.size() - 3, 3, "_us") == 0;
}

}  // namespace

std::string_view to_string(Clock c) noexcept { return c == Clock::kReal ? "real" : "simulated"; }

std::optional<Clock> parse_clock(std::string_view s) noexcept {
  if (s == "real") return Clock::kReal;
  if (s == "simulated") return Clock::kSimulated;
  return std::nullopt;
}

const std::vector<ScenarioInfo>& scenario_list() {
  static const std::vector<ScenarioInfo> kList = [] {
    std::vector<ScenarioInfo> v;
    for (const Def& d : defs()) v.push_back(d.info);
    return v;
  }();
  return kList;
}

const ScenarioInfo* find_scenario(std::string_view name) {
  for (const ScenarioInfo& i : scenario_list()) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

bool outcomes_match(const ordered_json& expected, const ordered_json& measured, Clock clock,
                    const std::vector<std::string>& uncompared) {
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    const std::string& k = it.key();
    if (!measured.contains(k)) return false;
    if (std::find(uncompared.begin(), uncompared.end(), k) != uncompared.end()) continue;
    const ordered_json& e = it.value();
    const ordered_json& m = measured.at(k);
    if (clock == Clock::kSimulated) {
      if (e != m) return false;
      continue;
    }
    if (k == "responses_us") continue;
    if (time_key(k) && e.is_number() && m.is_number()) {
      const double ev = e.get<double>(), mv = m.get<double>();
      if (std::abs(mv - ev) > std::max(500.0, 0.2 * std::abs(ev))) return false;
      continue;
    }
    if (e != m) return false;
  }
  return true;
}

ScenarioResult expect_scenario(std::string_view name, std::optional<Model> model,
                               const std::vector<std::string>& sets) {
  const Def& d = def_of(name);
  const Params p = params_of(d, sets);
  const Model m = model.value_or(d.info.default_model);
  ScenarioResult r;
  r.scenario = d.info.name;
  r.model = model_name(m);
  r.params = p.j;
  Expectation e = d.expect(p, m);
  r.expected = std::move(e.outcome);
  r.analysis = std::move(e.analysis);
  return r;
}

ScenarioResult run_scenario(std::string_view name, std::optional<Model> model, Clock clock,
                            const std::vector<std::string>& sets, const ScenarioOptions& opt) {
  const Def& d = def_of(name);
  const Params p = params_of(d, sets);
  const Model m = model.value_or(d.info.default_model);
  ScenarioResult r = expect_scenario(name, model, sets);
  r.clock = std::string(to_string(clock));
  if (clock == Clock::kSimulated) {
    SimOptions o = scenario_options();
    o.seed = opt.seed;
    const System sys = d.build(p, m, o);
    const SimResult sr = simulate(sys, m, o);
    r.measured = d.measure(p, m, sr);
    for (const sim::DeviceResult& q : sr.devices) {
      r.devices.push_back({q.name, q.threaded, q.fired, q.delivered, q.coalesced, q.handled,
                           q.worst_fire_to_handled_ns});
    }
    r.notes.push_back(
        "simulated: " + std::to_string(sr.events) + " events, " + fmt_us(sr.end_ns) +
        " of virtual time; context switches, interrupt entry and IPIs cost 0" +
        (d.info.name == "audio-isr" ? " (each device interrupt costs prologue_us)" : ""));
    if (o.broken_preempt_at_count_one) {
      r.notes.push_back(
          "wrong_rule: the engine overrides decide()'s count_nonzero at preempt_count 1 "
          "(policy.h is unchanged)");
    }
  } else {
    detail::RealOut out;
    r.measured = d.real(p, m, &out);
    r.notes.insert(r.notes.end(), out.notes.begin(), out.notes.end());
    r.devices = std::move(out.devices);
  }
  if (clock == Clock::kReal && d.real_uncompared) {
    for (const auto& [key, why] : d.real_uncompared(r.expected)) {
      r.uncompared.push_back(key);
      r.notes.push_back("real: " + key + " not compared: " + why);
    }
  }
  r.pass = outcomes_match(r.expected, r.measured, clock, r.uncompared);
  return r;
}

ordered_json to_json(const ScenarioResult& r) {
  ordered_json j;
  j["format"] = kScenarioFormat;
  j["scenario"] = r.scenario;
  j["model"] = r.model;
  j["clock"] = r.clock;
  j["params"] = r.params;
  j["expected"] = r.expected;
  j["measured"] = r.measured;
  j["pass"] = r.pass;
  if (!r.uncompared.empty()) j["uncompared"] = r.uncompared;
  j["analysis"] = r.analysis;
  j["notes"] = r.notes;
  if (!r.devices.empty()) {
    ordered_json devs = ordered_json::array();
    for (const ScenarioDevice& q : r.devices) {
      devs.push_back({{"name", q.name},
                      {"threaded", q.threaded},
                      {"fired", q.fired},
                      {"delivered", q.delivered},
                      {"coalesced", q.coalesced},
                      {"handled", q.handled},
                      {"worst_fire_to_handled_us", us_value(q.worst_fire_to_handled_ns)}});
    }
    j["devices"] = std::move(devs);
  }
  return j;
}

namespace {
std::string cell(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    if (v.empty()) return "(none)";
    std::string s;
    size_t i = 0;
    for (const auto& x : v) {
      if (i == 8 && v.size() > 10) {
        s += " ... " + cell(v.back());
        break;
      }
      s += (i ? (x.is_string() ? "; " : " ") : "") + cell(x);
      ++i;
    }
    return s;
  }
  return v.dump();
}
}  // namespace

std::string to_text(const ScenarioResult& r) {
  std::ostringstream o;
  const ScenarioInfo* info = find_scenario(r.scenario);
  o << "scenario " << r.scenario << ": model " << r.model << ", clock " << r.clock << "\n";
  if (info != nullptr) o << info->summary << "\n";
  o << "params:";
  for (auto it = r.params.begin(); it != r.params.end(); ++it) {
    o << " " << it.key() << "="
      << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  o << "\n\n";
  size_t kw = 3, ew = 8;
  for (auto it = r.expected.begin(); it != r.expected.end(); ++it) {
    kw = std::max(kw, it.key().size());
    ew = std::max(ew, std::min<size_t>(cell(it.value()).size(), 60));
  }
  char line[512];
  std::snprintf(line, sizeof(line), "  %-*s  %-*s  %s\n", static_cast<int>(kw), "key",
                static_cast<int>(ew), "expected", "measured");
  o << line;
  const Clock clock = r.clock == "real" ? Clock::kReal : Clock::kSimulated;
  for (auto it = r.expected.begin(); it != r.expected.end(); ++it) {
    const ordered_json m =
        r.measured.contains(it.key()) ? r.measured.at(it.key()) : ordered_json(nullptr);
    ordered_json e1, m1;
    e1[it.key()] = it.value();
    m1[it.key()] = m;
    const bool ok = outcomes_match(e1, m1, clock, r.uncompared);
    const bool skipped =
        std::find(r.uncompared.begin(), r.uncompared.end(), it.key()) != r.uncompared.end();
    std::snprintf(line, sizeof(line), "  %-*s  %-*s  %s%s\n", static_cast<int>(kw),
                  it.key().c_str(), static_cast<int>(ew), cell(it.value()).c_str(), cell(m).c_str(),
                  skipped ? "   (not compared)"
                  : ok    ? ""
                          : "   << differs");
    o << line;
  }
  if (!r.devices.empty()) {
    o << "\ndevices:\n";
    std::snprintf(line, sizeof(line), "  %-16s %-8s %9s %9s %9s %9s  %s\n", "device", "handler",
                  "fired", "delivered", "coalesced", "handled", "worst fire->handled");
    o << line;
    for (const ScenarioDevice& q : r.devices) {
      std::snprintf(
          line, sizeof(line), "  %-16s %-8s %9llu %9llu %9llu %9llu  %s%s\n", q.name.c_str(),
          q.threaded ? "thread" : "hardirq", static_cast<unsigned long long>(q.fired),
          static_cast<unsigned long long>(q.delivered),
          static_cast<unsigned long long>(q.coalesced), static_cast<unsigned long long>(q.handled),
          fmt_us(q.worst_fire_to_handled_ns).c_str(),
          q.threaded && q.coalesced > 0 ? "   << behind: the masked line coalesced" : "");
      o << line;
    }
  }
  o << "\nanalysis:\n";
  for (const std::string& a : r.analysis) o << "  " << a << "\n";
  for (const std::string& n : r.notes) o << "note: " << n << "\n";
  o << (r.pass ? "PASS: measured matches the expectation\n"
               : "FAIL: measured differs from the expectation\n");
  return o.str();
}

}  // namespace pb::scenarios
