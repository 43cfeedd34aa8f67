#include "hdeploy/compile/model_script.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace hdeploy::compile {
namespace {
namespace fs = std::filesystem;

// The line HAILO.md gives for torchvision's ImageNet mean/std (ResNet18, MobileNetV2).
constexpr const char* kImageNetLine =
    "normalization1 = normalization([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])\n";

ModelSpec shipped(const std::string& name) {
  auto spec = load_model_spec(fs::path(HDEPLOY_SOURCE_DIR) / "models" / (name + ".toml"));
  EXPECT_TRUE(spec) << spec.error().message;
  return *spec;
}

TEST(ModelScriptTest, ImageNetSpecsGiveHailoMdNormalisationExactly) {
  for (const char* name : {"resnet18", "mobilenet_v2"}) {
    const ModelSpec spec = shipped(name);
    const ModelScript s = render_model_script(spec, {true, "--gpu yes"});
    EXPECT_NE(s.text.find(kImageNetLine), std::string::npos) << s.text;
    EXPECT_NE(s.text.find("model_optimization_flavor(optimization_level=2, compression_level=2)\n"),
              std::string::npos)
        << s.text;
    EXPECT_EQ(s.optimization_level, 2);
    EXPECT_TRUE(s.warnings.empty());
  }
}

TEST(ModelScriptTest, WholeTextWithAGpu) {
  ModelSpec spec = shipped("resnet18");
  spec.source.clear();
  const ModelScript s = render_model_script(spec, {true, "--gpu yes"});
  EXPECT_EQ(s.text,
            "normalization1 = normalization([123.675, 116.28, 103.53], [58.395, 57.12, "
            "57.375])\n"
            "model_optimization_flavor(optimization_level=2, compression_level=2)\n");
}

TEST(ModelScriptTest, NoGpuForcesLevelZeroWithAWarning) {
  const ModelSpec spec = shipped("resnet18");
  const ModelScript s = render_model_script(spec, {false, "nvidia-smi not found"});
  EXPECT_EQ(s.optimization_level, 0);
  EXPECT_EQ(s.compression_level, 2);
  EXPECT_NE(s.text.find("model_optimization_flavor(optimization_level=0, compression_level=2)\n"),
            std::string::npos);
  ASSERT_EQ(s.warnings.size(), 1U);
  EXPECT_NE(s.warnings[0].find("optimization_level=0"), std::string::npos);
  EXPECT_NE(s.level_reason.find("no GPU"), std::string::npos);
  EXPECT_NE(s.level_reason.find("nvidia-smi not found"), std::string::npos);
}

TEST(ModelScriptTest, LevelZeroInTheSpecNeedsNoGpuAndNoWarning) {
  ModelSpec spec = shipped("resnet18");
  spec.hailo.optimization_level = 0;
  spec.hailo.compression_level = 1;
  const ModelScript s = render_model_script(spec, {false, "--gpu no"});
  EXPECT_EQ(s.optimization_level, 0);
  EXPECT_TRUE(s.warnings.empty());
  EXPECT_NE(s.text.find("optimization_level=0, compression_level=1)"), std::string::npos);
}

TEST(ModelScriptTest, SpecLinesComeLastInOrder) {
  ModelSpec spec = shipped("resnet18");
  spec.hailo.model_script = {"performance_param(fps=500)",
                             "resources_param(max_control_utilization=0.6)"};
  const ModelScript s = render_model_script(spec, {true, "--gpu yes"});
  const auto flavor = s.text.find("model_optimization_flavor(");
  const auto first = s.text.find("performance_param(fps=500)\n");
  const auto second = s.text.find("resources_param(max_control_utilization=0.6)\n");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  EXPECT_LT(flavor, first);
  EXPECT_LT(first, second);
  const std::string last = "resources_param(max_control_utilization=0.6)\n";
  EXPECT_EQ(s.text.substr(s.text.size() - last.size()), last);  // nothing after the spec's lines
}

TEST(ModelScriptTest, OtherNormalisationsPrintShortest) {
  ModelSpec spec = shipped("resnet18");
  spec.preprocess.mean = {0.5F, 0.5F, 0.5F};
  spec.preprocess.std = {0.5F, 1.0F, 0.25F};
  const ModelScript s = render_model_script(spec, {true, "x"});
  EXPECT_NE(s.text.find("normalization([127.5, 127.5, 127.5], [127.5, 255.0, 63.75])"),
            std::string::npos)
      << s.text;
}

TEST(ModelScriptTest, FormatAllsNumber) {
  EXPECT_EQ(format_alls_number(255.0), "255.0");
  EXPECT_EQ(format_alls_number(0.0), "0.0");
  EXPECT_EQ(format_alls_number(-0.0000001), "0.0");
  EXPECT_EQ(format_alls_number(127.5), "127.5");
  EXPECT_EQ(format_alls_number(0.485 * 255.0), "123.675");  // 123.67499999999998 in double
  EXPECT_EQ(format_alls_number(100.1234567), "100.123457");
  EXPECT_EQ(format_alls_number(255.0 / 3.0), "85.0");
  EXPECT_DOUBLE_EQ(to_0_255(0.229F), 0.229 * 255.0);
}

TEST(ModelScriptTest, GpuModeParsing) {
  EXPECT_EQ(*parse_gpu_mode("auto"), GpuMode::kAuto);
  EXPECT_EQ(*parse_gpu_mode("yes"), GpuMode::kYes);
  EXPECT_EQ(*parse_gpu_mode("no"), GpuMode::kNo);
  auto bad = parse_gpu_mode("maybe");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

// A fake nvidia-smi that prints `listing`, removed on destruction.
class FakeNvidiaSmi {
 public:
  explicit FakeNvidiaSmi(const std::string& listing, int exit_status = 0) {
    path_ = fs::temp_directory_path() / ("hdeploy_fake_nvidia_smi_" + std::to_string(::getpid()));
    std::ofstream(path_) << "#!/bin/sh\nprintf '" << listing << "'\nexit " << exit_status << "\n";
    fs::permissions(path_, fs::perms::owner_all);
  }
  ~FakeNvidiaSmi() { fs::remove(path_); }
  FakeNvidiaSmi(const FakeNvidiaSmi&) = delete;
  FakeNvidiaSmi& operator=(const FakeNvidiaSmi&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(DetectGpuTest, OverridesAreTakenAsGiven) {
  EXPECT_TRUE(detect_gpu(GpuMode::kYes, "/nonexistent").visible);
  EXPECT_EQ(detect_gpu(GpuMode::kYes, "/nonexistent").how, "--gpu yes");
  EXPECT_FALSE(detect_gpu(GpuMode::kNo, "/nonexistent").visible);
}

TEST(DetectGpuTest, AutoAsksNvidiaSmi) {
  {
    FakeNvidiaSmi smi("GPU 0: NVIDIA RTX 4090 (UUID: GPU-1234)\\n");
    const GpuDetection d = detect_gpu(GpuMode::kAuto, smi.path());
    EXPECT_TRUE(d.visible);
    EXPECT_NE(d.how.find("NVIDIA RTX 4090"), std::string::npos) << d.how;
  }
  {
    FakeNvidiaSmi smi("");
    EXPECT_FALSE(detect_gpu(GpuMode::kAuto, smi.path()).visible);
  }
  {
    FakeNvidiaSmi smi("NVIDIA-SMI has failed\\n", 9);
    const GpuDetection d = detect_gpu(GpuMode::kAuto, smi.path());
    EXPECT_FALSE(d.visible);
    EXPECT_NE(d.how.find("exit 9"), std::string::npos) << d.how;
  }
  const GpuDetection missing = detect_gpu(GpuMode::kAuto, "/nonexistent/nvidia-smi");
  EXPECT_FALSE(missing.visible);
  EXPECT_NE(missing.how.find("not found"), std::string::npos);
}

}  // namespace
}  // namespace hdeploy::compile
