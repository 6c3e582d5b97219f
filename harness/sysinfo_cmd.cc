// `preemptbench sysinfo [--json]`: prints this machine's fingerprint, the same
// record every result file embeds. Option errors throw (Boost.Program_options)
// and main() turns them into one message and exit code 2.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>

#include "commands.h"
#include "pb/sysinfo.h"

namespace pb::cli {

int sysinfo_main(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: preemptbench sysinfo [--json]\n\n"
      "Prints this machine's fingerprint: CPU and topology, kernel and its preemption\n"
      "model (and how it was learned), timers, RT throttling, privileges.\n\noptions");
  desc.add_options()                                                //
      ("json", "print JSON (2-space indent) instead of the table")  //
      ("help,h", "show this help");
  po::variables_map vm;
  // No positional arguments: an empty description makes any stray word an error.
  const po::positional_options_description none;
  po::store(po::command_line_parser(args).options(desc).positional(none).run(), vm);
  po::notify(vm);

  if (vm.count("help")) {
    std::cout << desc << '\n';
    return kExitOk;
  }
  const MachineInfo info = collect_machine_info();
  if (vm.count("json")) {
    // Kernel and DMI strings are not guaranteed UTF-8: replace, never throw.
    std::cout << to_json(info).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << '\n';
  } else {
    std::cout << to_text(info);
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailed;
}

}  // namespace pb::cli
