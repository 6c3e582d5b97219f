// The machine's CPUs as plan_cpus() (executive.h) wants them.
#pragma once

#include <vector>

namespace pb::exec::detail {

struct MachineCpus {
  std::vector<int> allowed;   // this thread's affinity mask
  std::vector<int> core_of;   // hwloc core per allowed CPU; empty when unknown
  std::vector<int> isolated;  // /sys/devices/system/cpu/isolated
};

MachineCpus query_machine_cpus();

}  // namespace pb::exec::detail
