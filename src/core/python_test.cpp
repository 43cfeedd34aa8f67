#include "hdeploy/core/python.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace hdeploy {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Behaves like a Python that has every module it is asked about: checks it is called the way the
// probe calls it (`-c CODE MODULE...`, bytecode writing off), prints a banner line and then the
// JSON the probe reads, with version "<module>-1.0".
constexpr const char* kGoodPython = R"(#!/bin/sh
[ "$1" = "-c" ] || { echo "fake: expected -c" >&2; exit 3; }
[ "$PYTHONDONTWRITEBYTECODE" = 1 ] || { echo "fake: bytecode writing on" >&2; exit 4; }
shift 2
echo "a banner line before the JSON"
printf '{"python": "3.11.2", "modules": {'
sep=
for m in "$@"; do printf '%s"%s": "%s-1.0"' "$sep" "$m" "$m"; sep=', '; done
printf '}}\n'
)";

// Behaves like a Python without torch.
constexpr const char* kNoTorchPython = R"(#!/bin/sh
echo "Traceback (most recent call last):" >&2
echo "  File \"<string>\", line 4, in <module>" >&2
echo "ModuleNotFoundError: No module named 'torch'" >&2
echo "   " >&2
exit 1
)";

class PythonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hdeploy_python_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    saved_path_ = get("PATH");
    saved_hdeploy_python_ = get("HDEPLOY_PYTHON");
    ::unsetenv("HDEPLOY_PYTHON");
  }
  void TearDown() override {
    restore("PATH", saved_path_);
    restore("HDEPLOY_PYTHON", saved_hdeploy_python_);
    fs::remove_all(dir_);
  }

  // An executable script `dir_/sub/name`.
  [[nodiscard]] fs::path fake(const std::string& sub, const std::string& script,
                              const std::string& name = "python3") const {
    fs::path path = dir_ / sub / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << script;
    ::chmod(path.c_str(), 0755);
    return path;
  }

  static std::optional<std::string> get(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  }
  static void restore(const char* name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  static bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
  }

  fs::path dir_;
  std::optional<std::string> saved_path_;
  std::optional<std::string> saved_hdeploy_python_;
};

TEST_F(PythonTest, ProbeReadsTheVersionsFromTheLastLine) {
  const fs::path good = fake("good", kGoodPython);
  auto python = probe_python(good.string());
  ASSERT_TRUE(python) << python.error().message;
  EXPECT_EQ(python->executable, good.string());
  EXPECT_EQ(python->python_version, "3.11.2");
  EXPECT_EQ(python->module_version("torch"), "torch-1.0");
  EXPECT_EQ(python->module_version("torchvision"), "torchvision-1.0");
  EXPECT_EQ(python->module_version("onnx"), "onnx-1.0");
  EXPECT_EQ(python->module_versions.size(), 3U);
}

TEST_F(PythonTest, ProbeAsksForTheGivenModulesOnly) {
  auto python = probe_python(fake("good", kGoodPython).string(), {"numpy", "PIL"});
  ASSERT_TRUE(python) << python.error().message;
  EXPECT_EQ(python->module_version("numpy"), "numpy-1.0");
  EXPECT_EQ(python->module_version("PIL"), "PIL-1.0");
  EXPECT_EQ(python->module_version("torch"), "");
  EXPECT_EQ(python->module_versions.size(), 2U);
}

TEST_F(PythonTest, ProbeReportsTheLastStderrLineOfAFailedImport) {
  auto python = probe_python(fake("bad", kNoTorchPython).string());
  ASSERT_FALSE(python);
  EXPECT_EQ(python.error().message, "ModuleNotFoundError: No module named 'torch'");
}

TEST_F(PythonTest, ProbeReportsExitStatusWithoutStderr) {
  auto python = probe_python(fake("silent", "#!/bin/sh\nexit 5\n").string());
  ASSERT_FALSE(python);
  EXPECT_EQ(python.error().message, "exit status 5");
}

TEST_F(PythonTest, ProbeOfAMissingInterpreterSaysNotFound) {
  auto python = probe_python((dir_ / "nope" / "python3").string());
  ASSERT_FALSE(python);
  EXPECT_EQ(python.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(python.error().message, "not found");
}

TEST_F(PythonTest, ProbeRejectsUnexpectedOutput) {
  auto garbage = probe_python(fake("garbage", "#!/bin/sh\necho hello\n").string());
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().message, "unexpected probe output 'hello'");

  // Valid JSON that lacks a requested module is not a pass.
  auto partial = probe_python(
      fake("partial",
           "#!/bin/sh\necho '{\"python\": \"3.11.2\", \"modules\": {\"torch\": \"2.0\"}}'\n")
          .string());
  ASSERT_FALSE(partial);
  EXPECT_TRUE(contains(partial.error().message, "unexpected probe output"))
      << partial.error().message;
}

TEST_F(PythonTest, ProbeTimesOut) {
  const auto start = std::chrono::steady_clock::now();
  auto python = probe_python(fake("slow", "#!/bin/sh\nexec sleep 30\n").string(),
                             kExportPythonModules, 200ms);
  ASSERT_FALSE(python);
  EXPECT_EQ(python.error().message, "importing torch, torchvision and onnx took over 0.2 s");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(PythonTest, FlagIsUsedAsGiven) {
  const fs::path good = fake("good", kGoodPython);
  const fs::path bad = fake("bad", kNoTorchPython);
  ::setenv("PATH", (good.parent_path().string() + ":/usr/bin:/bin").c_str(), 1);
  ::setenv("HDEPLOY_PYTHON", bad.c_str(), 1);  // the flag wins over the variable

  auto found = find_python(good.string());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->executable, good.string());

  // A bad flag is an error, even with a good python3 first on PATH: no fallback.
  ::unsetenv("HDEPLOY_PYTHON");
  std::vector<std::string> notes;
  auto rejected = find_python(bad.string(), kExportPythonModules,
                              [&](const std::string& note) { notes.push_back(note); });
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::kNotFound);
  const std::string& message = rejected.error().message;
  EXPECT_TRUE(contains(message, "--python " + bad.string())) << message;
  EXPECT_TRUE(contains(message, "No module named 'torch'")) << message;
  EXPECT_TRUE(contains(message, "apt-get install python3-torch python3-torchvision python3-onnx"))
      << message;
  EXPECT_TRUE(notes.empty());

  auto missing = find_python((dir_ / "nope" / "python3").string());
  ASSERT_FALSE(missing);
  EXPECT_TRUE(contains(missing.error().message, "not found")) << missing.error().message;
  EXPECT_TRUE(contains(missing.error().message, (dir_ / "nope" / "python3").string()));
}

TEST_F(PythonTest, EnvironmentVariableIsUsedAsGiven) {
  const fs::path good = fake("good", kGoodPython);
  const fs::path bad = fake("bad", kNoTorchPython);
  ::setenv("PATH", (good.parent_path().string() + ":/usr/bin:/bin").c_str(), 1);

  ::setenv("HDEPLOY_PYTHON", good.c_str(), 1);
  auto found = find_python("");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->executable, good.string());

  ::setenv("HDEPLOY_PYTHON", bad.c_str(), 1);
  auto rejected = find_python("");
  ASSERT_FALSE(rejected);
  EXPECT_TRUE(contains(rejected.error().message, "HDEPLOY_PYTHON " + bad.string()))
      << rejected.error().message;
  EXPECT_TRUE(contains(rejected.error().message, "No module named 'torch'"));

  ::setenv("HDEPLOY_PYTHON", "", 1);  // empty counts as unset
  auto from_path = find_python("");
  ASSERT_TRUE(from_path) << from_path.error().message;
  EXPECT_EQ(from_path->executable, good.string());
}

TEST_F(PythonTest, FirstPython3OnPathIsUsedWhenItImportsTheModules) {
  const fs::path good = fake("good", kGoodPython);
  ::chmod(fake("not-executable", kGoodPython).c_str(), 0644);
  ::setenv("PATH",
           ((dir_ / "empty").string() + ":" + (dir_ / "not-executable").string() + ":" +
            good.parent_path().string() + ":/usr/bin:/bin")
               .c_str(),
           1);
  std::vector<std::string> notes;
  auto found =
      find_python("", {"numpy", "PIL"}, [&](const std::string& note) { notes.push_back(note); });
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->executable, good.string());
  EXPECT_EQ(found->module_version("PIL"), "PIL-1.0");
  EXPECT_TRUE(notes.empty());
}

TEST_F(PythonTest, FailingPython3OnPathIsSkippedAndNamed) {
  const fs::path bad = fake("bad", kNoTorchPython);
  const fs::path good = fake("good", kGoodPython);
  // Only the first python3 on PATH is a candidate; the fixed paths come next. A module no real
  // Python has keeps /usr/bin/python3 (if present) from passing, and fast.
  ::setenv("PATH", (bad.parent_path().string() + ":" + good.parent_path().string()).c_str(), 1);
  const std::vector<std::string> modules{"hdeploy_test_no_such_module"};
  std::vector<std::string> notes;
  auto found = find_python("", modules, [&](const std::string& note) { notes.push_back(note); });
  ASSERT_FALSE(found) << "found " << found->executable;
  EXPECT_EQ(found.error().code, ErrorCode::kNotFound);
  const std::string& message = found.error().message;
  ASSERT_FALSE(notes.empty());
  EXPECT_EQ(notes[0], "skipping python3 on PATH (" + bad.string() +
                          "): ModuleNotFoundError: No module named 'torch'");
  EXPECT_TRUE(contains(message, "no Python with hdeploy_test_no_such_module found")) << message;
  EXPECT_TRUE(contains(message, "python3 on PATH (" + bad.string() + "): ModuleNotFoundError"))
      << message;
  EXPECT_TRUE(contains(message, "/usr/bin/python3")) << message;
  EXPECT_TRUE(contains(message, "/usr/local/bin/python3")) << message;
  EXPECT_FALSE(contains(message, good.string())) << message;
  EXPECT_TRUE(contains(message, "apt-get install python3-hdeploy_test_no_such_module")) << message;
  EXPECT_TRUE(contains(message, "--python PY")) << message;
}

TEST_F(PythonTest, NoPython3OnPathIsListedAsNotFound) {
  ::setenv("PATH", (dir_ / "empty").c_str(), 1);
  std::vector<std::string> notes;
  auto found = find_python("", {"hdeploy_test_no_such_module"},
                           [&](const std::string& note) { notes.push_back(note); });
  ASSERT_FALSE(found);
  EXPECT_TRUE(contains(found.error().message, "tried python3 on PATH: not found; "))
      << found.error().message;
  for (const auto& note : notes) EXPECT_FALSE(contains(note, "on PATH")) << note;
}

TEST_F(PythonTest, TheSameInterpreterIsProbedOnce) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  fs::create_directories(dir_ / "link");
  fs::create_symlink("/usr/bin/python3", dir_ / "link" / "python3");
  ::setenv("PATH", (dir_ / "link").c_str(), 1);
  std::vector<std::string> notes;
  auto found = find_python("", {"hdeploy_test_no_such_module"},
                           [&](const std::string& note) { notes.push_back(note); });
  ASSERT_FALSE(found);
  ASSERT_FALSE(notes.empty());
  EXPECT_TRUE(contains(notes[0], "python3 on PATH")) << notes[0];
  EXPECT_TRUE(contains(notes[0], "No module named 'hdeploy_test_no_such_module'")) << notes[0];
  for (std::size_t i = 1; i < notes.size(); ++i) {
    EXPECT_FALSE(contains(notes[i], "skipping /usr/bin/python3")) << notes[i];
  }
}

}  // namespace
}  // namespace hdeploy
