#include "pb/cycleclock.h"

#include <atomic>

#include "pb/sys.h"

namespace pb::cycleclock {

double ticks_per_second() noexcept {
#if defined(__aarch64__)
  uint64_t freq;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
  return static_cast<double>(freq);
#else
  static std::atomic<double> cached{0.0};
  double v = cached.load(std::memory_order_relaxed);
  if (v > 0) return v;
  const int64_t t0 = sys::now_ns();
  const uint64_t c0 = ticks();
  sys::sleep_until_ns(t0 + 20'000'000);
  const int64_t t1 = sys::now_ns();
  const uint64_t c1 = ticks();
  v = static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(t1 - t0);
  cached.store(v, std::memory_order_relaxed);
  return v;
#endif
}

}  // namespace pb::cycleclock
