// doctor: the pure pieces, judge() on made-up machines (a healthy Pi 5, each failure users
// report, a compile host), and gather_facts() on a fake /etc, /proc, /sys, /dev tree.

#include "hdeploy/doctor/doctor.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "testing/hef_writer.hpp"
#include "testing/scoped_env.hpp"
#include "testing/temp_dir.hpp"

namespace hdeploy::doctor {
namespace {
namespace fs = std::filesystem;

const Check& find(const Report& r, std::string_view id) {
  for (const auto& c : r.checks) {
    if (c.id == id) return c;
  }
  throw std::runtime_error("no check " + std::string(id));
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// A Raspberry Pi 5 on trixie with the Hailo stack installed and working.
Facts healthy_pi() {
  Facts f;
  f.os = {.pretty_name = "Debian GNU/Linux 13 (trixie)",
          .id = "debian",
          .version_id = "13",
          .codename = "trixie",
          .arch = "aarch64",
          .kernel = "6.12.47+rpt-rpi-2712",
          .page_size = 16384};
  f.pi_model = "Raspberry Pi 5 Model B Rev 1.0";
  f.hailort = {.found = true,
               .file = "/usr/lib/aarch64-linux-gnu/hdeploy/libhdeploy_hailo.so",
               .built_against = "HailoRT 4.23.0",
               .library_version = "4.23.0",
               .why = {}};
  f.driver = {.module_loaded = true,
              .version = "4.23.0",
              .chardevs = {"hailo0"},
              .dev_nodes = {"/dev/hailo0"},
              .force_desc_page_size = 4096,
              .modprobe_conf = "options hailo_pci force_desc_page_size=4096"};
  f.hailo_pci = {{.address = "0000:01:00.0",
                  .device_id = "0x2864",
                  .link_speed = "8.0 GT/s PCIe",
                  .link_width = "1",
                  .max_link_speed = "8.0 GT/s PCIe"}};
  f.device = {.opened = true,
              .architecture = "HAILO8L",
              .firmware_version = "4.23.0",
              .description = "0000:01:00.0 HAILO8L, firmware 4.23.0",
              .why = {}};
  f.hailo_packages = {{"hailo-all", "5.1.1", true}, {"hailort", "4.23.0", true}};
  f.governors = {"performance", "performance", "performance", "performance"};
  f.throttled = 0;
  f.temperature_c = 52.5;
  f.temperature_zone = "cpu-thermal";
  f.python = {.found = true, .summary = "/usr/bin/python3 (Python 3.13.5): torch 2.6.0", .why = {}};
  f.target_device = "hailo8l";
  return f;
}

TEST(Doctor, LevelNamesAndCounts) {
  EXPECT_STREQ(to_string(Level::kOk), "ok");
  EXPECT_STREQ(to_string(Level::kWarn), "warn");
  EXPECT_STREQ(to_string(Level::kFail), "fail");
  Report r;
  r.checks = {{"a", "A", Level::kOk, "", ""}, {"b", "B", Level::kWarn, "", "x"}};
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.count(Level::kWarn), 1U);
  r.checks.push_back({"c", "C", Level::kFail, "broken", "mend it"});
  EXPECT_FALSE(r.ok());
  const auto j = to_json(r);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["counts"]["fail"], 1);
  EXPECT_EQ(j["checks"][2]["level"], "fail");
  EXPECT_EQ(j["checks"][2]["fix"], "mend it");
  const std::string text = to_text(r);
  EXPECT_TRUE(has(text, "ok    A: \n")) << text;
  EXPECT_TRUE(has(text, "fail  C: broken — fix: mend it\n")) << text;
  EXPECT_TRUE(has(text, "1 ok, 1 warnings, 1 failed: fix the failures above")) << text;
}

TEST(Doctor, PcieGeneration) {
  EXPECT_EQ(pcie_generation("8.0 GT/s PCIe"), 3);
  EXPECT_EQ(pcie_generation("5.0 GT/s PCIe"), 2);
  EXPECT_EQ(pcie_generation("2.5 GT/s"), 1);
  EXPECT_EQ(pcie_generation("16.0 GT/s PCIe"), 4);
  EXPECT_EQ(pcie_generation("Unknown"), 0);
  EXPECT_EQ(pcie_generation(""), 0);
}

TEST(Doctor, DpkgStatusPackages) {
  const std::string status =
      "Package: hailort\nStatus: hold ok installed\nVersion: 4.20.0-1\n\n"
      "Package: libc6\nStatus: install ok installed\nVersion: 2.36\n\n"
      "Package: hailofw\nStatus: install ok installed\nVersion: 4.20.0-2\n\n"
      "Package: hailo-tappas-core\nStatus: deinstall ok config-files\nVersion: 3.31\n\n"
      "Package: python3-hailort\nStatus: install ok installed\nVersion: 4.20.0-1\n";
  const auto packages = hailo_packages_in_dpkg_status(status);
  ASSERT_EQ(packages.size(), 3U);
  EXPECT_EQ(packages[0], (DpkgPackage{"hailofw", "4.20.0-2", false}));
  EXPECT_EQ(packages[1], (DpkgPackage{"hailort", "4.20.0-1", true}));
  EXPECT_EQ(packages[2].name, "python3-hailort");
  EXPECT_TRUE(hailo_packages_in_dpkg_status("").empty());
}

TEST(Doctor, PageSizeAndOsRelease) {
  EXPECT_EQ(
      kernel_page_size("55a0-55a1 r--p 0 08:01 1 /bin/x\nSize: 16 kB\nKernelPageSize:  16 kB\n"),
      16384U);
  EXPECT_EQ(kernel_page_size("KernelPageSize:        4 kB\n"), 4096U);
  EXPECT_FALSE(kernel_page_size("Size: 4 kB\n"));
  EXPECT_FALSE(kernel_page_size("KernelPageSize: many\n"));
  const std::string os =
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID='12'\n";
  EXPECT_EQ(os_release_value(os, "PRETTY_NAME"), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(os_release_value(os, "ID"), "debian");
  EXPECT_EQ(os_release_value(os, "VERSION_ID"), "12");
  EXPECT_EQ(os_release_value(os, "VERSION_CODENAME"), "");
}

TEST(DoctorJudge, HealthyPiPasses) {
  const Report r = judge(healthy_pi());
  EXPECT_TRUE(r.ok());
  for (const auto& c : r.checks) {
    EXPECT_EQ(c.level, Level::kOk) << c.id << ": " << c.detail << " / " << c.fix;
  }
  EXPECT_EQ(r.checks.size(), 15U);  // no --hef
  EXPECT_EQ(find(r, "pcie").detail, "0000:01:00.0 (device 0x2864): PCIe Gen 3 x1 (8.0 GT/s PCIe)");
  EXPECT_TRUE(has(find(r, "versions").detail, "all 4.23.0")) << find(r, "versions").detail;
  EXPECT_TRUE(has(find(r, "dfc").detail, "runs only on x86-64"));
  EXPECT_TRUE(has(find(r, "kernel").detail, "16384 bytes (16 KiB)"));
}

TEST(DoctorJudge, PcieGen2NamesTheConfigLine) {
  Facts f = healthy_pi();
  f.hailo_pci[0].link_speed = "5.0 GT/s PCIe";
  const Check c = find(judge(f), "pcie");
  EXPECT_EQ(c.level, Level::kWarn);
  EXPECT_TRUE(has(c.detail, "PCIe Gen 2 x1"));
  EXPECT_EQ(c.fix, "add `dtparam=pciex1_gen=3` to /boot/firmware/config.txt and reboot");
}

TEST(DoctorJudge, VersionMismatchFailsWithAlignAndHold) {
  Facts f = healthy_pi();
  f.driver.version = "4.20.0";
  f.hailo_packages = {{"hailofw", "4.20.0-1", false}, {"hailort", "4.23.0-1", false}};
  const Report r = judge(f);
  EXPECT_FALSE(r.ok());
  const Check& c = find(r, "versions");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_TRUE(has(c.detail, "HailoRT library 4.23.0, driver 4.20.0, firmware 4.23.0 differ"))
      << c.detail;
  EXPECT_TRUE(has(c.detail, "installed: hailofw 4.20.0-1, hailort 4.23.0-1")) << c.detail;
  EXPECT_TRUE(has(c.fix, "sudo apt-mark hold hailofw hailort")) << c.fix;
}

TEST(DoctorJudge, SameVersionsButNotHeldWarns) {
  Facts f = healthy_pi();
  f.hailo_packages[1].held = false;
  const Check c = find(judge(f), "versions");
  EXPECT_EQ(c.level, Level::kWarn);
  EXPECT_EQ(c.fix.substr(0, 28), "`sudo apt-mark hold hailort`");
}

TEST(DoctorJudge, SixteenKPagesWithoutTheDriverSetting) {
  Facts f = healthy_pi();
  f.driver.force_desc_page_size = 0;
  f.driver.modprobe_conf.clear();
  Check c = find(judge(f), "page_size");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_TRUE(has(c.detail,
                  "max_desc_page_size given 16384 is bigger than hw max desc page size "
                  "4096"))
      << c.detail;
  EXPECT_TRUE(has(c.fix, "options hailo_pci force_desc_page_size=4096")) << c.fix;
  // Written but not yet read by the loaded driver: reboot.
  f.driver.modprobe_conf = "options hailo_pci force_desc_page_size=4096";
  c = find(judge(f), "page_size");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_TRUE(has(c.fix, "reboot")) << c.fix;
  // 4 KiB pages need nothing.
  f.os.page_size = 4096;
  EXPECT_EQ(find(judge(f), "page_size").level, Level::kOk);
}

TEST(DoctorJudge, DeviceHeldByAnotherProcess) {
  Facts f = healthy_pi();
  f.holders.holders = {{.pid = 4242, .command = "python3", .device = "/dev/hailo0"}};
  f.device = DeviceFacts{};
  f.device.why = "hailo: HAILO_OUT_OF_PHYSICAL_DEVICES(74) ...";
  const Report r = judge(f);
  const Check& holder = find(r, "device_in_use");
  EXPECT_EQ(holder.level, Level::kFail);
  EXPECT_EQ(holder.detail, "process 4242 (python3) has /dev/hailo0 open");
  EXPECT_TRUE(has(holder.fix, "kill 4242"));
  const Check& device = find(r, "device");
  EXPECT_EQ(device.level, Level::kFail);
  EXPECT_TRUE(has(device.fix, "stop process 4242 (python3)")) << device.fix;
}

TEST(DoctorJudge, DeviceOnPcieWithoutDriverGivesTheReleasesInstall) {
  Facts f = healthy_pi();
  f.driver = {};
  f.device = DeviceFacts{};
  f.device.why = "hailo: no driver";
  Check c = find(judge(f), "driver");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_EQ(c.fix, "sudo apt install dkms && sudo apt install hailo-all && sudo reboot");
  f.os.version_id = "12";
  f.os.codename = "bookworm";
  c = find(judge(f), "driver");
  EXPECT_EQ(c.fix, "sudo apt install hailo-all && sudo reboot");
  // No /dev/hailo* although the module is loaded: the device did not come up.
  f.driver.module_loaded = true;
  c = find(judge(f), "driver");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_TRUE(has(c.fix, "dmesg"));
}

TEST(DoctorJudge, ThrottlingAndHeat) {
  Facts f = healthy_pi();
  f.throttled = 0x50005;  // under-voltage and throttled, now and since boot
  Check c = find(judge(f), "throttling");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_TRUE(has(c.fix, "27 W")) << c.fix;
  EXPECT_TRUE(has(c.fix, "cooling")) << c.fix;
  f.throttled = 0x80000;  // soft temperature limit, since boot only
  c = find(judge(f), "throttling");
  EXPECT_EQ(c.level, Level::kWarn);
  EXPECT_FALSE(has(c.fix, "27 W"));
  f.temperature_c = 83.0;
  EXPECT_EQ(find(judge(f), "temperature").level, Level::kWarn);
  f.governors = {"ondemand", "ondemand", "performance", "ondemand"};
  c = find(judge(f), "governor");
  EXPECT_EQ(c.level, Level::kWarn);
  EXPECT_TRUE(has(c.detail, "ondemand on 3 CPUs, performance on 1 CPUs")) << c.detail;
}

TEST(DoctorJudge, CompileHostWarnsButDoesNotFail) {
  Facts f;
  f.os = {.pretty_name = "Debian GNU/Linux 12 (bookworm)",
          .id = "debian",
          .version_id = "12",
          .codename = "bookworm",
          .arch = "x86_64",
          .kernel = "6.1.0-30-amd64",
          .page_size = 4096};
  f.hailort.why = "no libhdeploy_hailo.so in /usr/lib/x86_64-linux-gnu/hdeploy";
  f.device.why = "not measured: no hailo plugin";
  f.throttled_why = "not measured: vcgencmd not found (not a Raspberry Pi?)";
  f.dfc.why = "no `hailo` on PATH";
  f.python.why = "no Python imports torch";
  const Report r = judge(f);
  EXPECT_TRUE(r.ok()) << to_text(r);
  EXPECT_EQ(find(r, "hailort").level, Level::kWarn);
  EXPECT_EQ(find(r, "dfc").level, Level::kWarn);
  EXPECT_FALSE(find(r, "dfc").fix.empty());
  EXPECT_EQ(find(r, "throttling").level, Level::kOk);  // not a Pi: nothing to read
  EXPECT_TRUE(has(find(r, "versions").detail, "not measured")) << find(r, "versions").detail;
  for (const auto& c : r.checks) {
    if (c.level != Level::kOk) {
      EXPECT_FALSE(c.detail.empty()) << c.id;
    }
  }
}

TEST(DoctorJudge, HefAgainstTheDevice) {
  testing::TempDir dir;
  Facts f = healthy_pi();
  f.hef_path = dir.path() / "hailo8-classifier.hef";
  testing::write_hef(*f.hef_path, testing::named_test_hef("hailo8-classifier"));
  f.hef = hef::HefReader::inspect_file(*f.hef_path);
  Check c = find(judge(f), "hef");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_TRUE(has(c.detail, "compiled for HAILO8")) << c.detail;
  EXPECT_TRUE(has(c.fix, "--hw-arch hailo8l")) << c.fix;

  f.hef_path = dir.path() / "hailo8l-classifier.hef";
  testing::write_hef(*f.hef_path, testing::named_test_hef("hailo8l-classifier"));
  f.hef = hef::HefReader::inspect_file(*f.hef_path);
  c = find(judge(f), "hef");
  EXPECT_EQ(c.level, Level::kOk) << c.detail;
  EXPECT_TRUE(has(c.detail, "HAILO8L, compiled by DFC 3.32.0, header version 2")) << c.detail;

  // Header v3 on HailoRT 4.20.
  f.hailort.library_version = "4.20.0";
  f.hef_path = dir.path() / "header-v3.hef";
  testing::write_hef(*f.hef_path, testing::named_test_hef("header-v3"));
  f.hef = hef::HefReader::inspect_file(*f.hef_path);
  c = find(judge(f), "hef");
  EXPECT_EQ(c.level, Level::kFail);
  EXPECT_TRUE(has(c.detail, "header version 3 needs HailoRT ≥ 4.21")) << c.detail;

  // Truncated: the read fails, the check says so.
  f.hef_path = dir.path() / "truncated.hef";
  testing::write_hef(*f.hef_path, testing::named_test_hef("truncated"));
  f.hef = hef::HefReader::inspect_file(*f.hef_path);
  EXPECT_EQ(find(judge(f), "hef").level, Level::kFail);

  // No HailoRT here: described, not judged.
  f.hailort = {};
  f.hef_path = dir.path() / "hailo8l-classifier.hef";
  f.hef = hef::HefReader::inspect_file(*f.hef_path);
  c = find(judge(f), "hef");
  EXPECT_EQ(c.level, Level::kWarn);
  EXPECT_TRUE(has(c.detail, "no HailoRT here")) << c.detail;
}

// ---------------------------------------------------------------------------------------------
// gather_facts on a fake tree.

void put(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

using hdeploy::testing::ScopedEnv;

TEST(DoctorFacts, ReadsAFakePi) {
  testing::TempDir dir;
  const fs::path root = dir.path() / "root";
  put(root / "etc/os-release",
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
      "VERSION_CODENAME=bookworm\n");
  put(root / "proc/sys/kernel/arch", "aarch64\n");
  put(root / "proc/sys/kernel/osrelease", "6.6.51+rpt-rpi-2712\n");
  put(root / "proc/self/smaps", "00400000-00401000 r-xp 0 0 0 /x\nKernelPageSize:       16 kB\n");
  put(root / "proc/device-tree/model", std::string("Raspberry Pi 5 Model B Rev 1.0\0", 31));
  put(root / "sys/module/hailo_pci/version", "4.20.0\n");
  put(root / "sys/module/hailo_pci/parameters/force_desc_page_size", "0\n");
  fs::create_directories(root / "sys/class/hailo_chardev/hailo0");
  put(root / "dev/hailo0", "");
  const fs::path pci = root / "sys/bus/pci/devices";
  put(pci / "0000:00:00.0/vendor", "0x14e4\n");
  put(pci / "0000:01:00.0/vendor", "0x1e60\n");
  put(pci / "0000:01:00.0/device", "0x2864\n");
  put(pci / "0000:01:00.0/current_link_speed", "5.0 GT/s PCIe\n");
  put(pci / "0000:01:00.0/current_link_width", "1\n");
  put(root / "proc/4242/comm", "python3\n");
  fs::create_directories(root / "proc/4242/fd");
  fs::create_symlink("/dev/hailo0", root / "proc/4242/fd/7");
  fs::create_symlink("/dev/null", root / "proc/4242/fd/0");
  put(root / "proc/77/comm", "bash\n");
  fs::create_directories(root / "proc/77/fd");
  fs::create_symlink("/dev/pts/0", root / "proc/77/fd/0");
  put(root / "var/lib/dpkg/status",
      "Package: hailort\nStatus: install ok installed\nVersion: 4.20.0-1\n\n");
  for (int cpu = 0; cpu < 4; ++cpu) {
    put(root / ("sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_governor"),
        cpu == 0 ? "performance\n" : "ondemand\n");
  }
  put(root / "sys/class/thermal/thermal_zone0/temp", "61250\n");
  put(root / "sys/class/thermal/thermal_zone0/type", "cpu-thermal\n");
  put(root / "sys/class/thermal/thermal_zone1/temp", "48000\n");
  // A fake vcgencmd first on PATH; no plugin anywhere.
  put(dir.path() / "bin/vcgencmd", "#!/bin/sh\necho throttled=0x50000\n");
  fs::permissions(dir.path() / "bin/vcgencmd", fs::perms::owner_all);
  const char* old_path = std::getenv("PATH");
  ScopedEnv path("PATH", (dir.path() / "bin").string() + ":" + (old_path ? old_path : ""));
  ScopedEnv plugins("HDEPLOY_PLUGIN_PATH", (dir.path() / "no-plugins").string());

  Options options;
  options.root = root;
  options.probe_python = false;
  options.probe_dfc = false;
  const Facts f = gather_facts(options);
  EXPECT_EQ(f.os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(f.os.codename, "bookworm");
  EXPECT_EQ(f.os.arch, "aarch64");
  EXPECT_EQ(f.os.kernel, "6.6.51+rpt-rpi-2712");
  EXPECT_EQ(f.os.page_size, 16384U);
  EXPECT_EQ(f.pi_model, "Raspberry Pi 5 Model B Rev 1.0");
  EXPECT_TRUE(f.driver.module_loaded);
  EXPECT_EQ(f.driver.version, "4.20.0");
  EXPECT_EQ(f.driver.force_desc_page_size, 0U);
  EXPECT_EQ(f.driver.chardevs, std::vector<std::string>{"hailo0"});
  EXPECT_EQ(f.driver.dev_nodes, std::vector<std::string>{"/dev/hailo0"});
  ASSERT_EQ(f.hailo_pci.size(), 1U);
  EXPECT_EQ(f.hailo_pci[0].address, "0000:01:00.0");
  EXPECT_EQ(f.hailo_pci[0].link_speed, "5.0 GT/s PCIe");
  ASSERT_EQ(f.holders.holders.size(), 1U);
  EXPECT_EQ(f.holders.holders[0].pid, 4242);
  EXPECT_EQ(f.holders.holders[0].command, "python3");
  EXPECT_EQ(f.hailo_packages.size(), 1U);
  EXPECT_EQ(f.governors.size(), 4U);
  ASSERT_TRUE(f.temperature_c.has_value());
  EXPECT_DOUBLE_EQ(*f.temperature_c, 61.25);
  EXPECT_EQ(f.temperature_zone, "cpu-thermal");
  EXPECT_EQ(f.throttled, 0x50000U);
  EXPECT_FALSE(f.hailort.found);
  EXPECT_FALSE(f.hailort.why.empty());
  EXPECT_FALSE(f.device.opened);

  // The verdicts on that machine: no plugin on a Pi with a device fails, Gen 2 warns, the page
  // size setting is missing, python3 holds the device.
  const Report r = judge(f);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(find(r, "hailort").level, Level::kFail);
  EXPECT_EQ(find(r, "hailort").fix.substr(0, 40), "sudo apt install hailo-all && sudo reboo");
  EXPECT_EQ(find(r, "pcie").level, Level::kWarn);
  EXPECT_EQ(find(r, "page_size").level, Level::kFail);
  EXPECT_EQ(find(r, "device_in_use").level, Level::kFail);
  EXPECT_EQ(find(r, "throttling").level, Level::kWarn);
}

TEST(DoctorFacts, EmptyRootIsNotMeasured) {
  testing::TempDir dir;
  ScopedEnv plugins("HDEPLOY_PLUGIN_PATH", (dir.path() / "no-plugins").string());
  ScopedEnv path("PATH", (dir.path() / "bin").string());  // no vcgencmd
  Options options;
  options.root = dir.path();
  options.probe_python = false;
  options.probe_dfc = false;
  const Facts f = gather_facts(options);
  EXPECT_TRUE(f.os.pretty_name.empty());
  EXPECT_EQ(f.os.page_size, 0U);  // nothing falls back to this machine's values under a root
  EXPECT_TRUE(f.os.arch.empty());
  EXPECT_FALSE(f.driver.module_loaded);
  EXPECT_TRUE(f.hailo_pci.empty());
  EXPECT_FALSE(f.throttled);
  EXPECT_TRUE(has(f.throttled_why, "vcgencmd not found")) << f.throttled_why;
  const Report r = judge(f);
  EXPECT_TRUE(r.ok()) << to_text(r);
  EXPECT_TRUE(has(find(r, "os").detail, "not measured"));
  EXPECT_TRUE(has(find(r, "kernel").detail, "not measured"));
  EXPECT_TRUE(has(find(r, "temperature").detail, "not measured"));
}

}  // namespace
}  // namespace hdeploy::doctor
