// Reading the kernel's files under /proc and /sys: small files, directories, proc(5) stat and
// status, cpuinfo, meminfo, cpufreq and thermal zones.

#include "procfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hdeploy::bench::procfs {
namespace {
constexpr auto npos = std::string_view::npos;
}  // namespace

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::string_view next_token(std::string_view& rest) {
  const auto start = rest.find_first_not_of(" \t\n");
  if (start == npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const auto end = std::min(rest.find_first_of(" \t\n"), rest.size());
  const auto token = rest.substr(0, end);
  rest.remove_prefix(end);
  return token;
}

std::string_view next_line(std::string_view& rest) {
  const auto end = std::min(rest.find('\n'), rest.size());
  const auto line = rest.substr(0, end);
  rest.remove_prefix(std::min(end + 1, rest.size()));
  return line;
}

std::optional<std::string_view> SmallFileReader::read(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::size_t size = 0;
  for (;;) {
    if (size == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const ssize_t got = ::read(fd, buffer_.data() + size, buffer_.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
      return std::nullopt;
    }
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  ::close(fd);
  return std::string_view(buffer_.data(), size);
}

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  SmallFileReader reader;
  const auto text = reader.read(path.string());
  if (!text) return std::nullopt;
  return std::string(*text);
}

std::optional<std::vector<std::string>> list_directory(const std::string& dir,
                                                       std::string_view prefix) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return std::nullopt;
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(handle)) {  // NOLINT(concurrency-mt-unsafe): own DIR
    const std::string_view name = entry->d_name;
    if (name != "." && name != ".." && name.starts_with(prefix)) names.emplace_back(name);
  }
  ::closedir(handle);
  return names;
}

std::optional<TaskTimes> parse_task_stat(std::string_view text) {
  // The command name in parentheses may hold spaces and ')', so fields count from the last ')'.
  const auto close = text.rfind(')');
  if (close == npos) return std::nullopt;
  auto rest = text.substr(close + 1);
  TaskTimes times;
  // Numbered as in proc(5): 3 state, ..., 14 utime, 15 stime, ..., 22 starttime.
  for (int field = 3; field <= 22; ++field) {
    const auto token = next_token(rest);
    if (token.empty()) return std::nullopt;
    std::uint64_t* target = field == 14   ? &times.utime
                            : field == 15 ? &times.stime
                            : field == 22 ? &times.starttime
                                          : nullptr;
    if (target == nullptr) continue;
    const auto value = parse_number<std::uint64_t>(token);
    if (!value) return std::nullopt;
    *target = *value;
  }
  return times;
}

bool parse_core_times(std::string_view text, std::vector<CoreTimes>& out) {
  out.clear();
  while (!text.empty()) {
    auto line = next_line(text);
    if (!line.starts_with("cpu")) break;  // the cpu lines come first
    line.remove_prefix(3);
    if (line.empty() || line.front() < '0' || line.front() > '9') continue;  // the total line
    const auto id = parse_number<int>(next_token(line));
    if (!id) continue;
    // user nice system idle iowait irq softirq steal; guest time is already in user and nice.
    std::uint64_t fields[8] = {};
    int count = 0;
    for (; count < 8; ++count) {
      const auto value = parse_number<std::uint64_t>(next_token(line));
      if (!value) break;
      fields[count] = *value;
    }
    if (count < 4) continue;
    CoreTimes core{.id = *id};
    for (int i = 0; i < count; ++i) core.total += fields[i];
    const std::uint64_t idle = fields[3] + fields[4];
    core.busy = core.total >= idle ? core.total - idle : 0;
    out.push_back(core);
  }
  return !out.empty();
}

std::optional<std::uint64_t> status_bytes(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    auto line = next_line(text);
    if (!line.starts_with(key)) continue;
    line.remove_prefix(key.size());
    const auto kb = parse_number<std::uint64_t>(next_token(line));
    if (!kb) return std::nullopt;
    return *kb * 1024;
  }
  return std::nullopt;
}

std::optional<std::string> cpuinfo_value(std::string_view cpuinfo, std::string_view key) {
  std::optional<std::string> found;
  for_each_key_value(cpuinfo, ':', [&](std::string_view k, std::string_view v) {
    if (k != key || v.empty()) return false;
    found = std::string(v);
    return true;
  });
  return found;
}

std::optional<std::uint64_t> meminfo_bytes(std::string_view meminfo, std::string_view key) {
  std::optional<std::uint64_t> bytes;
  for_each_key_value(meminfo, ':', [&](std::string_view k, std::string_view v) {
    if (k != key) return false;
    std::uint64_t kb = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), kb);
    if (ec == std::errc{} && ptr != v.data()) bytes = kb * 1024;
    return true;
  });
  return bytes;
}

std::string cpu_dir(const std::string& sys_root, int cpu) {
  return fmt::format("{}/devices/system/cpu/cpu{}", sys_root, cpu);
}

std::vector<ThermalZone> thermal_zones(SmallFileReader& reader, const std::string& dir) {
  auto names = list_directory(dir, "thermal_zone").value_or(std::vector<std::string>{});
  const auto index = [](const std::string& name) {
    return parse_number<int>(std::string_view(name).substr(12)).value_or(-1);
  };
  std::sort(names.begin(), names.end(),
            [&](const std::string& a, const std::string& b) { return index(a) < index(b); });
  std::vector<std::string> types;
  for (const auto& name : names) {
    const auto type = reader.read(fmt::format("{}/{}/type", dir, name));
    const auto trimmed = type ? trim(*type) : std::string_view();
    types.emplace_back(trimmed.empty() ? std::string_view(name) : trimmed);
  }
  std::vector<ThermalZone> zones;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto repeats = std::count(types.begin(), types.end(), types[i]);
    zones.push_back(
        ThermalZone{.key = repeats > 1 ? fmt::format("{}/{}", types[i], names[i]) : types[i],
                    .temp_path = fmt::format("{}/{}/temp", dir, names[i])});
  }
  return zones;
}

}  // namespace hdeploy::bench::procfs
