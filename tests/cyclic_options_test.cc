// pb-cyclictest's flags: cyclictest's meaning and defaults, and one clear
// error for each kind of bad input.
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "options.h"

namespace pb::cyclic {
namespace {

const std::vector<int> kOnline = {0, 1, 2, 3};
const std::vector<int> kAllowed = {0, 1, 2, 3};

ParseResult parse(std::initializer_list<const char*> args,
                  const std::vector<int>& allowed = kAllowed) {
  std::vector<const char*> argv = {"pb-cyclictest"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_options(static_cast<int>(argv.size()), argv.data(), kOnline, allowed);
}

Options ok(std::initializer_list<const char*> args) {
  ParseResult r = parse(args);
  EXPECT_EQ(r.status, ParseResult::Status::kOk) << r.error;
  return r.options;
}

std::string error_of(std::initializer_list<const char*> args) {
  ParseResult r = parse(args);
  EXPECT_EQ(r.status, ParseResult::Status::kError);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << "one line";
  return r.error;
}

TEST(CyclicOptions, DefaultsMatchCyclictest) {
  const Options o = ok({});
  EXPECT_EQ(o.priority, 0);
  EXPECT_EQ(o.policy, SCHED_OTHER);
  EXPECT_EQ(o.interval_us, 1000);
  EXPECT_EQ(o.distance_us, 500);
  EXPECT_EQ(o.threads, 1);
  EXPECT_FALSE(o.affinity);
  EXPECT_FALSE(o.mlock);
  EXPECT_EQ(o.duration_s, 0);
  EXPECT_EQ(o.loops, 0u);
  EXPECT_EQ(o.histogram, 0);
  EXPECT_FALSE(o.quiet);
  EXPECT_FALSE(o.nsecs);
  EXPECT_EQ(o.latency_target, 0);
  EXPECT_FALSE(o.default_system);
  EXPECT_EQ(o.mode, Mode::kNanosleep);
  const auto plans = plan_threads(o, kAllowed);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].cpu, 0) << "cyclictest 2.4 pins round robin over the affinity even without -a";
  EXPECT_EQ(plans[0].interval_ns, 1'000'000);
}

TEST(CyclicOptions, PriorityImpliesFifo) {
  const Options o = ok({"-p", "80"});
  EXPECT_EQ(o.policy, SCHED_FIFO);
  EXPECT_EQ(ok({"-p80", "--policy=rr"}).policy, SCHED_RR);
  EXPECT_EQ(ok({"--priority=5"}).priority, 5);
}

TEST(CyclicOptions, LongAndShortFormsAreEquivalent) {
  const Options a = ok({"-p", "90",  "-i", "200", "-d", "0",   "-t", "2",  "-a", "1",  "-m",
                        "-D", "10m", "-l", "100", "-h", "400", "-q", "-N", "-b", "500"});
  const Options b = ok({"--priority=90", "--interval=200", "--distance=0", "--threads=2",
                        "--affinity=1", "--mlockall", "--duration=10m", "--loops=100",
                        "--histogram=400", "--quiet", "--nsecs", "--breaktrace=500"});
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.interval_us, b.interval_us);
  EXPECT_EQ(a.distance_us, b.distance_us);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.affinity_cpus, b.affinity_cpus);
  EXPECT_EQ(a.mlock, b.mlock);
  EXPECT_EQ(a.duration_s, 600);
  EXPECT_EQ(b.duration_s, 600);
  EXPECT_EQ(a.loops, b.loops);
  EXPECT_EQ(a.histogram, b.histogram);
  EXPECT_EQ(a.quiet, b.quiet);
  EXPECT_EQ(a.nsecs, b.nsecs);
  EXPECT_EQ(a.breaktrace, b.breaktrace);
}

TEST(CyclicOptions, ThreadsWithoutCountMeansOnePerAllowedCpu) {
  EXPECT_EQ(ok({"-t"}).threads, 4);
  EXPECT_EQ(parse({"-t"}, {1, 3}).options.threads, 2);
  EXPECT_EQ(ok({"-t", "3"}).threads, 3) << "detached count, as cyclictest accepts";
  EXPECT_EQ(ok({"-t3"}).threads, 3);
}

TEST(CyclicOptions, IntervalsGrowByDistance) {
  const auto plans = plan_threads(ok({"-t", "3", "-i", "100", "-d", "50"}), kAllowed);
  ASSERT_EQ(plans.size(), 3u);
  EXPECT_EQ(plans[0].interval_ns, 100'000);
  EXPECT_EQ(plans[1].interval_ns, 150'000);
  EXPECT_EQ(plans[2].interval_ns, 200'000);
}

TEST(CyclicOptions, AffinityRoundRobinOverSortedSet) {
  // cyclictest's help: "-a 3-5,0 -t 5" runs threads 1 and 5 on CPU 0.
  const std::vector<int> online = {0, 1, 2, 3, 4, 5};
  std::vector<const char*> argv = {"pb-cyclictest", "-a", "3-5,0", "-t", "5"};
  const ParseResult r = parse_options(static_cast<int>(argv.size()), argv.data(), online, online);
  ASSERT_EQ(r.status, ParseResult::Status::kOk) << r.error;
  const auto plans = plan_threads(r.options, online);
  std::vector<int> cpus;
  for (const auto& p : plans) cpus.push_back(p.cpu);
  EXPECT_EQ(cpus, (std::vector<int>{0, 3, 4, 5, 0}));
}

TEST(CyclicOptions, AffinityWithoutSetPinsThreadNToCpuN) {
  const auto plans = plan_threads(ok({"-a", "-t", "2"}), kAllowed);
  EXPECT_EQ(plans[0].cpu, 0);
  EXPECT_EQ(plans[1].cpu, 1);
  const auto wrapped = plan_threads(ok({"-a", "-t", "3"}), {1, 3});
  EXPECT_EQ(wrapped[2].cpu, 1) << "round robin over the affinity";
}

TEST(CyclicOptions, SmpIsThreadsAndAffinity) {
  const Options o = ok({"-S", "-p", "80"});
  EXPECT_EQ(o.threads, 4);
  EXPECT_TRUE(o.affinity);
  const auto plans = plan_threads(o, kAllowed);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(plans[i].cpu, i);
    EXPECT_EQ(plans[i].priority, 80) << "same priority for all threads";
  }
}

TEST(CyclicOptions, CyclictestsPolicyFixups) {
  // --policy fifo without -p: priority threads + 1, as cyclictest.
  const Options a = ok({"--policy=fifo", "-t", "2"});
  EXPECT_EQ(a.policy, SCHED_FIFO);
  EXPECT_EQ(a.priority, 3);
  // A priority with a non-RT policy becomes SCHED_FIFO, with a note.
  const Options b = ok({"-p", "10", "--policy=batch"});
  EXPECT_EQ(b.policy, SCHED_FIFO);
  EXPECT_FALSE(b.notes.empty());
  EXPECT_EQ(ok({"--policy=idle"}).policy, SCHED_IDLE);
}

TEST(CyclicOptions, HistogramIgnoresDistance) {
  const Options o = ok({"-h", "100", "-t", "2", "-d", "300"});
  EXPECT_EQ(o.distance_us, 0);
  const auto plans = plan_threads(o, kAllowed);
  EXPECT_EQ(plans[0].interval_ns, plans[1].interval_ns);
}

TEST(CyclicOptions, CpusetForms) {
  EXPECT_EQ(ok({"-a", "all", "-t", "4"}).affinity_cpus, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(ok({"-a", "!0", "-t", "2"}).affinity_cpus, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(ok({"-a1,3"}).affinity_cpus, (std::vector<int>{1, 3}));
}

TEST(CyclicOptions, PriospreadLowersPriorityPerThread) {
  const auto plans = plan_threads(ok({"-p", "80", "-t", "3", "--priospread"}), kAllowed);
  EXPECT_EQ(plans[0].priority, 80);
  EXPECT_EQ(plans[1].priority, 79);
  EXPECT_EQ(plans[2].priority, 78);
}

TEST(CyclicOptions, DurationSuffixes) {
  int64_t s = 0;
  EXPECT_TRUE(parse_duration("30", &s));
  EXPECT_EQ(s, 30);
  EXPECT_TRUE(parse_duration("30s", &s));
  EXPECT_EQ(s, 30);
  EXPECT_TRUE(parse_duration("2m", &s));
  EXPECT_EQ(s, 120);
  EXPECT_TRUE(parse_duration("3h", &s));
  EXPECT_EQ(s, 10800);
  EXPECT_TRUE(parse_duration("1d", &s));
  EXPECT_EQ(s, 86400);
  // As cyclictest's parse_time_string(): leading blanks fine, a unit letter
  // other than m, h, d means seconds, and what follows it is ignored.
  EXPECT_TRUE(parse_duration(" 90", &s));
  EXPECT_EQ(s, 90);
  EXPECT_TRUE(parse_duration("5x", &s));
  EXPECT_EQ(s, 5);
  EXPECT_TRUE(parse_duration("10min", &s));
  EXPECT_EQ(s, 600);
  EXPECT_TRUE(parse_duration("0", &s));
  EXPECT_EQ(s, 0) << "0: no time limit, as cyclictest";
  EXPECT_FALSE(parse_duration("", &s));
  EXPECT_FALSE(parse_duration("-5", &s));
  EXPECT_FALSE(parse_duration("m", &s));
  EXPECT_FALSE(parse_duration("99999999999999999999", &s));
}

TEST(CyclicOptions, ModesAndAliases) {
  EXPECT_EQ(ok({"--mode", "timerfd"}).mode, Mode::kTimerfd);
  EXPECT_EQ(ok({"--mode=uring"}).mode, Mode::kUring);
  EXPECT_EQ(ok({"--mode=signal"}).mode, Mode::kSignal);
  EXPECT_EQ(ok({"--mode=futex"}).mode, Mode::kFutex);
  EXPECT_EQ(ok({"-x"}).mode, Mode::kSignal);
}

TEST(CyclicOptions, ObsoleteDashNIsAcceptedWithANote) {
  const Options o = ok({"-n", "-p", "80"});
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("-n"), std::string::npos);
}

TEST(CyclicOptions, PriorityZeroAsksForFifoAsInCyclictest) {
  // cyclictest 2.4: -p sets SCHED_FIFO whatever its value; FIFO without a
  // priority then gets threads + 1 ("defaulting realtime priority to 2").
  const Options o = ok({"-p0", "-t1"});
  EXPECT_EQ(o.policy, SCHED_FIFO);
  EXPECT_EQ(o.priority, 2);
  ASSERT_FALSE(o.notes.empty());
  EXPECT_EQ(o.notes.back(), "defaulting realtime priority to 2");
}

TEST(CyclicOptions, HistogramAndHistfile) {
  const Options o = ok({"-H", "100", "--histfile=/tmp/h.txt"});
  EXPECT_EQ(o.histogram, 100);
  EXPECT_TRUE(o.histofall);
  EXPECT_EQ(o.histfile, "/tmp/h.txt");
}

TEST(CyclicOptions, RejectsBadInputWithOneClearMessage) {
  EXPECT_NE(error_of({"-i", "0"}).find("-i"), std::string::npos);
  EXPECT_NE(error_of({"-i", "-5"}).find("-i"), std::string::npos);
  EXPECT_NE(error_of({"-i", "abc"}).find("abc"), std::string::npos);
  EXPECT_NE(error_of({"-p", "100"}).find("0 to 99"), std::string::npos);
  EXPECT_NE(error_of({"-p", "-1"}).find("-p"), std::string::npos);
  EXPECT_NE(error_of({"--mode=sleepy"}).find("sleepy"), std::string::npos);
  EXPECT_NE(error_of({"-a", "7"}).find("CPU 7 is not online"), std::string::npos);
  EXPECT_NE(error_of({"--mainaffinity=9"}).find("not online"), std::string::npos);
  EXPECT_NE(error_of({"-a", "1-"}).find("-a"), std::string::npos);
  EXPECT_NE(error_of({"-z"}).find("-z"), std::string::npos);
  EXPECT_NE(error_of({"--frobnicate"}).find("--frobnicate"), std::string::npos);
  EXPECT_NE(error_of({"-D", "ten"}).find("ten"), std::string::npos);
  EXPECT_NE(error_of({"-t0"}).find("-t"), std::string::npos);
  EXPECT_NE(error_of({"-h", "0"}).find("-h"), std::string::npos);
  EXPECT_NE(error_of({"-b", "-1"}).find("-b"), std::string::npos);
  EXPECT_NE(error_of({"-d", "-1"}).find("-d"), std::string::npos);
  EXPECT_NE(error_of({"-i"}).find("needs a value"), std::string::npos);
  EXPECT_NE(error_of({"-p", "2", "-t", "3", "--priospread"}).find("below 1"), std::string::npos);
}

TEST(CyclicOptions, HelpIsNotAnError) {
  EXPECT_EQ(parse({"--help"}).status, ParseResult::Status::kHelp);
}

}  // namespace
}  // namespace pb::cyclic
