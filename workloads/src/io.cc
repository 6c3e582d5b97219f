#include "io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <liburing.h>

#include "pb/executive/task.h"

namespace pb::wl::detail {

ScratchFile::~ScratchFile() {
  if (fd_ >= 0) ::close(fd_);
}

int ScratchFile::open(int64_t size, std::string* where) {
  const char* tmp = std::getenv("TMPDIR");
  for (const char* dir : {tmp, "/tmp", "/var/tmp"}) {
    if (dir == nullptr || *dir == '\0') continue;
    fd_ = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      *where = std::string("an unlinked file in ") + dir;
      break;
    }
  }
  if (fd_ < 0) {
    fd_ = ::memfd_create("pb-workload-io", MFD_CLOEXEC);
    if (fd_ < 0) return -errno;
    *where = "a memfd";
  }
  std::vector<char> block(1 << 16);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 131u);
  for (int64_t off = 0; off < size; off += static_cast<int64_t>(block.size())) {
    const ssize_t n = ::pwrite(fd_, block.data(), block.size(), off);
    if (n != static_cast<ssize_t>(block.size())) return n < 0 ? -errno : -EIO;
  }
  size_ = size;
  return 0;
}

int probe_io_uring() noexcept {
  io_uring ring;
  const int r = io_uring_queue_init(4, &ring, 0);
  if (r < 0) return r;
  io_uring_queue_exit(&ring);
  return 0;
}

struct IoContext::Ring {
  io_uring ring{};
  bool ready = false;
};

IoContext::IoContext() : ring_(std::make_unique<Ring>()) {}

IoContext::~IoContext() {
  if (ring_->ready) {
    // The kernel may still write into the buffer: take every completion
    // (bounded) before the ring and the buffer go.
    for (int tries = 0; inflight_ > 0 && tries < 100; ++tries) {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{0, 10'000'000};
      if (io_uring_wait_cqe_timeout(&ring_->ring, &cqe, &ts) == 0 && cqe != nullptr) {
        io_uring_cqe_seen(&ring_->ring, cqe);
        --inflight_;
      }
    }
    io_uring_queue_exit(&ring_->ring);
  }
  std::free(buf_);
}

int IoContext::init(const ScratchFile* file, int64_t buffer_bytes) {
  file_ = file;
  if (buffer_bytes > 0) {
    buf_ = std::aligned_alloc(4096, static_cast<size_t>((buffer_bytes + 4095) / 4096 * 4096));
    if (buf_ == nullptr) return -ENOMEM;
    std::memset(buf_, 0x5a, static_cast<size_t>(buffer_bytes));
  }
  const int r = io_uring_queue_init(4, &ring_->ring, 0);
  if (r < 0) return r;
  ring_->ready = true;
  return 0;
}

bool IoContext::run(exec::TaskApi& api, IoOp op, int64_t bytes, int64_t poll_ns,
                    IoCounters& c) noexcept {
  io_uring* ring = &ring_->ring;
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) {
    ++c.errors;
    return api.running();
  }
  const int64_t fsize = file_ != nullptr ? file_->size() : 0;
  if (op == IoOp::kNop || bytes <= 0 || fsize < bytes) {
    io_uring_prep_nop(sqe);
  } else {
    if (offset_ + bytes > fsize) offset_ = 0;
    if (op == IoOp::kRead) {
      io_uring_prep_read(sqe, file_->fd(), buf_, static_cast<unsigned>(bytes),
                         static_cast<uint64_t>(offset_));
    } else {
      io_uring_prep_write(sqe, file_->fd(), buf_, static_cast<unsigned>(bytes),
                          static_cast<uint64_t>(offset_));
    }
    offset_ += bytes;
  }
  int r = -EINTR;
  for (int tries = 0; r == -EINTR && tries < 8; ++tries) r = io_uring_submit(ring);
  if (r < 1) {
    ++c.errors;
    return api.running();
  }
  ++inflight_;
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(ring, &cqe) == 0 && cqe != nullptr) {
      if (cqe->res < 0) {
        ++c.errors;
      } else {
        ++c.completed;
      }
      io_uring_cqe_seen(ring, cqe);
      --inflight_;
      return api.running();
    }
    if (!api.sleep_ns(poll_ns)) return false;
  }
}

}  // namespace pb::wl::detail
