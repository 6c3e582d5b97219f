// Runs plot_report.py and collects the PNGs it lists. Mechanism only: the
// drawing decisions are the script's, the page layout the reporters'.
#include "pb/report/plots.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pb/report/readers.h"

extern "C" char** environ;

namespace pb::report {

namespace {

constexpr int kNoMatplotlib = 3;  // plot_report.py's exit code when matplotlib is missing

std::string python_interpreter() {
  if (const char* p = std::getenv("PB_PYTHON"); p != nullptr && *p != '\0') return p;
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

}  // namespace

std::vector<Plot> draw_plots(const std::string& script, const std::string& data_json,
                             const std::string& out_dir, std::string* note) {
  const auto skip = [&](const std::string& why) {
    if (note != nullptr) *note = "plots skipped: " + why;
    return std::vector<Plot>{};
  };
  if (access(script.c_str(), R_OK) != 0) return skip(script + " not found");
  const std::string python = python_interpreter();
  std::vector<std::string> words{python, script, data_json, out_dir};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  // The plotter's stdout goes to stderr: stdout carries only the report.
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return skip(fmt::format("cannot run {} ({}); install python3", python, std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == kNoMatplotlib) {
      return skip(
          fmt::format("matplotlib is not installed for {} (Debian: apt install "
                      "python3-matplotlib, or scripts/setup)",
                      python));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      return skip(python + " not found; install python3");
    return skip(fmt::format("{} {} failed (status {})", python, script,
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  // plots.json: [{"file": "cdf.png", "title": "..."}], files inside out_dir.
  std::string text, why;
  if (!read_text_file(out_dir + "/plots.json", &text, &why)) return skip(why);
  std::vector<Plot> plots;
  try {
    const auto list = nlohmann::json::parse(text);
    for (const auto& e : list) {
      Plot p;
      p.file = e.at("file").get<std::string>();
      p.title = e.at("title").get<std::string>();
      if (p.file.empty() || p.file.find('/') != std::string::npos || p.file[0] == '.') continue;
      if (!read_text_file(out_dir + "/" + p.file, &p.png, &why)) return skip(why);
      plots.push_back(std::move(p));
    }
  } catch (const std::exception& e) {
    return skip(std::string("plots.json unreadable: ") + e.what());
  }
  if (plots.empty()) return skip("nothing to plot");
  return plots;
}

}  // namespace pb::report
