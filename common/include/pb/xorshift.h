// The suite's one pseudo-random generator, xorshift64* (Vigna, "An
// experimental exploration of Marsaglia's xorshift generators, scrambled").
// It draws only load's pacing jitter, on the executive and in the simulator
// alike, so that one --seed gives both clocks the same sequence per task.
// Allocation-free and lock-free: usable on real-time paths.
#pragma once

#include <cstdint>

namespace pb {

class Xorshift64Star {
 public:
  // Seed 0 would stay 0 forever: it is replaced by a fixed odd constant.
  explicit Xorshift64Star(uint64_t seed = 1) noexcept
      : s_(seed == 0 ? 0x9e3779b97f4a7c15ull : seed) {}

  uint64_t next() noexcept {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545f4914f6cdd1dull;
  }
  // Uniform in [0, 1), from the top 53 bits.
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_;
};

// The seed of a run's task number `index` (0-based, in creation order) for
// the run's `seed`: distinct streams per task, the same on both clocks.
constexpr uint64_t task_seed(uint64_t seed, uint64_t index) noexcept {
  return seed * 0x9e3779b97f4a7c15ull + (index + 1) * 0xbf58476d1ce4e5b9ull;
}

}  // namespace pb
