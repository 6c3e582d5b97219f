// No result without samples, and inputs that pass validation but mean
// nothing: `preemptbench run` on the simulated clock (deterministic), with
// workloads that measure nothing — a measuring task starved by a FIFO 99
// hog, one whose phase is past the run's end, background tasks deadlocked
// on a send/recv — and the out-dir and --workload checks. The cells must say
// so (notes), the reports must show count and no percentiles, and the exit
// status must not be 0.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/run_document.h"
#include "pb/workloads/cell.h"
#include "pb/workloads/workload.h"
#include "tool_runner.h"

namespace {

using pb::testing::run_tool;
using pb::testing::temp_path;

std::string write_workload(const std::string& name, const std::string& json) {
  const std::string path = temp_path(name + ".json");
  std::ofstream(path) << json;
  return path;
}

// A FIFO 90 measuring task beside a FIFO 99 task that never sleeps.
constexpr const char* kStarved = R"({"format": "preemptbench.workload/1", "name": "starved",
  "tasks": [
    {"name": "cyclic", "class": "fifo", "priority": 90, "period_us": 1000, "measure": true},
    {"name": "hog", "class": "fifo", "priority": 99, "user_us": 100000}
  ]})";

// The measuring task's first release comes after the run's end.
constexpr const char* kLatePhase = R"({"format": "preemptbench.workload/1", "name": "late",
  "tasks": [
    {"name": "cyclic", "class": "fifo", "priority": 90, "period_us": 1000, "phase_us": 5000000,
     "measure": true},
    {"name": "bg", "class": "fair", "user_us": 100}
  ]})";

// Two background tasks each waiting for the other's message first.
constexpr const char* kDeadlock = R"({"format": "preemptbench.workload/1", "name": "deadlock",
  "channels": ["a", "b"],
  "tasks": [
    {"name": "cyclic", "class": "fifo", "priority": 90, "period_us": 1000, "measure": true},
    {"name": "ping", "class": "fair", "path": [{"recv": "a"}, {"send": "b"}]},
    {"name": "pong", "class": "fair", "path": [{"recv": "b"}, {"send": "a"}]}
  ]})";

pb::wl::CellResult simulate(const std::string& file) {
  pb::sim::SimOptions o;
  o.duration_ns = 500'000'000;
  return pb::wl::simulate_cell(pb::wl::load_workload(file, {}), pb::exec::Model::kFull, 1.0, o);
}

bool has_note(const pb::wl::CellResult& c, const std::string& text) {
  for (const auto& n : c.notes) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string notes_of(const pb::wl::CellResult& c) {
  std::string out;
  for (const auto& n : c.notes) out += n + "\n";
  return out;
}

TEST(NoSamples, StarvedMeasuringTaskIsNamed) {
  const auto c = simulate(write_workload("starved", kStarved));
  ASSERT_TRUE(c.error.empty()) << c.error;
  ASSERT_FALSE(c.measured.empty());
  EXPECT_EQ(c.measured[0].latency.count, 0u);
  EXPECT_TRUE(has_note(c, "no samples: measuring task cyclic recorded no wakeup")) << notes_of(c);
}

TEST(NoSamples, PhasePastTheEndIsNamed) {
  const auto c = simulate(write_workload("late", kLatePhase));
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.measured[0].latency.count, 0u);
  EXPECT_TRUE(has_note(c, "at or past the run's end")) << notes_of(c);
}

TEST(NoSamples, DeadlockedBackgroundIsNamed) {
  const auto c = simulate(write_workload("deadlock", kDeadlock));
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_GT(c.measured[0].latency.count, 100u);  // the measuring task itself runs
  EXPECT_EQ(c.throughput.ops, 0u);
  EXPECT_TRUE(has_note(c, "no progress: background task(s) ping, pong")) << notes_of(c);
}

TEST(NoSamples, HealthyCellHasNoSuchNote) {
  pb::sim::SimOptions o;
  o.duration_ns = 500'000'000;
  const auto c = pb::wl::simulate_cell(pb::wl::load_workload("kernel-path", {}),
                                       pb::exec::Model::kFull, 1.0, o);
  EXPECT_FALSE(has_note(c, "no samples")) << notes_of(c);
  EXPECT_FALSE(has_note(c, "too few samples")) << notes_of(c);
  EXPECT_FALSE(has_note(c, "no progress")) << notes_of(c);
}

class RunOutputs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_path("no_silent_out");
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  pb::testing::ToolRun run(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run",  "--clock",    "simulated", "--models",
                                     "full", "--loads",    "1",         "--duration",
                                     "0.2",  "--no-plots", "--format",  "table"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tool("preemptbench", args);
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
};

// A headline with no samples: exit 1, said on stderr; the table and run.md
// show count 0 and "-" for the percentiles; run.csv leaves them empty.
TEST_F(RunOutputs, NoSamplesFailsTheRunAndShowsNoPercentiles) {
  const auto r = run({"--workload", write_workload("starved", kStarved), "--out", dir_});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("measured no wakeup of their headline task"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NO SAMPLES"), std::string::npos) << r.err;
  const std::string csv = read(dir_ + "/run.csv");
  std::istringstream lines(csv);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  // ...,task,count,missed,min_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,...
  EXPECT_NE(header.find(",count,missed,min_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,"),
            std::string::npos);
  EXPECT_NE(row.find(",cyclic,0,"), std::string::npos) << row;
  const size_t at = row.find(",cyclic,0,");
  ASSERT_NE(at, std::string::npos);
  const std::string after = row.substr(at + std::string(",cyclic,0,").size());
  // missed, then six empty latency fields.
  EXPECT_NE(after.find(",,,,,,"), std::string::npos) << row;
  const std::string md = read(dir_ + "/run.md");
  EXPECT_NE(md.find("| count |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0 | - | - | - | - | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("no samples"), std::string::npos) << md;
}

// A run.json already in --out is not replaced without --force.
TEST_F(RunOutputs, ExistingRunIsNotOverwritten) {
  auto r = run({"--workload", "kernel-path", "--out", dir_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string first = read(dir_ + "/run.json");
  r = run({"--workload", "kernel-path", "--out", dir_});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("already holds a run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(read(dir_ + "/run.json"), first);
  r = run({"--workload", "kernel-path", "--out", dir_, "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A FIFO as --workload is refused at once, without opening it for reading
// (which would block until a writer came).
TEST_F(RunOutputs, FifoWorkloadIsRefusedWithoutBlocking) {
  const std::string fifo = temp_path("workload_fifo.json");
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto r = run({"--workload", fifo, "--out", dir_});
  std::filesystem::remove(fifo);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("not a regular file (a FIFO)"), std::string::npos) << r.err;
  const auto dev = run({"--workload", "/dev/zero", "--out", dir_});
  EXPECT_EQ(dev.exit_code, 2) << dev.err;
  EXPECT_NE(dev.err.find("not a regular file (a character device)"), std::string::npos) << dev.err;
}

// A tmpfs of `size` (mount's size= syntax) at a fresh temporary directory,
// unmounted and removed on destruction; error() is "" or why it could not
// be mounted (needs CAP_SYS_ADMIN).
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& name, const char* size) : path_(temp_path(name)) {
    std::filesystem::create_directories(path_);
    const std::string opts = std::string("size=") + size;
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      error_ = std::strerror(errno);
    }
  }
  ~SmallTmpfs() {
    if (error_.empty()) ::umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  std::string error_;
};

// A full file system is found before anything runs: the probe cannot be
// written. (A tmpfs of 64 KiB stands for a full disk; needs mount rights.)
TEST_F(RunOutputs, FullFileSystemIsRefusedBeforeMeasuring) {
  const SmallTmpfs fs("tiny_fs", "64k");
  if (!fs.error().empty()) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs CAP_SYS_ADMIN): " << fs.error();
  }
  const auto r = run({"--workload", "kernel-path", "--out", fs.path() + "/out"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out: cannot write"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

// The disk fills mid-run: the run is stopped (SIGSTOP) as soon as its first
// checkpoint exists, the file system is filled to the last byte, and the run
// is continued. Its later checkpoints and its final files cannot be written:
// it must exit 1 saying so, and leave run.json as the last checkpoint that
// was written whole (marked partial, parseable, fewer cells than planned),
// no run.md or run.csv of another run.json, and no temporary file.
TEST_F(RunOutputs, DiskFillingMidRunLeavesFilesThatAgree) {
  if (const char* emu = std::getenv("PB_EMULATOR"); emu != nullptr && *emu != '\0') {
    GTEST_SKIP() << "stops the tool between two cells by signal; under qemu-user the stop "
                    "lands on the emulator, whose speed makes the window unknown";
  }
  // Room for the probe of 12 cells (4 MiB + 3 x 64 KiB per cell) and little
  // more.
  const SmallTmpfs fs("filling_fs", "8m");
  if (!fs.error().empty()) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs CAP_SYS_ADMIN): " << fs.error();
  }
  const std::string& mnt = fs.path();
  const std::string out = mnt + "/out";
  const std::string tool = pb::testing::tool_path("preemptbench");
  const std::string err_path = temp_path("filling_err");
  // 2 models x 2 workloads x 3 loads, each a 10-minute simulated cell (about
  // 0.3 s of wall time on the development VM): the run is still going, many
  // cells before its end, when the test has stopped it.
  std::vector<std::string> words = {tool,         "run",           "--clock",    "simulated",
                                    "--models",   "none,full",     "--workload", "kernel-path",
                                    "--workload", "spinlock-path", "--loads",    "0.25,0.5,1",
                                    "--duration", "10m",           "--no-plots", "--format",
                                    "table",      "--out",         out};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  // Wait for the first checkpoint, then stop the run where it is.
  bool stopped = false;
  int status = 0;
  for (int i = 0; i < 60'000; ++i) {
    if (std::filesystem::exists(out + "/run.json")) {
      ::kill(pid, SIGSTOP);
      stopped = true;
      break;
    }
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    ::usleep(1000);
  }
  if (!stopped) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "no checkpoint appeared within 60 s: " << read(err_path);
  }
  // Fill the file system.
  {
    const int fd = ::open((mnt + "/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    std::vector<char> block(64 * 1024, 'x');
    size_t chunk = block.size();
    while (chunk > 0) {
      if (::write(fd, block.data(), chunk) < 0) chunk /= 2;  // ENOSPC: smaller pieces
    }
    ::close(fd);
  }
  const std::string checkpoint = read(out + "/run.json");
  ::kill(pid, SIGCONT);
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const std::string err = read(err_path);
  ::unlink(err_path.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 1) << err;
  EXPECT_NE(err.find("warning: checkpoint:"), std::string::npos) << err;
  EXPECT_NE(err.find("run.md and run.csv were not written, run.json holds the last checkpoint"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  // What is left agrees with itself: a checkpoint written whole, marked
  // partial, at least the one seen when the disk filled (a checkpoint whose
  // file was already flushed when the run stopped may still have been
  // renamed into place after), and nothing else.
  pb::report::RunDocument seen, doc;
  std::string why;
  const std::string seen_path = temp_path("filling_seen.json");
  std::ofstream(seen_path) << checkpoint;
  const bool seen_ok = pb::report::read_run_document(seen_path, &seen, &why);
  ::unlink(seen_path.c_str());
  ASSERT_TRUE(seen_ok) << why;
  ASSERT_TRUE(pb::report::read_run_document(out + "/run.json", &doc, &why)) << why;
  EXPECT_TRUE(doc.partial);
  EXPECT_GE(doc.cells.size(), seen.cells.size());
  EXPECT_GE(doc.cells.size(), 1u);
  EXPECT_LT(doc.cells.size(), 12u);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"run.json"});
}

}  // namespace

namespace {

// `ulimit -s 64` (soft and hard, as bash sets them): a clear message and
// exit 2 before anything runs, not a SIGSEGV.
TEST(SmallStack, IsRefusedWithAMessage) {
  if (const char* emu = std::getenv("PB_EMULATOR"); emu != nullptr && *emu != '\0') {
    GTEST_SKIP() << "under qemu-user the guest's stack is qemu's own (its -s option), not "
                    "RLIMIT_STACK, and the tool is started through the emulator";
  }
  const std::string err_path = temp_path("small_stack_err");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const rlimit r{64 * 1024, 64 * 1024};
    if (::setrlimit(RLIMIT_STACK, &r) != 0) _exit(99);
    const int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    const std::string tool = pb::testing::tool_path("preemptbench");
    ::execl(tool.c_str(), "preemptbench", "run", "--clock", "simulated", "--models", "none",
            "--workload", "kernel-path", "--loads", "1", "--duration", "0.05", "--no-plots",
            "--out", temp_path("small_stack_out").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const std::string err = pb::testing::slurp(err_path);
  std::filesystem::remove(err_path);
  std::filesystem::remove_all(temp_path("small_stack_out"));
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 2) << err;
  EXPECT_NE(err.find("the stack size limit is 64 KiB (ulimit -s)"), std::string::npos) << err;
}

}  // namespace
