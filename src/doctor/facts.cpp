// gather_facts(): reading the machine for `hdeploy doctor`. Files are read under a root prefix
// so that tests give a fake /etc, /proc, /sys, /dev and /var/lib/dpkg; programs (vcgencmd, the
// hailo plugin, Python, the Dataflow Compiler) are found the usual way.

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hdeploy/bench/system_sampler.hpp"
#include "hdeploy/compile/dfc.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/core/python.hpp"
#include "hdeploy/doctor/doctor.hpp"
#include "hdeploy/runtime/plugin_loader.hpp"
#include "procfs.hpp"

namespace hdeploy::doctor {
namespace {
namespace fs = std::filesystem;
namespace procfs = bench::procfs;

// At most `limit` bytes of a file; nullopt when it cannot be opened. Files under /proc and
// /sys report size 0, so the size is not asked for.
std::optional<std::string> read_text(const fs::path& path, std::size_t limit = 64 * 1024) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::string trimmed(std::string s) {
  const auto not_space = [](unsigned char c) {
    return c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != '\0';
  };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string read_line(const fs::path& path) { return trimmed(read_text(path, 4096).value_or("")); }

// Entry names of `dir` starting with `prefix`, sorted; empty when it cannot be listed.
std::vector<std::string> entries(const fs::path& dir, std::string_view prefix = {}) {
  auto names = procfs::list_directory(dir.string(), prefix).value_or(std::vector<std::string>{});
  std::sort(names.begin(), names.end());
  return names;
}

bool is_real_root(const fs::path& root) { return root == "/" || root.empty(); }

OsFacts read_os(const fs::path& root) {
  OsFacts os;
  auto text = read_text(root / "etc/os-release");
  if (!text) text = read_text(root / "usr/lib/os-release");
  if (text) {
    os.pretty_name = os_release_value(*text, "PRETTY_NAME");
    os.id = os_release_value(*text, "ID");
    os.version_id = os_release_value(*text, "VERSION_ID");
    os.codename = os_release_value(*text, "VERSION_CODENAME");
  }
  os.arch = read_line(root / "proc/sys/kernel/arch");
  os.kernel = read_line(root / "proc/sys/kernel/osrelease");
  if (const auto smaps = read_text(root / "proc/self/smaps", 16 * 1024)) {
    os.page_size = kernel_page_size(*smaps).value_or(0);
  }
  if (is_real_root(root)) {
    utsname names{};
    if (::uname(&names) == 0) {
      if (os.arch.empty()) os.arch = names.machine;
      if (os.kernel.empty()) os.kernel = names.release;
    }
    if (os.page_size == 0) os.page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  }
  return os;
}

DriverFacts read_driver(const fs::path& root) {
  DriverFacts d;
  const fs::path module = root / "sys/module/hailo_pci";
  std::error_code ec;
  d.module_loaded = fs::is_directory(module, ec);
  d.version = read_line(module / "version");
  const std::string forced = read_line(module / "parameters/force_desc_page_size");
  if (!forced.empty()) d.force_desc_page_size = procfs::parse_number<std::uint64_t>(forced);
  d.chardevs = entries(root / "sys/class/hailo_chardev");
  for (auto& name : entries(root / "dev", "hailo")) d.dev_nodes.push_back("/dev/" + name);
  d.modprobe_conf = trimmed(read_text(root / "etc/modprobe.d/hailo_pci.conf", 4096).value_or(""));
  return d;
}

std::vector<PciDevice> read_hailo_pci(const fs::path& root) {
  std::vector<PciDevice> out;
  const fs::path devices = root / "sys/bus/pci/devices";
  for (const auto& address : entries(devices)) {
    const fs::path dir = devices / address;
    if (read_line(dir / "vendor") != "0x1e60") continue;
    out.push_back(PciDevice{.address = address,
                            .device_id = read_line(dir / "device"),
                            .link_speed = read_line(dir / "current_link_speed"),
                            .link_width = read_line(dir / "current_link_width"),
                            .max_link_speed = read_line(dir / "max_link_speed")});
  }
  return out;
}

HolderFacts read_holders(const fs::path& root) {
  HolderFacts facts;
  const fs::path proc = root / "proc";
  const int self = ::getpid();
  for (const auto& name : entries(proc)) {
    const auto pid = procfs::parse_number<int>(name);
    if (!pid || (is_real_root(root) && *pid == self)) continue;
    std::error_code ec;
    fs::directory_iterator it(proc / name / "fd", ec);
    if (ec) {
      if (ec == std::errc::permission_denied) ++facts.unreadable_processes;
      continue;
    }
    for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
      std::error_code link_ec;
      const fs::path target = fs::read_symlink(it->path(), link_ec);
      if (link_ec || !target.string().starts_with("/dev/hailo")) continue;
      facts.holders.push_back(
          Holder{.pid = *pid, .command = read_line(proc / name / "comm"), .device = target});
      break;
    }
  }
  return facts;
}

std::vector<std::string> read_governors(const fs::path& root) {
  std::vector<std::string> out;
  const fs::path cpus = root / "sys/devices/system/cpu";
  for (const auto& name : entries(cpus, "cpu")) {
    if (!procfs::parse_number<int>(name.substr(3))) continue;
    std::string governor = read_line(cpus / name / "cpufreq/scaling_governor");
    if (!governor.empty()) out.push_back(std::move(governor));
  }
  return out;
}

// The hottest zone, found as the system sampler finds them (procfs::thermal_zones).
void read_temperature(const fs::path& root, Facts& facts) {
  procfs::SmallFileReader reader;
  for (const auto& zone : procfs::thermal_zones(reader, (root / "sys/class/thermal").string())) {
    const auto milli = procfs::parse_number<long>(read_line(zone.temp_path));
    if (!milli) continue;
    const double c = static_cast<double>(*milli) / 1000.0;
    if (!facts.temperature_c || c > *facts.temperature_c) {
      facts.temperature_c = c;
      facts.temperature_zone = zone.key;
    }
  }
}

void read_throttled(Facts& facts) {
  ProcessOptions options;
  options.timeout = std::chrono::seconds(5);
  auto outcome = run_process({"vcgencmd", "get_throttled"}, options);
  if (!outcome) {
    facts.throttled_why = outcome.error().code == ErrorCode::kNotFound
                              ? "not measured: vcgencmd not found (not a Raspberry Pi?)"
                              : "not measured: " + outcome.error().message;
    return;
  }
  if (outcome->exit_status != 0 || outcome->timed_out) {
    facts.throttled_why =
        fmt::format("not measured: `vcgencmd get_throttled` {}",
                    outcome->timed_out ? "did not answer in 5 s"
                                       : fmt::format("exited {}", outcome->exit_status));
    return;
  }
  facts.throttled = bench::parse_throttled(outcome->stdout_text);
  if (!facts.throttled) {
    facts.throttled_why = fmt::format("not measured: `vcgencmd get_throttled` printed \"{}\"",
                                      trimmed(outcome->stdout_text));
  }
}

void read_plugin(const Options& options, Facts& facts) {
  auto plugin = runtime::find_backend_plugin("hailo");
  if (!plugin) {
    facts.hailort.why = plugin.error().message;
    facts.device.why = "not measured: no hailo plugin";
    return;
  }
  facts.hailort.found = true;
  facts.hailort.file = plugin->file.string();
  facts.hailort.built_against = plugin->api->built_against;
  if (auto version = plugin->api->runtime_version()) {
    facts.hailort.library_version = *version;
  } else {
    facts.hailort.why = version.error().message;
  }
  if (!options.probe_device) {
    facts.device.why = "not measured: the device probe was turned off (--no-probe)";
    return;
  }
  if (options.on_progress) options.on_progress("opening the Hailo device through the plugin");
  auto device = plugin->api->probe_device();
  if (!device) {
    facts.device.why = device.error().message;
    return;
  }
  facts.device.opened = true;
  facts.device.architecture = device->architecture;
  facts.device.firmware_version = device->firmware_version;
  facts.device.description = device->description;
}

void read_python(const Options& options, Facts& facts) {
  if (!options.probe_python) {
    facts.python.why = "not measured: the Python probe was turned off";
    return;
  }
  if (options.on_progress) options.on_progress("looking for a Python that imports torch");
  auto python = find_python(options.python);
  if (!python) {
    facts.python.why = python.error().message;
    return;
  }
  facts.python.found = true;
  std::string modules;
  for (const auto& [name, version] : python->module_versions) {
    modules += fmt::format("{}{} {}", modules.empty() ? "" : ", ", name, version);
  }
  facts.python.summary =
      fmt::format("{} (Python {}): {}", python->executable, python->python_version, modules);
}

void read_dfc(const Options& options, Facts& facts) {
  if (facts.os.arch != "x86_64") return;  // judged from the arch alone
  if (!options.probe_dfc) {
    facts.dfc.why = "not measured: the Dataflow Compiler probe was turned off";
    return;
  }
  compile::DfcSearch search;
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read only
  search.path_env = path != nullptr ? path : "";
  auto tool = compile::find_dfc(search);
  if (!tool) {
    facts.dfc.why = tool.error().message;
    return;
  }
  if (options.on_progress) options.on_progress("asking the Dataflow Compiler its version");
  if (auto probed = compile::probe_dfc_version(*tool); !probed) {
    facts.dfc.why = probed.error().message;
    return;
  }
  facts.dfc.found = true;
  facts.dfc.version = tool->version.value_or("");
  facts.dfc.summary = fmt::format("hailo {} ({})", facts.dfc.version, tool->executable.string());
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string os_release_value(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with(key + "=")) continue;
    std::string value = trimmed(line.substr(key.size() + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return {};
}

std::optional<std::uint64_t> kernel_page_size(const std::string& smaps_text) {
  const auto at = smaps_text.find("KernelPageSize:");
  if (at == std::string::npos) return std::nullopt;
  std::istringstream in(smaps_text.substr(at + 15));
  std::uint64_t value = 0;
  std::string unit;
  if (!(in >> value >> unit) || unit != "kB" || value == 0) return std::nullopt;
  return value * 1024;
}

std::vector<DpkgPackage> hailo_packages_in_dpkg_status(const std::string& status_text) {
  std::vector<DpkgPackage> out;
  std::istringstream in(status_text);
  std::string line, name, version, status;
  const auto flush = [&] {
    const bool hailo = name.starts_with("hailo") || name == "python3-hailort";
    if (hailo && status.find(" installed") != std::string::npos && !version.empty()) {
      out.push_back(DpkgPackage{
          .name = name, .version = version, .held = status.starts_with("Status: hold ")});
    }
    name.clear();
    version.clear();
    status.clear();
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
    } else if (line.starts_with("Package: ")) {
      name = trimmed(line.substr(9));
    } else if (line.starts_with("Version: ")) {
      version = trimmed(line.substr(9));
    } else if (line.starts_with("Status: ")) {
      status = line;
    }
  }
  flush();
  std::sort(out.begin(), out.end());
  return out;
}

Facts gather_facts(const Options& options) {
  Facts facts;
  const fs::path& root = options.root;
  facts.os = read_os(root);
  facts.pi_model = read_line(root / "proc/device-tree/model");
  facts.driver = read_driver(root);
  facts.hailo_pci = read_hailo_pci(root);
  facts.holders = read_holders(root);
  facts.hailo_packages =
      hailo_packages_in_dpkg_status(read_text(root / "var/lib/dpkg/status", 16 << 20).value_or(""));
  facts.governors = read_governors(root);
  read_temperature(root, facts);
  read_throttled(facts);
  read_plugin(options, facts);
  read_python(options, facts);
  read_dfc(options, facts);
  if (options.hef) {
    facts.hef_path = *options.hef;
    facts.hef = hef::HefReader::inspect_file(*options.hef);
  }
  facts.target_device = !options.device.empty() ? lower(options.device)
                        : facts.device.opened   ? lower(facts.device.architecture)
                                                : std::string();
  return facts;
}

}  // namespace hdeploy::doctor
