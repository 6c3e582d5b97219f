#include "cpu_guard.h"

#include <cstdio>
#include <utility>

#include <fmt/format.h>

#include "pb/executive/executive.h"
#include "run_options.h"

namespace pb::harness {

CpuClaim claim_measuring_cpus(int vcpus, std::string_view who, bool allow_shared,
                              std::vector<std::string>* notes) {
  const exec::CpuPlan plan = exec::plan_host_cpus(vcpus, false);
  ClaimResult r = claim_cpus(plan.vcpu_cpus, who);
  if (!r.error.empty()) std::fprintf(stderr, "note: %s: not claimed\n", r.error.c_str());
  for (const std::string& b : r.busy) {
    if (!allow_shared) {
      throw UsageError(fmt::format(
          "{} is held by another measurement: two measurements on one CPU disturb each "
          "other's latencies. Wait for it to end, or give --allow-shared-cpu to run anyway",
          b));
    }
    const std::string n =
        "shared CPU (--allow-shared-cpu): " + b + " is held by another measurement";
    std::fprintf(stderr, "warning: %s\n", n.c_str());
    if (notes != nullptr) notes->push_back(n);
  }
  return std::move(r.claim);
}

}  // namespace pb::harness
