// The cycle counter: the cheapest monotonic tick count each architecture
// offers, for micro-benchmarks and fine-grained accounting; and cpu_relax(),
// the spin-wait hint. The suite's one #if ladder over architectures, each
// branch says why; every other file stays architecture-neutral.
//
// Contract: ticks() is monotonic on one CPU and cheap (a few ns); its rate is
// not nanoseconds. Use pb::sys::now_ns() for anything reported to users, and
// ticks_per_second() to convert.
#pragma once

#include <time.h>

#include <cstdint>

namespace pb::cycleclock {

inline uint64_t ticks() noexcept {
#if defined(__x86_64__)
  // rdtsc: invariant TSC on every x86-64 CPU this suite targets; not
  // serialising, which is what a cost measurement of short code wants.
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
#elif defined(__aarch64__)
  // cntvct_el0: the virtual generic-timer count, readable from EL0 on Linux
  // (and under qemu-user); frequency in cntfrq_el0.
  uint64_t v;
  __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
  return v;
#else
  // Generic fallback: nanoseconds from the vDSO clock.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
#endif
}

// Name of the counter ticks() reads, for reports.
inline const char* source() noexcept {
#if defined(__x86_64__)
  return "rdtsc";
#elif defined(__aarch64__)
  return "cntvct_el0";
#else
  return "clock_gettime(CLOCK_MONOTONIC_RAW)";
#endif
}

// Ticks per second: on aarch64 cntfrq_el0 (the counter's frequency as
// firmware set it), elsewhere calibrated once (about 20 ms on first call)
// against CLOCK_MONOTONIC. Thread-safe; not for real-time paths on first use.
double ticks_per_second() noexcept;

}  // namespace pb::cycleclock

namespace pb {

// The body of a spin-wait loop (the kernel's cpu_relax()): tells the CPU the
// loop is waiting, so a sibling hyperthread gets the core and the loop exit
// is not mispredicted. Async-signal-safe; no ordering implied.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();  // PAUSE
#elif defined(__aarch64__)
  __asm__ volatile("yield");  // YIELD, as arm64's cpu_relax()
#endif
}

}  // namespace pb
