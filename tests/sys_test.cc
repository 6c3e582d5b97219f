#include "pb/sys.h"

#include <atomic>
#include <cerrno>

#include <gtest/gtest.h>

#include "pb/atomic_file.h"

namespace {

TEST(Sys, FutexWaitReturnsEagainWhenValueDiffers) {
  std::atomic<uint32_t> word{1};
  EXPECT_EQ(pb::sys::futex_wait(&word, 0), -EAGAIN);
}

TEST(Sys, FutexWakeWithoutWaitersWakesNone) {
  std::atomic<uint32_t> word{0};
  EXPECT_EQ(pb::sys::futex_wake(&word, 1), 0);
}

TEST(Sys, FutexWaitTimesOutAtAbsoluteDeadline) {
  std::atomic<uint32_t> word{0};
  EXPECT_EQ(pb::sys::futex_wait(&word, 0, pb::sys::now_ns() + 1'000'000), -ETIMEDOUT);
}

TEST(Sys, PinToInvalidCpuIsEinval) { EXPECT_EQ(pb::sys::pin_to_cpu(0, -1), -EINVAL); }

TEST(Sys, TimespecRoundTrip) {
  const int64_t ns = 12'345'678'901;
  EXPECT_EQ(pb::sys::to_ns(pb::sys::to_timespec(ns)), ns);
}

TEST(AtomicFile, WritesWholeContentAndRejectsMissingDirectory) {
  const std::string path = ::testing::TempDir() + "pb_atomic_file_test.txt";
  ASSERT_EQ(pb::write_file_atomic(path, "hello\n"), 0);
  FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[16] = {};
  EXPECT_EQ(std::fread(buf, 1, sizeof buf, f), 6u);
  std::fclose(f);
  EXPECT_STREQ(buf, "hello\n");
  std::string error;
  EXPECT_EQ(pb::check_writable("/nonexistent-dir/x.json", &error), -ENOENT);
  EXPECT_NE(error.find("/nonexistent-dir/x.json"), std::string::npos);
  EXPECT_LT(pb::write_file_atomic("/nonexistent-dir/x.json", "x"), 0);
}

}  // namespace
