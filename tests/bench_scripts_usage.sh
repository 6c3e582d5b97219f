#!/usr/bin/env bash
# The measuring scripts refuse bad arguments before they measure: exit 2, a
# message on stderr, nothing written under results/. Each call is bounded by
# `timeout`: a script that accepted its arguments and started measuring
# fails the test (124) instead of measuring for minutes. Registered as the
# ctest `bench_script_usage`.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
failures=0
checked=0

# expect_usage "LABEL-THAT-MUST-NOT-APPEAR" SCRIPT ARGS...
expect_usage() {
  local label="$1"
  shift
  local err rc
  err="$(timeout 20 "$@" 2>&1 >/dev/null)"
  rc=$?
  checked=$((checked + 1))
  if [[ $rc -ne 2 ]]; then
    echo "FAIL: $* exited $rc (expected 2): $err"
    failures=$((failures + 1))
  elif [[ -z "$err" ]]; then
    echo "FAIL: $* exited 2 without a message"
    failures=$((failures + 1))
  elif [[ -n "$label" && -e "results/$label" ]]; then
    echo "FAIL: $* created results/$label"
    failures=$((failures + 1))
  fi
}

t=pb-usage-test-nonexistent
[[ ! -e "results/$t" ]] || { echo "results/$t exists before the test"; exit 1; }

expect_usage "" scripts/bench-longrun "../$t"
expect_usage "" scripts/bench-longrun "-$t"
expect_usage "$t" scripts/bench-longrun "$t" 1m
expect_usage "$t" scripts/bench-longrun "$t" 60 'full;rt'
expect_usage "$t" scripts/bench-longrun "$t" 60 full 0
expect_usage "$t" scripts/bench-longrun "$t" 60 full 3 run
expect_usage "$t" scripts/bench-longrun "$t" 60 full 3 longrun/../x

expect_usage "" scripts/bench-direct --label "../$t"
expect_usage "$t" scripts/bench-direct --label "$t" --rounds 0
expect_usage "$t" scripts/bench-direct --label "$t" --rounds many
expect_usage "$t" scripts/bench-direct --label "$t" --duration 61
expect_usage "$t" scripts/bench-direct --label "$t" --no-such-option

expect_usage "" scripts/bench-gate "../$t"
expect_usage "$t" scripts/bench-gate "$t" --pool 3
expect_usage "$t" scripts/bench-gate "$t" --pool 30 --rounds 20
expect_usage "$t" scripts/bench-gate "$t" --pairs 0
expect_usage "$t" scripts/bench-gate "$t" --duration -1

# "." and "..": a label is a directory under results/; these would name
# results/ itself or the repository.
for bad in . .. .x -x; do
  expect_usage "" scripts/bench-gate "$bad"
  expect_usage "" scripts/bench-direct --label "$bad"
  expect_usage "" scripts/bench-foundation "$bad"
  expect_usage "" scripts/bench-scenarios "$bad"
  expect_usage "" scripts/publish "$bad"
  expect_usage "" scripts/bench-longrun "$bad"
done

expect_usage "" scripts/bench-foundation "../$t"
expect_usage "" scripts/bench-scenarios "../$t"
expect_usage "" scripts/publish "../$t"
expect_usage "$t" scripts/publish "$t"

echo "bench_script_usage: $checked calls, $failures failed"
((failures == 0))
