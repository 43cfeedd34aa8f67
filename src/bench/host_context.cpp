// collect_host_context: the host part of the run record's context block.

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "hdeploy/bench/system_sampler.hpp"
#include "hdeploy/core/utc_time.hpp"
#include "procfs.hpp"

namespace hdeploy::bench {
namespace {
using procfs::cpuinfo_value;
using procfs::for_each_key_value;
using procfs::read_small_file;
using procfs::trim;

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

    const std::string cpu0 = procfs::cpu_dir(sys, 0);
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
      memory_total = procfs::meminfo_bytes(*meminfo, "MemTotal");
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
