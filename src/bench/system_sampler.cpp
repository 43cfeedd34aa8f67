#include "hdeploy/bench/system_sampler.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "hdeploy/core/process.hpp"
#include "procfs.hpp"

namespace hdeploy::bench {
namespace {
using Clock = std::chrono::steady_clock;
constexpr auto npos = std::string_view::npos;
using procfs::CoreTimes;
using procfs::list_directory;
using procfs::parse_core_times;
using procfs::parse_number;
using procfs::parse_task_stat;
using procfs::SmallFileReader;
using procfs::status_bytes;
using procfs::TaskTimes;
using procfs::ThermalZone;
using procfs::trim;

// vcgencmd answers in ~10 ms; a hung one must not hold up stop() for long.
constexpr std::chrono::milliseconds kVcgencmdTimeout{500};
// It forks, so not every sample.
constexpr std::chrono::seconds kVcgencmdPeriod{1};
// A core's clock drop counts only when the core was at least this busy (percent) over the
// interval: governors like ondemand lower an idle core's clock by design.
constexpr double kBusyPercentForClockDrop = 50.0;
constexpr const char* kVcgencmdNotFound = "not measured: vcgencmd not found (not a Raspberry Pi?)";
// Bits 0-3 of `vcgencmd get_throttled`: the condition holds now.
constexpr std::uint32_t kThrottledNowMask = 0xFU;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Replaces bytes that are not valid UTF-8 with '?': a thread name is cut at 15 bytes, possibly
// inside a character, and nlohmann::json refuses to print invalid UTF-8.
std::string to_valid_utf8(std::string_view text) {
  std::string out(text);
  std::size_t i = 0;
  while (i < out.size()) {
    const auto byte = static_cast<unsigned char>(out[i]);
    std::size_t length = 1;
    if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
    } else if (byte >= 0x80) {
      length = 0;
    }
    bool valid = length > 0 && i + length <= out.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(out[i + k]) & 0xC0U) == 0x80U;
    }
    if (!valid) {
      out[i] = '?';
      length = 1;
    }
    i += length;
  }
  return out;
}

std::uint64_t ticks_since(std::uint64_t now, std::uint64_t before) {
  return now >= before ? now - before : 0;
}

double round_to(double value, double scale) { return std::round(value * scale) / scale; }

std::string to_hex(std::uint32_t bits) { return fmt::format("{:#x}", bits); }

// The executable `name` on PATH, else in /usr/bin; empty when neither has it.
std::string find_program(const std::string& name) {
  const char* path_env = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read only
  std::string_view dirs = path_env != nullptr ? path_env : "";
  while (!dirs.empty()) {
    const auto end = std::min(dirs.find(':'), dirs.size());
    const auto dir = dirs.substr(0, end);
    dirs.remove_prefix(std::min(end + 1, dirs.size()));
    if (dir.empty()) continue;
    auto candidate = fmt::format("{}/{}", dir, name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  auto fallback = fmt::format("/usr/bin/{}", name);
  return ::access(fallback.c_str(), X_OK) == 0 ? fallback : std::string();
}

struct CoreClock {
  int cpu = 0;
  std::string path;
  double highest_mhz = 0.0;
  bool dropped = false;  // an event was reported and the clock has not recovered yet
};

}  // namespace

struct SystemSampler::State {
  explicit State(SystemSamplerOptions o) : options(std::move(o)) {
    if (options.interval.count() <= 0) options.interval = std::chrono::milliseconds(1);
  }

  Status init();
  void run();
  void take_sample();
  void finish();

  void discover_clocks();
  void discover_thermal_zones();
  void discover_vcgencmd();
  std::optional<std::vector<double>> read_clocks();
  void check_clock_drops(const std::vector<double>& mhz, const SystemSample& sample);
  void poll_throttled(Clock::time_point now, double t_s);
  using ThreadTable = std::map<std::pair<int, std::uint64_t>, std::pair<TaskTimes, std::string>>;
  // Reads every live thread's times into `table` (keyed by tid and start time, so a reused
  // tid is a new thread); a thread's name is read only the first time it is seen. Threads
  // that exited keep their last times. Returns the keys alive now.
  std::set<std::pair<int, std::uint64_t>> read_threads(ThreadTable& table);
  void add_event(double t_s, std::string kind, std::string detail);

  SystemSamplerOptions options;
  double ticks_per_s = 100.0;
  std::string self_stat_path;
  std::string stat_path;
  std::string status_path;
  std::string task_dir;
  SmallFileReader reader;

  Clock::time_point start_time;
  Clock::time_point last_time;
  TaskTimes start_self;
  TaskTimes last_self;
  bool cores_readable = false;
  std::vector<CoreTimes> last_cores;
  std::vector<CoreTimes> new_cores;  // scratch, swapped with last_cores

  std::vector<CoreClock> clocks;  // empty: no cpufreq
  std::string clock_error;        // why the last clock read failed
  bool clocks_read = false;
  std::vector<ThermalZone> zones;
  bool temperature_read = false;
  std::string vcgencmd;  // empty: not found or given up
  bool vcgencmd_ran = false;
  Clock::time_point vcgencmd_last;
  std::optional<std::uint32_t> throttled;
  std::uint32_t throttled_now_bits = 0;
  bool chip_temperature_read = false;
  bool rss_read = false;
  ThreadTable thread_baseline;
  // Every thread seen while sampling, with its latest times: runner threads that finish
  // before stop() still count.
  ThreadTable threads_seen;

  SystemReport report;

  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  bool stop_requested = false;  // guarded by mutex
  std::mutex stop_mutex;        // serialises stop()
  bool stopped = false;         // guarded by stop_mutex
};

Status SystemSampler::State::init() {
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks > 0) ticks_per_s = static_cast<double>(ticks);
  const std::string proc = options.proc_root.string();
  self_stat_path = fmt::format("{}/self/stat", proc);
  stat_path = fmt::format("{}/stat", proc);
  status_path = fmt::format("{}/self/status", proc);
  task_dir = fmt::format("{}/self/task", proc);
  report.interval_ms = std::chrono::duration<double, std::milli>(options.interval).count();

  start_time = last_time = Clock::now();
  const auto self = reader.read(self_stat_path);
  if (!self) {
    return fail(ErrorCode::kFailed, "system sampler: cannot read {}: {}", self_stat_path,
                std::strerror(errno));
  }
  const auto times = parse_task_stat(*self);
  if (!times) {
    return fail(ErrorCode::kFailed, "system sampler: {} is not a proc(5) stat file",
                self_stat_path);
  }
  start_self = last_self = *times;

  const auto stat = reader.read(stat_path);
  cores_readable = stat && parse_core_times(*stat, last_cores);
  if (cores_readable) {
    report.cores = static_cast<unsigned>(last_cores.size());
  } else {
    report.unavailable["core_util_percent"] =
        fmt::format("not measured: cannot read {}", stat_path);
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    report.cores = online > 0 ? static_cast<unsigned>(online) : 1U;
  }

  discover_clocks();
  discover_thermal_zones();
  discover_vcgencmd();
  if (!options.chip_temperature) report.unavailable["hailo_temp_c"] = options.chip_temperature_why;
  read_threads(thread_baseline);
  return {};
}

void SystemSampler::State::discover_clocks() {
  const std::string sys = options.sys_root.string();
  const std::string cpu0 = procfs::cpu_dir(sys, 0);
  if (::access(fmt::format("{}/cpufreq", cpu0).c_str(), F_OK) != 0) {
    report.unavailable["core_freq_mhz"] =
        fmt::format("not measured: no cpufreq in {} (virtual machine?)", cpu0);
    return;
  }
  std::vector<int> ids;
  for (const auto& core : last_cores) ids.push_back(core.id);
  for (int id = 0; ids.empty() && id < static_cast<int>(report.cores); ++id) ids.push_back(id);
  for (const int id : ids) {
    clocks.push_back(CoreClock{
        .cpu = id, .path = fmt::format("{}/cpufreq/scaling_cur_freq", procfs::cpu_dir(sys, id))});
  }
  if (const auto mhz = read_clocks()) {
    for (std::size_t i = 0; i < clocks.size(); ++i) clocks[i].highest_mhz = (*mhz)[i];
  }
}

void SystemSampler::State::discover_thermal_zones() {
  const std::string dir = fmt::format("{}/class/thermal", options.sys_root.string());
  zones = procfs::thermal_zones(reader, dir);
  if (zones.empty()) {
    report.unavailable["temperatures_c"] = fmt::format("not measured: no thermal zones in {}", dir);
  }
}

void SystemSampler::State::discover_vcgencmd() {
  vcgencmd = options.vcgencmd.empty() ? find_program("vcgencmd") : options.vcgencmd;
  if (vcgencmd.empty()) report.unavailable["throttled"] = kVcgencmdNotFound;
}

std::optional<std::vector<double>> SystemSampler::State::read_clocks() {
  std::vector<double> mhz;
  mhz.reserve(clocks.size());
  for (const auto& clock : clocks) {
    const auto text = reader.read(clock.path);
    const auto khz = text ? parse_number<std::uint64_t>(trim(*text)) : std::nullopt;
    if (!khz) {
      clock_error =
          text ? fmt::format("not measured: {} does not hold a number", clock.path)
               : fmt::format("not measured: cannot read {}: {}", clock.path, std::strerror(errno));
      return std::nullopt;
    }
    mhz.push_back(static_cast<double>(*khz) / 1000.0);
  }
  return mhz;
}

void SystemSampler::State::add_event(double t_s, std::string kind, std::string detail) {
  report.events.push_back(
      SystemEvent{.t_s = t_s, .kind = std::move(kind), .detail = std::move(detail)});
  report.throttled_during_run = true;
}

void SystemSampler::State::check_clock_drops(const std::vector<double>& mhz,
                                             const SystemSample& sample) {
  for (std::size_t i = 0; i < clocks.size(); ++i) {
    auto& clock = clocks[i];
    clock.highest_mhz = std::max(clock.highest_mhz, mhz[i]);
    const bool low = mhz[i] < clock.highest_mhz * (1.0 - options.clock_drop_fraction);
    if (!low) {
      clock.dropped = false;
      continue;
    }
    // Utilisation unknown (no /proc/stat): count the drop.
    const bool busy = i >= sample.core_util_percent.size() ||
                      sample.core_util_percent[i] >= kBusyPercentForClockDrop;
    if (clock.dropped || !busy) continue;
    clock.dropped = true;
    add_event(sample.t_s, "clock_drop",
              fmt::format("cpu{} {:.0f} → {:.0f} MHz", clock.cpu, clock.highest_mhz, mhz[i]));
  }
}

void SystemSampler::State::poll_throttled(Clock::time_point now, double t_s) {
  if (vcgencmd.empty()) return;
  if (vcgencmd_ran && now - vcgencmd_last < kVcgencmdPeriod) return;
  const bool first = !vcgencmd_ran;
  vcgencmd_ran = true;
  vcgencmd_last = now;
  std::string first_stderr_line;
  ProcessOptions process_options;
  process_options.timeout = kVcgencmdTimeout;
  process_options.on_stderr_line = [&](const std::string& line) {
    if (first_stderr_line.empty()) first_stderr_line = line;
  };
  const auto outcome = run_process({vcgencmd, "get_throttled"}, process_options);
  std::optional<std::uint32_t> bits;
  std::string why;
  if (!outcome) {
    why = outcome.error().code == ErrorCode::kNotFound && options.vcgencmd.empty()
              ? kVcgencmdNotFound
              : fmt::format("not measured: {}", outcome.error().message);
  } else if (outcome->timed_out) {
    why = fmt::format("not measured: {} get_throttled did not answer within {} ms", vcgencmd,
                      kVcgencmdTimeout.count());
  } else if (!outcome->succeeded()) {
    why = fmt::format("not measured: {} get_throttled failed (exit {}): {}", vcgencmd,
                      outcome->exit_status, first_stderr_line);
  } else {
    bits = parse_throttled(outcome->stdout_text);
    if (!bits) {
      why = fmt::format("not measured: {} get_throttled printed '{}'", vcgencmd,
                        to_valid_utf8(trim(outcome->stdout_text)));
    }
  }
  if (!bits) {
    throttled.reset();
    if (first) {
      report.unavailable["throttled"] = why;
      vcgencmd.clear();  // never again
    }
    return;
  }
  throttled = bits;
  const std::uint32_t now_bits = *bits & kThrottledNowMask;
  if ((now_bits & ~throttled_now_bits) != 0) {
    add_event(t_s, "throttled", fmt::format("{} ({})", describe_throttled(*bits), to_hex(*bits)));
  }
  throttled_now_bits = now_bits;
}

void SystemSampler::State::take_sample() {
  const auto now = Clock::now();
  SystemSample sample;
  sample.t_s = seconds(now - options.origin);
  const double dt = seconds(now - last_time);
  last_time = now;

  if (const auto text = reader.read(self_stat_path)) {
    if (const auto times = parse_task_stat(*text)) {
      if (dt > 0.0) {
        const double scale = 100.0 / ticks_per_s / dt;
        sample.process_user_percent =
            static_cast<double>(ticks_since(times->utime, last_self.utime)) * scale;
        sample.process_sys_percent =
            static_cast<double>(ticks_since(times->stime, last_self.stime)) * scale;
        sample.process_cpu_percent = sample.process_user_percent + sample.process_sys_percent;
      }
      last_self = *times;
    }
  }

  if (cores_readable) {
    const auto text = reader.read(stat_path);
    if (text && parse_core_times(*text, new_cores)) {
      sample.core_util_percent.reserve(new_cores.size());
      for (std::size_t i = 0; i < new_cores.size(); ++i) {
        double percent = 0.0;
        // Cores keep their order; one that came online since has no previous line.
        if (i < last_cores.size() && last_cores[i].id == new_cores[i].id) {
          const auto total = ticks_since(new_cores[i].total, last_cores[i].total);
          const auto busy = ticks_since(new_cores[i].busy, last_cores[i].busy);
          if (total > 0) percent = 100.0 * static_cast<double>(busy) / static_cast<double>(total);
        }
        sample.core_util_percent.push_back(percent);
      }
      std::swap(last_cores, new_cores);
    }
  }

  if (!clocks.empty()) {
    if (auto mhz = read_clocks()) {
      clocks_read = true;
      check_clock_drops(*mhz, sample);
      sample.core_freq_mhz = std::move(mhz);
    }
  }

  for (const auto& zone : zones) {
    const auto text = reader.read(zone.temp_path);
    const auto milli = text ? parse_number<std::int64_t>(trim(*text)) : std::nullopt;
    if (!milli) continue;  // some zones answer EINVAL or ENODATA while their sensor sleeps
    temperature_read = true;
    sample.temperatures_c[zone.key] = static_cast<double>(*milli) / 1000.0;
  }

  poll_throttled(now, sample.t_s);
  sample.throttled = throttled;

  if (options.chip_temperature) {
    try {
      sample.chip_temp_c = options.chip_temperature();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a failed reading is no reading
      sample.chip_temp_c.reset();
    }
    if (sample.chip_temp_c) chip_temperature_read = true;
  }

  if (const auto text = reader.read(status_path)) {
    if (const auto rss = status_bytes(*text, "VmRSS:")) {
      sample.rss_bytes = *rss;
      rss_read = true;
    }
  }

  read_threads(threads_seen);
  report.samples.push_back(std::move(sample));
  if (options.on_sample) {
    try {
      options.on_sample(report.samples.back());
    } catch (...) {  // NOLINT(bugprone-empty-catch): documented as ignored
    }
  }
}

std::set<std::pair<int, std::uint64_t>> SystemSampler::State::read_threads(ThreadTable& table) {
  std::set<std::pair<int, std::uint64_t>> alive;
  const auto names = list_directory(task_dir);
  if (!names) {
    report.unavailable["threads"] =
        fmt::format("not measured: cannot read {}: {}", task_dir, std::strerror(errno));
    return alive;
  }
  for (const auto& name : *names) {
    const auto tid = parse_number<int>(name);
    if (!tid) continue;
    const auto stat = reader.read(fmt::format("{}/{}/stat", task_dir, name));
    const auto times = stat ? parse_task_stat(*stat) : std::nullopt;
    if (!times) continue;  // it exited meanwhile
    const std::pair<int, std::uint64_t> key{*tid, times->starttime};
    alive.insert(key);
    auto it = table.find(key);
    if (it != table.end()) {
      it->second.first = *times;
      continue;
    }
    const auto comm = reader.read(fmt::format("{}/{}/comm", task_dir, name));
    table[key] = {*times, to_valid_utf8(comm ? trim(*comm) : "")};
  }
  return alive;
}

void SystemSampler::State::finish() {
  report.wall_s = seconds(last_time - start_time);
  report.process_user_s =
      static_cast<double>(ticks_since(last_self.utime, start_self.utime)) / ticks_per_s;
  report.process_sys_s =
      static_cast<double>(ticks_since(last_self.stime, start_self.stime)) / ticks_per_s;
  if (report.wall_s > 0.0) {
    report.cpu_percent_of_one_core =
        (report.process_user_s + report.process_sys_s) / report.wall_s * 100.0;
  }
  report.cpu_percent_of_all_cores = report.cpu_percent_of_one_core / std::max(report.cores, 1U);

  const auto status = reader.read(status_path);
  const auto peak = status ? status_bytes(*status, "VmHWM:") : std::nullopt;
  if (peak) {
    report.peak_rss_bytes = *peak;
  } else {
    report.unavailable["peak_rss_bytes"] = fmt::format("not measured: no VmHWM in {}", status_path);
  }
  if (!rss_read) {
    report.unavailable["rss_bytes"] = fmt::format("not measured: no VmRSS in {}", status_path);
  }

  const auto alive = read_threads(threads_seen);
  for (auto& [key, value] : threads_seen) {
    auto& [times, name] = value;
    const auto base = thread_baseline.find(key);
    const TaskTimes before = base != thread_baseline.end() ? base->second.first : TaskTimes{};
    ThreadCpu thread{.tid = key.first, .name = name, .exited = alive.count(key) == 0};
    thread.user_s = static_cast<double>(ticks_since(times.utime, before.utime)) / ticks_per_s;
    thread.sys_s = static_cast<double>(ticks_since(times.stime, before.stime)) / ticks_per_s;
    if (report.wall_s > 0.0) {
      thread.cpu_percent_of_one_core = (thread.user_s + thread.sys_s) / report.wall_s * 100.0;
    }
    report.threads.push_back(std::move(thread));
  }
  // threads_seen is ordered by tid, then start time: already in report order.

  if (!clocks.empty() && !clocks_read && !clock_error.empty()) {
    report.unavailable["core_freq_mhz"] = clock_error;
  }
  if (!zones.empty() && !temperature_read) {
    report.unavailable["temperatures_c"] =
        fmt::format("not measured: no readable temp in {}/class/thermal/thermal_zone*",
                    options.sys_root.string());
  }
  if (options.chip_temperature && !chip_temperature_read) {
    report.unavailable["hailo_temp_c"] =
        "not measured: the chip temperature callback gave no value";
  }
}

void SystemSampler::State::run() {
  ::pthread_setname_np(::pthread_self(), "hd-sampler");
  try {
    auto next = start_time + options.interval;
    std::unique_lock lock(mutex);
    while (!wake.wait_until(lock, next, [this] { return stop_requested; })) {
      lock.unlock();
      take_sample();
      next += options.interval;
      // Behind (a slow vcgencmd, a stalled machine): skip the missed ticks, don't burst.
      if (const auto now = Clock::now(); next <= now) next = now + options.interval;
      lock.lock();
    }
    lock.unlock();
    take_sample();
    finish();
  } catch (const std::exception& e) {
    report.unavailable["sampler"] = fmt::format("not measured: the sampler failed: {}", e.what());
  }
}

Result<std::unique_ptr<SystemSampler>> SystemSampler::start(const SystemSamplerOptions& options) {
  try {
    std::unique_ptr<SystemSampler> sampler(new SystemSampler());
    sampler->state_ = std::make_unique<State>(options);
    HDEPLOY_TRY(sampler->state_->init());
    State* state = sampler->state_.get();
    state->thread = std::thread([state] { state->run(); });
    return sampler;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kFailed, "system sampler: cannot start: {}", e.what());
  }
}

SystemSampler::~SystemSampler() {
  if (state_) stop();
}

SystemReport SystemSampler::stop() {
  State& state = *state_;
  const std::lock_guard stop_lock(state.stop_mutex);
  if (!state.stopped) {
    {
      const std::lock_guard lock(state.mutex);
      state.stop_requested = true;
    }
    state.wake.notify_one();
    if (state.thread.joinable()) state.thread.join();
    state.stopped = true;
  }
  return state.report;
}

std::optional<std::uint32_t> parse_throttled(const std::string& text) {
  auto value = trim(text);
  constexpr std::string_view kPrefix = "throttled=0x";
  if (value.size() <= kPrefix.size() || value.size() > kPrefix.size() + 8) return std::nullopt;
  if (!value.starts_with(kPrefix)) return std::nullopt;
  value.remove_prefix(kPrefix.size());
  if (value.find_first_not_of("0123456789abcdefABCDEF") != npos) return std::nullopt;
  return parse_number<std::uint32_t>(value, 16);
}

std::string describe_throttled(std::uint32_t bits) {
  static constexpr const char* kNames[] = {"under-voltage", "ARM frequency capped", "throttled",
                                           "soft temperature limit"};
  std::string text;
  const auto add = [&](std::string_view part) {
    if (!text.empty()) text += ", ";
    text += part;
  };
  for (unsigned bit = 0; bit < 4; ++bit) {
    if ((bits & (1U << bit)) != 0) add(fmt::format("{} now", kNames[bit]));
  }
  for (unsigned bit = 0; bit < 4; ++bit) {
    if ((bits & (1U << (bit + 16))) != 0) add(fmt::format("{} has occurred", kNames[bit]));
  }
  const std::uint32_t other = bits & ~0xF000FU;
  if (other != 0) add(fmt::format("unknown bits {}", to_hex(other)));
  return text.empty() ? "none" : text;
}

nlohmann::json to_json(const SystemReport& report) {
  using nlohmann::json;
  try {
    const auto missing = [&](const char* key) { return report.unavailable.count(key) != 0; };
    const auto percent = [](double value) { return round_to(value, 10.0); };
    json process = {
        {"wall_s", round_to(report.wall_s, 1000.0)},
        {"user_s", round_to(report.process_user_s, 1000.0)},
        {"sys_s", round_to(report.process_sys_s, 1000.0)},
        {"cpu_percent_of_one_core", percent(report.cpu_percent_of_one_core)},
        {"cpu_percent_of_all_cores", percent(report.cpu_percent_of_all_cores)},
        {"peak_rss_bytes", missing("peak_rss_bytes") ? json(nullptr) : json(report.peak_rss_bytes)},
    };
    json threads = json::array();
    for (const auto& thread : report.threads) {
      threads.push_back({{"tid", thread.tid},
                         {"name", thread.name},
                         {"user_s", round_to(thread.user_s, 1000.0)},
                         {"sys_s", round_to(thread.sys_s, 1000.0)},
                         {"cpu_percent_of_one_core", percent(thread.cpu_percent_of_one_core)},
                         {"exited", thread.exited}});
    }
    json samples = json::array();
    for (const auto& sample : report.samples) {
      json cores = json::array();
      for (const double value : sample.core_util_percent) cores.push_back(percent(value));
      json clocks = json(nullptr);
      if (sample.core_freq_mhz) {
        clocks = json::array();
        for (const double value : *sample.core_freq_mhz) clocks.push_back(round_to(value, 10.0));
      }
      json temperatures = json::object();
      for (const auto& [zone, celsius] : sample.temperatures_c) {
        temperatures[zone] = round_to(celsius, 10.0);
      }
      samples.push_back({
          {"t_s", round_to(sample.t_s, 1000.0)},
          {"process_cpu_percent", percent(sample.process_cpu_percent)},
          {"process_user_percent", percent(sample.process_user_percent)},
          {"process_sys_percent", percent(sample.process_sys_percent)},
          {"core_util_percent", missing("core_util_percent") ? json(nullptr) : cores},
          {"core_freq_mhz", clocks},
          {"temperatures_c", missing("temperatures_c") ? json(nullptr) : temperatures},
          {"throttled", sample.throttled ? json(to_hex(*sample.throttled)) : json(nullptr)},
          {"hailo_temp_c",
           sample.chip_temp_c ? json(round_to(*sample.chip_temp_c, 10.0)) : json(nullptr)},
          {"rss_bytes", missing("rss_bytes") ? json(nullptr) : json(sample.rss_bytes)},
      });
    }
    json events = json::array();
    for (const auto& event : report.events) {
      events.push_back(
          {{"t_s", round_to(event.t_s, 1000.0)}, {"kind", event.kind}, {"detail", event.detail}});
    }
    json unavailable = json::object();
    for (const auto& [key, why] : report.unavailable) unavailable[key] = why;
    const bool whole_ms = report.interval_ms == std::floor(report.interval_ms);
    return json{{"interval_ms",
                 whole_ms ? json(std::llround(report.interval_ms)) : json(report.interval_ms)},
                {"cores", report.cores},
                {"process", std::move(process)},
                {"threads", std::move(threads)},
                {"samples", std::move(samples)},
                {"events", std::move(events)},
                {"throttled_during_run", report.throttled_during_run},
                {"unavailable", std::move(unavailable)}};
  } catch (const std::exception& e) {
    return json{{"error", fmt::format("cannot describe the system report: {}", e.what())}};
  }
}

}  // namespace hdeploy::bench
