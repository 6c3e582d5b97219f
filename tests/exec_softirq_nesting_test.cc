// A hardirq that arrives while softirqs run at an outer interrupt's exit
// returns to that softirq: kernel code with SOFTIRQ_OFFSET held, whatever
// mode the interrupted task was in. Its exit is therefore an
// irq-exit-to-kernel point that defers (count non-zero), never a return to
// user that switches from inside the softirq (the executive got this wrong
// for a task in user mode; the simulator did not).
#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"

namespace {

using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Policy;
using pb::exec::Reason;
using pb::exec::TaskApi;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kUs = 1'000;

TEST(ExecSoftirqNesting, HardirqInInlineSoftirqOfAUserTaskReturnsToKernel) {
  PB_SKIP_UNDER_EMULATOR();
  Config c;
  c.model = Model::kFull;
  c.hz = 1000;
  Executive ex(c);
  // 1.5 ms of softirq work every 3 ms, run inline at the device's irq exit
  // (FULL, not threaded): the 1 ms tick and the RT task's hrtimer land in it.
  ex.add_irq(
      {.name = "dev", .period_ns = 3 * kMs, .handler_ns = 10 * kUs, .softirq_ns = 1500 * kUs});
  ex.add_task({.name = "rt",
               .policy = Policy::kFifo,
               .priority = 80,
               .period_ns = kMs,
               .body = [](TaskApi& api) {
                 for (int i = 0; i < 150 && api.wait_next_period(); ++i) {
                 }
                 api.request_stop();
               }});
  ex.add_task({.name = "user", .body = [](TaskApi& api) {
                 while (api.running()) api.compute(50 * kUs);  // user mode throughout
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(2'000 * kMs);
  const auto& v = ex.result().vcpus[0];
  ASSERT_GT(v.softirq_at_irq_exit, 10u);
  // "user" never enters the kernel, and "rt" blocks in wait_next_period()
  // (kernel mode, count 0): an irq exit to kernel with a non-zero count is a
  // hardirq nested in a softirq, and there must be some.
  const auto to_kernel = v.decisions[static_cast<size_t>(Point::kIrqExitToKernel)];
  EXPECT_GT(to_kernel[static_cast<size_t>(Reason::kCountNonZero)], 0u);
  EXPECT_EQ(v.schedule_while_atomic_bugs, 0u);
}

}  // namespace
