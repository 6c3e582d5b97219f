#!/usr/bin/env python3
"""Host side of scripts/test-arm64-system.

  tests.py list BUILD_DIR [REGEX]   the guest's test list, from ctest
  tests.py report LABEL LOG         counts and skip reasons of one boot

`list` asks ctest for the cross build's tests (ctest --show-only=json-v1:
each test's command and timeout, as gtest_discover_tests registered them)
and prints one line per test whose ctest name or binary name (exec_lock_test)
matches REGEX (a Python regular expression, searched): name, timeout
(ctest's, times PB_ARM64_TIMEOUT_FACTOR, default 3, for emulation), and the
command without the qemu-user prefix, tab-separated.

`report` reads the serial console log the guest's init wrote
(scripts/arm64-system/init) and prints what ran, passed, failed and skipped,
each skip with its reason, and each failure with its output (a flaky test,
one that failed and then passed on its second attempt, with its first
failure's output). Exits 0 when every test and check passed (flaky ones
included) and the guest finished, else 1.
"""
import collections
import json
import os
import re
import subprocess
import sys


def list_tests(build_dir, regex):
    out = subprocess.run(
        ["ctest", "--test-dir", build_dir, "--show-only=json-v1"],
        check=True, capture_output=True, text=True).stdout
    factor = float(os.environ.get("PB_ARM64_TIMEOUT_FACTOR", "3"))
    pattern = re.compile(regex) if regex else None
    build = os.path.realpath(build_dir) + "/"
    count = 0
    for test in json.loads(out)["tests"]:
        name = test["name"]
        command = test.get("command") or []
        # Drop the CMAKE_CROSSCOMPILING_EMULATOR prefix: the binary is the
        # first word inside the build directory.
        start = next((i for i, w in enumerate(command)
                      if os.path.realpath(w).startswith(build)), None)
        if start is None:
            # A check that is not a built binary (the `layers` test runs
            # scripts/check-layers over the sources): nothing of it is
            # aarch64-specific, and the host's own test run has it.
            print(f"tests.py: {name} is not a test binary of the build, left to the host's run",
                  file=sys.stderr)
            continue
        binary = os.path.basename(command[start])
        if pattern and not (pattern.search(name) or pattern.search(binary)):
            continue
        props = {p["name"]: p["value"] for p in test.get("properties", [])}
        timeout = int(float(props.get("TIMEOUT", 120)) * factor)
        words = command[start:]
        if any(("\t" in w or " " in w) for w in words):
            sys.exit(f"tests.py: {name}: a word of its command has a blank: {words}")
        # gtest_discover_tests appends "  # GetParam() = ..." to the names
        # of value-parameterized tests; the part before it is unique.
        name = re.sub(r"\s+# GetParam\(\).*$", "", name)
        name = re.sub(r"\s+", "_", name)
        print("\t".join([name, str(timeout), words[0], " ".join(words[1:])]))
        count += 1
    if count == 0:
        sys.exit(f"tests.py: no test of {build_dir} matches {regex!r}")


def skip_reason(lines):
    """The message after gtest's "FILE:LINE: Skipped" line, or the last line."""
    for i, line in enumerate(lines):
        if line.rstrip().endswith(": Skipped"):
            msg = []
            for nxt in lines[i + 1:]:
                if not nxt.strip() or nxt.startswith("["):
                    break
                msg.append(nxt.strip())
            if msg:
                return " ".join(msg)
    for line in reversed(lines):
        if line.strip() and not line.startswith("["):
            return line.strip()
    return "(no reason printed)"


def report(label, log_path):
    with open(log_path, errors="replace") as f:
        text = f.read().replace("\r", "")
    results = []  # (status, name, seconds)
    outputs = {}
    current = None
    done = None
    kernel = ""
    for line in text.split("\n"):
        m = re.search(r"@@PB (\S+) ?(.*)$", line)
        if current is not None:
            if m and m.group(1) == "output-end":
                current = None
            else:
                outputs[current].append(line)
            continue
        if not m:
            continue
        what, rest = m.group(1), m.group(2)
        if what == "output-begin":
            current = rest.strip()
            outputs[current] = []
        elif what == "result":
            words = rest.split()
            results.append((words[0], " ".join(words[1:-1]), float(words[-1])))
        elif what == "kernel":
            kernel = rest
        elif what == "done":
            done = int(rest.split()[0])

    tests = [r for r in results if not r[1].startswith("check.")]
    checks = [r for r in results if r[1].startswith("check.")]
    by = collections.Counter(r[0] for r in tests)
    print(f"== arm64 {label}: {kernel or 'kernel did not report'}")
    print(f"{label}: {len(tests)} tests ran: {by['passed']} passed, {by['failed']} failed, "
          f"{by['flaky']} flaky (failed, then passed on a second attempt), "
          f"{by['skipped']} skipped; {sum(r[2] for r in tests):.0f} s in the guest")
    reasons = collections.defaultdict(list)
    for status, name, _ in tests:
        if status == "skipped":
            reasons[skip_reason(outputs.get(name, []))].append(name)
    for reason, names in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        print(f"  skipped {len(names):3d}: {reason}")
        for n in names:
            print(f"      {n}")
    for status, name, secs in checks:
        print(f"  {name[len('check.'):]}: {status} ({secs:.1f} s)")
        if name == "check.sysinfo":  # what the kernel said about itself
            for line in outputs.get(name, []):
                if re.match(r"(architecture|cpu model|kernel (release|version)|preempt (model|rt|"
                            r"source)|clocksource|cycle counter) ", line):
                    print(f"      {line}")
    slow = sorted(tests, key=lambda r: -r[2])[:5]
    if slow:
        print("  slowest: " + ", ".join(f"{n} {s:.1f} s" for _, n, s in slow))
    for _, name, _ in (r for r in tests if r[0] == "flaky"):
        print(f"---- {label}: FLAKY {name} (passed on a second attempt); its first failure:")
        print("\n".join(outputs.get(name, ["(no output)"])[-30:]))
    bad = [r for r in results if r[0] == "failed"]
    for _, name, _ in bad:
        print(f"---- {label}: FAILED {name}:")
        print("\n".join(outputs.get(name, ["(no output)"])[-60:]))
    ok = True
    if done is None:
        print(f"{label}: the guest did not finish (crash, hang or timeout): see {log_path}")
        ok = False
    if bad:
        print(f"{label}: {len(bad)} failed: " + " ".join(n for _, n, _ in bad))
        ok = False
    if not tests:
        print(f"{label}: no test ran")
        ok = False
    # One machine-readable line per boot for CI.
    print(f"arm64-system {label}: ran={len(tests)} passed={by['passed']} failed={by['failed']} "
          f"flaky={by['flaky']} skipped={by['skipped']} checks_failed={sum(1 for r in checks if r[0] == 'failed')} "
          f"finished={'yes' if done is not None else 'no'}")
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 3 and argv[1] == "list":
        list_tests(argv[2], argv[3] if len(argv) > 3 else "")
        return 0
    if len(argv) == 4 and argv[1] == "report":
        return report(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
