// `preemptbench run`'s options: parsing and validation, a pure function of
// the arguments and of the defaults the caller learned from the machine, so
// tests hold every message without running anything. Bad input throws
// UsageError (or Boost.Program_options' own errors): one message, exit 2.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "pb/report/run_document.h"
#include "pb/workloads/cell.h"

namespace pb::harness {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr const char kDefaultModels[] = "none,voluntary,full,lazy,rt";
// The default suite (7 workloads x 5 models x 3 loads = 105 cells, 0.8 s of
// measurement each plus about 0.15 s to start and stop the executive) takes
// about 100 s, and 15 s more for the plots, on the 2-vCPU development VM.
inline constexpr const char kDefaultLoads[] = "0.25,0.5,1";
inline constexpr const char kDefaultDuration[] = "0.8";
inline constexpr double kMaxDurationS = 86400.0;
inline constexpr double kMinLoad = wl::kMinLoad;  // run_cell: load in [kMinLoad, kMaxLoad]
inline constexpr double kMaxLoad = wl::kMaxLoad;

// What the caller knows about the environment.
struct RunDefaults {
  std::vector<std::string> workloads;  // pb::wl::default_suite()
  std::string label;                   // the host name
  std::string timestamp;               // "20261122T053701Z", for the default --out
  int max_vcpus = 1;                   // CPUs the executive may use (one stays with the system)
};

struct ParsedRun {
  report::RunConfig config;
  std::string label;
  bool help = false;            // print help_text and exit 0
  bool list_workloads = false;  // print the built-in names and exit 0
  std::string help_text;
  bool out_given = false;  // --out was given (else config.out_dir is the timestamped default)
  bool force = false;      // --force: replace a run already in --out
  bool allow_shared_cpu = false;  // --allow-shared-cpu: run beside another measurement
};

ParsedRun parse_run_args(const std::vector<std::string>& args, const RunDefaults& defaults);

// Value parsers, exposed for the tests. Each throws UsageError naming the
// option and the offending text.
std::vector<std::string> parse_models(const std::string& text);
std::vector<double> parse_loads(const std::string& text);
double parse_duration_s(const std::string& text);  // "2", "0.3", "500ms", "2s", "1m"
std::vector<std::string> parse_formats(const std::string& text);

// A label made safe for a directory name: [A-Za-z0-9._-], others become '-'.
std::string label_for_path(const std::string& label);

}  // namespace pb::harness
