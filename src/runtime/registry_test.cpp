#include "hdeploy/runtime/registry.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/npy.hpp"
#include "hdeploy/runtime/plugin_loader.hpp"
#include "testing/temp_dir.hpp"
#include "testing/test_models.hpp"

namespace hdeploy::runtime {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Points the registry at one fake plugin folder (or none) and says whether its device exists.
class PluginEnv {
 public:
  PluginEnv(const std::string& variant, bool device) {
    const std::string dir = std::string(HDEPLOY_FAKE_PLUGIN_DIR) + "/" + variant;
    ::setenv("HDEPLOY_PLUGIN_PATH", dir.c_str(), 1);         // NOLINT(concurrency-mt-unsafe)
    ::setenv("HDEPLOY_FAKE_DEVICE", device ? "1" : "0", 1);  // NOLINT(concurrency-mt-unsafe)
  }
  ~PluginEnv() {
    ::unsetenv("HDEPLOY_PLUGIN_PATH");  // NOLINT(concurrency-mt-unsafe)
    ::unsetenv("HDEPLOY_FAKE_DEVICE");  // NOLINT(concurrency-mt-unsafe)
  }
  PluginEnv(const PluginEnv&) = delete;
  PluginEnv& operator=(const PluginEnv&) = delete;
};

fs::path write_file(const fs::path& path, const std::string& text) {
  EXPECT_TRUE(write_text_file_atomic(path, text, Overwrite::kAllow));
  return path;
}

fs::path write_tiny_onnx(const fs::path& dir, const testing::TinyModelOptions& options = {}) {
  const auto bytes = testing::serialize(testing::make_tiny_classifier(options));
  const fs::path path = dir / "tiny.onnx";
  EXPECT_TRUE(write_file_atomic(path, bytes, Overwrite::kAllow));
  return path;
}

ModelSpec tiny_spec() {
  ModelSpec spec;
  spec.name = "tiny";
  spec.input_height = 8;
  spec.input_width = 8;
  spec.num_classes = 5;
  return spec;
}

hef::HefInfo classifier_hef_info() {
  hef::HefInfo info;
  hef::NetworkGroupInfo group;
  group.name = "net";
  hef::VStreamInfo in;
  in.name = "net/input_layer1";
  in.is_input = true;
  in.type = "UINT8";
  in.order = "NHWC";
  in.height = 224;
  in.width = 224;
  in.features = 3;
  in.qp_scale = 1.0F;
  hef::VStreamInfo out;
  out.name = "net/fc1";
  out.type = "UINT8";
  out.order = "NC";
  out.height = 1;
  out.width = 1;
  out.features = 1000;
  out.qp_scale = 0.25F;
  out.qp_zp = 100.0F;
  group.inputs.push_back(in);
  group.outputs.push_back(out);
  info.network_groups.push_back(group);
  return info;
}

TEST(Registry, ModelKindByExtension) {
  TempDir dir;
  EXPECT_EQ(*model_kind(write_file(dir.path() / "m.onnx", "x")), ModelKind::kOnnx);
  EXPECT_EQ(*model_kind(write_file(dir.path() / "m.hef", "x")), ModelKind::kHef);
  auto other = model_kind(write_file(dir.path() / "m.tflite", "x"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  auto missing = model_kind(dir.path() / "absent.onnx");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(Registry, BackendChoiceTable) {
  const fs::path m = "m";
  EXPECT_TRUE(check_backend_choice("auto", ModelKind::kHef, m));
  EXPECT_TRUE(check_backend_choice("sim", ModelKind::kOnnx, m));
  EXPECT_TRUE(check_backend_choice("cpu", ModelKind::kOnnx, m));
  EXPECT_TRUE(check_backend_choice("hailo", ModelKind::kHef, m));
  auto cpu_hef = check_backend_choice("cpu", ModelKind::kHef, m);
  ASSERT_FALSE(cpu_hef);
  EXPECT_TRUE(contains(cpu_hef.error().message, "the cpu backend runs ONNX models"));
  EXPECT_FALSE(check_backend_choice("hailo", ModelKind::kOnnx, m));
  EXPECT_FALSE(check_backend_choice("tpu", ModelKind::kOnnx, m));
}

TEST(Registry, SimContractFromHefTakesShapesQpsAndTiming) {
  hef::HefInfo info = classifier_hef_info();
  auto plain = sim_contract_from_hef(info, "model.hef");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->spec.input.shape, (std::vector<std::int64_t>{1, 224, 224, 3}));
  EXPECT_EQ(plain->spec.output.shape, (std::vector<std::int64_t>{1, 1000}));
  EXPECT_FLOAT_EQ(plain->spec.output.quantization->scale, 0.25F);
  EXPECT_FLOAT_EQ(plain->spec.output.quantization->zero_point, 100.0F);
  EXPECT_EQ(plain->timing_from, kSimDefaultTiming);
  EXPECT_EQ(plain->contract_from, "model.hef");

  info.network_groups[0].bottleneck_fps = 2445.0;
  info.network_groups[0].latency = 0.0046;
  ModelSpec spec = tiny_spec();
  spec.preprocess.mean = {0.5F, 0.5F, 0.5F};
  auto timed = sim_contract_from_hef(info, "model.hef", &spec);
  ASSERT_TRUE(timed);
  EXPECT_DOUBLE_EQ(timed->spec.fps, 2445.0);
  EXPECT_NEAR(timed->spec.latency_ms, 4.6, 1e-9);
  EXPECT_EQ(timed->spec.mean, spec.preprocess.mean);
  EXPECT_EQ(timed->timing_from, "FPS: the HEF's bottleneck estimate, latency: the HEF's estimate");

  info.network_groups[0].outputs[0].order = "HAILO_NMS";
  EXPECT_FALSE(sim_contract_from_hef(info, "model.hef"));
  EXPECT_FALSE(sim_contract_from_hef(hef::HefInfo{}, "model.hef"));
}

TEST(Registry, SimContractFromExportReadsTheReferenceRange) {
  TempDir dir;
  const fs::path onnx = write_tiny_onnx(dir.path());
  auto missing = sim_contract_from_export(onnx, tiny_spec());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kFailed);
  fs::create_directories(dir.path() / "reference");
  const std::vector<float> values{-3.0F, 1.0F, 5.0F, 0.0F, 2.0F};
  ASSERT_TRUE(
      write_npy(dir.path() / "reference" / "output.npy", DType::kFloat32, {1, 5},
                std::span(reinterpret_cast<const std::uint8_t*>(values.data()), values.size() * 4),
                Overwrite::kAllow));
  auto contract = sim_contract_from_export(onnx, tiny_spec());
  ASSERT_TRUE(contract) << contract.error().message;
  EXPECT_TRUE(contains(contract->contract_from, "[-3, 5]")) << contract->contract_from;
  EXPECT_EQ(contract->spec.output.shape, (std::vector<std::int64_t>{1, 5}));
}

TEST(Registry, OpensTheCpuBackendForAnOnnxAndSaysWhyOnAuto) {
  TempDir dir;
  BackendRequest request;
  request.model = write_tiny_onnx(dir.path());
  auto opened = open_backend(request);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->kind, "cpu");
  EXPECT_EQ(opened->backend->name(), "cpu");
  ASSERT_EQ(opened->notes.size(), 1U);
  EXPECT_TRUE(contains(opened->notes[0], "is an ONNX model; running it on the cpu backend"));
}

TEST(Registry, OpensTheSimOfAnExportAndRefusesTimingOnlyWhenOutputsAreNeeded) {
  TempDir dir;
  BackendRequest request;
  request.backend = "sim";
  request.model = write_tiny_onnx(dir.path());
  request.spec = [] { return Result<ModelSpec>(tiny_spec()); };
  fs::create_directories(dir.path() / "reference");
  const std::vector<float> values{-1.0F, 1.0F};
  ASSERT_TRUE(write_npy(dir.path() / "reference" / "output.npy", DType::kFloat32, {1, 2},
                        std::span(reinterpret_cast<const std::uint8_t*>(values.data()), 8),
                        Overwrite::kAllow));
  request.sim_timing.fps = 500.0;
  auto opened = open_backend(request);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->kind, "sim");
  EXPECT_FALSE(opened->timing_only);
  ASSERT_TRUE(opened->sim);
  EXPECT_DOUBLE_EQ(opened->sim->spec.fps, 500.0);
  EXPECT_TRUE(contains(opened->sim->timing_from, "overridden by the request"));

  // Without a spec the sim of an ONNX cannot be described.
  request.spec = nullptr;
  auto no_spec = open_backend(request);
  ASSERT_FALSE(no_spec);
  EXPECT_TRUE(contains(no_spec.error().message, "the sim needs the model spec"));
}

TEST(Registry, HailoThroughThePluginAndAutoFallsBackWithTheReason) {
  TempDir dir;
  const fs::path hef = write_file(dir.path() / "m.hef", "not really a HEF");
  BackendRequest request;
  request.backend = "hailo";
  request.model = hef;
  {
    PluginEnv env("good", true);
    auto opened = open_backend(request);
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_EQ(opened->kind, "hailo");
    EXPECT_EQ(opened->backend->description(), "fake Hailo device (test plugin)");
  }
  {
    PluginEnv env("good", false);
    auto refused = open_backend(request);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(contains(refused.error().message, "fake hailo: no device"));
    // auto falls back to the sim, which reads the HEF natively: this one is not a HEF.
    request.backend = "auto";
    auto fallback = open_backend(request);
    ASSERT_FALSE(fallback);
    EXPECT_EQ(fallback.error().code, ErrorCode::kInvalidFormat);
    EXPECT_TRUE(contains(fallback.error().message, "cannot read the HEF"));
  }
  {
    PluginEnv env("absent", false);
    request.backend = "hailo";
    auto no_plugin = open_backend(request);
    ASSERT_FALSE(no_plugin);
    EXPECT_EQ(no_plugin.error().code, ErrorCode::kNotFound);
    EXPECT_TRUE(contains(no_plugin.error().message, "needs HailoRT"));
  }
}

TEST(Registry, ListsBackendsWithTheHailoRtVersionOrWhyNot) {
  {
    PluginEnv env("good", false);
    const auto list = list_backends();
    ASSERT_EQ(list.size(), 3U);
    EXPECT_EQ(list[0].name, "cpu");
    EXPECT_TRUE(list[0].available);
    EXPECT_EQ(list[2].name, "hailo");
    EXPECT_TRUE(list[2].available);
    EXPECT_TRUE(contains(list[2].detail, "HailoRT 9.9.9")) << list[2].detail;
    EXPECT_EQ(*hailort_version(), "9.9.9");
  }
  PluginEnv env("absent", false);
  const auto list = list_backends();
  ASSERT_EQ(list.size(), 3U);
  EXPECT_FALSE(list[2].available);
  EXPECT_TRUE(contains(list[2].detail, "HailoRT")) << list[2].detail;
  EXPECT_FALSE(hailort_version());
}

}  // namespace
}  // namespace hdeploy::runtime
