// For the executive's mechanism tests, which run on two kinds of emulation
// besides native runs:
//
// - qemu-user (a cross build's test run, PB_EMULATOR set): qemu emulates
//   signals and futexes itself, delivering signals at translated-block
//   boundaries, and threads run many times slower, so the order in which
//   emulated interrupts, wakeups and dispatches happen is not a real CPU's:
//   these tests skip there (PB_SKIP_UNDER_EMULATOR).
// - A system emulator (PB_SYSTEM_EMULATOR set, by scripts/test-arm64-system's
//   guest: Debian's arm64 kernel under qemu-system-aarch64 with TCG). The
//   kernel is real (its signals, futexes, timers), so the tests run; but
//   every instruction is translated, about 10-30x slower than the host,
//   while clocks keep real time. Tests whose time constants (periods,
//   compute bursts, slices, budgets, run bounds) assume a native CPU
//   multiply them by time_scale(), which is 1 natively: their assertions
//   (orders, counts, relations) are the same. A test that cannot hold even
//   so skips there with the reason (PB_SKIP_UNDER_SYSTEM_EMULATOR).
#pragma once

#include <cstdint>
#include <cstdlib>

#include <gtest/gtest.h>

#include "pb/sys.h"

namespace pb::testing {

// The emulator named by PB_SYSTEM_EMULATOR ("qemu-tcg"), or nullptr natively.
inline const char* system_emulator() noexcept {
  const char* e = std::getenv("PB_SYSTEM_EMULATOR");
  return e != nullptr && *e != '\0' ? e : nullptr;
}

// Factor for a test's time constants: 1 natively, 10 under a system
// emulator (instruction emulation makes each emulated interrupt, dispatch
// and system call ~10-30x dearer; stretching time by 10 keeps their share
// of the CPU near a native run's).
inline int64_t time_scale() noexcept { return system_emulator() != nullptr ? 10 : 1; }

}  // namespace pb::testing

#define PB_SKIP_UNDER_EMULATOR()                                                         \
  do {                                                                                   \
    const char* pb_emu_ = std::getenv("PB_EMULATOR");                                    \
    if (pb_emu_ != nullptr && *pb_emu_ != '\0')                                          \
      GTEST_SKIP() << "executive mechanism under qemu-user: signal delivery and thread " \
                      "timing are not a real CPU's (runs in the native test run)";       \
  } while (0)

// Skips under a system emulator (see above), saying why the test's timing
// cannot hold there; `why` is streamed after the emulator's name.
#define PB_SKIP_UNDER_SYSTEM_EMULATOR(why)                                        \
  do {                                                                            \
    if (const char* pb_sys_emu_ = ::pb::testing::system_emulator())               \
      GTEST_SKIP() << "under the system emulator " << pb_sys_emu_ << ": " << why; \
  } while (0)

// For end-to-end runs of the executive at host SCHED_FIFO (what `run` and
// `validate` measure): skips under qemu-user, and without RT priority.
#define PB_SKIP_WITHOUT_RT()                                                             \
  do {                                                                                   \
    PB_SKIP_UNDER_EMULATOR();                                                            \
    if (pb::sys::can_use_fifo(90) != 1)                                                  \
      GTEST_SKIP() << "SCHED_FIFO priority 90 is not available to this process: the "    \
                      "executive would run at SCHED_OTHER, not what this test measures"; \
  } while (0)
