// The fleet playbook (scripts/fleet/site.yml) over real SSH. The test starts
// two OpenSSH servers of its own on loopback ports (host and user keys made
// for the run, nothing of the system's sshd configuration used) and gives the
// playbook an inventory of three hosts: alpha and beta on those servers, and
// gamma on a loopback port where nothing listens. Everything stays on
// 127.0.0.1. The smoke suite runs on alpha and beta (preemptbench sysinfo,
// pb-cyclictest -l 100 at normal priority).
//
// Expected, and asserted: the playbook fails (exit 2, after the summary play)
// because gamma gave no results; alpha's and beta's files are fetched;
// fleet.json lists all three with gamma "unreachable"; the controller's
// results directory holds exactly the fetched files and fleet.json (no staging
// directory, no directory for gamma); `preemptbench report` reads the two
// pb-cyclictest runs and names gamma as unreachable.
//
// Skips (with the reason) without ansible-playbook, sshd or ssh-keygen
// (scripts/setup installs ansible-core, openssh-server and openssh-client),
// when not root (sshd's privilege separation needs it), and in a cross build.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pb/sys.h"
#include "report_test_util.h"
#include "tool_runner.h"

namespace pb::report {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSshd = "/usr/sbin/sshd";

bool have(const char* cmd) {
  return std::system((std::string("command -v ") + cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// A loopback TCP port that was free a moment ago (bound to port 0, read back,
// closed).
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool loopback_accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// One sshd in the foreground (-D), logging to a file, stopped on scope exit.
class TestSshd {
 public:
  TestSshd(const std::string& dir, const std::string& name, int port) : port_(port) {
    const std::string conf = dir + "/" + name + ".conf";
    write_file(conf, "ListenAddress 127.0.0.1\nPort " + std::to_string(port) + "\nHostKey " + dir +
                         "/hostkey\nAuthorizedKeysFile " + dir + "/authorized_keys\nPidFile " +
                         dir + "/" + name +
                         ".pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                         "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
                         "StrictModes no\nUsePAM no\nUseDNS no\n");
    const std::string log = dir + "/" + name + ".log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(kSshd, kSshd, "-D", "-f", conf.c_str(), "-E", log.c_str(),
              static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~TestSshd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  TestSshd(const TestSshd&) = delete;
  TestSshd& operator=(const TestSshd&) = delete;

  // Waits (bounded) until the server accepts connections.
  bool ready() const {
    for (int i = 0; i < 200; ++i) {
      if (pid_ <= 0 || ::waitpid(pid_, nullptr, WNOHANG) == pid_) return false;
      if (loopback_accepts(port_)) return true;
      ::usleep(50'000);
    }
    return false;
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

std::set<std::string> files_under(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out.insert(fs::relative(e.path(), dir).string() + (e.is_directory() ? "/" : ""));
  return out;
}

TEST(FleetSsh, TwoHostsOverSshAndOneUnreachable) {
  if (const char* emu = std::getenv("PB_EMULATOR"); emu != nullptr && *emu != '\0')
    GTEST_SKIP() << "cross build: the playbook would install binaries this host cannot run";
  if (!have("ansible-playbook") || !have("ssh") || !have("ssh-keygen") ||
      ::access(kSshd, X_OK) != 0)
    GTEST_SKIP() << "needs ansible-playbook, ssh, ssh-keygen and " << kSshd
                 << " (scripts/setup installs ansible-core, openssh-client, openssh-server)";
  if (::geteuid() != 0)
    GTEST_SKIP() << "sshd's privilege separation needs root to run a test server";
  // sshd refuses to start without its privilege-separation directory, which
  // a machine whose own sshd never ran may not have.
  ::mkdir("/run/sshd", 0755);

  const std::string dir = pb::testing::scratch_dir("fleet_ssh");
  const std::string keys = "ssh-keygen -q -t ed25519 -N '' -f " + dir +
                           "/hostkey && ssh-keygen -q -t ed25519 -N '' -f " + dir +
                           "/userkey && cp " + dir + "/userkey.pub " + dir + "/authorized_keys";
  ASSERT_EQ(std::system(keys.c_str()), 0);

  const int port_a = free_loopback_port(), port_b = free_loopback_port();
  const int port_gone = free_loopback_port();
  ASSERT_GT(port_a, 0);
  ASSERT_GT(port_b, 0);
  ASSERT_GT(port_gone, 0);
  ASSERT_TRUE(port_a != port_b && port_a != port_gone && port_b != port_gone);
  TestSshd alpha(dir, "alpha", port_a), beta(dir, "beta", port_b);
  ASSERT_TRUE(alpha.ready()) << pb::testing::read_all(dir + "/alpha.log");
  ASSERT_TRUE(beta.ready()) << pb::testing::read_all(dir + "/beta.log");
  ASSERT_FALSE(loopback_accepts(port_gone)) << "something listens on " << port_gone;

  const std::string inventory = dir + "/inventory.ini";
  auto host = [&](const char* name, int port) {
    return std::string(name) + " ansible_host=127.0.0.1 ansible_port=" + std::to_string(port) +
           " pb_prefix=" + dir + "/" + name + " pb_cpu_lock_dir=" + dir + "/" + name + "\n";
  };
  write_file(inventory, "[bench]\n" + host("alpha", port_a) + host("beta", port_b) +
                            host("gamma", port_gone) +
                            "[all:vars]\nansible_user=root\nansible_ssh_private_key_file=" + dir +
                            "/userkey\nansible_ssh_common_args='-o StrictHostKeyChecking=no -o "
                            "UserKnownHostsFile=/dev/null -o ConnectTimeout=10'\n"
                            "ansible_python_interpreter=/usr/bin/python3\n");

  // The playbook copies pb_build_dir's binaries to each host; stripped copies
  // (no debug info) make that a few MB instead of about 80.
  const std::string bin = dir + "/prebuilt";
  const std::string strip = "mkdir -p " + bin + " && strip -o " + bin +
                            "/preemptbench " PB_BUILD_DIR "/preemptbench && strip -o " + bin +
                            "/pb-cyclictest " PB_BUILD_DIR "/pb-cyclictest && cp " PB_BUILD_DIR
                            "/plot_run.py " PB_BUILD_DIR "/plot_report.py " +
                            bin + "/";
  ASSERT_EQ(std::system(strip.c_str()), 0);

  const std::string log = dir + "/ansible.log";
  const std::string fetch = dir + "/fetched";
  // ansible refuses a non-UTF-8 locale; the timeout keeps a wedged run from
  // outliving the test.
  std::string cmd = "cd " PB_SOURCE_DIR " && LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1";
  cmd += " ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_LOCAL_TEMP=" + dir +
         "/tmp";
  cmd += " ANSIBLE_REMOTE_TEMP=" + dir + "/rtmp";
  cmd += " timeout 280 ansible-playbook -i " + inventory + " scripts/fleet/site.yml";
  cmd += " -e pb_suite=smoke -e pb_install=prebuilt -e pb_build_dir=" + bin;
  cmd += " -e pb_fetch_dir=" + fetch + " -e pb_setup=false -e pb_become=false";
  cmd += " -e pb_run_id=ssh > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  const std::string ansible_out = pb::testing::read_all(log);
  // 2: a task failed (the summary play's "a host gave no results"); 4 would
  // mean ansible itself gave up on an unreachable host before the summary.
  ASSERT_TRUE(WIFEXITED(status)) << ansible_out;
  ASSERT_EQ(WEXITSTATUS(status), 2) << ansible_out;
  EXPECT_NE(ansible_out.find("fleet: no results from gamma"), std::string::npos) << ansible_out;

  const std::string run = fetch + "/ssh";
  const std::set<std::string> want = {
      "alpha/",     "alpha/pb-cyclictest.json", "alpha/pb-cyclictest.log", "alpha/sysinfo.json",
      "beta/",      "beta/pb-cyclictest.json",  "beta/pb-cyclictest.log",  "beta/sysinfo.json",
      "fleet.json",
  };
  EXPECT_EQ(files_under(run), want) << ansible_out;

  const auto doc = nlohmann::json::parse(pb::testing::read_all(run + "/fleet.json"));
  EXPECT_EQ(doc.at("schema"), "preemptbench.fleet/1");
  EXPECT_EQ(doc.at("run_id"), "ssh");
  EXPECT_EQ(doc.at("suite"), "smoke");
  ASSERT_EQ(doc.at("hosts").size(), 3u) << doc.dump(2);
  EXPECT_EQ(doc["hosts"][0].at("name"), "alpha");
  EXPECT_EQ(doc["hosts"][0].at("status"), "ok");
  EXPECT_EQ(doc["hosts"][0].at("files"), 3);
  EXPECT_EQ(doc["hosts"][1].at("name"), "beta");
  EXPECT_EQ(doc["hosts"][1].at("status"), "ok");
  EXPECT_EQ(doc["hosts"][2].at("name"), "gamma");
  EXPECT_EQ(doc["hosts"][2].at("status"), "unreachable");
  // The reached hosts ran the suite in their own prefixes.
  EXPECT_TRUE(fs::exists(dir + "/alpha/bin/preemptbench"));
  EXPECT_TRUE(fs::exists(dir + "/beta/bin/pb-cyclictest"));
  EXPECT_FALSE(fs::exists(dir + "/gamma"));

  const auto r = pb::testing::run_tool("preemptbench", {"report", run, "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = pb::testing::split_lines(r.out);
  // alpha and beta are one machine, so `report` takes their runs as two
  // rounds of one row: header + that row, 2 rounds of 100 wakeups.
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[1].find(",pb-cyclictest/nanosleep,,2,0,200,"), std::string::npos) << lines[1];
  EXPECT_NE(r.err.find("fleet: gamma unreachable"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pb::report
