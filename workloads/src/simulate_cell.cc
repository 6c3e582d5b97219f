// simulate_cell(): a cell's plan (plan_cell()) as a simulated System, run in
// virtual time, and the SimResult assembled as run_cell() assembles the
// executive's RunResult.
#include <exception>
#include <string>

#include "cell_internal.h"
#include "pb/workloads/cell.h"

namespace pb::wl {
namespace {

constexpr int64_t kNsPerUs = 1000;

using sim::Step;
using sim::StepOp;
namespace ops = sim::ops;

// The labels run_cell() gives windows opened by a path (run_cell.cc kSites).
const char* lock_where(LockType k, bool irqsave) {
  switch (k) {
    case LockType::kRawSpinlock:
      return irqsave ? "raw_spin_lock_irqsave (a workload's path)"
                     : "raw_spin_lock (a workload's path)";
    case LockType::kSpinlock:
      return irqsave ? "spin_lock_irqsave (a workload's path)" : "spin_lock (a workload's path)";
    case LockType::kMutex:
      return "mutex_lock (a workload's path)";
    case LockType::kRtMutex:
      return "rt_mutex_lock (a workload's path)";
  }
  return "lock (a workload's path)";
}

// A compiled kernel path (program.h) as steps, one for each instruction that
// run_cell()'s interpreter executes. io has no device model: skipped.
void append_program(const detail::Program& program, std::vector<Step>& out) {
  using detail::Op;
  for (const detail::Instr& in : program.code) {
    switch (in.op) {
      case Op::kCompute:
        out.push_back(ops::compute(in.ns, in.cond_resched_ns, in.might_sleep_ns));
        break;
      case Op::kCondResched:
        out.push_back(ops::simple(StepOp::kCondResched));
        break;
      case Op::kMightSleep:
        out.push_back(ops::simple(StepOp::kMightSleep));
        break;
      case Op::kMightResched:
        out.push_back(ops::simple(StepOp::kMightResched));
        break;
      case Op::kSleep:
        out.push_back(ops::sleep(in.ns));
        break;
      case Op::kSend:
        out.push_back(ops::send(in.index, in.count));
        break;
      case Op::kRecv:
        out.push_back(ops::recv(in.index));
        break;
      case Op::kIo:
        break;
      case Op::kLock: {
        Step s = ops::lock(in.index, in.irqsave);
        s.where = lock_where(in.kind, in.irqsave);
        out.push_back(s);
        break;
      }
      case Op::kUnlock:
        out.push_back(ops::unlock(in.index, in.irqsave));
        break;
      case Op::kPreemptOff: {
        Step s = ops::simple(StepOp::kPreemptOff);
        s.where = "preempt_disable (a workload's path)";
        out.push_back(s);
        break;
      }
      case Op::kPreemptOn:
        out.push_back(ops::simple(StepOp::kPreemptOn));
        break;
      case Op::kIrqSave: {
        Step s = ops::simple(StepOp::kIrqSave);
        s.where = "local_irq_save (a workload's path)";
        out.push_back(s);
        break;
      }
      case Op::kIrqRestore:
        out.push_back(ops::simple(StepOp::kIrqRestore));
        break;
      case Op::kBhOff: {
        Step s = ops::simple(StepOp::kBhOff);
        s.where = "local_bh_disable (a workload's path)";
        out.push_back(s);
        break;
      }
      case Op::kBhOn:
        out.push_back(ops::simple(StepOp::kBhOn));
        break;
    }
  }
}

sim::System system_of(const Workload& w, const CellPlan& plan) {
  sim::System sys;
  for (const LockDesc& l : w.locks) sys.locks.push_back(sim::LockSpec{l.name, l.kind});
  sys.channels = w.channels;
  for (const PlannedTask& p : plan.tasks) {
    sim::SimTask s{.name = p.name,
                   .policy = p.desc->sched,
                   .priority = p.desc->priority,
                   .nice = p.desc->nice,
                   .vcpu = p.vcpu,
                   .period_ns = p.period_ns,
                   .phase_ns = p.phase_ns,
                   .deadline_ns = p.deadline_ns,
                   .measure = p.desc->measure};
    if (p.period_ns > 0) s.body.push_back(ops::simple(StepOp::kWaitPeriod));
    if (p.user_ns > 0) s.body.push_back(ops::compute(p.user_ns));
    if (!p.desc->path.empty()) {
      s.body.push_back(ops::simple(StepOp::kKernelEnter));
      append_program(plan.programs[p.entry], s.body);
      s.body.push_back(ops::simple(StepOp::kKernelExit));
    }
    s.body.push_back(ops::simple(StepOp::kIterEnd));
    if (p.think_mean_ns > 0) s.body.push_back(ops::think(p.think_mean_ns));
    sys.tasks.push_back(std::move(s));
  }
  for (const PlannedIrq& q : plan.irqs) {
    sys.devices.push_back({.name = q.name,
                           .vcpu = q.vcpu,
                           .period_ns = q.period_ns,
                           .handler_ns = q.handler_ns,
                           .softirq_ns = q.softirq_ns,
                           .flags = q.flags,
                           .thread_priority = q.thread_priority});
  }
  return sys;
}

}  // namespace

sim::SimOptions sim_options_from(const RunOptions& ro) {
  sim::SimOptions o;
  o.duration_ns = ro.duration_ns;
  o.vcpus = ro.vcpus;
  o.hz = ro.hz;
  o.seed = ro.seed;
  o.round = ro.round;
  o.base_slice_ns = ro.base_slice_ns;
  o.interrupt = ro.interrupt;
  return o;
}

CellResult simulate_cell(const Workload& w, exec::Model model, double load,
                         const sim::SimOptions& opt) {
  CellResult res = cell_identity(w, model, load, opt.round, "simulated");
  sim::SimResult r;
  CellPlan plan;
  try {
    plan = plan_cell(w, load, opt.vcpus, opt.seed, opt.duration_ns);
    if (!plan.error.empty()) return failed_cell(res, plan.error);
    r = sim::simulate(system_of(w, plan), model, opt);
  } catch (const std::exception& e) {
    return failed_cell(res, std::string("simulation: ") + e.what());
  }
  res.host_fifo = false;

  // The plan's tasks come first in r.tasks, in plan order.
  CellFigures f;
  f.duration_ns = r.end_ns;
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const sim::TaskResult& tr = r.tasks[i];
    f.tasks.push_back({tr.iterations, tr.work_ns, tr.sends, tr.recvs, tr.deadline_misses,
                       tr.periods, tr.overruns, tr.latency.get(), tr.model_delay.get(),
                       tr.runtime_ns, tr.wait_ns, tr.dispatches, tr.preempted_at});
  }
  for (const sim::VcpuResult& v : r.vcpus) {
    detail::add_vcpu_figures(
        v, [](const std::string& where) { return where; }, f.vcpus);
  }
  for (const sim::LockResult& l : r.locks) {
    f.locks.push_back({l.name, l.acquisitions, l.contentions, l.pi_boosts, l.max_wait_ns});
  }
  for (const sim::DeviceResult& d : r.devices)
    f.irqs.push_back({d.name, d.fired, d.handled, d.coalesced, d.delivered,
                      d.worst_fire_to_handled_ns, d.threaded});
  assemble_cell(plan, opt.vcpus, f, res);
  // The clock's own notes first, then what assemble_cell() found.
  std::vector<std::string> found = std::move(res.notes);
  res.notes.clear();

  res.notes.push_back("simulated clock: ctx_switch " + std::to_string(opt.ctx_switch_ns) +
                      " ns, irq entry " + std::to_string(opt.irq_entry_ns) + " ns, ipi " +
                      std::to_string(opt.ipi_ns) + " ns, seed " + std::to_string(opt.seed) + "; " +
                      std::to_string(r.events) + " events");
  if (plan.has_io) {
    res.notes.push_back("io segments skipped: the simulated clock has no I/O device model");
  }
  if (!plan.folded_note.empty()) res.notes.push_back(plan.folded_note);
  res.notes.insert(res.notes.end(), found.begin(), found.end());
  if (r.interrupted) res.notes.push_back("interrupted: partial cell");
  return res;
}

}  // namespace pb::wl
