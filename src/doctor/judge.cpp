// judge(): the verdict of each `hdeploy doctor` check from the facts, with the exact fix. Pure:
// tested on made-up facts (doctor_test.cpp).

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "hdeploy/bench/system_sampler.hpp"
#include "hdeploy/compile/dfc.hpp"
#include "hdeploy/doctor/doctor.hpp"
#include "hdeploy/hef/compatibility.hpp"

namespace hdeploy::doctor {
namespace {

constexpr std::uint64_t kDescriptorPage = 4096;  // the largest descriptor page HailoRT accepts
constexpr double kHotC = 80.0;                   // the Pi 5 starts to throttle here

Check ok(std::string id, std::string title, std::string detail) {
  return Check{std::move(id), std::move(title), Level::kOk, std::move(detail), {}};
}
Check warn(std::string id, std::string title, std::string detail, std::string fix = {}) {
  return Check{std::move(id), std::move(title), Level::kWarn, std::move(detail), std::move(fix)};
}
Check failed(std::string id, std::string title, std::string detail, std::string fix) {
  return Check{std::move(id), std::move(title), Level::kFail, std::move(detail), std::move(fix)};
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// Something of the Hailo stack is here: its checks fail instead of warn when broken.
bool hailo_expected(const Facts& f) {
  return !f.hailo_pci.empty() || f.driver.module_loaded || !f.driver.dev_nodes.empty();
}

bool driver_loaded(const DriverFacts& d) {
  return d.module_loaded || !d.chardevs.empty() || !d.dev_nodes.empty();
}

// Raspberry Pi OS's way to install the Hailo stack, by release.
std::string install_fix(const Facts& f) {
  if (f.os.version_id == "13" || f.os.codename == "trixie") {
    return "sudo apt install dkms && sudo apt install hailo-all && sudo reboot";
  }
  return "sudo apt install hailo-all && sudo reboot";
}

std::string page_text(std::uint64_t bytes) {
  return bytes % 1024 == 0 ? fmt::format("{} bytes ({} KiB)", bytes, bytes / 1024)
                           : fmt::format("{} bytes", bytes);
}

Check os_check(const Facts& f) {
  const char* id = "os";
  const char* title = "OS";
  if (f.os.pretty_name.empty()) {
    return warn(id, title, "not measured: no /etc/os-release",
                "hdeploy is built and tested on Debian 12 and 13 (Raspberry Pi OS bookworm and "
                "trixie)");
  }
  const std::string detail =
      fmt::format("{}, {}", f.os.pretty_name, f.os.arch.empty() ? "arch not measured" : f.os.arch);
  const bool debian = f.os.id == "debian" || f.os.id == "raspbian";
  const bool release = f.os.version_id == "12" || f.os.version_id == "13";
  const bool arch = f.os.arch == "x86_64" || f.os.arch == "aarch64";
  if (debian && release && arch) return ok(id, title, detail);
  return warn(id, title, detail + ": not a system hdeploy is tested on",
              "use Debian 12 or 13 (Raspberry Pi OS bookworm or trixie) on arm64 or amd64; "
              "elsewhere the package names in scripts/packages.txt may differ");
}

Check pi_check(const Facts& f) {
  const char* id = "raspberry_pi";
  const char* title = "Raspberry Pi";
  if (f.pi_model.empty()) {
    return ok(id, title,
              "not a Raspberry Pi (no /proc/device-tree/model): a compile or "
              "development host");
  }
  if (f.pi_model.find("Raspberry Pi 5") != std::string::npos ||
      f.pi_model.find("Raspberry Pi Compute Module 5") != std::string::npos) {
    return ok(id, title, f.pi_model);
  }
  if (f.pi_model.find("Raspberry Pi") != std::string::npos) {
    return warn(id, title, f.pi_model + ": the AI Kit and AI HAT+ need a Raspberry Pi 5",
                "use a Raspberry Pi 5 (its PCIe connector carries the Hailo M.2 module)");
  }
  return ok(id, title, f.pi_model + " (not a Raspberry Pi)");
}

Check kernel_check(const Facts& f) {
  const std::string kernel = f.os.kernel.empty() ? "release not measured" : f.os.kernel;
  if (f.os.page_size == 0) {
    return warn("kernel", "Kernel",
                kernel + ", page size not measured: no KernelPageSize in /proc/self/smaps");
  }
  return ok("kernel", "Kernel", fmt::format("{}, page size {}", kernel, page_text(f.os.page_size)));
}

Check hailort_check(const Facts& f) {
  const char* id = "hailort";
  const char* title = "HailoRT and the hdeploy plugin";
  const auto& h = f.hailort;
  const std::string pairing =
      "install the hdeploy-hailo package built for the HailoRT version installed here";
  if (!h.found) {
    const std::string fix = install_fix(f) + "; then " + pairing;
    return hailo_expected(f) ? failed(id, title, h.why, fix)
                             : warn(id, title, "not measured: " + h.why, fix);
  }
  if (h.library_version.empty()) {
    return failed(id, title, fmt::format("{} ({}) loads, but {}", h.file, h.built_against, h.why),
                  pairing);
  }
  const std::string detail = fmt::format("HailoRT {} through {} (built against {})",
                                         h.library_version, h.file, h.built_against);
  if (h.built_against.find(h.library_version) == std::string::npos) {
    return failed(id, title, detail + ": the versions differ", pairing);
  }
  return ok(id, title, detail);
}

Check driver_check(const Facts& f) {
  const char* id = "driver";
  const char* title = "Hailo PCIe driver";
  const auto& d = f.driver;
  if (driver_loaded(d)) {
    const std::string version = d.version.empty() ? "version not measured" : d.version;
    if (d.dev_nodes.empty()) {
      return failed(id, title,
                    fmt::format("hailo_pci ({}) is loaded but there is no /dev/hailo*: the "
                                "device did not come up",
                                version),
                    "`sudo dmesg | grep -i hailo` says why; `lspci -d 1e60:` must list the "
                    "device (reseat the module and its ribbon cable, power off and on)");
    }
    return ok(id, title, fmt::format("hailo_pci {} loaded, {}", version, join(d.dev_nodes)));
  }
  if (!f.hailo_pci.empty()) {
    return failed(id, title,
                  fmt::format("a Hailo device is on PCIe ({}) but the hailo_pci driver is not "
                              "loaded (no /sys/module/hailo_pci, /sys/class/hailo_chardev or "
                              "/dev/hailo*)",
                              f.hailo_pci.front().address),
                  install_fix(f));
  }
  return warn(id, title, "not loaded (and no Hailo device on PCIe)",
              "on the Raspberry Pi with the Hailo module: " + install_fix(f));
}

Check pcie_check(const Facts& f) {
  const char* id = "pcie";
  const char* title = "PCIe link";
  if (f.hailo_pci.empty()) {
    return warn(id, title, "no Hailo device on PCIe (no vendor 0x1e60 in /sys/bus/pci/devices)",
                "on a Raspberry Pi 5: seat the AI Kit / AI HAT+ and its ribbon cable, power off "
                "and on, then `lspci -d 1e60:` must list it (nothing to do on a compile host)");
  }
  const PciDevice& d = f.hailo_pci.front();
  const int gen = pcie_generation(d.link_speed);
  if (gen == 0) {
    return warn(id, title,
                fmt::format("{} (device {}): link speed not measured (current_link_speed \"{}\")",
                            d.address, d.device_id, d.link_speed));
  }
  const std::string detail =
      fmt::format("{} (device {}): PCIe Gen {} x{} ({})", d.address, d.device_id, gen,
                  d.link_width.empty() ? "?" : d.link_width, d.link_speed);
  if (gen < 3) {
    return warn(id, title, detail + ": half the bandwidth of Gen 3",
                "add `dtparam=pciex1_gen=3` to /boot/firmware/config.txt and reboot");
  }
  return ok(id, title, detail);
}

Check device_check(const Facts& f) {
  const char* id = "device";
  const char* title = "Hailo device";
  const auto& d = f.device;
  if (d.opened) {
    return ok(id, title,
              fmt::format("{}, firmware {} ({})", d.architecture,
                          d.firmware_version.empty() ? "version not reported" : d.firmware_version,
                          d.description));
  }
  if (!f.hailort.found || d.why.starts_with("not measured")) {
    return warn(id, title, d.why.starts_with("not measured") ? d.why : "not measured: " + d.why);
  }
  std::string fix;
  if (!f.holders.holders.empty()) {
    fix = fmt::format("stop process {} ({}), which holds {}", f.holders.holders.front().pid,
                      f.holders.holders.front().command, f.holders.holders.front().device);
  } else if (!driver_loaded(f.driver)) {
    fix = install_fix(f);
  } else {
    fix =
        "the line above names HailoRT's status; `hailortcli fw-control identify` shows the "
        "same from HailoRT's own tool";
  }
  return hailo_expected(f) ? failed(id, title, d.why, fix) : warn(id, title, d.why, fix);
}

Check holder_check(const Facts& f) {
  const char* id = "device_in_use";
  const char* title = "Device held by another process";
  const auto& h = f.holders;
  if (!h.holders.empty()) {
    std::vector<std::string> who;
    std::vector<std::string> pids;
    for (const auto& holder : h.holders) {
      who.push_back(
          fmt::format("process {} ({}) has {} open", holder.pid, holder.command, holder.device));
      pids.push_back(std::to_string(holder.pid));
    }
    return failed(id, title, join(who, "; "),
                  fmt::format("stop it (`kill {}`): HailoRT gives a device to one process unless "
                              "all of them go through its multi-process service (hailort.service)",
                              join(pids, " ")));
  }
  if (f.driver.dev_nodes.empty()) return warn(id, title, "not measured: no /dev/hailo* here");
  std::string detail = fmt::format("no other process has {} open", join(f.driver.dev_nodes));
  if (h.unreadable_processes > 0) {
    detail += fmt::format(" ({} processes could not be looked into: run as root to see all)",
                          h.unreadable_processes);
  }
  return ok(id, title, detail);
}

Check versions_check(const Facts& f) {
  const char* id = "versions";
  const char* title = "HailoRT = driver = firmware";
  std::vector<std::pair<std::string, std::string>> known;  // what, version
  std::vector<std::string> missing;
  const auto add = [&](const char* what, const std::string& version, const std::string& why) {
    if (version.empty()) {
      missing.push_back(why.empty() ? std::string(what) : fmt::format("{} ({})", what, why));
    } else {
      known.emplace_back(what, version);
    }
  };
  add("HailoRT library", f.hailort.library_version, f.hailort.found ? "" : "no hailo plugin");
  add("driver", f.driver.version,
      driver_loaded(f.driver) ? "no /sys/module/hailo_pci/version" : "driver not loaded");
  add("firmware", f.device.firmware_version, f.device.opened ? "" : "device not opened");

  std::vector<std::string> parts;
  for (const auto& [what, version] : known) parts.push_back(fmt::format("{} {}", what, version));
  const bool same = std::all_of(known.begin(), known.end(),
                                [&](const auto& k) { return k.second == known.front().second; });

  std::vector<std::string> names;
  std::vector<std::string> installed;
  std::vector<std::string> unheld;
  for (const auto& p : f.hailo_packages) {
    names.push_back(p.name);
    installed.push_back(p.name + " " + p.version);
    if (!p.held) unheld.push_back(p.name);
  }
  const std::string packages =
      installed.empty() ? std::string() : fmt::format(" (installed: {})", join(installed));
  if (!same) {
    return failed(id, title,
                  join(parts) +
                      " differ: HailoRT refuses to run (HAILO_INVALID_DRIVER_VERSION, "
                      "76, or \"Unsupported firmware operation\")" +
                      packages,
                  fmt::format("make them one version: `sudo apt install --reinstall hailo-all`, "
                              "reboot (the driver and firmware load at boot), then `sudo "
                              "apt-mark hold {}` so that `apt full-upgrade` cannot split them "
                              "again",
                              names.empty() ? std::string("hailo-all hailort") : join(names, " ")));
  }
  if (known.size() < 3) {
    const std::string measured = parts.empty()       ? std::string()
                                 : parts.size() == 1 ? parts.front() + "; "
                                                     : join(parts) + " agree; ";
    return warn(id, title, fmt::format("{}not measured: {}", measured, join(missing)));
  }
  const std::string detail = fmt::format("all {}{}", known.front().second, packages);
  if (!unheld.empty()) {
    return warn(id, title, detail + fmt::format("; not held: {}", join(unheld)),
                fmt::format("`sudo apt-mark hold {}`: an `apt full-upgrade` that moves one of them "
                            "alone breaks a working stack",
                            join(unheld, " ")));
  }
  return ok(id, title, detail);
}

Check page_size_check(const Facts& f) {
  const char* id = "page_size";
  const char* title = "Driver descriptor page size";
  const std::uint64_t page = f.os.page_size;
  const std::string conf_fix =
      "`echo 'options hailo_pci force_desc_page_size=4096' | sudo tee "
      "/etc/modprobe.d/hailo_pci.conf`, then reboot";
  if (page == 0) return warn(id, title, "not measured: the kernel's page size is unknown");
  if (page <= kDescriptorPage) {
    return ok(id, title, fmt::format("kernel pages are {}: no setting needed", page_text(page)));
  }
  if (!driver_loaded(f.driver)) {
    return warn(id, title,
                fmt::format("not measured: the driver is not loaded; kernel pages are {}, so it "
                            "will need force_desc_page_size=4096",
                            page_text(page)),
                f.driver.modprobe_conf.find("force_desc_page_size=4096") != std::string::npos
                    ? std::string()
                    : conf_fix);
  }
  const auto& forced = f.driver.force_desc_page_size;
  if (forced && *forced == kDescriptorPage) {
    return ok(
        id, title,
        fmt::format("kernel pages are {}; hailo_pci force_desc_page_size=4096", page_text(page)));
  }
  const std::string detail = fmt::format(
      "kernel pages are {} and hailo_pci's force_desc_page_size is {}: HailoRT fails with "
      "\"max_desc_page_size given {} is bigger than hw max desc page size 4096\" "
      "(HAILO_INTERNAL_FAILURE, 8)",
      page_text(page), forced ? std::to_string(*forced) : std::string("not readable"), page);
  if (f.driver.modprobe_conf.find("force_desc_page_size=4096") != std::string::npos) {
    return failed(id, title, detail,
                  "/etc/modprobe.d/hailo_pci.conf sets it but the loaded driver has not read it: "
                  "reboot (or `sudo modprobe -r hailo_pci && sudo modprobe hailo_pci`)");
  }
  return failed(id, title, detail, conf_fix);
}

Check governor_check(const Facts& f) {
  const char* id = "governor";
  const char* title = "CPU governor";
  if (f.governors.empty()) {
    return warn(id, title,
                "not measured: no cpufreq in /sys/devices/system/cpu (a virtual "
                "machine?)");
  }
  std::map<std::string, int> counts;
  for (const auto& g : f.governors) ++counts[g];
  std::vector<std::string> parts;
  for (const auto& [name, n] : counts) parts.push_back(fmt::format("{} on {} CPUs", name, n));
  if (counts.size() == 1 && counts.begin()->first == "performance") {
    return ok(id, title, join(parts));
  }
  return warn(id, title, join(parts) + ": clocks ramp up only under load, so benchmarks vary more",
              "for benchmarks: `echo performance | sudo tee "
              "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor`");
}

Check throttling_check(const Facts& f) {
  const char* id = "throttling";
  const char* title = "Throttling (vcgencmd get_throttled)";
  if (!f.throttled) {
    if (f.pi_model.find("Raspberry Pi") == std::string::npos) {
      return ok(id, title, "not a Raspberry Pi: no firmware throttling flags to read");
    }
    return warn(id, title, f.throttled_why,
                "vcgencmd comes with Raspberry Pi OS (package raspi-utils on trixie, "
                "libraspberrypi-bin on bookworm)");
  }
  const std::uint32_t bits = *f.throttled;
  const std::string detail = fmt::format("0x{:x}: {}", bits, bench::describe_throttled(bits));
  std::string fix;
  if ((bits & 0x10001U) != 0) fix = "use the official 27 W USB-C power supply";
  if ((bits & 0xE000EU) != 0) {
    fix += std::string(fix.empty() ? "" : "; ") + "add cooling (the Active Cooler or a case fan)";
  }
  if ((bits & 0xFU) != 0) return failed(id, title, detail, fix);
  if (bits != 0) return warn(id, title, detail + " (since boot)", fix);
  return ok(id, title, detail);
}

Check temperature_check(const Facts& f) {
  const char* id = "temperature";
  const char* title = "Temperature";
  if (!f.temperature_c) {
    return warn(id, title, "not measured: no readable zone in /sys/class/thermal");
  }
  const std::string detail =
      fmt::format("{:.1f} °C ({})", *f.temperature_c,
                  f.temperature_zone.empty() ? "hottest zone" : f.temperature_zone);
  if (*f.temperature_c >= kHotC) {
    return warn(id, title, detail + ": at the throttling point, benchmarks will slow down",
                "add cooling (the Active Cooler or a case fan) and let it cool before measuring");
  }
  return ok(id, title, detail);
}

Check python_check(const Facts& f) {
  if (f.python.found) return ok("python", "Python with torch (export)", f.python.summary);
  return warn("python", "Python with torch (export)", f.python.why,
              "`sudo apt install python3-torch python3-torchvision python3-onnx`, or name one "
              "with --python / $HDEPLOY_PYTHON (only `hdeploy export` needs it)");
}

Check dfc_check(const Facts& f) {
  const char* id = "dfc";
  const char* title = "Dataflow Compiler (compile)";
  if (f.os.arch != "x86_64") {
    return ok(id, title,
              fmt::format("not used on {}: the Dataflow Compiler runs only on x86-64 Linux; "
                          "compile there (`hdeploy compile`) and copy the .hef here",
                          f.os.arch.empty() ? std::string("this machine") : f.os.arch));
  }
  if (f.dfc.found) return ok(id, title, f.dfc.summary);
  return warn(id, title, f.dfc.why, compile::dfc_install_help());
}

Check hef_check(const Facts& f) {
  const char* id = "hef";
  const std::string title = "HEF " + f.hef_path->filename().string();
  const hef::HefReport& report = *f.hef;
  if (report.error && !report.proto_header) {
    return failed(id, title, report.error->message,
                  "copy the file again or recompile it: it is not a complete HEF");
  }
  std::string what;
  if (report.proto_header) {
    what = fmt::format("{}, compiled by DFC {}", report.proto_header->arch,
                       report.proto_header->compiler_version);
  }
  if (report.header) what += fmt::format(", header version {}", report.header->version);
  if (f.hailort.library_version.empty() || f.target_device.empty()) {
    return warn(id, title,
                fmt::format("{}; not checked against this machine: {}", what,
                            f.hailort.library_version.empty() ? "no HailoRT here"
                                                              : "no device (give --device)"));
  }
  const auto runtime = hef::parse_runtime_version(f.hailort.library_version);
  const auto device = hef::normalize_device(f.target_device);
  if (!runtime || !device) {
    return warn(id, title,
                fmt::format("{}; not checked: {}", what,
                            !runtime ? runtime.error().message : device.error().message));
  }
  const hef::CompatibilityVerdict verdict = hef::check_compatibility(report, *runtime, *device);
  std::string detail = fmt::format("{}; {} with HailoRT {}", what, verdict.device, verdict.runtime);
  for (const auto& note : verdict.notes) detail += "; note: " + note;
  if (verdict.ok) return ok(id, title, detail + ": will run");
  return failed(id, title, detail + ": will not run: " + join(verdict.reasons, "; "),
                fmt::format("recompile for {} with the Dataflow Compiler that pairs with "
                            "HailoRT {} (`hdeploy compile --hw-arch {}`)",
                            verdict.device, verdict.runtime, verdict.device));
}

}  // namespace

const char* to_string(Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kWarn:
      return "warn";
    case Level::kFail:
      return "fail";
  }
  return "?";
}

bool Report::ok() const { return count(Level::kFail) == 0; }

std::size_t Report::count(Level level) const {
  return static_cast<std::size_t>(std::count_if(
      checks.begin(), checks.end(), [level](const Check& c) { return c.level == level; }));
}

int pcie_generation(const std::string& link_speed) {
  static const std::vector<std::pair<std::string, int>> kSpeeds = {
      {"2.5 GT/s", 1}, {"5.0 GT/s", 2}, {"8.0 GT/s", 3}, {"16.0 GT/s", 4}, {"32.0 GT/s", 5}};
  for (const auto& [speed, gen] : kSpeeds) {
    if (link_speed.starts_with(speed)) return gen;
  }
  return 0;
}

Report judge(const Facts& f) {
  Report r;
  r.checks = {os_check(f),          pi_check(f),        kernel_check(f),   hailort_check(f),
              driver_check(f),      pcie_check(f),      device_check(f),   holder_check(f),
              versions_check(f),    page_size_check(f), governor_check(f), throttling_check(f),
              temperature_check(f), python_check(f),    dfc_check(f)};
  if (f.hef && f.hef_path) r.checks.push_back(hef_check(f));
  return r;
}

nlohmann::json to_json(const Report& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : report.checks) {
    checks.push_back({{"id", c.id},
                      {"title", c.title},
                      {"level", to_string(c.level)},
                      {"detail", c.detail},
                      {"fix", c.fix}});
  }
  return {{"ok", report.ok()},
          {"counts",
           {{"ok", report.count(Level::kOk)},
            {"warn", report.count(Level::kWarn)},
            {"fail", report.count(Level::kFail)}}},
          {"checks", std::move(checks)}};
}

std::string to_text(const Report& report) {
  std::string out;
  for (const auto& c : report.checks) {
    out += fmt::format("{:<4}  {}: {}", to_string(c.level), c.title, c.detail);
    if (c.level != Level::kOk && !c.fix.empty()) out += " — fix: " + c.fix;
    out += '\n';
  }
  out += fmt::format("{} ok, {} warnings, {} failed: {}\n", report.count(Level::kOk),
                     report.count(Level::kWarn), report.count(Level::kFail),
                     report.ok() ? "nothing stops hdeploy here" : "fix the failures above");
  return out;
}

}  // namespace hdeploy::doctor
