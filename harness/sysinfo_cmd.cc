// Placeholder: replaced by the sysinfo command.
#include "commands.h"
namespace pb::cli {
int sysinfo_main(const std::vector<std::string>&) { return kExitFailed; }
}  // namespace pb::cli
