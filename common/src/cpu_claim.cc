#include "pb/cpu_claim.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "pb/cpu_list.h"

namespace pb {

struct CpuClaimAccess {
  static void add(CpuClaim& c, int fd, int cpu) {
    c.fds_.push_back(fd);
    c.cpus_.push_back(cpu);
  }
};

namespace {

// A thread of the kernel (PF_KTHREAD in /proc/.../stat's flags).
constexpr unsigned long kPfKthread = 0x00200000;

std::string read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 65536) break;
  }
  ::close(fd);
  return out;
}

bool all_digits(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

// Cpus_allowed_list of /proc/PID/task/TID/status.
std::optional<std::vector<int>> allowed_cpus(const std::string& task_dir) {
  const std::string status = read_small_file(task_dir + "/status");
  constexpr std::string_view kKey = "Cpus_allowed_list:";
  const size_t at = status.find(kKey);
  if (at == std::string::npos) return std::nullopt;
  size_t end = status.find('\n', at);
  if (end == std::string::npos) end = status.size();
  return parse_cpu_list(std::string_view(status).substr(at + kKey.size(), end - at - kKey.size()));
}

}  // namespace

std::string cpu_lock_path(int cpu) {
  const char* dir = std::getenv("PB_CPU_LOCK_DIR");
  const std::string d = dir != nullptr && *dir != '\0' ? dir : "/tmp";
  return d + "/preemptbench-cpu" + std::to_string(cpu) + ".lock";
}

CpuClaim::~CpuClaim() {
  for (int fd : fds_) ::close(fd);
}

CpuClaim::CpuClaim(CpuClaim&& other) noexcept
    : fds_(std::exchange(other.fds_, {})), cpus_(std::exchange(other.cpus_, {})) {}

CpuClaim& CpuClaim::operator=(CpuClaim&& other) noexcept {
  if (this != &other) {
    for (int fd : fds_) ::close(fd);
    fds_ = std::exchange(other.fds_, {});
    cpus_ = std::exchange(other.cpus_, {});
  }
  return *this;
}

ClaimResult claim_cpus(const std::vector<int>& cpus, std::string_view who) {
  ClaimResult r;
  for (int cpu : cpus) {
    const std::string path = cpu_lock_path(cpu);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
      r.error = "cannot open the CPU lock file '" + path + "': " + std::strerror(errno);
      r.claim = CpuClaim();
      return r;
    }
    int rc;
    while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      std::string holder = read_small_file(path);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
      r.busy.push_back("host CPU " + std::to_string(cpu) +
                       (holder.empty() ? std::string(" (holder unknown)") : " (" + holder + ")"));
      ::close(fd);
      continue;
    }
    // Say who holds it, for whoever is refused next.
    const std::string line = "pid " + std::to_string(::getpid()) + ": " + std::string(who) + "\n";
    if (::ftruncate(fd, 0) == 0) {
      [[maybe_unused]] const ssize_t n = ::pwrite(fd, line.data(), line.size(), 0);
    }
    CpuClaimAccess::add(r.claim, fd, cpu);
  }
  return r;
}

std::optional<TaskStat> parse_task_stat(std::string_view text) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // it ends at the last ')'.
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  TaskStat s;
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  // Fields after comm, numbered from 3 (state) as in proc(5).
  std::vector<std::string_view> f;
  size_t i = close + 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
    if (i > start) f.push_back(text.substr(start, i - start));
  }
  // flags is field 9, rt_priority 40, policy 41: indices 6, 37, 38 here.
  if (f.size() < 39) return std::nullopt;
  const auto num = [](std::string_view v, unsigned long* out) {
    if (v.empty() || v.size() > 20) return false;
    unsigned long n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<unsigned long>(c - '0');
    }
    *out = n;
    return true;
  };
  unsigned long prio = 0, policy = 0;
  if (!num(f[6], &s.flags) || !num(f[37], &prio) || !num(f[38], &policy)) return std::nullopt;
  s.rt_priority = static_cast<int>(prio);
  s.policy = static_cast<int>(policy);
  return s;
}

std::vector<RtThread> rt_competitors(int cpu, pid_t self) {
  std::vector<RtThread> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (const dirent* p = ::readdir(proc)) {
    if (!all_digits(p->d_name)) continue;
    const pid_t pid = static_cast<pid_t>(std::atoi(p->d_name));
    if (pid == self) continue;
    const std::string task_root = std::string("/proc/") + p->d_name + "/task";
    DIR* tasks = ::opendir(task_root.c_str());
    if (tasks == nullptr) continue;  // gone
    while (const dirent* t = ::readdir(tasks)) {
      if (!all_digits(t->d_name)) continue;
      const std::string dir = task_root + "/" + t->d_name;
      const auto st = parse_task_stat(read_small_file(dir + "/stat"));
      if (!st || (st->flags & kPfKthread) != 0) continue;
      if (st->policy != SCHED_FIFO && st->policy != SCHED_RR) continue;
      const auto allowed = allowed_cpus(dir);
      if (!allowed || !std::binary_search(allowed->begin(), allowed->end(), cpu)) continue;
      out.push_back({pid, static_cast<pid_t>(std::atoi(t->d_name)), st->comm,
                     st->policy == SCHED_FIFO ? "fifo" : "rr", st->rt_priority});
    }
    ::closedir(tasks);
  }
  ::closedir(proc);
  std::sort(out.begin(), out.end(),
            [](const RtThread& a, const RtThread& b) { return a.tid < b.tid; });
  return out;
}

std::string describe(const std::vector<RtThread>& threads, size_t max) {
  std::string out;
  for (size_t i = 0; i < threads.size() && i < max; ++i) {
    const RtThread& t = threads[i];
    out += (i ? ", " : "") + std::string("pid ") + std::to_string(t.pid) + " (" + t.comm +
           (t.tid != t.pid ? ", thread " + std::to_string(t.tid) : "") + ") " + t.policy + ":" +
           std::to_string(t.priority);
  }
  if (threads.size() > max) out += " and " + std::to_string(threads.size() - max) + " more";
  return out;
}

}  // namespace pb
