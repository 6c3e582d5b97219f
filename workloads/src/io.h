// Real I/O for the "io" segments: one io_uring per task instance that issues
// I/O, on one scratch file shared by the run. Set up before the run
// (allocates, may fail: io_uring_queue_init returns -ENOSYS under qemu-user
// and in some containers), used by one task's thread during the run without
// allocating or taking libc locks (submission and completion are a system
// call and shared-memory reads), drained and torn down after it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pb/workloads/workload.h"

namespace pb::exec {
class TaskApi;
}

namespace pb::wl::detail {

// The run's scratch file: a temporary file (unlinked) in $TMPDIR or /tmp, or
// a memfd when no directory is writable.
class ScratchFile {
 public:
  ScratchFile() = default;
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Creates and fills it. 0 or -errno; `where` says what it is.
  int open(int64_t size, std::string* where);
  int fd() const noexcept { return fd_; }
  int64_t size() const noexcept { return size_; }

 private:
  int fd_ = -1;
  int64_t size_ = 0;
};

// Probes io_uring: 0, or -errno from io_uring_queue_init.
int probe_io_uring() noexcept;

struct IoCounters {
  uint64_t completed = 0;
  uint64_t errors = 0;
};

// One task instance's ring and buffer.
class IoContext {
 public:
  IoContext();
  ~IoContext();  // waits (bounded) for I/O still in flight, then frees
  IoContext(const IoContext&) = delete;
  IoContext& operator=(const IoContext&) = delete;

  // 0 or -errno. `buffer_bytes`: the largest read/write it will issue.
  int init(const ScratchFile* file, int64_t buffer_bytes);

  // Issues one I/O and waits for it: submits, then polls the completion
  // queue, sleeping `poll_ns` in the emulated kernel (api.sleep_ns) between
  // polls, so the vCPU runs other tasks meanwhile. Returns false when the run
  // is stopping. Real-time safe.
  bool run(exec::TaskApi& api, IoOp op, int64_t bytes, int64_t poll_ns, IoCounters& c) noexcept;

 private:
  struct Ring;
  std::unique_ptr<Ring> ring_;
  const ScratchFile* file_ = nullptr;
  void* buf_ = nullptr;
  int64_t offset_ = 0;
  uint32_t inflight_ = 0;
};

}  // namespace pb::wl::detail
