// Workload descriptions: what runs on the emulated kernel, as data. One
// description drives both clocks, the executive in real time and the
// simulator (cell.h), so it holds nothing only real threads could execute: task
// classes and priorities, kernel paths made of segments (busy work,
// preemption points, lock sections, IRQ/preemption/BH-off sections, sleeps,
// messages, I/O), user-mode work between system calls, device interrupts.
// The file format (JSON, "preemptbench.workload/1") is documented in
// workloads/README.md; this header is its typed form. Times are in
// microseconds, as in the file, so a description round-trips exactly.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pb/executive/policy.h"

namespace pb::wl {

// A malformed description or --set: the message names the file, the key path
// (or line) and what was expected. The CLI maps it to exit code 2.
class WorkloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The format tag a description may carry ("format") and to_json_text() writes.
inline constexpr const char* kWorkloadFormat = "preemptbench.workload/1";

// --- limits (a description outside them is rejected, never clamped) ---------------
inline constexpr int64_t kMaxTimeUs = 10'000'000;  // any duration field: 10 s
inline constexpr int kMaxNesting = 8;              // nested sections in one path
inline constexpr int kMaxSegments = 256;           // segments in one path, nested ones included
inline constexpr int kMaxTaskEntries = 64;         // entries of "tasks"
inline constexpr int kMaxInstances = 128;          // tasks after expanding "count"
inline constexpr int kMaxCount = 64;               // "count" of one entry
inline constexpr int kMaxLocks = 64;
inline constexpr int kMaxChannels = 64;
inline constexpr int kMaxIrqs = 16;
inline constexpr int kMaxParams = 64;
inline constexpr int kMaxVcpuIndex = 63;
inline constexpr int64_t kMaxIrqRateHz = 100'000;
inline constexpr int64_t kMaxIoBytes = 1 << 20;

// A task's "class" ("fair" | "fifo" | "rr") is the executive's scheduling
// policy, exec::Policy; a lock's "type" is the kernel lock type it is,
// exec::LockType (what it does per model is the policy's, policy.h).
using exec::LockType;
using exec::Policy;

enum class SegmentKind : uint8_t {
  kCompute,     // {"compute_us": N, "cond_resched_us": M, "might_sleep_us": K}
  kPoint,       // {"point": "cond_resched" | "might_sleep" | "might_resched"}
  kLock,        // {"lock": "NAME", "irqsave": B, "path": [...]}
  kPreemptOff,  // {"preempt_off": [...]}
  kIrqsOff,     // {"irqs_off": [...]}   local_irq_save()/restore()
  kBhOff,       // {"bh_off": [...]}     local_bh_disable()/enable()
  kSleep,       // {"sleep_us": N}       sleeps in the kernel (an hrtimer wakes it)
  kSend,        // {"send": "CHANNEL", "count": N}  complete() N times
  kRecv,        // {"recv": "CHANNEL"}   wait_for_completion()
  kIo,          // {"io": "nop" | "read" | "write", "bytes": N}  one I/O, waited for
};

enum class PointKind : uint8_t { kCondResched, kMightSleep, kMightResched };
enum class IoOp : uint8_t { kNop, kRead, kWrite };

// One step of a kernel path. Which fields apply depends on `kind` (see
// SegmentKind); the others keep their defaults.
struct Segment {
  SegmentKind kind = SegmentKind::kCompute;
  int64_t us = 0;  // kCompute: busy work (> 0); kSleep: the sleep (> 0)
  int64_t cond_resched_us =
      0;                       // kCompute: at most this much work between cond_resched()s (0: none)
  int64_t might_sleep_us = 0;  // kCompute: the same for might_sleep() (0: none)
  PointKind point = PointKind::kCondResched;  // kPoint
  std::string target;         // kLock: a lock's name; kSend, kRecv: a channel's name
  bool irqsave = false;       // kLock: the _irqsave variant (spinning lock types only)
  int count = 1;              // kSend: completions posted
  IoOp io = IoOp::kNop;       // kIo
  int64_t bytes = 0;          // kIo: read/write size (0 for nop)
  std::vector<Segment> path;  // kLock, kPreemptOff, kIrqsOff, kBhOff: the section's body

  bool operator==(const Segment&) const = default;
};

// One entry of "tasks": `count` identical instances (named NAME, or NAME-0,
// NAME-1, ... when count > 1). An instance loops over: [wait for the next
// release: the period if periodic, the load's pacing for continuous
// background tasks at load < 1 (README: "Load")] user-mode work of
// `user_us`, then the kernel path (one emulated system call: kernel entry,
// the segments, return to user).
struct TaskDesc {
  std::string name;
  Policy sched = Policy::kFair;
  int priority = 0;         // 1..99 for kFifo and kRr; 0 for kFair
  int vcpu = 0;             // folded onto the run's vCPUs (index modulo their number)
  int nice = 0;             // kFair: -20..19 (sched_prio_to_weight[]); 0 for kFifo and kRr
  int count = 1;            // 0 disables the entry (e.g. from a parameter)
  int64_t period_us = 0;    // 0: continuous; else released every period (wait_next_period())
  int64_t deadline_us = 0;  // periodic: relative deadline, 0 = the period
  int64_t phase_us = 0;     // periodic: first release at start + phase + period
  // A measuring task (periodic only): its wakeup latency is the cell's result;
  // load does not apply to it and its work is not throughput.
  bool measure = false;
  int64_t user_us = 0;        // user-mode work per iteration
  std::vector<Segment> path;  // the kernel path; empty: no system call

  bool operator==(const TaskDesc&) const = default;
};

struct LockDesc {
  std::string name;
  LockType kind = LockType::kSpinlock;
  bool operator==(const LockDesc&) const = default;
};

// Where a device's handler runs: "forced" (in its IRQ thread when the model
// force-threads interrupts, i.e. RT; else in the hardirq), "always" (a
// requested thread_fn: in the thread in every model), "never" (IRQF_NO_THREAD).
enum class IrqThreading : uint8_t { kForced, kAlways, kNever };

// A device interrupt firing `rate_hz` times a second on its vCPU (scaled by
// load, README: "Load"), running `handler_us` of handler work and raising
// `softirq_us` of softirq work each time.
struct IrqDesc {
  std::string name;
  int vcpu = 0;
  int64_t rate_hz = 0;
  int64_t handler_us = 0;
  int64_t softirq_us = 0;
  IrqThreading threading = IrqThreading::kForced;
  int thread_priority = 50;  // the IRQ thread's SCHED_FIFO priority when threaded
  bool operator==(const IrqDesc&) const = default;
};

// A declared parameter: its name and its value as canonical JSON text (the
// default, or the --set value): "500", "true", "\"mutex\"".
struct Param {
  std::string name;
  std::string json;
  bool operator==(const Param&) const = default;
};

// Where a parameter was referenced ("${name}"): the JSON pointer of the value
// in the description ("/tasks/1/path/0/compute_us") and the parameter. Kept
// so that to_json_text() writes the reference back and --set keeps working on
// a description that went through it.
struct ParamRef {
  std::string pointer;
  std::string param;
  bool operator==(const ParamRef&) const = default;
};

struct Workload {
  std::string name;
  std::string description;
  std::vector<Param> params;   // in declaration order, with the values applied
  std::vector<ParamRef> refs;  // in document order
  std::vector<LockDesc> locks;
  std::vector<std::string> channels;
  std::vector<IrqDesc> irqs;
  std::vector<TaskDesc> tasks;  // values with every reference resolved

  bool operator==(const Workload&) const = default;
};

// Built-in descriptions shipped in the binary, in a stable order.
std::vector<std::string> builtin_names();
// What `preemptbench run` runs with no --workload.
std::vector<std::string> default_suite();
// NAME (a built-in) or FILE (a path: contains '/' or ends in ".json"), with
// `sets` ("key=value", the workload's parameters) applied. Throws
// WorkloadError.
Workload load_workload(const std::string& name_or_file, const std::vector<std::string>& sets);
// The canonical JSON text of a description (round-trips through load).
std::string to_json_text(const Workload& w);

// Parses description text; `origin` names it in error messages (a file name,
// "builtin:NAME"). Throws WorkloadError. load_workload() is this plus finding
// the text.
Workload parse_workload(const std::string& text, const std::string& origin,
                        const std::vector<std::string>& sets);
// The JSON text of built-in NAME as shipped, or "" when there is none.
std::string builtin_text(const std::string& name);

// Names for reports and the file format.
const char* to_string(Policy s) noexcept;
const char* to_string(LockType k) noexcept;
const char* to_string(PointKind p) noexcept;
const char* to_string(IoOp op) noexcept;
const char* to_string(IrqThreading t) noexcept;
// "fifo:90", "rr:10" or "fair".
std::string sched_label(const TaskDesc& t);
// The instance names of `t`: NAME, or NAME-0 .. NAME-(count-1).
std::string instance_name(const TaskDesc& t, int index);
// Busy work of one iteration of `t` as written: user_us plus every compute_us
// of its path (sleeps, waits and I/O excluded). Load's pacing is based on it.
int64_t nominal_busy_us(const TaskDesc& t);

}  // namespace pb::wl
