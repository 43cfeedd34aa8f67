#include "hdeploy/runtime/plugin_loader.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <string>

#include "hdeploy/version.hpp"
#include "testing/scoped_env.hpp"

namespace hdeploy::runtime {
namespace {
namespace fs = std::filesystem;

fs::path fake(const std::string& variant) {
  return fs::path(HDEPLOY_FAKE_PLUGIN_DIR) / variant / plugin_file_name("hailo");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using hdeploy::testing::ScopedEnv;

TEST(PluginLoader, FileNameAndSearchPath) {
  EXPECT_EQ(plugin_file_name("hailo"), "libhdeploy_hailo.so");
  {
    ScopedEnv env("HDEPLOY_PLUGIN_PATH", "/a:/b/c::/d");
    EXPECT_EQ(plugin_search_path(), (std::vector<fs::path>{"/a", "/b/c", "/d"}));
  }
  ScopedEnv env("HDEPLOY_PLUGIN_PATH", nullptr);
  const std::vector<fs::path> dirs = plugin_search_path();
  ASSERT_EQ(dirs.size(), 2U);
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe").parent_path();
  EXPECT_EQ(dirs[0], exe_dir);
  EXPECT_EQ(dirs[1], exe_dir.parent_path() / HDEPLOY_INSTALL_LIBDIR / "hdeploy");
}

TEST(PluginLoader, LoadsAGoodPluginOnceAndSetsHailoRtsEnvironmentFirst) {
  ScopedEnv logger("HAILORT_LOGGER_PATH", nullptr);
  ScopedEnv level("HAILORT_CONSOLE_LOGGER_LEVEL", nullptr);
  auto plugin = load_backend_plugin(fake("good"), "hailo");
  ASSERT_TRUE(plugin) << plugin.error().message;
  EXPECT_EQ(plugin->backend, "hailo");
  EXPECT_STREQ(plugin->api->built_against, "HailoRT 9.9.9 (fake)");
  auto version = plugin->api->runtime_version();
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, "9.9.9");
  // The plugin saw HailoRT's variables already set when its initializers ran.
  auto probe = plugin->api->probe_device();
  ASSERT_FALSE(probe);
  EXPECT_TRUE(contains(probe.error().message,
                       "HAILORT_LOGGER_PATH=NONE, HAILORT_CONSOLE_LOGGER_LEVEL=critical"))
      << probe.error().message;
  // The same file again: the same plugin, not a second dlopen.
  auto again = load_backend_plugin(fake("good"), "hailo");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->api, plugin->api);
  // Another backend name for a loaded file is refused.
  auto other = load_backend_plugin(fake("good"), "other");
  ASSERT_FALSE(other);
  EXPECT_TRUE(contains(other.error().message, "is the hailo plugin, not the other one"));
}

TEST(PluginLoader, PrepareEnvironmentKeepsTheUsersValuesAndVerboseSetsNothing) {
  {
    ScopedEnv logger("HAILORT_LOGGER_PATH", "/tmp/mine.log");
    ScopedEnv level("HAILORT_CONSOLE_LOGGER_LEVEL", nullptr);
    prepare_plugin_environment(false);
    EXPECT_STREQ(std::getenv("HAILORT_LOGGER_PATH"), "/tmp/mine.log");
    EXPECT_STREQ(std::getenv("HAILORT_CONSOLE_LOGGER_LEVEL"), "critical");
  }
  ScopedEnv logger("HAILORT_LOGGER_PATH", nullptr);
  ScopedEnv level("HAILORT_CONSOLE_LOGGER_LEVEL", nullptr);
  prepare_plugin_environment(true);
  EXPECT_EQ(std::getenv("HAILORT_LOGGER_PATH"), nullptr);
  EXPECT_EQ(std::getenv("HAILORT_CONSOLE_LOGGER_LEVEL"), nullptr);
}

TEST(PluginLoader, MissingFile) {
  auto plugin = load_backend_plugin(fake("nowhere"), "hailo");
  ASSERT_FALSE(plugin);
  EXPECT_EQ(plugin.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(contains(plugin.error().message, "no such plugin file"));
}

TEST(PluginLoader, FindSaysWhereItLookedAndHowToInstallHailoRt) {
  ScopedEnv env("HDEPLOY_PLUGIN_PATH", "/nonexistent-a:/nonexistent-b");
  auto plugin = find_backend_plugin("hailo");
  ASSERT_FALSE(plugin);
  EXPECT_EQ(plugin.error().code, ErrorCode::kNotFound);
  const std::string& m = plugin.error().message;
  EXPECT_TRUE(contains(m, "/nonexistent-a, /nonexistent-b")) << m;
  EXPECT_TRUE(contains(m, "HailoRT")) << m;
  EXPECT_TRUE(contains(m, "apt install hailo-all")) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST(PluginLoader, FindsThePluginOnThePath) {
  ScopedEnv env("HDEPLOY_PLUGIN_PATH", (fake("good").parent_path().string()).c_str());
  auto plugin = find_backend_plugin("hailo");
  ASSERT_TRUE(plugin) << plugin.error().message;
  EXPECT_EQ(plugin->file, fs::canonical(fake("good")));
}

TEST(PluginLoader, RefusesAPluginOfAnotherApiVersion) {
  auto plugin = load_backend_plugin(fake("old_api"), "hailo");
  ASSERT_FALSE(plugin);
  EXPECT_EQ(plugin.error().code, ErrorCode::kUnsupported);
  const std::string& m = plugin.error().message;
  EXPECT_TRUE(contains(m, "plugin API version 0")) << m;
  EXPECT_TRUE(contains(m, "install the hdeploy-hailo package of hdeploy " HDEPLOY_VERSION)) << m;
}

TEST(PluginLoader, RefusesAPluginOfAnotherHdeployVersion) {
  auto plugin = load_backend_plugin(fake("other_hdeploy"), "hailo");
  ASSERT_FALSE(plugin);
  EXPECT_EQ(plugin.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(contains(plugin.error().message,
                       "was built for hdeploy 0.0.1-other, this is hdeploy " HDEPLOY_VERSION))
      << plugin.error().message;
}

TEST(PluginLoader, RefusesALibraryThatIsNoPlugin) {
  auto plugin = load_backend_plugin(fake("not_a_plugin"), "hailo");
  ASSERT_FALSE(plugin);
  EXPECT_TRUE(contains(plugin.error().message, "is not an hdeploy plugin"))
      << plugin.error().message;
}

TEST(PluginLoader, NamesTheMissingVendorLibrary) {
  // libhdeploy_fake_vendor.so stands for libhailort: not on the loader's path.
  auto plugin = load_backend_plugin(fake("needs_vendor"), "hailo");
  ASSERT_FALSE(plugin);
  EXPECT_EQ(plugin.error().code, ErrorCode::kUnsupported);
  const std::string& m = plugin.error().message;
  EXPECT_TRUE(contains(m, "libhdeploy_fake_vendor.so")) << m;
  EXPECT_TRUE(contains(m, "HailoRT")) << m;
  EXPECT_TRUE(contains(m, "which is not installed here")) << m;
}

}  // namespace
}  // namespace hdeploy::runtime
