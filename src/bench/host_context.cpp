// collect_host_context: the host part of the run record's context block.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "hdeploy/bench/system_sampler.hpp"
#include "hdeploy/core/utc_time.hpp"

namespace hdeploy::bench {
namespace {
constexpr auto npos = std::string_view::npos;

// A whole small file by POSIX read: files in /proc report size 0, so nothing can be sized
// from stat().
std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char chunk[4096];
  for (;;) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (got == 0) break;
    text.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return text;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
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
    if (split == npos) continue;
    if (on_line(trim(line.substr(0, split)), trim(line.substr(split + 1)))) return;
  }
}

// The first /proc/cpuinfo value of `key`, if any.
std::optional<std::string> cpuinfo_value(std::string_view cpuinfo, std::string_view key) {
  std::optional<std::string> found;
  for_each_key_value(cpuinfo, ':', [&](std::string_view k, std::string_view v) {
    if (k != key || v.empty()) return false;
    found = std::string(v);
    return true;
  });
  return found;
}

// An os-release(5) value: shell-style, optionally quoted, with backslash escapes.
std::optional<std::string> os_release_value(std::string_view text, std::string_view key) {
  std::optional<std::string> found;
  for_each_key_value(text, '=', [&](std::string_view k, std::string_view v) {
    if (k != key) return false;
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    std::string value;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      value += v[i];
    }
    found = std::move(value);
    return true;
  });
  return found;
}

// Sets `key` to `value`, or to null with "<key>_why" = `why`.
void set_or_why(nlohmann::json& context, const std::string& key,
                const std::optional<std::string>& value, const std::string& why) {
  if (value) {
    context[key] = *value;
  } else {
    context[key] = nullptr;
    context[fmt::format("{}_why", key)] = why;
  }
}

}  // namespace

nlohmann::json collect_host_context(const ContextOptions& options) {
  nlohmann::json context = nlohmann::json::object();
  try {
    const std::string proc = options.proc_root.string();
    const std::string sys = options.sys_root.string();
    const std::string etc = options.etc_root.string();
    context["date"] = utc_now_iso8601();

    char host[HOST_NAME_MAX + 1] = {};
    context["host"] = ::gethostname(host, sizeof host - 1) == 0 ? host : "unknown";

    const auto cpuinfo = read_small_file(options.proc_root / "cpuinfo");
    std::optional<std::string> cpu_model;
    for (const char* key : {"model name", "Model", "Hardware"}) {
      if (!cpu_model && cpuinfo) cpu_model = cpuinfo_value(*cpuinfo, key);
    }
    set_or_why(context, "cpu_model", cpu_model,
               fmt::format("not measured: no \"model name\", \"Model\" or \"Hardware\" in "
                           "{}/cpuinfo",
                           proc));

    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    context["cpu_count"] = online > 0 ? online : 1;

    const std::string cpu0 = fmt::format("{}/devices/system/cpu/cpu0", sys);
    std::optional<std::string> governor;
    if (const auto text = read_small_file(fmt::format("{}/cpufreq/scaling_governor", cpu0))) {
      if (const auto value = trim(*text); !value.empty()) governor = std::string(value);
    }
    set_or_why(context, "governor", governor,
               fmt::format("not measured: no cpufreq in {} (virtual machine?)", cpu0));

    utsname names{};
    if (::uname(&names) == 0) {
      context["kernel"] = fmt::format("{} {}", names.sysname, names.release);
      context["arch"] = names.machine;
    } else {
      context["kernel"] = "unknown";
      context["arch"] = "unknown";
    }

    const auto os_release = read_small_file(options.etc_root / "os-release");
    set_or_why(context, "os",
               os_release ? os_release_value(*os_release, "PRETTY_NAME") : std::nullopt,
               fmt::format("not measured: no PRETTY_NAME in {}/os-release", etc));

    context["page_size"] = ::sysconf(_SC_PAGESIZE);

    std::optional<std::uint64_t> memory_total;
    if (const auto meminfo = read_small_file(options.proc_root / "meminfo")) {
      for_each_key_value(*meminfo, ':', [&](std::string_view k, std::string_view v) {
        if (k != "MemTotal") return false;
        std::uint64_t kb = 0;
        const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), kb);
        if (ec == std::errc{} && ptr != v.data()) memory_total = kb * 1024;
        return true;
      });
    }
    if (memory_total) {
      context["memory_total_bytes"] = *memory_total;
    } else {
      context["memory_total_bytes"] = nullptr;
      context["memory_total_bytes_why"] =
          fmt::format("not measured: no MemTotal in {}/meminfo", proc);
    }

    std::optional<std::string> pi_model;
    if (const auto text = read_small_file(options.proc_root / "device-tree" / "model")) {
      // A device-tree string ends in NUL.
      const auto value = trim(std::string_view(*text).substr(0, text->find('\0')));
      if (!value.empty()) pi_model = std::string(value);
    }
    set_or_why(context, "raspberry_pi_model", pi_model,
               fmt::format("not measured: no {}/device-tree/model (not a Raspberry Pi?)", proc));
  } catch (const std::exception& e) {
    context["error"] = fmt::format("cannot describe the host: {}", e.what());
  }
  return context;
}

}  // namespace hdeploy::bench
