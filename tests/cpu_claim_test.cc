// Contention detection (pb/cpu_claim.h): our measuring tools' per-CPU lock
// files, and the scan for other processes' real-time threads. The CLI cases
// are refused before anything is measured, so this binary does not take
// the machine-wide measuring lock; its locks live in a private directory
// (PB_CPU_LOCK_DIR), so it never meets a measurement running beside it.
#include "pb/cpu_claim.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/executive/executive.h"
#include "tool_runner.h"

namespace {

using pb::testing::run_tool;
using pb::testing::temp_path;

class CpuClaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_path("cpu_locks");
    std::filesystem::create_directories(dir_);
    ::setenv("PB_CPU_LOCK_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("PB_CPU_LOCK_DIR");
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(CpuClaimTest, LockPathFollowsTheEnvironment) {
  EXPECT_EQ(pb::cpu_lock_path(3), dir_ + "/preemptbench-cpu3.lock");
}

TEST_F(CpuClaimTest, SecondClaimNamesTheHolder) {
  pb::ClaimResult first = pb::claim_cpus({1, 2}, "first tool");
  ASSERT_TRUE(first.error.empty()) << first.error;
  EXPECT_TRUE(first.busy.empty());
  EXPECT_EQ(first.claim.cpus(), (std::vector<int>{1, 2}));
  // flock() locks belong to the open file: a second open, even in this
  // process, finds them held.
  pb::ClaimResult second = pb::claim_cpus({2, 3}, "second tool");
  ASSERT_EQ(second.busy.size(), 1u);
  EXPECT_EQ(second.busy[0], "host CPU 2 (pid " + std::to_string(::getpid()) + ": first tool)");
  EXPECT_EQ(second.claim.cpus(), (std::vector<int>{3}));
  // Released with the claim.
  first = pb::ClaimResult{};
  pb::ClaimResult third = pb::claim_cpus({1, 2}, "third tool");
  EXPECT_TRUE(third.busy.empty());
}

TEST(RtScan, ParsesStatLines) {
  // A comm with spaces and parentheses; flags 4194560, rt_priority 80, policy 1.
  const std::string line =
      "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 -81 0 1 0 12345 "
      "1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 80 1 0 0 0 0 0 0 0 0 0 0 0\n";
  const auto s = pb::parse_task_stat(line);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->comm, "my (odd) name");
  EXPECT_EQ(s->flags, 4194560u);
  EXPECT_EQ(s->rt_priority, 80);
  EXPECT_EQ(s->policy, 1);
  EXPECT_FALSE(pb::parse_task_stat("garbage").has_value());
  EXPECT_FALSE(pb::parse_task_stat("1 (x) S 1 2 3").has_value());
}

// A sleeping SCHED_FIFO 1 child pinned to CPU 0 (the system's CPU: it never
// runs, so it takes nothing from anyone) is found; we are not.
TEST(RtScan, FindsAnotherProcessesFifoThread) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    const sched_param sp{.sched_priority = 1};
    const char ok = ::sched_setaffinity(0, sizeof set, &set) == 0 &&
                            ::sched_setscheduler(0, SCHED_FIFO, &sp) == 0
                        ? 'y'
                        : 'n';
    [[maybe_unused]] const ssize_t n = ::write(ready[1], &ok, 1);
    ::pause();
    _exit(0);
  }
  char ok = 'n';
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  const auto found = pb::rt_competitors(0, ::getpid());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (ok != 'y') GTEST_SKIP() << "SCHED_FIFO is not available to this process";
  bool seen = false;
  for (const auto& t : found) {
    EXPECT_NE(t.pid, ::getpid());
    if (t.pid == child) {
      seen = true;
      EXPECT_EQ(t.policy, "fifo");
      EXPECT_EQ(t.priority, 1);
    }
  }
  EXPECT_TRUE(seen) << pb::describe(found);
}

// `preemptbench run` (real clock) and pb-cyclictest refuse a CPU another
// measurement holds, with exit 2, before measuring.
TEST_F(CpuClaimTest, ToolsRefuseAHeldCpu) {
  const pb::exec::CpuPlan plan = pb::exec::plan_host_cpus(1, false);
  if (!plan.error.empty() || plan.vcpu_cpus.empty()) GTEST_SKIP() << "no CPU for a vCPU here";
  const int cpu = plan.vcpu_cpus[0];
  const pb::ClaimResult held = pb::claim_cpus({cpu}, "the other measurement");
  ASSERT_TRUE(held.busy.empty());
  const std::string out = temp_path("claim_out");
  const auto r =
      run_tool("preemptbench", {"run", "--models", "none", "--workload", "kernel-path", "--loads",
                                "1", "--duration", "0.05", "--no-plots", "--out", out});
  std::filesystem::remove_all(out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("host CPU " + std::to_string(cpu) + " (pid " + std::to_string(::getpid()) +
                       ": the other measurement) is held by another "
                       "measurement"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--allow-shared-cpu"), std::string::npos) << r.err;

  const auto c =
      run_tool("pb-cyclictest", {"-t1", "-a", std::to_string(cpu), "-i", "1000", "-l", "10", "-q"});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_NE(c.err.find("is held by another measurement"), std::string::npos) << c.err;
}

// validate and scenario measure on the real clock too: they refuse a held
// CPU the same way, before measuring.
TEST_F(CpuClaimTest, ValidateAndScenarioRefuseAHeldCpu) {
  const pb::exec::CpuPlan plan = pb::exec::plan_host_cpus(1, false);
  if (!plan.error.empty() || plan.vcpu_cpus.empty()) GTEST_SKIP() << "no CPU for a vCPU here";
  const int cpu = plan.vcpu_cpus[0];
  const pb::ClaimResult held = pb::claim_cpus({cpu}, "the other measurement");
  ASSERT_TRUE(held.busy.empty());
  const std::string holder = "host CPU " + std::to_string(cpu) + " (pid " +
                             std::to_string(::getpid()) +
                             ": the other measurement) is held by another measurement";
  const auto v = run_tool("preemptbench", {"validate", "--clock", "real", "--models", "none",
                                           "--sections", "100", "--duration", "0.05"});
  EXPECT_EQ(v.exit_code, 2) << v.err;
  EXPECT_NE(v.err.find(holder), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("--allow-shared-cpu"), std::string::npos) << v.err;
  EXPECT_EQ(v.out.find("| none"), std::string::npos) << "measured anyway:\n" << v.out;

  const auto s = run_tool("preemptbench", {"scenario", "pathfinder", "--clock", "real"});
  EXPECT_EQ(s.exit_code, 2) << s.err;
  EXPECT_NE(s.err.find(holder), std::string::npos) << s.err;
  // A misspelt name is told as such, not as a busy CPU.
  const auto u = run_tool("preemptbench", {"scenario", "pathfindr", "--clock", "real"});
  EXPECT_EQ(u.exit_code, 2) << u.err;
  EXPECT_NE(u.err.find("unknown scenario 'pathfindr'"), std::string::npos) << u.err;
}

}  // namespace
