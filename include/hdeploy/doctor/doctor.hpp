#pragma once
// `hdeploy doctor`: is this machine ready to run a Hailo model, and if not, what exactly to do.
// Two halves: gather_facts() reads the machine (files under a root prefix, the hailo plugin, a
// device probe, vcgencmd, Python, the Dataflow Compiler) and judge() turns the facts into one
// ok / warn / fail line per check with the fix. judge() is a pure function, so every verdict is
// tested on made-up facts; gather_facts() is tested on fake /etc, /proc, /sys and /dev trees.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/hef/hef_reader.hpp"

namespace hdeploy::doctor {

enum class Level { kOk, kWarn, kFail };
const char* to_string(Level level);  // "ok", "warn", "fail"

struct Check {
  std::string id;     // stable key: "os", "pcie", "versions" ... (docs/doctor.md lists them)
  std::string title;  // "PCIe link"
  Level level = Level::kOk;
  std::string detail;  // what was found, or "not measured: <why>"
  std::string fix;     // the exact thing to do (empty for ok)
};

struct Report {
  std::vector<Check> checks;
  // No check failed (warnings allowed): doctor exits 0.
  [[nodiscard]] bool ok() const;
  [[nodiscard]] std::size_t count(Level level) const;
};

// ---------------------------------------------------------------------------------------------
// Facts. An empty optional is "could not be read"; the *_why strings say why.

struct OsFacts {
  std::string pretty_name;      // PRETTY_NAME of /etc/os-release; empty when unreadable
  std::string id;               // "debian", "raspbian"
  std::string version_id;       // "12", "13"
  std::string codename;         // "bookworm", "trixie"
  std::string arch;             // "aarch64", "x86_64" (/proc/sys/kernel/arch, else uname)
  std::string kernel;           // /proc/sys/kernel/osrelease
  std::uint64_t page_size = 0;  // bytes (/proc/self/smaps KernelPageSize, else sysconf)
};

struct PciDevice {
  std::string address;         // "0000:01:00.0"
  std::string device_id;       // "0x2864"
  std::string link_speed;      // current_link_speed: "8.0 GT/s PCIe"; empty when unreadable
  std::string link_width;      // current_link_width: "1"
  std::string max_link_speed;  // max_link_speed of the device
};

struct DriverFacts {
  bool module_loaded = false;                         // /sys/module/hailo_pci exists
  std::string version;                                // /sys/module/hailo_pci/version
  std::vector<std::string> chardevs;                  // /sys/class/hailo_chardev entries
  std::vector<std::string> dev_nodes;                 // /dev/hailo*
  std::optional<std::uint64_t> force_desc_page_size;  // the module parameter (0: not forced)
  std::string modprobe_conf;  // /etc/modprobe.d/hailo_pci.conf, as written (empty: none)
};

struct Holder {
  int pid = 0;
  std::string command;  // /proc/<pid>/comm
  std::string device;   // "/dev/hailo0"
};

struct HolderFacts {
  std::vector<Holder> holders;           // other processes with a /dev/hailo* open
  std::size_t unreadable_processes = 0;  // whose fds could not be read (not root)
};

struct PluginFacts {
  bool found = false;
  std::string file;             // the plugin file
  std::string built_against;    // "HailoRT 4.20.0"
  std::string library_version;  // "4.20.0": the libhailort actually loaded
  std::string why;              // when not found or the version could not be read
};

struct DeviceFacts {
  bool opened = false;
  std::string architecture;      // identify's device architecture: "HAILO8L"
  std::string firmware_version;  // "4.20.0"
  std::string description;       // the plugin's one line
  std::string why;               // when not opened
};

struct DpkgPackage {
  std::string name;     // "hailort"
  std::string version;  // "4.20.0-1"
  bool held = false;    // `apt-mark hold`: apt full-upgrade leaves it alone
  auto operator<=>(const DpkgPackage&) const = default;
};

struct PythonFacts {
  bool found = false;
  std::string summary;  // "/usr/bin/python3 3.11.2: torch 1.13.0, torchvision 0.14.1, onnx 1.12.0"
  std::string why;
};

struct DfcFacts {
  bool found = false;
  std::string summary;  // "hailo 3.33.0 (/opt/dfc/bin/hailo)"
  std::string version;  // "3.33.0"
  std::string why;
};

struct Facts {
  OsFacts os;
  std::string pi_model;  // /proc/device-tree/model; empty: not a Raspberry Pi
  PluginFacts hailort;
  DriverFacts driver;
  std::vector<PciDevice> hailo_pci;  // vendor 0x1e60
  DeviceFacts device;
  HolderFacts holders;
  std::vector<DpkgPackage> hailo_packages;  // installed, from /var/lib/dpkg/status
  std::vector<std::string> governors;       // one per CPU
  std::optional<std::uint32_t> throttled;   // vcgencmd get_throttled bits
  std::string throttled_why;
  std::optional<double> temperature_c;  // the hottest thermal zone
  std::string temperature_zone;         // its type ("cpu-thermal")
  PythonFacts python;
  DfcFacts dfc;
  std::optional<std::filesystem::path> hef_path;
  std::optional<hef::HefReport> hef;
  std::string target_device;  // --device, else the probed device's arch, lower case; may be empty
};

struct Options {
  std::filesystem::path root = "/";  // /etc, /proc, /sys, /dev and /var/lib/dpkg are read here
  std::string python;                // --python (empty: $HDEPLOY_PYTHON, then the usual ones)
  std::optional<std::filesystem::path> hef;
  std::string device;        // --device for the HEF check (empty: the probed device)
  bool probe_device = true;  // open the device through the plugin (firmware, architecture)
  bool probe_python = true;  // importing torch can take seconds
  bool probe_dfc = true;
  // Hears one line before each slow step ("importing torch with /usr/bin/python3").
  std::function<void(const std::string&)> on_progress;
};

// Reads the machine. Never fails: what cannot be read is recorded with why.
Facts gather_facts(const Options& options);

// The verdicts, in a fixed order: os, raspberry_pi, kernel, hailort, driver, pcie, device,
// device_in_use, versions, page_size, governor, throttling, temperature, python, dfc, and hef
// when a HEF was given.
Report judge(const Facts& facts);

// {"ok": bool, "counts": {"ok": n, "warn": n, "fail": n}, "checks": [{id, title, level,
// detail, fix}]}.
nlohmann::json to_json(const Report& report);
// One line per check: "ok   OS: Debian GNU/Linux 12 (bookworm), aarch64", warnings and
// failures followed by " — fix: ..."; then a summary line.
std::string to_text(const Report& report);

// ---------------------------------------------------------------------------------------------
// Pieces, public for their tests.

// "8.0 GT/s PCIe" → 3, "5.0 GT/s" → 2, "2.5 GT/s" → 1, "16.0 GT/s" → 4; 0 when unknown.
int pcie_generation(const std::string& link_speed);

// The installed packages of the Hailo stack (hailo*, hailort*, python3-hailort) in a dpkg
// status file's text, sorted by name.
std::vector<DpkgPackage> hailo_packages_in_dpkg_status(const std::string& status_text);

// KernelPageSize of the first mapping in a /proc/<pid>/smaps text, in bytes; nullopt when none.
std::optional<std::uint64_t> kernel_page_size(const std::string& smaps_text);

// The value of KEY in an os-release text (quotes removed); empty when absent.
std::string os_release_value(const std::string& text, const std::string& key);

}  // namespace hdeploy::doctor
