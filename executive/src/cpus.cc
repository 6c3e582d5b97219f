// Which host CPUs the vCPUs get: plan_cpus() (pure) and the machine query
// that feeds it (affinity mask, hwloc cores, isolcpus).
#include "cpus.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <hwloc.h>

#include "pb/executive/executive.h"
#include "pb/sys.h"
#include "pb/sysinfo.h"

namespace pb::exec {

CpuPlan plan_cpus(const std::vector<int>& allowed_in, const std::vector<int>& core_of,
                  const std::vector<int>& isolated, int vcpus, bool allow_system_cpu) {
  CpuPlan plan;
  if (allowed_in.empty()) {
    plan.error = "no allowed CPU";
    return plan;
  }
  if (vcpus < 1) {
    plan.error = "vcpus must be at least 1";
    return plan;
  }
  struct Cand {
    int cpu;
    int rank;  // 0 isolated, 1 first PU of its core, 2 the rest
  };
  std::vector<Cand> cands;
  std::map<int, int> first_pu_of_core;  // core -> lowest CPU
  for (size_t i = 0; i < allowed_in.size(); ++i) {
    const int core = core_of.size() == allowed_in.size() ? core_of[i] : allowed_in[i];
    auto it = first_pu_of_core.find(core);
    if (it == first_pu_of_core.end() || allowed_in[i] < it->second) {
      first_pu_of_core[core] = allowed_in[i];
    }
  }
  for (size_t i = 0; i < allowed_in.size(); ++i) {
    const int cpu = allowed_in[i];
    if (!allow_system_cpu && cpu == 0) continue;
    const int core = core_of.size() == allowed_in.size() ? core_of[i] : cpu;
    int rank = 2;
    if (std::find(isolated.begin(), isolated.end(), cpu) != isolated.end()) {
      rank = 0;
    } else if (first_pu_of_core[core] == cpu) {
      rank = 1;
    }
    cands.push_back({cpu, rank});
  }
  std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.cpu > b.cpu;
  });
  size_t usable = cands.size();
  // Leave at least one allowed CPU to the system.
  if (!allow_system_cpu && usable >= allowed_in.size()) usable = allowed_in.size() - 1;
  if (static_cast<size_t>(vcpus) > usable) {
    std::ostringstream os;
    os << vcpus << " vCPU(s) requested but only " << usable << " host CPU(s) usable out of "
       << allowed_in.size() << " allowed";
    if (!allow_system_cpu)
      os << " (CPU 0 and one CPU stay with the system unless allow_system_cpu)";
    plan.error = os.str();
    return plan;
  }
  for (int i = 0; i < vcpus; ++i) plan.vcpu_cpus.push_back(cands[static_cast<size_t>(i)].cpu);
  std::vector<int> sorted = allowed_in;
  std::sort(sorted.begin(), sorted.end());
  plan.system_cpu = sorted.front();
  for (int cpu : sorted) {
    if (std::find(plan.vcpu_cpus.begin(), plan.vcpu_cpus.end(), cpu) == plan.vcpu_cpus.end()) {
      plan.system_cpu = cpu;
      break;
    }
  }
  return plan;
}

namespace detail {

MachineCpus query_machine_cpus() {
  MachineCpus m;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sys::get_affinity(0, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) m.allowed.push_back(cpu);
    }
  }
  // Cores from hwloc; without it every CPU counts as its own core.
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) == 0) {
    if (hwloc_topology_load(topo) == 0) {
      std::vector<int> cores(m.allowed.size(), -1);
      bool all = true;
      for (size_t i = 0; i < m.allowed.size(); ++i) {
        hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, static_cast<unsigned>(m.allowed[i]));
        hwloc_obj_t core =
            pu != nullptr ? hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu) : nullptr;
        if (core == nullptr) {
          all = false;
          break;
        }
        cores[i] = static_cast<int>(core->logical_index);
      }
      if (all) m.core_of = cores;
    }
    hwloc_topology_destroy(topo);
  }
  std::ifstream in("/sys/devices/system/cpu/isolated");
  if (in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto cpus = parse_cpu_list(text)) m.isolated = *cpus;
  }
  return m;
}

}  // namespace detail
}  // namespace pb::exec

namespace pb::exec {

CpuPlan plan_host_cpus(int vcpus, bool allow_system_cpu) {
  const detail::MachineCpus m = detail::query_machine_cpus();
  return plan_cpus(m.allowed, m.core_of, m.isolated, vcpus, allow_system_cpu);
}

}  // namespace pb::exec
