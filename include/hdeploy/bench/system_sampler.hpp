#pragma once
// What the machine did during a benchmark: a cheap background thread that samples process
// and per-core CPU, clocks, temperatures, Raspberry Pi throttling flags and an optional chip
// temperature, plus the context block (host, CPU, kernel, OS, ...) every record opens with.
// Everything is read from /proc and /sys (roots configurable so tests use a fake tree); a
// source that does not exist is reported as "not measured: <why>", never as 0.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::bench {

struct SystemSample {
  double t_s = 0.0;  // seconds since SystemSamplerOptions::origin
  // Process CPU over the last interval, percent of one core (can exceed 100).
  double process_cpu_percent = 0.0;
  double process_user_percent = 0.0;
  double process_sys_percent = 0.0;
  std::vector<double> core_util_percent;             // /proc/stat, per core, last interval
  std::optional<std::vector<double>> core_freq_mhz;  // cpufreq scaling_cur_freq per core
  std::map<std::string, double> temperatures_c;      // thermal zone type -> degrees C
  std::optional<std::uint32_t> throttled;            // vcgencmd get_throttled, last reading
  std::optional<double> chip_temp_c;                 // SystemSamplerOptions::chip_temperature
  std::uint64_t rss_bytes = 0;                       // VmRSS
};

struct ThreadCpu {
  int tid = 0;
  std::string name;  // /proc/self/task/<tid>/comm
  double user_s = 0.0;
  double sys_s = 0.0;
  double cpu_percent_of_one_core = 0.0;  // (user + sys) / wall
  bool exited = false;                   // gone before stop(): times as last sampled
};

struct SystemEvent {
  double t_s = 0.0;
  std::string kind;  // "throttled", "clock_drop", "temperature"
  // "under-voltage now, throttled now, under-voltage has occurred, throttled has occurred
  // (0x50005)"; "cpu2 2400 → 1500 MHz"
  std::string detail;
};

struct SystemReport {
  double interval_ms = 0.0;
  unsigned cores = 0;
  double wall_s = 0.0;  // start() to stop()
  double process_user_s = 0.0;
  double process_sys_s = 0.0;
  double cpu_percent_of_one_core = 0.0;   // (user + sys) / wall * 100
  double cpu_percent_of_all_cores = 0.0;  // the above / cores
  std::uint64_t peak_rss_bytes = 0;       // VmHWM
  // Every thread seen while sampling (the sampler's own included), by tid, with CPU counted
  // from start(); a thread that ended before stop() has `exited` and its last sampled times.
  std::vector<ThreadCpu> threads;
  std::vector<SystemSample> samples;
  std::vector<SystemEvent> events;
  bool throttled_during_run = false;  // any throttling bit or clock drop while sampling
  // What could not be measured: key ("core_freq_mhz", "throttled", "temperatures_c",
  // "hailo_temp_c", ...) -> "not measured: <why>".
  std::map<std::string, std::string> unavailable;
};

// The `system` object of docs/run-record.md.
nlohmann::json to_json(const SystemReport& report);

struct SystemSamplerOptions {
  std::chrono::milliseconds interval{250};
  // Sample times are measured from here (the run's start, so they line up with frames).
  std::chrono::steady_clock::time_point origin = std::chrono::steady_clock::now();
  std::filesystem::path proc_root = "/proc";
  std::filesystem::path sys_root = "/sys";
  // `vcgencmd` to run for throttling flags; empty: search PATH and /usr/bin. Not found: the
  // flags are "not measured: vcgencmd not found (not a Raspberry Pi?)". It is run at most
  // once a second (it forks), and not at all when the first call fails.
  std::string vcgencmd;
  // The backend's chip temperature (hailo: Device::get_chip_temperature), called on the
  // sampler thread once per sample; empty: none, and chip_temperature_why says why ("backend
  // sim has no chip sensor"). Exceptions it throws count as no value.
  std::function<std::optional<double>()> chip_temperature;
  std::string chip_temperature_why = "not measured: the backend has no chip sensor";
  // A clock this far below a core's highest clock seen so far is a "clock_drop" event, when
  // that core was busy (>= 50%) over the interval: governors such as ondemand lower the clock
  // of an idle core by design, which is not throttling.
  double clock_drop_fraction = 0.10;
  // Called on the sampler thread after each sample (live display, tests); keep it short, it
  // delays the next sample. Exceptions it throws are caught and ignored.
  std::function<void(const SystemSample&)> on_sample;
};

// Starts the sampling thread (named "hd-sampler"); stop() joins it and returns the report.
// The thread only reads small files and sleeps; one sample costs well under 1 ms (plus a
// vcgencmd run at most once a second). The first sample is taken one interval after start().
// start() and stop() may be called from any thread, stop() from one at a time. Errors:
// kFailed when /proc/self/stat cannot be read or the thread cannot be started (nothing else
// is required).
class SystemSampler {
 public:
  static Result<std::unique_ptr<SystemSampler>> start(const SystemSamplerOptions& options = {});
  ~SystemSampler();  // stops if still running
  SystemSampler(const SystemSampler&) = delete;
  SystemSampler& operator=(const SystemSampler&) = delete;

  // Stops sampling (takes one last sample, then reads per-thread CPU and peak RSS) and returns
  // everything; later calls return the same report.
  SystemReport stop();

 private:
  SystemSampler() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// Parses `vcgencmd get_throttled` output ("throttled=0x50005") into its bits; nullopt when
// the text is not that. describe_throttled names the bits that are set ("under-voltage now,
// ARM frequency capped now, throttled now, ... has occurred", then "unknown bits 0x..." for
// any others), or "none".
std::optional<std::uint32_t> parse_throttled(const std::string& text);
std::string describe_throttled(std::uint32_t bits);

struct ContextOptions {
  std::filesystem::path proc_root = "/proc";
  std::filesystem::path sys_root = "/sys";
  std::filesystem::path etc_root = "/etc";
};

// The host part of the context block of docs/run-record.md: date, host, cpu_model,
// cpu_count, governor, kernel, arch, os, page_size, memory_total_bytes,
// raspberry_pi_model (null + why where absent). The caller adds hdeploy, library, backend
// and model entries.
nlohmann::json collect_host_context(const ContextOptions& options = {});

}  // namespace hdeploy::bench
