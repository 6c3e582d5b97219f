// pb-cyclictest as a drop-in, at the parser: every option of cyclictest 2.4's
// table (rt-tests src/cyclictest/cyclictest.c, process_options() and its
// long options array) in every spelling cyclictest takes — short and long,
// value attached, detached, after "=", and with leading blanks (an option and
// its value passed as one argument) — and the argument lists with which the
// tools that drive cyclictest start it. The tools' own code is not here: their
// argument lists are restated as data, with the file they come from.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "options.h"

namespace pb::cyclic {
namespace {

const std::vector<int> kOnline = {0, 1, 2, 3};

ParseResult parse(const std::vector<std::string>& args, const std::vector<int>& allowed = kOnline) {
  std::vector<const char*> argv = {"cyclictest"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data(), kOnline, allowed);
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += "[" + a + "]";
  return s;
}

// One option of the 2.4 table with a value cyclictest accepts, and what it
// must set.
struct OptionCase {
  char short_name;  // 0: long only
  const char* long_name;
  enum Arg { kNone, kRequired, kOptional } arg;
  const char* value;  // for kRequired / kOptional
  std::function<bool(const Options&)> check;
  // Numbers may carry leading blanks; names and paths are taken as written
  // (a blank would be part of them, in cyclictest too).
  bool number = true;
};

std::vector<OptionCase> option_table() {
  using O = Options;
  return {
      {'a', "affinity", OptionCase::kOptional, "1-2",
       [](const O& o) {
         return o.affinity && o.affinity_cpus == std::vector<int>{1, 2};
       }},
      {'A', "aligned", OptionCase::kOptional, "50",
       [](const O& o) { return o.align == Align::kThreads && o.align_offset_us == 50; }},
      {'b', "breaktrace", OptionCase::kRequired, "120",
       [](const O& o) { return o.breaktrace == 120; }},
      {'c', "clock", OptionCase::kRequired, "1",
       [](const O& o) { return o.clock() == CLOCK_REALTIME; }},
      {0, "default-system", OptionCase::kNone, nullptr,
       [](const O& o) { return o.default_system; }},
      {'d', "distance", OptionCase::kRequired, "250",
       [](const O& o) { return o.distance_us == 250; }},
      {'D', "duration", OptionCase::kRequired, "2m",
       [](const O& o) { return o.duration_s == 120; }},
      {0, "latency", OptionCase::kRequired, "7", [](const O& o) { return o.latency_target == 7; }},
      {'F', "fifo", OptionCase::kRequired, "/tmp/ct.fifo",
       [](const O& o) { return o.fifo_path == "/tmp/ct.fifo"; }, false},
      {'h', "histogram", OptionCase::kRequired, "400",
       [](const O& o) { return o.histogram == 400 && !o.histofall; }},
      {'H', "histofall", OptionCase::kRequired, "400",
       [](const O& o) { return o.histogram == 400 && o.histofall; }},
      {0, "histfile", OptionCase::kRequired, "/tmp/h.txt",
       // without -h it has no effect (cyclictest writes no histogram then)
       [](const O& o) { return o.histfile.empty() && !o.notes.empty(); }, false},
      {'i', "interval", OptionCase::kRequired, "200",
       [](const O& o) { return o.interval_us == 200; }},
      {0, "json", OptionCase::kRequired, "/tmp/ct.json",
       [](const O& o) { return o.json_path == "/tmp/ct.json"; }, false},
      {0, "laptop", OptionCase::kNone, nullptr, [](const O& o) { return o.laptop; }},
      {'l', "loops", OptionCase::kRequired, "1000", [](const O& o) { return o.loops == 1000; }},
      {0, "mainaffinity", OptionCase::kRequired, "0",
       [](const O& o) { return o.main_cpus == std::vector<int>{0}; }},
      {'m', "mlockall", OptionCase::kNone, nullptr, [](const O& o) { return o.mlock; }},
      {'M', "refresh_on_max", OptionCase::kNone, nullptr,
       [](const O& o) { return o.refresh_on_max; }},
      {'N', "nsecs", OptionCase::kNone, nullptr, [](const O& o) { return o.nsecs; }},
      // -o > 1 needs -v (cyclictest refuses it otherwise): 1 is the value
      // that stands alone.
      {'o', "oscope", OptionCase::kRequired, "1", [](const O& o) { return o.oscope == 1; }},
      {'p', "priority", OptionCase::kRequired, "80",
       [](const O& o) { return o.priority == 80 && o.policy == SCHED_FIFO; }},
      {'q', "quiet", OptionCase::kNone, nullptr, [](const O& o) { return o.quiet; }},
      {0, "priospread", OptionCase::kNone, nullptr,
       [](const O& o) { return o.priospread && o.priority == 2 && o.policy == SCHED_FIFO; }},
      {'r', "relative", OptionCase::kNone, nullptr, [](const O& o) { return o.relative; }},
      {'R', "resolution", OptionCase::kNone, nullptr,
       [](const O& o) { return o.check_resolution; }},
      {0, "secaligned", OptionCase::kOptional, "250",
       [](const O& o) { return o.align == Align::kSecond && o.align_offset_us == 250; }},
      {'s', "system", OptionCase::kNone, nullptr, [](const O& o) { return o.system_sleep; }},
      {0, "smi", OptionCase::kNone, nullptr, [](const O& o) { return o.smi && !o.notes.empty(); }},
      {'S', "smp", OptionCase::kNone, nullptr,
       [](const O& o) { return o.smp && o.affinity && o.threads == 4; }},
      {0, "spike", OptionCase::kRequired, "300", [](const O& o) { return o.spike == 300; }},
      {0, "spike-nodes", OptionCase::kRequired, "16",
       // before --spike it is ignored, as cyclictest ignores it
       [](const O& o) { return o.spike_nodes == 1024 && !o.notes.empty(); }},
      {'t', "threads", OptionCase::kOptional, "3", [](const O& o) { return o.threads == 3; }},
      {0, "tracemark", OptionCase::kNone, nullptr,
       // without -b it has no effect
       [](const O& o) { return !o.tracemark && !o.notes.empty(); }},
      {'u', "unbuffered", OptionCase::kNone, nullptr, [](const O& o) { return o.unbuffered; }},
      {'v', "verbose", OptionCase::kNone, nullptr, [](const O& o) { return o.verbose; }},
      {0, "dbg_cyclictest", OptionCase::kNone, nullptr, [](const O& o) { return o.debug; }},
      {0, "policy", OptionCase::kRequired, "rr",
       [](const O& o) { return o.policy == SCHED_RR && o.priority == 2; }, false},
      {'x', "posix_timers", OptionCase::kNone, nullptr,
       [](const O& o) { return o.mode == Mode::kSignal; }},
  };
}

// Every spelling cyclictest's getopt_long accepts for one option.
std::vector<std::vector<std::string>> spellings(const OptionCase& c) {
  std::vector<std::vector<std::string>> out;
  const std::string s = c.short_name ? std::string("-") + c.short_name : "";
  const std::string l = std::string("--") + c.long_name;
  switch (c.arg) {
    case OptionCase::kNone:
      if (!s.empty()) out.push_back({s});
      out.push_back({l});
      break;
    case OptionCase::kRequired: {
      const std::string v = c.value;
      if (!s.empty()) {
        out.push_back({s + v});  // -i200
        out.push_back({s, v});   // -i 200 (two arguments)
        if (c.number) {
          out.push_back({s + " " + v});  // "-i 200" (one argument: rteval)
          out.push_back({s, "  " + v});  // -i "  200"
        }
      }
      out.push_back({l + "=" + v});                 // --interval=200
      out.push_back({l, v});                        // --interval 200
      if (c.number) out.push_back({l + "= " + v});  // "--interval= 200"
      break;
    }
    case OptionCase::kOptional: {
      const std::string v = c.value;
      if (!s.empty()) {
        out.push_back({s + v});        // -t3
        out.push_back({s, v});         // -t 3: taken as cyclictest takes it
        out.push_back({s + " " + v});  // "-t 3"
      }
      out.push_back({l + "=" + v});  // --threads=3
      out.push_back({l, v});         // --threads 3
      break;
    }
  }
  return out;
}

TEST(CyclicCompatOptions, EveryOptionOfCyclictest24InEverySpelling) {
  const auto table = option_table();
  ASSERT_EQ(table.size(), 39u) << "the 2.4 long option table has 40 entries, --help is below";
  for (const OptionCase& c : table) {
    for (const auto& args : spellings(c)) {
      SCOPED_TRACE(joined(args));
      const ParseResult r = parse(args);
      ASSERT_EQ(r.status, ParseResult::Status::kOk) << r.error;
      EXPECT_TRUE(c.check(r.options));
      for (const auto& n : r.options.notes) {
        EXPECT_EQ(n.find("ignoring argument"), std::string::npos)
            << "a value taken as a stray word: " << n;
      }
    }
  }
  EXPECT_EQ(parse({"--help"}).status, ParseResult::Status::kHelp);
  EXPECT_EQ(parse({"-?"}).status, ParseResult::Status::kHelp);
}

TEST(CyclicCompatOptions, OptionalValuesWithoutAValue) {
  // -a, -t and -A without a value, followed by another option.
  Options o = parse({"-a", "-t", "-A", "-q"}).options;
  EXPECT_TRUE(o.affinity);
  EXPECT_TRUE(o.affinity_cpus.empty()) << "thread N on CPU N";
  EXPECT_EQ(o.threads, 4) << "one per allowed CPU";
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.align, Align::kThreads);
  EXPECT_EQ(o.align_offset_us, 0);
  EXPECT_EQ(parse({"--secaligned", "-q"}).options.align, Align::kSecond);
  // --secaligned after -A: cyclictest refuses both together.
  EXPECT_EQ(parse({"-A", "--secaligned"}).status, ParseResult::Status::kError);
  // -t then a word atoi reads as 0 is not taken (cyclictest ignores the word).
  o = parse({"-t", "0"}).options;
  EXPECT_EQ(o.threads, 4);
  // -a then words libnuma reads as CPU sets.
  EXPECT_EQ(parse({"-a", "0"}).options.affinity_cpus, std::vector<int>{0});
  EXPECT_EQ(parse({"-a", "all"}).options.affinity_cpus, kOnline);
  EXPECT_EQ(parse({"-a", "!0-2"}).options.affinity_cpus, std::vector<int>{3});
  EXPECT_EQ(parse({"-a", "+1"}, {1, 3}).options.affinity_cpus, std::vector<int>{3})
      << "+LIST: positions in this process's affinity";
}

TEST(CyclicCompatOptions, NumbersAreReadAsCyclictestReadsThem) {
  EXPECT_EQ(parse({"-i", "\t 300"}).options.interval_us, 300);
  EXPECT_EQ(parse({"-i+300"}).options.interval_us, 300);
  const Options o = parse({"-i300us"}).options;
  EXPECT_EQ(o.interval_us, 300) << "atoi stops at the first non-digit";
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("read as 300"), std::string::npos) << o.notes[0];
  EXPECT_EQ(parse({"-h", "2000000"}).options.histogram, 1'000'000) << "HIST_MAX";
  EXPECT_EQ(parse({"--latency=-5"}).options.latency_target, 0) << "cyclictest clamps it to 0";
  EXPECT_EQ(parse({"-b", "0"}).options.breaktrace, 0) << "0: off";
  EXPECT_EQ(parse({"-D", "0"}).options.duration_s, 0) << "0: no limit";
  EXPECT_EQ(parse({"-D", "1d"}).options.duration_s, 86'400);
}

TEST(CyclicCompatOptions, CyclictestsPolicyNames) {
  EXPECT_EQ(parse({"--policy=FIFO"}).options.policy, SCHED_FIFO) << "case-insensitive";
  EXPECT_EQ(parse({"--policy=normal"}).options.policy, SCHED_OTHER);
  EXPECT_EQ(parse({"--policy=batch"}).options.policy, SCHED_BATCH);
  EXPECT_EQ(parse({"--policy=idle"}).options.policy, SCHED_IDLE);
  const Options o = parse({"--policy=deadline"}).options;
  EXPECT_EQ(o.policy, SCHED_OTHER) << "unknown: SCHED_OTHER, as cyclictest";
  EXPECT_FALSE(o.notes.empty());
}

TEST(CyclicCompatOptions, WordsThatAreNotOptionsAreIgnoredAsCyclictestIgnoresThem) {
  const ParseResult r = parse({"", "-q", "stray"});
  ASSERT_EQ(r.status, ParseResult::Status::kOk) << r.error;
  ASSERT_EQ(r.options.notes.size(), 1u) << "a note for 'stray', none for the empty word";
  EXPECT_NE(r.options.notes[0].find("stray"), std::string::npos);
}

TEST(CyclicCompatOptions, LongOptionsMayBeAbbreviatedAsGetoptLongAllows) {
  EXPECT_EQ(parse({"--dur=10"}).options.duration_s, 10);
  EXPECT_EQ(parse({"--prior=70"}).options.priority, 70);
  EXPECT_EQ(parse({"--prio=70"}).status, ParseResult::Status::kError)
      << "--priority or --priospread";
  EXPECT_EQ(parse({"--histog=50"}).options.histogram, 50);
  EXPECT_EQ(parse({"--la"}).status, ParseResult::Status::kError) << "--laptop or --latency";
}

// Values cyclictest takes but which make no sense here: refused, one line,
// exit 2 from main (README, "pb-cyclictest", lists them with the reasons).
TEST(CyclicCompatOptions, ValuesThatMakeNoSenseAreRefused) {
  const std::vector<std::vector<std::string>> refused = {
      {"-i", "0"},             // cyclictest spins forever
      {"-i", "-100"},          // sleeps forever
      {"-i", "abc"},           // atoi: 0
      {"-l", "-1"},            //
      {"-p", "100"},           // cyclictest refuses it too
      {"-p", "-1"},            //
      {"-t0"},                 // cyclictest refuses it too
      {"-h", "0"},             // cyclictest refuses it too
      {"-c", "2"},             // cyclictest reads past its clock table
      {"-c", "-1"},            // cyclictest refuses it too
      {"-o", "0"},             // cyclictest refuses it too
      {"-o", "2"},             // without -v: cyclictest refuses it too
      {"-d", "-1"},            // cyclictest: the default; -2 and below shrink intervals
      {"-b", "-5"},            // never fires in cyclictest
      {"-D", "-3"},            // stops after the first sample in cyclictest
      {"-D", "soon"},          // atoi: 0 = endless
      {"--spike=-1"},          //
      {"-A", "--secaligned"},  // cyclictest refuses them together
      {"-a", "9"},             // not online
      {"--mode=warp"},         //
      {"--frobnicate"},        // cyclictest prints its help and exits
      {"-z"},                  // likewise
  };
  for (const auto& args : refused) {
    SCOPED_TRACE(joined(args));
    const ParseResult r = parse(args);
    EXPECT_EQ(r.status, ParseResult::Status::kError);
    EXPECT_FALSE(r.error.empty());
    EXPECT_EQ(r.error.find('\n'), std::string::npos);
  }
}

// The argument lists real tools start cyclictest with, from their public
// sources. Only what a tool computes from its machine (CPU lists, thread
// counts) is filled in for a 4-CPU machine.
struct ToolCase {
  const char* tool;
  std::vector<std::string> args;
  std::function<void(const Options&)> check;
};

std::vector<ToolCase> tool_cases() {
  return {
      // rteval, rteval/modules/measurement/cyclictest.py, _WorkloadPrepare():
      // an option and its value in one argument ("-h 3500"), combined flags,
      // an empty argument when no interval is configured.
      {"rteval",
       {"-i100", "-qmu", "-h 3500", "-p95", "-t2", "-a0-1", "--default-system", "-b50",
        "--tracemark"},
       [](const Options& o) {
         EXPECT_EQ(o.interval_us, 100);
         EXPECT_TRUE(o.quiet && o.mlock && o.unbuffered);
         EXPECT_EQ(o.histogram, 3500);
         EXPECT_EQ(o.priority, 95);
         EXPECT_EQ(o.threads, 2);
         EXPECT_EQ(o.affinity_cpus, (std::vector<int>{0, 1}));
         EXPECT_TRUE(o.default_system);
         EXPECT_EQ(o.breaktrace, 50);
         EXPECT_TRUE(o.tracemark);
       }},
      {"rteval (no interval configured)",
       {"", "-qmu", "-h 3500", "-p95", "-t4", "-a0-3"},
       [](const Options& o) {
         EXPECT_EQ(o.interval_us, 1000);
         EXPECT_EQ(o.threads, 4);
         EXPECT_TRUE(o.notes.empty()) << o.notes[0];
       }},
      // rteval before 3.x (same file): --smp instead of the CPU list.
      {"rteval 2.x",
       {"-i100", "-qmu", "-h 2000", "-p95", "--smp"},
       [](const Options& o) {
         EXPECT_TRUE(o.smp);
         EXPECT_EQ(o.threads, 4);
         EXPECT_EQ(o.histogram, 2000);
       }},
      // lkp-tests, programs/cyclictest/run (and jobs/cyclictest.yaml for the
      // values); tests/cyclictest of older lkp-tests adds -n.
      {"lkp-tests",
       {"-p", "90", "-m", "-c", "0", "-i", "200", "-h", "100", "-q", "-l", "1000000"},
       [](const Options& o) {
         EXPECT_EQ(o.priority, 90);
         EXPECT_EQ(o.clock(), CLOCK_MONOTONIC);
         EXPECT_EQ(o.histogram, 100);
         EXPECT_EQ(o.loops, 1'000'000u);
       }},
      {"lkp-tests (older)",
       {"-p", "90", "-m", "-c", "1", "-i", "200", "-n", "-h", "100", "-q", "-l", "1000000"},
       [](const Options& o) {
         EXPECT_EQ(o.clock(), CLOCK_REALTIME);
         EXPECT_EQ(o.notes.size(), 1u) << "the note about -n";
       }},
      // mmtests, shellpack_src/src/cyclictest/cyclictest-bench: --threads
      // without a number right before another option, -a only with
      // --affinity-all, --quiet or -v (fine-grained).
      {"mmtests",
       {"--mlockall", "-p98", "--threads", "-a", "--distance=0", "--duration=600", "--quiet"},
       [](const Options& o) {
         EXPECT_EQ(o.threads, 4);
         EXPECT_TRUE(o.affinity);
         EXPECT_EQ(o.distance_us, 0);
         EXPECT_EQ(o.duration_s, 600);
         EXPECT_TRUE(o.quiet);
       }},
      {"mmtests (fine-grained)",
       {"--mlockall", "-p98", "--threads", "--distance=0", "--duration=600", "-v"},
       [](const Options& o) {
         EXPECT_EQ(o.threads, 4);
         EXPECT_TRUE(o.verbose);
       }},
      // Linaro test-definitions, automated/linux/cyclictest/cyclictest.sh:
      // every value detached; THREADS=0 turns into nproc and "-a all".
      {"Linaro test-definitions",
       {"-q", "-p", "98", "-i", "1000", "-t", "1", "-a", "0", "-D", "1m", "-h", "100", "-m",
        "--json=/tmp/out.json"},
       [](const Options& o) {
         EXPECT_EQ(o.threads, 1);
         EXPECT_EQ(o.affinity_cpus, std::vector<int>{0});
         EXPECT_EQ(o.duration_s, 60);
         EXPECT_EQ(o.json_path, "/tmp/out.json");
       }},
      {"Linaro test-definitions (all CPUs)",
       {"-q", "-p", "98", "-i", "1000", "-t", "4", "-a", "all", "-D", "1m", "-m"},
       [](const Options& o) {
         EXPECT_EQ(o.threads, 4);
         EXPECT_EQ(o.affinity_cpus, kOnline);
       }},
      {"Linaro test-definitions (older)",
       {"-p", "99", "-i", "10000", "-t", "1", "-l", "10000"},
       [](const Options& o) { EXPECT_EQ(o.loops, 10'000u); }},
      // OSADL, mklatencyplot.bash ("Create a latency plot from cyclictest
      // histogram data"): -S and -p combined.
      {"OSADL",
       {"-l100000000", "-m", "-Sp90", "-i200", "-h400", "-q"},
       [](const Options& o) {
         EXPECT_TRUE(o.smp);
         EXPECT_EQ(o.priority, 90);
         EXPECT_EQ(o.histogram, 400);
         EXPECT_EQ(o.loops, 100'000'000u);
       }},
      // Ubuntu checkbox, providers/base/bin/run_cyclictest.py, run_it().
      {"checkbox",
       {"-a2-3", "-t2", "-m", "-p99", "-i250", "-h700", "-q", "-D", "60"},
       [](const Options& o) {
         EXPECT_EQ(o.affinity_cpus, (std::vector<int>{2, 3}));
         EXPECT_EQ(o.histogram, 700);
         EXPECT_EQ(o.duration_s, 60);
       }},
      // OPNFV yardstick, yardstick/benchmark/scenarios/compute/cyclictest.py,
      // run(): the options string of the scenario, split by the shell.
      {"yardstick",
       {"-a", "1", "-b", "1000", "-i", "1000", "-p", "99", "-l", "1000", "-t", "1", "-h", "90",
        "-m", "-n", "-q"},
       [](const Options& o) {
         EXPECT_EQ(o.affinity_cpus, std::vector<int>{1});
         EXPECT_EQ(o.breaktrace, 1000);
         EXPECT_EQ(o.histogram, 90);
       }},
  };
}

TEST(CyclicCompatOptions, ToolArgumentLists) {
  for (const ToolCase& c : tool_cases()) {
    SCOPED_TRACE(std::string(c.tool) + ": " + joined(c.args));
    const ParseResult r = parse(c.args);
    ASSERT_EQ(r.status, ParseResult::Status::kOk) << r.error;
    c.check(r.options);
  }
}

}  // namespace
}  // namespace pb::cyclic
