// Linked into every test binary that runs real threads on the measuring CPU
// (the executive's tests and pb-cyclictest's end-to-end runs).
//
// ctest's RESOURCE_LOCK keeps such tests apart within one ctest run; this
// keeps them apart across runs too (two build trees tested at once on one
// machine, or a test run beside a benchmark script). Before main() the
// process takes an exclusive flock on one machine-wide file and holds it until
// it exits (the kernel drops it then, however the process ends). Listing the
// tests (gtest_discover_tests at build time) takes no lock. A process that
// cannot open the file runs unlocked: the lock orders runs, no assertion
// depends on it.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace {

// scripts/lib.sh (pb_measuring_lock) takes the same file around measurements.
constexpr const char* kLockPath = "/tmp/preemptbench-measuring-cpu.lock";

bool listing_tests() {
  char buf[4096];
  const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(buf + i)) + 1)
    if (std::strncmp(buf + i, "--gtest_list_tests", 18) == 0) return true;
  return false;
}

struct MeasuringCpuLock {
  MeasuringCpuLock() {
    if (listing_tests()) return;
    const int fd = ::open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return;
    while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    }
    // fd stays open: the lock lasts as long as the process.
  }
};

const MeasuringCpuLock lock_for_this_process;

}  // namespace
