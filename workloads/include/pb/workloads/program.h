// A kernel path compiled for interpretation on a real-time path: the segment
// tree flattened into one instruction array whose sections are explicit
// begin/end pairs, with lock and channel names resolved to indices and times
// in ns. Built by plan_cell() before the run (it allocates); interpreted by
// the executive's task bodies without allocating (run_cell.cc), and turned
// step for step into the simulator's task bodies (simulate_cell.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "pb/workloads/workload.h"

namespace pb::wl::detail {

enum class Op : uint8_t {
  kCompute,  // ns of busy work, with cond_resched/might_sleep every n ns
  kCondResched,
  kMightSleep,
  kMightResched,
  kLock,    // index: the lock; kind, irqsave
  kUnlock,  // closes the innermost kLock
  kPreemptOff,
  kPreemptOn,
  kIrqSave,
  kIrqRestore,
  kBhOff,
  kBhOn,
  kSleep,  // ns
  kSend,   // index: the channel; count
  kRecv,   // index: the channel
  kIo,     // io, bytes
};

struct Instr {
  Op op = Op::kCompute;
  LockType kind = LockType::kSpinlock;  // kLock, kUnlock
  bool irqsave = false;                 // kLock, kUnlock
  IoOp io = IoOp::kNop;                 // kIo
  int index = -1;                       // kLock/kUnlock: lock; kSend/kRecv: channel
  int count = 1;                        // kSend
  int64_t ns = 0;                       // kCompute, kSleep
  int64_t cond_resched_ns = 0;          // kCompute (0: none)
  int64_t might_sleep_ns = 0;           // kCompute (0: none)
  int64_t bytes = 0;                    // kIo
};

struct Program {
  std::vector<Instr> code;
  int64_t compute_ns = 0;  // sum of kCompute ns
  int max_open = 0;        // deepest nesting of open sections (<= kMaxNesting)
  int64_t max_io_bytes = 0;
  bool has_io = false;
};

// REQUIRES: `path` belongs to `w` and passed parse_workload()'s checks (lock
// and channel names declared, nesting bounded).
Program compile(const std::vector<Segment>& path, const Workload& w);

}  // namespace pb::wl::detail
