// The contention check shared by every command that measures on the real
// clock (`run --clock real`, `validate`, `scenario --clock real`): it claims
// the host CPUs the executive will pin its vCPUs to (pb/cpu_claim.h), so that
// two of our measurements never share a CPU unnoticed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pb/cpu_claim.h"

namespace pb::harness {

// Claims the host CPUs of a run with `vcpus` vCPUs (exec::plan_host_cpus()
// without the system CPU), with `who` written in each lock file.
// - A CPU another measurement holds: throws UsageError naming the holder,
//   unless `allow_shared`; then one "shared CPU (--allow-shared-cpu): ..."
//   line per such CPU is appended to *notes and printed as a warning.
// - A lock file that cannot be opened: a note on stderr, nothing claimed (the
//   run goes on: the lock is advisory).
// - A plan error (too few CPUs): nothing claimed; the cells fail with it.
// The claim is held until the returned object is destroyed.
CpuClaim claim_measuring_cpus(int vcpus, std::string_view who, bool allow_shared,
                              std::vector<std::string>* notes);

}  // namespace pb::harness
