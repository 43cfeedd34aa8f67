// The procfs readers and parsers on text and on fake /proc and /sys files in a temp dir.

#include "procfs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/temp_dir.hpp"

namespace hdeploy::bench::procfs {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

TEST(ProcfsTextTest, TrimTokensLinesAndNumbers) {
  EXPECT_EQ(trim(" \t42 kB\r\n"), "42 kB");
  EXPECT_EQ(trim(" \n"), "");

  std::string_view rest = "  cpu0 10\t20\n";
  EXPECT_EQ(next_token(rest), "cpu0");
  EXPECT_EQ(next_token(rest), "10");
  EXPECT_EQ(next_token(rest), "20");
  EXPECT_EQ(next_token(rest), "");
  EXPECT_TRUE(rest.empty());

  std::string_view text = "a\n\nb";
  EXPECT_EQ(next_line(text), "a");
  EXPECT_EQ(next_line(text), "");
  EXPECT_EQ(next_line(text), "b");
  EXPECT_TRUE(text.empty());

  EXPECT_EQ(parse_number<int>("-15"), -15);
  EXPECT_EQ(parse_number<std::uint32_t>("50005", 16), 0x50005U);
  EXPECT_FALSE(parse_number<int>(""));
  EXPECT_FALSE(parse_number<int>("12 "));
  EXPECT_FALSE(parse_number<std::uint64_t>("-1"));
}

TEST(ProcfsParseTest, TaskStatCountsFieldsFromTheLastParenthesis) {
  // The command holds ") " on purpose; utime 14, stime 15, starttime 22 as in proc(5).
  const std::string stat =
      "4242 (hd) x (y) S 1 1 1 0 -1 4194304 10 0 0 0 123 45 0 0 20 0 3 0 98765 123456 100\n";
  const auto times = parse_task_stat(stat);
  ASSERT_TRUE(times);
  EXPECT_EQ(times->utime, 123U);
  EXPECT_EQ(times->stime, 45U);
  EXPECT_EQ(times->starttime, 98765U);
  EXPECT_FALSE(parse_task_stat("4242 hdeploy S 1 1"));                        // no ')'
  EXPECT_FALSE(parse_task_stat("4242 (hdeploy) S 1 1 1 0 -1 4194304 10 0"));  // cut short
  EXPECT_FALSE(parse_task_stat("4242 (hdeploy) S 1 1 1 0 -1 4194304 10 0 0 0 x 45 0 0 20 0 3 0 9"));
}

TEST(ProcfsParseTest, CoreTimesSkipTheTotalLineAndCountIdleAndIowait) {
  const std::string stat =
      "cpu  100 0 50 1000 10 0 0 0 0 0\n"
      "cpu0 60 0 30 400 5 0 0 0 0 0\n"
      "cpu2 40 0 20 600 5 1 2 3\n"
      "intr 12345\n"
      "cpu3 1 1 1 1\n";  // after the cpu lines: not read
  std::vector<CoreTimes> cores;
  ASSERT_TRUE(parse_core_times(stat, cores));
  ASSERT_EQ(cores.size(), 2U);
  EXPECT_EQ(cores[0].id, 0);
  EXPECT_EQ(cores[0].total, 495U);
  EXPECT_EQ(cores[0].busy, 90U);
  EXPECT_EQ(cores[1].id, 2);
  EXPECT_EQ(cores[1].total, 671U);
  EXPECT_EQ(cores[1].busy, 66U);
  EXPECT_FALSE(parse_core_times("intr 1\n", cores));
  EXPECT_TRUE(cores.empty());
}

TEST(ProcfsParseTest, StatusMeminfoAndCpuinfoValues) {
  const std::string status = "Name:\thdeploy\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
  EXPECT_EQ(status_bytes(status, "VmRSS:"), 1024U * 1024U);
  EXPECT_EQ(status_bytes(status, "VmHWM:"), 2048U * 1024U);
  EXPECT_FALSE(status_bytes(status, "VmSwap:"));
  EXPECT_FALSE(status_bytes("VmRSS:\tlots kB\n", "VmRSS:"));

  const std::string meminfo = "MemTotal:        8000000 kB\nMemFree:         1000 kB\n";
  EXPECT_EQ(meminfo_bytes(meminfo, "MemTotal"), 8000000ULL * 1024U);
  EXPECT_EQ(meminfo_bytes(meminfo, "MemFree"), 1000U * 1024U);
  EXPECT_FALSE(meminfo_bytes(meminfo, "MemAvailable"));
  EXPECT_FALSE(meminfo_bytes("MemTotal: kB\n", "MemTotal"));

  const std::string cpuinfo =
      "processor\t: 0\nmodel name\t:\nBogoMIPS\t: 108.00\n\nprocessor\t: 1\n"
      "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n";
  EXPECT_EQ(cpuinfo_value(cpuinfo, "Model"), "Raspberry Pi 5 Model B Rev 1.0");
  EXPECT_EQ(cpuinfo_value(cpuinfo, "processor"), "0");
  EXPECT_FALSE(cpuinfo_value(cpuinfo, "model name"));  // present but empty
  EXPECT_FALSE(cpuinfo_value(cpuinfo, "Serial"));
}

TEST(ProcfsFileTest, ReadsWholeFilesOfAnySize) {
  const TempDir dir("hdeploy-procfs");
  const std::string big(10000, 'x');  // more than the reader's first buffer
  write(dir.path() / "big", big);
  write(dir.path() / "empty", "");
  SmallFileReader reader;
  EXPECT_EQ(reader.read((dir.path() / "big").string()), big);
  EXPECT_EQ(reader.read((dir.path() / "empty").string()), "");
  errno = 0;
  EXPECT_FALSE(reader.read((dir.path() / "missing").string()));
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(read_small_file(dir.path() / "big"), big);
  EXPECT_FALSE(read_small_file(dir.path() / "missing"));
}

TEST(ProcfsFileTest, ListsDirectoriesByPrefix) {
  const TempDir dir("hdeploy-procfs");
  write(dir.path() / "thermal_zone0" / "temp", "1\n");
  write(dir.path() / "thermal_zone1" / "temp", "1\n");
  write(dir.path() / "cooling_device0" / "type", "fan\n");
  auto all = list_directory(dir.path().string());
  ASSERT_TRUE(all);
  std::sort(all->begin(), all->end());
  EXPECT_EQ(*all, (std::vector<std::string>{"cooling_device0", "thermal_zone0", "thermal_zone1"}));
  auto zones = list_directory(dir.path().string(), "thermal_zone");
  ASSERT_TRUE(zones);
  EXPECT_EQ(zones->size(), 2U);
  EXPECT_FALSE(list_directory((dir.path() / "missing").string()));
}

TEST(ProcfsFileTest, ThermalZonesByNumberKeyedByTypeOrZoneWhenTypesRepeat) {
  const TempDir dir("hdeploy-procfs");
  const fs::path thermal = dir.path() / "class" / "thermal";
  const auto zone = [&](int n, const std::string& type) {
    const fs::path path = thermal / ("thermal_zone" + std::to_string(n));
    write(path / "temp", "40000\n");
    if (!type.empty()) write(path / "type", type + "\n");
  };
  zone(10, "acpitz");
  zone(2, "x86_pkg_temp");
  zone(0, "acpitz");
  zone(1, "");  // no type file: keyed by its folder
  write(thermal / "cooling_device0" / "type", "fan\n");
  SmallFileReader reader;
  const auto zones = thermal_zones(reader, thermal.string());
  std::vector<std::string> keys;
  for (const auto& z : zones) keys.push_back(z.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"acpitz/thermal_zone0", "thermal_zone1", "x86_pkg_temp",
                                            "acpitz/thermal_zone10"}));
  ASSERT_EQ(zones.size(), 4U);
  EXPECT_EQ(zones[2].temp_path, (thermal / "thermal_zone2" / "temp").string());
  EXPECT_TRUE(thermal_zones(reader, (dir.path() / "missing").string()).empty());
}

TEST(ProcfsPathTest, CpuDir) { EXPECT_EQ(cpu_dir("/sys", 3), "/sys/devices/system/cpu/cpu3"); }

}  // namespace
}  // namespace hdeploy::bench::procfs
