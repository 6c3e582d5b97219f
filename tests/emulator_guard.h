// For the executive's mechanism tests. Under qemu-user (a cross build's test
// run, PB_EMULATOR set) signals are delivered at translated-block boundaries
// and threads run many times slower, so the order in which emulated
// interrupts, wakeups and dispatches happen is not a real CPU's: these tests
// skip there, with this reason. They run in the native test runs.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

#define PB_SKIP_UNDER_EMULATOR()                                                          \
  do {                                                                                    \
    const char* pb_emu_ = std::getenv("PB_EMULATOR");                                     \
    if (pb_emu_ != nullptr && *pb_emu_ != '\0')                                           \
      GTEST_SKIP() << "executive mechanism under qemu-user: signal delivery and thread " \
                      "timing are not a real CPU's (runs in the native test run)";       \
  } while (0)
