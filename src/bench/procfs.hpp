#pragma once
// Internal to the bench module (and doctor's): reading the kernel's files under /proc and /sys
// (proc(5) stat and status, cpuinfo, meminfo, cpufreq, thermal zones) for the system sampler,
// the host context and `hdeploy doctor`. Paths and roots are parameters, so tests read a fake tree.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace hdeploy::bench::procfs {

// `s` without leading and trailing spaces, tabs, CRs and newlines.
std::string_view trim(std::string_view s);

// Splits the next space-separated token off `rest`; empty at the end.
std::string_view next_token(std::string_view& rest);

// Splits the next line (without its '\n') off `rest`.
std::string_view next_line(std::string_view& rest);

// The whole of `text` as a number, or nullopt.
template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10) {
  if (text.empty()) return std::nullopt;
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

// Calls on_line(key, value) for each "key<separator>value" line of `text`, both trimmed, until
// it returns true.
template <typename OnLine>
void for_each_key_value(std::string_view text, char separator, OnLine on_line) {
  while (!text.empty()) {
    const auto end = std::min(text.find('\n'), text.size());
    const auto line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const auto split = line.find(separator);
    if (split == std::string_view::npos) continue;
    if (on_line(trim(line.substr(0, split)), trim(line.substr(split + 1)))) return;
  }
}

// Reads small /proc and /sys files with one open and a few reads into a buffer kept between
// calls, so a warm sample allocates nothing for reading. Files in /proc report size 0, so
// nothing can be sized from stat(). Not thread-safe: one reader per thread.
class SmallFileReader {
 public:
  // The whole file, valid until the next call; nullopt when it cannot be opened or read (errno
  // says why).
  std::optional<std::string_view> read(const std::string& path);

 private:
  std::vector<char> buffer_ = std::vector<char>(4096);
};

// A whole small file as a string (one SmallFileReader read); nullopt when it cannot be read.
std::optional<std::string> read_small_file(const std::filesystem::path& path);

// Directory entries starting with `prefix`, or nullopt when the directory cannot be opened.
std::optional<std::vector<std::string>> list_directory(const std::string& dir,
                                                       std::string_view prefix = {});

// utime, stime and starttime of a /proc/<pid>/stat or /proc/self/task/<tid>/stat, in ticks.
struct TaskTimes {
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  std::uint64_t starttime = 0;
};

// nullopt when `text` is not a proc(5) stat line.
std::optional<TaskTimes> parse_task_stat(std::string_view text);

// One cpuN line of /proc/stat, in ticks.
struct CoreTimes {
  int id = 0;
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};

// The cpuN lines of /proc/stat into `out` (its capacity is reused); false when there are none.
bool parse_core_times(std::string_view text, std::vector<CoreTimes>& out);

// The number after `key` ("VmRSS:") in /proc/self/status, which is in kB.
std::optional<std::uint64_t> status_bytes(std::string_view text, std::string_view key);

// The first /proc/cpuinfo value of `key`, if any.
std::optional<std::string> cpuinfo_value(std::string_view cpuinfo, std::string_view key);

// The value of `key` ("MemTotal") in /proc/meminfo, which is in kB, in bytes.
std::optional<std::uint64_t> meminfo_bytes(std::string_view meminfo, std::string_view key);

// The sysfs folder of one CPU: "<sys_root>/devices/system/cpu/cpu<cpu>" (cpufreq/ inside).
std::string cpu_dir(const std::string& sys_root, int cpu);

struct ThermalZone {
  std::string key;  // its type, or "type/thermal_zoneN" when types repeat
  std::string temp_path;
};

// The thermal_zoneN folders of `dir` (<sys_root>/class/thermal) by N, each keyed by the type in
// its `type` file (the folder name when that is empty or unreadable); none when `dir` cannot
// be read. A zone's temp file holds millidegrees C.
std::vector<ThermalZone> thermal_zones(SmallFileReader& reader, const std::string& dir);

}  // namespace hdeploy::bench::procfs
