// Internal to the cells (run_cell.cc, simulate_cell.cc).
//
// add_vcpu_figures(): one list of the per-vCPU counters a cell reports, read
// from either clock's per-vCPU type. A counter the type lacks is skipped at
// compile time (the simulator has no lockdep, no host stalls, no signal
// forwarding), so each clock reports what it measures and nothing it does
// not.
#pragma once

#include <cstdint>
#include <string>

#include "pb/executive/executive.h"
#include "pb/workloads/cell.h"

namespace pb::wl::detail {

#define PB_CELL_COUNT(field)                                                  \
  if constexpr (requires { v.field; }) {                                      \
    out.counters[#field] += static_cast<uint64_t>(v.field > 0 ? v.field : 0); \
  }

// `where(v.preemptoff_where)` turns a clock's window location into text.
template <typename V, typename Where>
void add_vcpu_figures(const V& v, Where&& where, VcpuFigures& out) {
  PB_CELL_COUNT(dispatches)
  PB_CELL_COUNT(ctx_voluntary)
  PB_CELL_COUNT(ctx_involuntary)
  PB_CELL_COUNT(idle_exits)
  PB_CELL_COUNT(irq_timer)
  PB_CELL_COUNT(irq_ipi)
  PB_CELL_COUNT(irq_spurious)
  PB_CELL_COUNT(irq_masked)
  PB_CELL_COUNT(irq_replayed)
  PB_CELL_COUNT(irq_forwarded)
  if constexpr (requires { v.direct_fallbacks; }) {
    // Only runs with direct wakeups have them (exec::Config::direct_wakeup).
    uint64_t fallbacks = 0;
    for (uint64_t n : v.direct_fallbacks) fallbacks += n;
    if (v.direct_preemptions + fallbacks != 0) {
      out.counters["direct_preemptions"] += v.direct_preemptions;
      out.counters["direct_idle_claims"] += v.direct_idle_claims;
      for (size_t i = 0; i < v.direct_fallbacks.size(); ++i) {
        out.counters[std::string("direct_fallback_") +
                     std::string(exec::to_string(static_cast<exec::DirectFallback>(i)))] +=
            v.direct_fallbacks[i];
      }
    }
  }
  PB_CELL_COUNT(timer_syscalls)
  PB_CELL_COUNT(irq_device)
  PB_CELL_COUNT(irq_thread_wakeups)
  PB_CELL_COUNT(softirq_raised)
  PB_CELL_COUNT(softirq_at_irq_exit)
  PB_CELL_COUNT(softirq_at_bh_enable)
  PB_CELL_COUNT(softirq_in_ksoftirqd)
  PB_CELL_COUNT(softirq_deferred)
  PB_CELL_COUNT(softirq_rounds)
  PB_CELL_COUNT(softirq_bounded)
  PB_CELL_COUNT(ksoftirqd_wakeups)
  PB_CELL_COUNT(softirq_ns)
  PB_CELL_COUNT(ticks)
  PB_CELL_COUNT(ticks_missed)
  PB_CELL_COUNT(hrtimers_expired)
  PB_CELL_COUNT(lazy_promotions)
  PB_CELL_COUNT(rr_expiries)
  PB_CELL_COUNT(fair_slice_expiries)
  PB_CELL_COUNT(ipis_sent)
  PB_CELL_COUNT(ipis_received)
  PB_CELL_COUNT(ipis_coalesced)
  PB_CELL_COUNT(wakeups_local)
  PB_CELL_COUNT(wakeups_remote)
  PB_CELL_COUNT(might_sleep_bugs)
  PB_CELL_COUNT(schedule_while_atomic_bugs)
  PB_CELL_COUNT(rcu_voluntary_switch_warnings)
  PB_CELL_COUNT(preempt_leaks)
  PB_CELL_COUNT(lockdep_cycles)
  PB_CELL_COUNT(lockdep_inconsistent)
  PB_CELL_COUNT(lockdep_held_at_exit)
  PB_CELL_COUNT(lock_contentions)
  PB_CELL_COUNT(pi_boosts)
  PB_CELL_COUNT(user_ns)
  PB_CELL_COUNT(kernel_ns)
  PB_CELL_COUNT(irq_ns)
  PB_CELL_COUNT(idle_ns)
  PB_CELL_COUNT(host_stolen_ns)
  PB_CELL_COUNT(host_stall_ns)
  PB_CELL_COUNT(host_stall_windows)
  PB_CELL_COUNT(rt_busy_ns)
  Windows& w = out.windows;
  if (v.preemptoff_max_ns > w.preemptoff_max_ns) {
    w.preemptoff_max_ns = v.preemptoff_max_ns;
    w.preemptoff_where = where(v.preemptoff_where);
  }
  if (v.irqsoff_max_ns > w.irqsoff_max_ns) {
    w.irqsoff_max_ns = v.irqsoff_max_ns;
    w.irqsoff_where = where(v.irqsoff_where);
  }
  out.irq_ns.push_back(v.irq_ns);
  out.ctx_voluntary += v.ctx_voluntary;
  out.ctx_involuntary += v.ctx_involuntary;
  for (size_t p = 0; p < exec::kNumPoints; ++p) out.preemptions[p] += v.preemptions[p];
}

#undef PB_CELL_COUNT

}  // namespace pb::wl::detail
