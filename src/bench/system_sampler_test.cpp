#include "hdeploy/bench/system_sampler.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hdeploy::bench {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const double kTicks = static_cast<double>(::sysconf(_SC_CLK_TCK));

// A /proc/<pid>/stat line with the given times (ticks); the command holds ") " on purpose.
std::string task_stat(int tid, const std::string& comm, int utime, int stime, int starttime) {
  std::ostringstream s;
  s << tid << " (" << comm << ") S 1 1 1 0 -1 4194304 10 0 0 0 " << utime << ' ' << stime
    << " 0 0 20 0 3 0 " << starttime << " 123456 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0"
    << " 0 0 17 1 0 0 0 0 0\n";
  return s.str();
}

// Per core: user, idle, iowait ticks (the other fields stay fixed so they cancel out).
struct FakeCore {
  int user = 0;
  int idle = 0;
  int iowait = 0;
};

std::string proc_stat(const std::vector<FakeCore>& cores) {
  std::ostringstream s;
  s << "cpu  1 2 3 4 5 6 7 8 0 0\n";
  for (std::size_t i = 0; i < cores.size(); ++i) {
    s << "cpu" << i << ' ' << cores[i].user << " 3 7 " << cores[i].idle << ' ' << cores[i].iowait
      << " 1 2 0 0 0\n";
  }
  s << "intr 12345 0 0 0\nctxt 999\nbtime 1700000000\nprocs_running 2\n";
  return s.str();
}

std::string proc_status(int rss_kb, int hwm_kb) {
  std::ostringstream s;
  s << "Name:\thdeploy\nState:\tS (sleeping)\nVmPeak:\t  999999 kB\nVmSize:\t  888888 kB\n"
    << "VmHWM:\t" << hwm_kb << " kB\nVmRSS:\t" << rss_kb << " kB\nThreads:\t3\n";
  return s.str();
}

// One state of the fake machine.
struct FakeState {
  int self_utime = 0;
  int self_stime = 0;
  std::vector<FakeCore> cores;
  std::vector<int> freq_khz;
  int temp_milli_c = 0;
  int rss_kb = 0;
  int hwm_kb = 0;
  struct Thread {
    int tid;
    std::string comm;
    int utime;
    int stime;
    int starttime;
  };
  std::vector<Thread> threads;
};

// Just what start() needs: the process, its cores and its memory.
FakeState minimal_state(std::vector<FakeCore> cores = {{1, 1, 0}}) {
  FakeState state;
  state.self_utime = 1;
  state.cores = std::move(cores);
  state.rss_kb = 1;
  state.hwm_kb = 1;
  return state;
}

class SystemSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("hdeploy_system_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a file of the fake tree atomically, so the sampler never reads half of one.
  void write(const fs::path& relative, const std::string& content) const {
    const fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    const fs::path temporary = path.string() + ".tmp";
    {
      std::ofstream out(temporary, std::ios::binary);
      out << content;
    }
    fs::rename(temporary, path);
  }

  void write_state(const FakeState& state) const {
    write("proc/self/stat", task_stat(4242, "hdeploy) x", state.self_utime, state.self_stime, 1));
    write("proc/stat", proc_stat(state.cores));
    write("proc/self/status", proc_status(state.rss_kb, state.hwm_kb));
    for (std::size_t i = 0; i < state.freq_khz.size(); ++i) {
      write("sys/devices/system/cpu/cpu" + std::to_string(i) + "/cpufreq/scaling_cur_freq",
            std::to_string(state.freq_khz[i]) + "\n");
    }
    if (state.temp_milli_c != 0) {
      write("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n");
      write("sys/class/thermal/thermal_zone0/temp", std::to_string(state.temp_milli_c) + "\n");
    }
    fs::remove_all(dir_ / "proc/self/task");
    for (const auto& t : state.threads) {
      const fs::path task = fs::path("proc/self/task") / std::to_string(t.tid);
      write(task / "stat", task_stat(t.tid, t.comm, t.utime, t.stime, t.starttime));
      write(task / "comm", t.comm + "\n");
    }
  }

  // An executable shell script in the temp dir that logs each call to `calls` and runs `body`.
  std::string write_script(const std::string& name, const std::string& body) const {
    const fs::path path = dir_ / name;
    {
      std::ofstream out(path);
      out << "#!/bin/sh\necho call >> '" << (dir_ / (name + ".calls")).string() << "'\n" << body;
    }
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    return path.string();
  }

  int calls(const std::string& name) const {
    std::ifstream in(dir_ / (name + ".calls"));
    int lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    return lines;
  }

  SystemSamplerOptions fake_options() const {
    SystemSamplerOptions options;
    options.interval = 10ms;
    options.proc_root = dir_ / "proc";
    options.sys_root = dir_ / "sys";
    options.vcgencmd = (dir_ / "no-such-vcgencmd").string();
    return options;
  }

  fs::path dir_;
};

const ThreadCpu* find_thread(const SystemReport& report, const std::string& name) {
  const auto it = std::find_if(report.threads.begin(), report.threads.end(),
                               [&](const ThreadCpu& t) { return t.name == name; });
  return it == report.threads.end() ? nullptr : &*it;
}

std::vector<std::string> keys(const nlohmann::json& object) {
  std::vector<std::string> out;
  for (const auto& item : object.items()) out.push_back(item.key());
  return out;
}

TEST(ParseThrottledTest, AcceptsVcgencmdOutputOnly) {
  EXPECT_EQ(parse_throttled("throttled=0x50005"), 0x50005U);
  EXPECT_EQ(parse_throttled("throttled=0x0\n"), 0U);
  EXPECT_EQ(parse_throttled("  throttled=0xFFFFFFFF \n"), 0xFFFFFFFFU);
  EXPECT_EQ(parse_throttled("throttled=0xe0000"), 0xE0000U);
  EXPECT_EQ(parse_throttled(""), std::nullopt);
  EXPECT_EQ(parse_throttled("throttled="), std::nullopt);
  EXPECT_EQ(parse_throttled("throttled=0x"), std::nullopt);
  EXPECT_EQ(parse_throttled("throttled=0x100000000"), std::nullopt);  // more than 32 bits
  EXPECT_EQ(parse_throttled("throttled=0xg"), std::nullopt);
  EXPECT_EQ(parse_throttled("throttled=0x-1"), std::nullopt);
  EXPECT_EQ(parse_throttled("throttled=0x+1"), std::nullopt);
  EXPECT_EQ(parse_throttled("throttled=50005"), std::nullopt);
  EXPECT_EQ(parse_throttled("throttled=0x5 and more"), std::nullopt);
  EXPECT_EQ(parse_throttled("Throttled=0x5"), std::nullopt);
  EXPECT_EQ(parse_throttled("VCHI initialization failed"), std::nullopt);
}

TEST(DescribeThrottledTest, NamesEachBit) {
  EXPECT_EQ(describe_throttled(0), "none");
  EXPECT_EQ(describe_throttled(0x50005),
            "under-voltage now, throttled now, under-voltage has occurred, throttled has occurred");
  EXPECT_EQ(describe_throttled(0xF000F),
            "under-voltage now, ARM frequency capped now, throttled now, soft temperature limit "
            "now, under-voltage has occurred, ARM frequency capped has occurred, throttled has "
            "occurred, soft temperature limit has occurred");
  EXPECT_EQ(describe_throttled(0x80000), "soft temperature limit has occurred");
  EXPECT_EQ(describe_throttled(0x102), "ARM frequency capped now, unknown bits 0x100");
}

// The sampler reads a fake tree that the on_sample callback rewrites after each sample, so
// sample k+1 sees the deltas from state k-1 to state k exactly.
TEST_F(SystemSamplerTest, FakeTreeSamplesEventsAndTotals) {
  std::vector<FakeState> states(5);
  // 0: before start. Sample 1 sees no change.
  states[0] = FakeState{.self_utime = 100,
                        .self_stime = 50,
                        .cores = {{1000, 1000, 0}, {500, 500, 0}},
                        .freq_khz = {2400000, 2400000},
                        .temp_milli_c = 51234,
                        .rss_kb = 1000,
                        .hwm_kb = 2000,
                        .threads = {{4242, "hdeploy", 10, 5, 1},
                                    {4243, "hd-preproc-0", 0, 0, 1000},
                                    {4245, "hd-old", 50, 50, 500}}};
  // 1: cpu0 75% busy and its clock drops; cpu1 10% busy (iowait counts as idle).
  states[1] = states[0];
  states[1].self_utime = 130;
  states[1].self_stime = 60;
  states[1].cores = {{1075, 1025, 0}, {510, 580, 10}};
  states[1].freq_khz = {1500000, 2400000};
  states[1].temp_milli_c = 62500;
  states[1].rss_kb = 3000;
  // 2: cpu0 stays low (no second event); cpu1 drops while idle (no event).
  states[2] = states[1];
  states[2].self_utime = 160;
  states[2].self_stime = 70;
  states[2].cores = {{1175, 1025, 0}, {515, 675, 0}};
  states[2].freq_khz = {1500000, 1000000};
  states[2].threads.push_back({4244, "hd-late", 7, 3, 2000});
  // 3: both recover, which re-arms cpu0. Thread 4245 exited and its tid was reused.
  states[3] = states[2];
  states[3].self_utime = 190;
  states[3].self_stime = 80;
  states[3].cores = {{1275, 1025, 0}, {615, 675, 0}};
  states[3].freq_khz = {2400000, 2400000};
  states[3].threads[2] = {4245, "hd-reused", 4, 0, 3000};
  // 4: cpu0 drops again while busy: a second event.
  states[4] = states[3];
  states[4].self_utime = 220;
  states[4].self_stime = 90;
  states[4].cores = {{1325, 1075, 0}, {715, 675, 0}};
  states[4].freq_khz = {1500000, 2400000};
  states[4].hwm_kb = 4000;
  states[4].threads[0] = {4242, "hdeploy", 40, 5, 1};
  states[4].threads[1] = {4243, "hd-preproc-0", 80, 20, 1000};
  write_state(states[0]);

  auto options = fake_options();
  options.vcgencmd = write_script("vcgencmd", "echo throttled=0x50005\n");
  options.chip_temperature = [] { return std::optional<double>(48.0); };
  options.origin = Clock::now() - 5s;
  std::promise<void> done;
  int seen = 0;  // only the sampler thread touches it
  options.on_sample = [&](const SystemSample&) {
    ++seen;
    if (seen < static_cast<int>(states.size())) write_state(states[seen]);
    if (seen == static_cast<int>(states.size())) done.set_value();
  };
  auto sampler = SystemSampler::start(options);
  ASSERT_TRUE(sampler) << sampler.error().message;
  ASSERT_EQ(done.get_future().wait_for(20s), std::future_status::ready);
  const SystemReport report = (*sampler)->stop();

  ASSERT_GE(report.samples.size(), 6U);  // five scripted and the last one of stop()
  EXPECT_EQ(report.cores, 2U);
  EXPECT_DOUBLE_EQ(report.interval_ms, 10.0);
  const auto& s1 = report.samples[0];
  const auto& s2 = report.samples[1];
  EXPECT_GE(s1.t_s, 5.0);
  EXPECT_LT(s1.t_s, s2.t_s);
  EXPECT_EQ(s1.core_util_percent, (std::vector<double>{0.0, 0.0}));
  EXPECT_EQ(s1.process_cpu_percent, 0.0);
  EXPECT_EQ(s2.core_util_percent, (std::vector<double>{75.0, 10.0}));
  // 40 ticks between the two samples' own timestamps; user is three times sys.
  const double expected_percent = 40.0 / kTicks / (s2.t_s - s1.t_s) * 100.0;
  EXPECT_NEAR(s2.process_cpu_percent, expected_percent, expected_percent * 1e-6);
  EXPECT_NEAR(s2.process_user_percent, 3.0 * s2.process_sys_percent, 1e-9);
  EXPECT_NEAR(s2.process_cpu_percent, s2.process_user_percent + s2.process_sys_percent, 1e-9);
  ASSERT_TRUE(s1.core_freq_mhz && s2.core_freq_mhz);
  EXPECT_EQ(*s1.core_freq_mhz, (std::vector<double>{2400.0, 2400.0}));
  EXPECT_EQ(*s2.core_freq_mhz, (std::vector<double>{1500.0, 2400.0}));
  EXPECT_EQ(*report.samples[2].core_freq_mhz, (std::vector<double>{1500.0, 1000.0}));
  EXPECT_EQ(s1.temperatures_c, (std::map<std::string, double>{{"cpu-thermal", 51.234}}));
  EXPECT_EQ(s2.temperatures_c, (std::map<std::string, double>{{"cpu-thermal", 62.5}}));
  EXPECT_EQ(s1.rss_bytes, 1000U * 1024U);
  EXPECT_EQ(s2.rss_bytes, 3000U * 1024U);
  EXPECT_EQ(s1.throttled, 0x50005U);
  EXPECT_EQ(s2.throttled, 0x50005U);
  EXPECT_EQ(s2.chip_temp_c, 48.0);
  const auto& last = report.samples.back();
  EXPECT_EQ(last.core_util_percent, (std::vector<double>{0.0, 0.0}));  // nothing changed since

  ASSERT_EQ(report.events.size(), 3U);
  EXPECT_EQ(report.events[0].kind, "throttled");
  EXPECT_EQ(report.events[0].detail,
            "under-voltage now, throttled now, under-voltage has occurred, throttled has occurred "
            "(0x50005)");
  EXPECT_DOUBLE_EQ(report.events[0].t_s, s1.t_s);
  EXPECT_EQ(report.events[1].kind, "clock_drop");
  EXPECT_EQ(report.events[1].detail, "cpu0 2400 → 1500 MHz");
  EXPECT_DOUBLE_EQ(report.events[1].t_s, s2.t_s);
  EXPECT_EQ(report.events[2].kind, "clock_drop");
  EXPECT_DOUBLE_EQ(report.events[2].t_s, report.samples[4].t_s);
  EXPECT_TRUE(report.throttled_during_run);
  EXPECT_GE(calls("vcgencmd"), 1);
  EXPECT_LE(calls("vcgencmd"), 1 + static_cast<int>(report.wall_s));

  EXPECT_DOUBLE_EQ(report.process_user_s, 120.0 / kTicks);
  EXPECT_DOUBLE_EQ(report.process_sys_s, 40.0 / kTicks);
  EXPECT_GT(report.wall_s, 0.04);
  EXPECT_NEAR(report.cpu_percent_of_one_core * report.wall_s / 100.0, 160.0 / kTicks, 1e-9);
  EXPECT_DOUBLE_EQ(report.cpu_percent_of_all_cores, report.cpu_percent_of_one_core / 2.0);
  EXPECT_EQ(report.peak_rss_bytes, 4000U * 1024U);

  ASSERT_EQ(report.threads.size(), 5U);
  EXPECT_EQ(report.threads[0].tid, 4242);
  EXPECT_EQ(report.threads[0].name, "hdeploy");
  EXPECT_DOUBLE_EQ(report.threads[0].user_s, 30.0 / kTicks);
  EXPECT_DOUBLE_EQ(report.threads[0].sys_s, 0.0);
  EXPECT_NEAR(report.threads[0].cpu_percent_of_one_core * report.wall_s / 100.0, 30.0 / kTicks,
              1e-9);
  EXPECT_EQ(report.threads[1].name, "hd-preproc-0");
  EXPECT_DOUBLE_EQ(report.threads[1].user_s, 80.0 / kTicks);
  EXPECT_DOUBLE_EQ(report.threads[1].sys_s, 20.0 / kTicks);
  EXPECT_EQ(report.threads[2].name, "hd-late");  // started during the run: all of its time
  EXPECT_DOUBLE_EQ(report.threads[2].user_s, 7.0 / kTicks);
  EXPECT_FALSE(report.threads[2].exited);
  EXPECT_EQ(report.threads[3].name, "hd-old");  // exited during the run: still listed
  EXPECT_TRUE(report.threads[3].exited);
  EXPECT_DOUBLE_EQ(report.threads[3].user_s, 0.0);  // used nothing after start()
  EXPECT_EQ(report.threads[4].name, "hd-reused");   // a new thread with an old tid
  EXPECT_DOUBLE_EQ(report.threads[4].user_s, 4.0 / kTicks);
  EXPECT_FALSE(report.threads[4].exited);
  EXPECT_TRUE(report.unavailable.empty()) << to_json(report)["unavailable"].dump();

  const auto json = to_json(report);
  EXPECT_EQ(keys(json),
            (std::vector<std::string>{"cores", "events", "interval_ms", "process", "samples",
                                      "threads", "throttled_during_run", "unavailable"}));
  EXPECT_EQ(keys(json["process"]),
            (std::vector<std::string>{"cpu_percent_of_all_cores", "cpu_percent_of_one_core",
                                      "peak_rss_bytes", "sys_s", "user_s", "wall_s"}));
  EXPECT_DOUBLE_EQ(json["process"]["wall_s"].get<double>(),
                   std::round(report.wall_s * 1000.0) / 1000.0);
  EXPECT_EQ(json["process"]["peak_rss_bytes"], 4000 * 1024);
  EXPECT_EQ(
      json["threads"][1],
      (nlohmann::json{{"tid", 4243},
                      {"name", "hd-preproc-0"},
                      {"user_s", 80.0 / kTicks},
                      {"sys_s", 20.0 / kTicks},
                      {"cpu_percent_of_one_core", json["threads"][1]["cpu_percent_of_one_core"]},
                      {"exited", false}}));
  const auto& j2 = json["samples"][1];
  EXPECT_EQ(keys(j2), (std::vector<std::string>{
                          "core_freq_mhz", "core_util_percent", "hailo_temp_c",
                          "process_cpu_percent", "process_sys_percent", "process_user_percent",
                          "rss_bytes", "t_s", "temperatures_c", "throttled"}));
  EXPECT_EQ(j2["core_util_percent"], nlohmann::json({75.0, 10.0}));
  EXPECT_EQ(j2["core_freq_mhz"], nlohmann::json({1500.0, 2400.0}));
  EXPECT_EQ(j2["temperatures_c"], (nlohmann::json{{"cpu-thermal", 62.5}}));
  EXPECT_EQ(json["samples"][0]["temperatures_c"]["cpu-thermal"], 51.2);  // 0.1 degrees
  EXPECT_EQ(j2["throttled"], "0x50005");
  EXPECT_EQ(j2["hailo_temp_c"], 48.0);
  EXPECT_EQ(j2["rss_bytes"], 3000 * 1024);
  EXPECT_EQ(json["events"][1],
            (nlohmann::json{
                {"t_s", j2["t_s"]}, {"kind", "clock_drop"}, {"detail", "cpu0 2400 → 1500 MHz"}}));
  EXPECT_EQ(json["throttled_during_run"], true);
  EXPECT_EQ(json["interval_ms"].dump(), "10");
  EXPECT_EQ(json["cores"], 2);
  EXPECT_EQ(json["unavailable"], nlohmann::json::object());
  EXPECT_NO_THROW((void)json.dump());
}

TEST_F(SystemSamplerTest, DuplicateThermalZoneTypesAreKeyedByZone) {
  write_state(minimal_state());
  const auto zone = [&](int n, const std::string& type, const std::string& temp) {
    const auto dir = "sys/class/thermal/thermal_zone" + std::to_string(n);
    write(dir + "/type", type + "\n");
    write(dir + "/temp", temp);
  };
  zone(0, "acpitz", "40000\n");
  zone(1, "x86_pkg_temp", "55500\n");
  zone(10, "acpitz", "-1500\n");
  zone(2, "iwlwifi", "");  // a sleeping sensor: no value, left out
  auto sampler = SystemSampler::start(fake_options());
  ASSERT_TRUE(sampler) << sampler.error().message;
  const auto report = (*sampler)->stop();
  ASSERT_FALSE(report.samples.empty());
  EXPECT_EQ(report.samples.back().temperatures_c,
            (std::map<std::string, double>{{"acpitz/thermal_zone0", 40.0},
                                           {"acpitz/thermal_zone10", -1.5},
                                           {"x86_pkg_temp", 55.5}}));
  EXPECT_EQ(report.unavailable.count("temperatures_c"), 0U);
}

TEST_F(SystemSamplerTest, MissingSourcesAreNotMeasuredWithAReason) {
  write_state(minimal_state({{1, 1, 0}, {2, 2, 0}, {3, 3, 0}}));
  fs::remove(dir_ / "proc/self/status");
  auto options = fake_options();
  options.chip_temperature_why = "not measured: backend sim has no chip sensor";
  auto sampler = SystemSampler::start(options);
  ASSERT_TRUE(sampler) << sampler.error().message;
  const auto report = (*sampler)->stop();
  ASSERT_FALSE(report.samples.empty());  // stop() always takes one
  EXPECT_EQ(report.cores, 3U);
  const auto& why = report.unavailable;
  EXPECT_EQ(why.at("core_freq_mhz"), "not measured: no cpufreq in " +
                                         (dir_ / "sys/devices/system/cpu/cpu0").string() +
                                         " (virtual machine?)");
  EXPECT_EQ(why.at("temperatures_c"),
            "not measured: no thermal zones in " + (dir_ / "sys/class/thermal").string());
  EXPECT_NE(why.at("throttled").find("not measured: "), std::string::npos);
  EXPECT_NE(why.at("throttled").find("no-such-vcgencmd"), std::string::npos);
  EXPECT_EQ(why.at("hailo_temp_c"), "not measured: backend sim has no chip sensor");
  EXPECT_EQ(why.count("rss_bytes"), 1U);
  EXPECT_EQ(why.count("peak_rss_bytes"), 1U);
  EXPECT_FALSE(report.throttled_during_run);

  const auto json = to_json(report);
  const auto& sample = json["samples"][0];
  EXPECT_TRUE(sample["core_freq_mhz"].is_null());
  EXPECT_TRUE(sample["temperatures_c"].is_null());
  EXPECT_TRUE(sample["throttled"].is_null());
  EXPECT_TRUE(sample["hailo_temp_c"].is_null());
  EXPECT_TRUE(sample["rss_bytes"].is_null());
  EXPECT_EQ(sample["core_util_percent"].size(), 3U);
  EXPECT_TRUE(json["process"]["peak_rss_bytes"].is_null());
  EXPECT_EQ(json["unavailable"]["core_freq_mhz"], why.at("core_freq_mhz"));
}

TEST_F(SystemSamplerTest, FailingVcgencmdIsTriedOnceAndExplained) {
  write_state(minimal_state());
  auto options = fake_options();
  options.vcgencmd = write_script("vcgencmd", "echo 'VCHI initialization failed' >&2\nexit 255\n");
  auto sampler = SystemSampler::start(options);
  ASSERT_TRUE(sampler) << sampler.error().message;
  std::this_thread::sleep_for(1200ms);  // past the once-a-second retry it must not make
  const auto report = (*sampler)->stop();
  EXPECT_EQ(calls("vcgencmd"), 1);
  EXPECT_EQ(report.unavailable.at("throttled"),
            "not measured: " + options.vcgencmd +
                " get_throttled failed (exit 255): VCHI initialization failed");
  for (const auto& sample : report.samples) EXPECT_FALSE(sample.throttled);
}

TEST_F(SystemSamplerTest, VcgencmdRunsAtMostOnceASecondAndThrottlingIsReportedOnce) {
  write_state(minimal_state());
  auto options = fake_options();
  options.vcgencmd = write_script("vcgencmd", "echo throttled=0x4\n");
  auto sampler = SystemSampler::start(options);
  ASSERT_TRUE(sampler) << sampler.error().message;
  std::this_thread::sleep_for(1300ms);
  const auto report = (*sampler)->stop();
  EXPECT_GE(calls("vcgencmd"), 1);
  EXPECT_LE(calls("vcgencmd"), 1 + static_cast<int>(report.wall_s));
  ASSERT_EQ(report.events.size(), 1U);  // still throttled: no second event
  EXPECT_EQ(report.events[0].detail, "throttled now (0x4)");
  EXPECT_TRUE(report.throttled_during_run);
}

TEST_F(SystemSamplerTest, StartFailsWithoutProcSelfStat) {
  auto options = fake_options();
  auto sampler = SystemSampler::start(options);
  ASSERT_FALSE(sampler);
  EXPECT_EQ(sampler.error().code, ErrorCode::kFailed);
  EXPECT_NE(sampler.error().message.find("self/stat"), std::string::npos);
}

TEST_F(SystemSamplerTest, StopIsIdempotentAndTheDestructorStops) {
  write_state(minimal_state());
  auto sampler = SystemSampler::start(fake_options());
  ASSERT_TRUE(sampler) << sampler.error().message;
  std::this_thread::sleep_for(30ms);
  const auto first = (*sampler)->stop();
  std::this_thread::sleep_for(30ms);
  const auto second = (*sampler)->stop();
  EXPECT_EQ(first.samples.size(), second.samples.size());
  EXPECT_EQ(to_json(first), to_json(second));

  auto unstopped = SystemSampler::start(fake_options());
  ASSERT_TRUE(unstopped) << unstopped.error().message;
  const auto started = Clock::now();
  auto slow = fake_options();
  slow.interval = 1h;  // stop() must not wait for the interval
  auto idle = SystemSampler::start(slow);
  ASSERT_TRUE(idle) << idle.error().message;
  EXPECT_EQ((*idle)->stop().samples.size(), 1U);
  EXPECT_LT(Clock::now() - started, 5s);
}

// The real /proc and /sys of whatever machine runs the test (a VM or a Raspberry Pi).
TEST(SystemSamplerRealTest, SeesABusyThreadAndTheProcess) {
  SystemSamplerOptions options;
  options.interval = 20ms;
  auto sampler = SystemSampler::start(options);
  ASSERT_TRUE(sampler) << sampler.error().message;

  std::atomic<bool> spun{false};
  std::atomic<bool> release{false};
  std::thread busy([&] {
    ::pthread_setname_np(::pthread_self(), "hd-test-busy");
    const auto until = Clock::now() + 300ms;
    volatile std::uint64_t sink = 0;
    while (Clock::now() < until) sink = sink + 1;
    spun = true;
    while (!release) std::this_thread::sleep_for(1ms);  // alive at stop()
  });
  while (!spun) std::this_thread::sleep_for(5ms);
  const auto report = (*sampler)->stop();
  release = true;
  busy.join();

  EXPECT_EQ(report.cores, static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_GT(report.wall_s, 0.25);
  EXPECT_GT(report.process_user_s + report.process_sys_s, 0.0);
  EXPECT_GT(report.cpu_percent_of_one_core, 0.0);
  EXPECT_GT(report.peak_rss_bytes, 0U);
  ASSERT_FALSE(report.samples.empty());
  EXPECT_TRUE(std::any_of(report.samples.begin(), report.samples.end(),
                          [](const SystemSample& s) { return s.process_cpu_percent > 0.0; }));
  for (const auto& sample : report.samples) {
    EXPECT_GT(sample.rss_bytes, 0U);
    EXPECT_EQ(sample.core_util_percent.size(), report.cores);
    for (const double util : sample.core_util_percent) {
      EXPECT_GE(util, 0.0);
      EXPECT_LE(util, 100.0);
    }
    if (report.unavailable.count("core_freq_mhz") != 0) {
      EXPECT_FALSE(sample.core_freq_mhz);
    }
  }
  const ThreadCpu* busy_cpu = find_thread(report, "hd-test-busy");
  ASSERT_NE(busy_cpu, nullptr);
  EXPECT_GT(busy_cpu->user_s + busy_cpu->sys_s, 0.0);
  EXPECT_GT(busy_cpu->cpu_percent_of_one_core, 0.0);
  EXPECT_NE(find_thread(report, "hd-sampler"), nullptr);
  if (report.unavailable.count("throttled") == 0) {
    EXPECT_TRUE(report.samples.back().throttled);  // a Raspberry Pi
  } else if (::access("/usr/bin/vcgencmd", X_OK) != 0) {
    EXPECT_EQ(report.unavailable.at("throttled"),
              "not measured: vcgencmd not found (not a Raspberry Pi?)");
  }
  EXPECT_EQ(report.unavailable.at("hailo_temp_c"), "not measured: the backend has no chip sensor");
  for (const auto& [key, why] : report.unavailable) {
    EXPECT_EQ(why.rfind("not measured: ", 0), 0U) << key << ": " << why;
    std::cout << "[ unavailable ] " << key << ": " << why << '\n';
  }
  EXPECT_NO_THROW((void)to_json(report).dump());
}

// What one sample costs on this machine, measured from its own timestamp to the callback.
TEST(SystemSamplerRealTest, OneSampleIsCheap) {
  SystemSamplerOptions options;
  options.interval = 2ms;
  std::vector<double> costs_us;
  costs_us.reserve(10000);
  options.on_sample = [&](const SystemSample& sample) {
    const double now_s = std::chrono::duration<double>(Clock::now() - options.origin).count();
    if (costs_us.size() < costs_us.capacity()) costs_us.push_back((now_s - sample.t_s) * 1e6);
  };
  auto sampler = SystemSampler::start(options);
  ASSERT_TRUE(sampler) << sampler.error().message;
  std::this_thread::sleep_for(500ms);
  const auto report = (*sampler)->stop();
  ASSERT_GT(costs_us.size(), 10U);
  std::sort(costs_us.begin(), costs_us.end());
  const ThreadCpu* own = find_thread(report, "hd-sampler");
  ASSERT_NE(own, nullptr);
  std::cout << "[ cost ] " << costs_us.size() << " samples, wall per sample: median "
            << costs_us[costs_us.size() / 2] << " us, p90 " << costs_us[costs_us.size() * 9 / 10]
            << " us, max " << costs_us.back() << " us; sampler thread CPU "
            << (own->user_s + own->sys_s) * 1e6 / static_cast<double>(report.samples.size())
            << " us per sample\n";
  // Generous: sanitizer builds are several times slower than release.
  EXPECT_LT(costs_us[costs_us.size() / 2], 20000.0);
}

TEST_F(SystemSamplerTest, HostContextFromAFakeTree) {
  write("proc/cpuinfo",
        "processor\t: 0\nvendor_id\t: Fake\nmodel name\t: Fake CPU 9000 @ 2.4GHz\n\n"
        "processor\t: 1\nmodel name\t: Fake CPU 9000 @ 2.4GHz\n");
  write("proc/meminfo", "MemTotal:        8048576 kB\nMemFree:         1000 kB\n");
  write("proc/device-tree/model", std::string("Raspberry Pi 5 Model B Rev 1.0\0", 31));
  write("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "ondemand\n");
  write("etc/os-release",
        "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
  const ContextOptions options{
      .proc_root = dir_ / "proc", .sys_root = dir_ / "sys", .etc_root = dir_ / "etc"};
  const auto context = collect_host_context(options);

  EXPECT_TRUE(std::regex_match(context["date"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << context["date"];
  char host[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(context["host"], host);
  EXPECT_EQ(context["cpu_model"], "Fake CPU 9000 @ 2.4GHz");
  EXPECT_EQ(context["cpu_count"], ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_EQ(context["governor"], "ondemand");
  utsname names{};
  ASSERT_EQ(::uname(&names), 0);
  EXPECT_EQ(context["kernel"], std::string(names.sysname) + " " + names.release);
  EXPECT_EQ(context["arch"], names.machine);
  EXPECT_EQ(context["os"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(context["page_size"], ::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(context["memory_total_bytes"], 8048576LL * 1024);
  EXPECT_EQ(context["raspberry_pi_model"], "Raspberry Pi 5 Model B Rev 1.0");
  EXPECT_EQ(keys(context),
            (std::vector<std::string>{"arch", "cpu_count", "cpu_model", "date", "governor", "host",
                                      "kernel", "memory_total_bytes", "os", "page_size",
                                      "raspberry_pi_model"}));
}

TEST_F(SystemSamplerTest, HostContextOnArm64WithoutCpufreqOrDeviceTree) {
  write("proc/cpuinfo",
        "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd0b\n\n"
        "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.5\n");
  write("etc/os-release", "NAME=Debian\n");
  const ContextOptions options{
      .proc_root = dir_ / "proc", .sys_root = dir_ / "sys", .etc_root = dir_ / "etc"};
  const auto context = collect_host_context(options);
  EXPECT_EQ(context["cpu_model"], "Raspberry Pi 4 Model B Rev 1.5");
  EXPECT_TRUE(context["governor"].is_null());
  EXPECT_EQ(context["governor_why"], "not measured: no cpufreq in " +
                                         (dir_ / "sys/devices/system/cpu/cpu0").string() +
                                         " (virtual machine?)");
  EXPECT_TRUE(context["os"].is_null());
  EXPECT_EQ(context["os_why"],
            "not measured: no PRETTY_NAME in " + (dir_ / "etc").string() + "/os-release");
  EXPECT_TRUE(context["raspberry_pi_model"].is_null());
  EXPECT_EQ(context["raspberry_pi_model_why"], "not measured: no " + (dir_ / "proc").string() +
                                                   "/device-tree/model (not a Raspberry Pi?)");
  EXPECT_TRUE(context["memory_total_bytes"].is_null());
  EXPECT_EQ(context["memory_total_bytes_why"].get<std::string>().rfind("not measured: ", 0), 0U);
}

TEST(HostContextRealTest, HasEveryKey) {
  const auto context = collect_host_context();
  for (const char* key : {"date", "host", "cpu_model", "cpu_count", "governor", "kernel", "arch",
                          "os", "page_size", "memory_total_bytes", "raspberry_pi_model"}) {
    ASSERT_TRUE(context.contains(key)) << key;
    if (context[key].is_null()) {
      EXPECT_TRUE(context.contains(std::string(key) + "_why")) << key;
    }
  }
  EXPECT_GE(context["cpu_count"].get<int>(), 1);
  EXPECT_GT(context["memory_total_bytes"].get<std::int64_t>(), 0);
  EXPECT_GT(context["page_size"].get<std::int64_t>(), 0);
  EXPECT_FALSE(context["kernel"].get<std::string>().empty());
  EXPECT_NO_THROW((void)context.dump());
  std::cout << "[ context ] " << context.dump() << '\n';
}

}  // namespace
}  // namespace hdeploy::bench
