#include "hdeploy/compile/compile.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "hdeploy/core/npy.hpp"
#include "hdeploy/onnx/lint.hpp"
#include "testing/temp_dir.hpp"

namespace hdeploy::compile {

using onnx::lint_for_hailo;
using onnx::LintReport;
using onnx::OnnxModel;

namespace {
namespace fs = std::filesystem;

using hdeploy::testing::TempDir;

struct ClassifierOptions {
  std::int64_t size = 224;
  std::int64_t classes = 11;
  std::string batch_param;  // non-empty: a dynamic batch (lint error)
};

// input 1x3xSxS -> GlobalAveragePool "gap" -> Flatten "flatten" -> Gemm "fc" -> logits 1xC.
fs::path write_classifier(const fs::path& path, const ClassifierOptions& o = {}) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("hdeploy-test");
  model.add_opset_import()->set_version(13);
  auto* g = model.mutable_graph();
  g->set_name("tiny");
  const auto value = [&](::onnx::ValueInfoProto* v, const std::string& name,
                         std::vector<std::int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(::onnx::TensorProto::FLOAT);
    for (std::size_t i = 0; i < dims.size(); ++i) {
      auto* d = t->mutable_shape()->add_dim();
      if (i == 0 && !o.batch_param.empty()) {
        d->set_dim_param(o.batch_param);
      } else {
        d->set_dim_value(dims[i]);
      }
    }
  };
  value(g->add_input(), "input", {1, 3, o.size, o.size});
  value(g->add_output(), "logits", {1, o.classes});
  auto* w = g->add_initializer();
  w->set_name("fc.weight");
  w->set_data_type(::onnx::TensorProto::FLOAT);
  w->add_dims(o.classes);
  w->add_dims(3);
  for (std::int64_t i = 0; i < o.classes * 3; ++i) w->add_float_data(0.01F * static_cast<float>(i));
  auto* b = g->add_initializer();
  b->set_name("fc.bias");
  b->set_data_type(::onnx::TensorProto::FLOAT);
  b->add_dims(o.classes);
  for (std::int64_t i = 0; i < o.classes; ++i) b->add_float_data(0.0F);
  const auto node = [&](const std::string& name, const std::string& op, std::vector<std::string> in,
                        const std::string& out) {
    auto* n = g->add_node();
    n->set_name(name);
    n->set_op_type(op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  };
  node("gap", "GlobalAveragePool", {"input"}, "pooled");
  node("flatten", "Flatten", {"pooled"}, "flat");
  auto* gemm = node("fc", "Gemm", {"flat", "fc.weight", "fc.bias"}, "logits");
  auto* attr = gemm->add_attribute();
  attr->set_name("transB");
  attr->set_type(::onnx::AttributeProto::INT);
  attr->set_i(1);
  std::ofstream(path, std::ios::binary) << model.SerializeAsString();
  return path;
}

fs::path write_calib(const fs::path& path, std::vector<std::int64_t> shape,
                     DType dtype = DType::kFloat32, std::size_t drop_bytes = 0) {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  std::vector<std::uint8_t> data(n * (dtype == DType::kFloat32 ? 4 : 1), 0);
  auto bytes = serialize_npy(dtype, shape, data);
  bytes.resize(bytes.size() - drop_bytes);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

ModelSpec test_spec() {
  ModelSpec spec;
  spec.name = "tiny";
  spec.num_classes = 11;
  return spec;
}

TEST(OnnxIoTest, ReadsInputAndClasses) {
  TempDir dir("hdeploy_onnx_io");
  auto model = OnnxModel::load(write_classifier(dir.path() / "m.onnx", {160, 7, ""}));
  ASSERT_TRUE(model) << model.error().message;
  auto io = onnx_io(*model);
  ASSERT_TRUE(io) << io.error().message;
  EXPECT_EQ(io->input_name, "input");
  EXPECT_EQ(io->height, 160);
  EXPECT_EQ(io->width, 160);
  EXPECT_EQ(io->channels, 3);
  EXPECT_EQ(io->classes, 7);
}

TEST(EndNodeTest, AutoIsTheLastGemmAndTheSpecOverrides) {
  TempDir dir("hdeploy_end_node");
  auto model = OnnxModel::load(write_classifier(dir.path() / "m.onnx"));
  ASSERT_TRUE(model);
  const LintReport lint = lint_for_hailo(*model);
  ModelSpec spec = test_spec();
  std::string from;
  auto end = choose_end_node(spec, *model, lint, from);
  ASSERT_TRUE(end) << end.error().message;
  EXPECT_EQ(*end, "fc");
  EXPECT_NE(from.find("auto"), std::string::npos);
  spec.hailo.end_node = "flatten";
  end = choose_end_node(spec, *model, lint, from);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, "flatten");
  EXPECT_NE(from.find("spec"), std::string::npos);
  spec.hailo.end_node = "/classifier/Gemm";
  end = choose_end_node(spec, *model, lint, from);
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(end.error().message.find("/classifier/Gemm"), std::string::npos);
}

TEST(CheckOnnxTest, RefusesWhatCheckFails) {
  TempDir dir("hdeploy_onnx_refuse");
  auto good = OnnxModel::load(write_classifier(dir.path() / "good.onnx"));
  ASSERT_TRUE(good);
  EXPECT_TRUE(check_onnx_for_compile(*good, lint_for_hailo(*good)));
  auto dynamic = OnnxModel::load(write_classifier(dir.path() / "dyn.onnx", {224, 11, "batch"}));
  ASSERT_TRUE(dynamic);
  auto s = check_onnx_for_compile(*dynamic, lint_for_hailo(*dynamic));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kFailed);
  EXPECT_NE(s.error().message.find("dynamic-shape"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("hdeploy check"), std::string::npos);
  EXPECT_NE(s.error().message.find("dyn.onnx"), std::string::npos);
}

TEST(CalibFileTest, HeaderOnlyChecks) {
  TempDir dir("hdeploy_calib_check");
  const OnnxIo io{"input", 224, 224, 3, 11};
  auto ok = check_calibration_file(write_calib(dir.path() / "ok.npy", {5, 224, 224, 3}), io);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->count, 5);
  const auto expect_bad = [&](const fs::path& p, const char* needle) {
    auto r = check_calibration_file(p, io);
    ASSERT_FALSE(r) << p;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidFormat) << r.error().message;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(p.string()), std::string::npos) << r.error().message;
  };
  expect_bad(write_calib(dir.path() / "nchw.npy", {2, 3, 224, 224}), "(2, 3, 224, 224)");
  expect_bad(write_calib(dir.path() / "small.npy", {2, 160, 160, 3}), "(N, 224, 224, 3)");
  expect_bad(write_calib(dir.path() / "u8.npy", {2, 224, 224, 3}, DType::kUint8), "'|u1'");
  expect_bad(write_calib(dir.path() / "cut.npy", {2, 224, 224, 3}, DType::kFloat32, 100),
             "truncated");
  std::ofstream(dir.path() / "text.npy") << "not numpy";
  expect_bad(dir.path() / "text.npy", "not a NumPy");
  auto missing = check_calibration_file(dir.path() / "none.npy", io);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

CompileRequest request(const TempDir& dir) {
  CompileRequest req;
  req.onnx = write_classifier(dir.path() / "model.onnx");
  req.calib = write_calib(dir.path() / "calib.npy", {4, 224, 224, 3});
  req.out_dir = dir.path() / "out";
  req.spec = test_spec();
  req.hw_arch = "hailo8";
  req.dfc.path_env = "/nonexistent";
  req.gpu_mode = GpuMode::kNo;
  req.hdeploy_version = "test";
  return req;
}

TEST(RunCompileTest, DryRunWritesNothing) {
  TempDir dir("hdeploy_compile_dry");
  CompileRequest req = request(dir);
  req.dry_run = true;
  auto o = run_compile(req);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->status, CompileStatus::kDryRun);
  EXPECT_FALSE(o->error);
  EXPECT_FALSE(fs::exists(req.out_dir));
  ASSERT_EQ(o->plan.stages.size(), 3U);
  EXPECT_EQ(o->plan.stages[0].argv[0], "hailo");
  EXPECT_EQ(o->end_node, "fc");
  EXPECT_EQ(o->start_node, "input");
  EXPECT_EQ(o->script.optimization_level, 0);
  // Fewer than 1024 calibration images and no GPU: both warned about.
  EXPECT_EQ(o->warnings.size(), 2U);
}

TEST(RunCompileTest, WithoutADfcPreparesEverythingAndSaysHow) {
  TempDir dir("hdeploy_compile_nodfc");
  CompileRequest req = request(dir);
  auto o = run_compile(req);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->status, CompileStatus::kNotRun);
  ASSERT_TRUE(o->error);
  EXPECT_NE(o->error->code, ErrorCode::kInvalidArgument);
  for (const char* needle : {"`hailo`", "--dfc", "x86-64", "model.alls", "commands.sh"}) {
    EXPECT_NE(o->error->message.find(needle), std::string::npos) << o->error->message;
  }
  EXPECT_TRUE(fs::is_regular_file(req.out_dir / "model.alls"));
  EXPECT_TRUE(fs::is_regular_file(req.out_dir / "commands.sh"));
  ASSERT_TRUE(fs::is_regular_file(req.out_dir / "manifest.json"));
  std::ifstream in(req.out_dir / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  EXPECT_EQ(manifest["format"], "hdeploy-compile");
  EXPECT_EQ(manifest["version"], 1);
  EXPECT_EQ(manifest["status"], "not_run");
  EXPECT_TRUE(manifest["sha256"]["model_hef"].is_null());
  EXPECT_EQ(manifest["sha256"]["model_alls"].get<std::string>().size(), 64U);
  for (const auto& s : manifest["stages"]) EXPECT_EQ(s["status"], "not_run");
  // A second run refuses the folder without --force.
  auto again = run_compile(req);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  req.force = true;
  EXPECT_TRUE(run_compile(req));
}

TEST(RunCompileTest, JsonHasTheDocumentedKeys) {
  TempDir dir("hdeploy_compile_json");
  CompileRequest req = request(dir);
  req.dry_run = true;
  auto o = run_compile(req);
  ASSERT_TRUE(o);
  const auto j = outcome_json(*o);
  for (const char* key :
       {"status", "why", "out_dir", "hef", "model_script", "commands", "stages", "dfc", "hef_check",
        "optimization_level", "gpu", "pairing", "manifest", "warnings"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["status"], "dry_run");
  EXPECT_EQ(j["commands"].size(), 3U);
  EXPECT_EQ(j["stages"][0]["status"], "not_run");
  EXPECT_TRUE(j["stages"][0]["seconds"].is_null());
  const auto early = early_failure_json("d", Error{ErrorCode::kFailed, "boom"});
  EXPECT_EQ(early["status"], "failed");
  EXPECT_EQ(early["why"], "boom");
}

TEST(RunCompileTest, BadArchIsAUsageError) {
  TempDir dir("hdeploy_compile_arch");
  CompileRequest req = request(dir);
  req.hw_arch = "hailo15h";
  auto o = run_compile(req);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hdeploy::compile
