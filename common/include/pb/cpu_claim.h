// Who else measures on a host CPU. Two measurements on one CPU disturb each
// other (two concurrent `preemptbench run`s were seen to report p99 of
// 4-45 ms instead of 50-140 us, both exiting 0), so:
// - our own measuring tools (preemptbench run on the real clock,
//   pb-cyclictest) hold an advisory lock file per host CPU they measure on
//   while they measure (claim_cpus()): a second one finds it held and
//   refuses, naming the holder, unless told to share;
// - anything else that could compete at real-time priority — a thread of
//   another process with SCHED_FIFO or SCHED_RR allowed to run on the CPU —
//   is found by scanning /proc/*/task/*/stat (rt_competitors()) and reported.
//
// The lock files are /tmp/preemptbench-cpu<N>.lock (PB_CPU_LOCK_DIR
// overrides the directory). They are taken with flock(LOCK_EX | LOCK_NB):
// never waited for, so they cannot deadlock with anything, including the
// test suite's machine-wide measuring lock (tests/measuring_cpu_lock.cc),
// which orders whole test binaries and is a different file.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb {

// The lock file of host CPU `cpu` ($PB_CPU_LOCK_DIR or /tmp).
std::string cpu_lock_path(int cpu);

// Holds the locks of some host CPUs; releases them when destroyed (or when
// the process ends, however it ends).
class CpuClaim {
 public:
  CpuClaim() = default;
  ~CpuClaim();
  CpuClaim(CpuClaim&& other) noexcept;
  CpuClaim& operator=(CpuClaim&& other) noexcept;
  CpuClaim(const CpuClaim&) = delete;
  CpuClaim& operator=(const CpuClaim&) = delete;

  const std::vector<int>& cpus() const noexcept { return cpus_; }

 private:
  friend struct CpuClaimAccess;
  std::vector<int> fds_;
  std::vector<int> cpus_;
};

struct ClaimResult {
  // The CPUs locked (all of them when `busy` is empty).
  CpuClaim claim;
  // Per CPU another process holds: "host CPU 1 (pid 123: preemptbench run ...)".
  std::vector<std::string> busy;
  // A lock file that could not be opened (then nothing is held).
  std::string error;
};

// Locks every CPU of `cpus` for `who` (written into the lock file, with our
// pid, so that a refused tool can name the holder). A CPU another process
// holds is listed in `busy` and not held; the others are held either way.
ClaimResult claim_cpus(const std::vector<int>& cpus, std::string_view who);

// A thread of another process that may compete with a measurement on a CPU
// at real-time priority.
struct RtThread {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string comm;    // the thread's name
  std::string policy;  // "fifo" or "rr"
  int priority = 0;
};

// Parsed fields of /proc/PID/task/TID/stat: comm, flags, rt_priority and
// policy; nullopt when the text is not a stat line.
struct TaskStat {
  std::string comm;
  unsigned long flags = 0;
  int rt_priority = 0;
  int policy = 0;
};
std::optional<TaskStat> parse_task_stat(std::string_view text);

// User-space threads of other processes (not `self`, not kernel threads,
// whose per-CPU SCHED_FIFO helpers are always there) running SCHED_FIFO or
// SCHED_RR with `cpu` in their affinity. Threads that vanish while scanned
// are skipped.
std::vector<RtThread> rt_competitors(int cpu, pid_t self);

// "pid 123 (cyclictest, thread 125) fifo:95, ..." (at most `max` listed).
std::string describe(const std::vector<RtThread>& threads, size_t max = 4);

}  // namespace pb
