#include <gtest/gtest.h>

#include <fstream>

#include "hdeploy/runtime/hailo_backend.hpp"
#include "testing/temp_dir.hpp"

namespace hdeploy::runtime {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HailoStatus, ActionableLines) {
  EXPECT_EQ(describe_hailo_status(64, "opening the device", {})
                .rfind("hailo: opening the device failed: HAILO_DRIVER_NOT_INSTALLED (64); ", 0),
            0U);
  const std::string driver = describe_hailo_status(64, "opening the device", "/m/resnet18.hef");
  EXPECT_TRUE(contains(driver, "resnet18.hef")) << driver;
  EXPECT_TRUE(contains(driver, "HAILO_DRIVER_NOT_INSTALLED (64)")) << driver;
  EXPECT_TRUE(contains(driver, "driver is not installed")) << driver;

  const std::string busy = describe_hailo_status(74, "opening the device", "r.hef");
  EXPECT_TRUE(contains(busy, "another process holds it")) << busy;
  EXPECT_TRUE(contains(describe_hailo_status(73, "x", "r.hef"), "HAILO_DEVICE_IN_USE (73)"));

  const std::string arch =
      describe_hailo_status(26, "configuring the device", "r.hef", "HAILO8", "HAILO8L");
  EXPECT_TRUE(contains(arch, "compiled for HAILO8 and cannot run on HAILO8L")) << arch;
  EXPECT_TRUE(contains(arch, "--hw-arch hailo8l")) << arch;

  const std::string version = describe_hailo_status(76, "opening the device", "r.hef");
  EXPECT_TRUE(contains(version, "HAILO_INVALID_DRIVER_VERSION (76)")) << version;
  EXPECT_TRUE(contains(version, "same version")) << version;

  EXPECT_TRUE(contains(describe_hailo_status(999, "run_async", "r.hef"), "(999)"));
}

TEST(HailoStatus, DeviceBusyWithoutADriverIsTheDriverAdvice) {
  // HailoRT 4.23 answers 74 when no driver is loaded.
  const std::string no_driver = describe_hailo_status(74, "opening the device", "r.hef", {}, {},
                                                      /*driver_loaded=*/false);
  EXPECT_TRUE(contains(no_driver, "HAILO_OUT_OF_PHYSICAL_DEVICES (74)")) << no_driver;
  EXPECT_TRUE(contains(no_driver, "no driver was found")) << no_driver;
  EXPECT_TRUE(contains(no_driver, "install hailo-all")) << no_driver;
  EXPECT_FALSE(contains(no_driver, "another process")) << no_driver;
}

TEST(HailoStatus, DriverLoadedLooksAtSysfsAndDev) {
  testing::TempDir root;
  std::filesystem::create_directories(root.path() / "dev");
  EXPECT_FALSE(hailo_driver_loaded(root.path()));
  std::ofstream(root.path() / "dev" / "hailo0").put('x');
  EXPECT_TRUE(hailo_driver_loaded(root.path()));
  std::filesystem::remove(root.path() / "dev" / "hailo0");
  std::filesystem::create_directories(root.path() / "sys" / "class" / "hailo_chardev");
  EXPECT_TRUE(hailo_driver_loaded(root.path()));
}

}  // namespace
}  // namespace hdeploy::runtime
