// For the executive's mechanism tests. Under qemu-user (a cross build's test
// run, PB_EMULATOR set) signals are delivered at translated-block boundaries
// and threads run many times slower, so the order in which emulated
// interrupts, wakeups and dispatches happen is not a real CPU's: these tests
// skip there, with this reason. They run in the native test runs.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

#include "pb/sys.h"

#define PB_SKIP_UNDER_EMULATOR()                                                          \
  do {                                                                                    \
    const char* pb_emu_ = std::getenv("PB_EMULATOR");                                     \
    if (pb_emu_ != nullptr && *pb_emu_ != '\0')                                           \
      GTEST_SKIP() << "executive mechanism under qemu-user: signal delivery and thread " \
                      "timing are not a real CPU's (runs in the native test run)";       \
  } while (0)

// For end-to-end runs of the executive at host SCHED_FIFO (what `run` and
// `validate` measure): skips under qemu-user, and without RT priority.
#define PB_SKIP_WITHOUT_RT()                                                           \
  do {                                                                                 \
    PB_SKIP_UNDER_EMULATOR();                                                          \
    if (pb::sys::can_use_fifo(90) != 1)                                                \
      GTEST_SKIP() << "SCHED_FIFO priority 90 is not available to this process: the "  \
                      "executive would run at SCHED_OTHER, not what this test measures"; \
  } while (0)
