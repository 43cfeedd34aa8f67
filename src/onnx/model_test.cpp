#include "hdeploy/onnx/model.hpp"

#include <gtest/gtest.h>

#include <random>

#include "testing/test_models.hpp"

namespace hdeploy::onnx {
namespace {

using testing::TempFile;
using testing::TinyModelOptions;

TEST(OnnxModel, LoadsAndDescribes) {
  TempFile file("tiny.onnx");
  file.write(testing::serialize(testing::make_tiny_classifier()));
  auto model = OnnxModel::load(file.path());
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(model->name(), file.path().string());
  EXPECT_EQ(model->ir_version(), 8);
  EXPECT_EQ(model->opset(), 13);
  EXPECT_EQ(model->producer(), "hdeploy-test 1.0");

  const auto inputs = model->inputs();  // initializers are not inputs
  ASSERT_EQ(inputs.size(), 1U);
  EXPECT_EQ(inputs[0].name, "input");
  EXPECT_EQ(inputs[0].elem_type, "float32");
  EXPECT_EQ(inputs[0].dims, (std::vector<std::int64_t>{1, 3, 8, 8}));
  const auto outputs = model->outputs();
  ASSERT_EQ(outputs.size(), 1U);
  EXPECT_EQ(outputs[0].name, "logits");
  EXPECT_EQ(outputs[0].dims, (std::vector<std::int64_t>{1, 5}));

  const auto nodes = model->nodes();
  ASSERT_EQ(nodes.size(), 5U);
  EXPECT_EQ(nodes[0].name, "conv0");
  EXPECT_EQ(nodes[0].op_type, "Conv");
  EXPECT_EQ(nodes[0].inputs, (std::vector<std::string>{"input", "conv_w", "conv_b"}));
  EXPECT_EQ(nodes[4].op_type, "Gemm");
  const auto counts = model->op_counts();
  EXPECT_EQ(counts.at("Relu"), 1);
  EXPECT_EQ(counts.size(), 5U);

  EXPECT_TRUE(model->check()) << model->check().error().message;
  EXPECT_TRUE(model->infer_shapes()) << model->infer_shapes().error().message;
}

TEST(OnnxModel, DynamicDimsAreNegativeWithTheirNames) {
  TinyModelOptions options;
  options.batch_dim_param = "batch";
  auto model =
      OnnxModel::parse(testing::serialize(testing::make_tiny_classifier(options)), "dyn.onnx");
  ASSERT_TRUE(model);
  const auto input = model->inputs().at(0);
  EXPECT_EQ(input.dims, (std::vector<std::int64_t>{-1, 3, 8, 8}));
  EXPECT_EQ(input.dim_params, (std::vector<std::string>{"batch", "", "", ""}));
}

TEST(OnnxModel, MissingFileIsNotFound) {
  auto model = OnnxModel::load("/nonexistent/dir/model.onnx");
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
  EXPECT_NE(model.error().message.find("/nonexistent/dir/model.onnx"), std::string::npos);
}

TEST(OnnxModel, DirectoryIsRefusedByName) {
  TempFile dir("a_dir.onnx");
  std::filesystem::create_directory(dir.path());
  auto model = OnnxModel::load(dir.path());
  ASSERT_FALSE(model);
  // The code is read_file's (core decides it); the message must name the path and the reason.
  EXPECT_NE(model.error().message.find(dir.path().string()), std::string::npos);
  EXPECT_NE(model.error().message.find("directory"), std::string::npos);
}

TEST(OnnxModel, EmptyFileIsInvalidFormat) {
  TempFile file("empty.onnx");
  file.write({});
  auto model = OnnxModel::load(file.path());
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(model.error().message.find(file.path().string()), std::string::npos);
  EXPECT_NE(model.error().message.find("empty"), std::string::npos);
}

TEST(OnnxModel, TruncatedFileIsInvalidFormat) {
  const auto bytes = testing::serialize(testing::make_tiny_classifier());
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 3}) {
    TempFile file("truncated.onnx");
    file.write(std::span(bytes).first(keep));
    auto model = OnnxModel::load(file.path());
    ASSERT_FALSE(model) << "kept " << keep << " of " << bytes.size();
    EXPECT_EQ(model.error().code, ErrorCode::kInvalidFormat);
    EXPECT_NE(model.error().message.find(file.path().string()), std::string::npos);
    EXPECT_NE(model.error().message.find("truncated"), std::string::npos);
  }
}

TEST(OnnxModel, RandomBytesAreInvalidFormat) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::uint8_t> bytes(1000);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    auto model = OnnxModel::parse(bytes, "random.onnx");
    ASSERT_FALSE(model) << "trial " << trial;
    EXPECT_EQ(model.error().code, ErrorCode::kInvalidFormat);
    EXPECT_EQ(model.error().message.rfind("random.onnx: ", 0), 0U) << model.error().message;
  }
}

TEST(OnnxModel, ValidProtobufWithoutGraphIsInvalidFormat) {
  ::onnx::ModelProto proto;
  proto.set_ir_version(8);
  auto model = OnnxModel::parse(testing::serialize(proto), "nograph.onnx");
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(model.error().message.find("no graph"), std::string::npos);
}

TEST(OnnxModel, CheckerErrorsAreInvalidFormatOnOneLine) {
  TinyModelOptions options;
  options.unsupported_op = "MadeUpOp";  // not in the ai.onnx schema
  auto model = OnnxModel::from_proto(testing::make_tiny_classifier(options), "madeup.onnx");
  ASSERT_TRUE(model);
  auto status = model->check();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidFormat);
  EXPECT_EQ(status.error().message.rfind("madeup.onnx: ONNX checker: ", 0), 0U);
  EXPECT_NE(status.error().message.find("MadeUpOp"), std::string::npos);
  EXPECT_EQ(status.error().message.find('\n'), std::string::npos);
}

TEST(OnnxModel, ShapeInferenceErrorsAreInvalidFormat) {
  auto proto = testing::make_tiny_classifier();
  // The Gemm computes 1x5; declaring the output 1x6 contradicts what inference finds.
  proto.mutable_graph()
      ->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_value(6);
  auto model = OnnxModel::from_proto(std::move(proto), "badshape.onnx");
  ASSERT_TRUE(model);
  auto status = model->infer_shapes();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidFormat);
  EXPECT_EQ(status.error().message.rfind("badshape.onnx: ONNX shape inference: ", 0), 0U);
}

TEST(OnnxModel, IsMovable) {
  auto model = OnnxModel::from_proto(testing::make_tiny_classifier(), "a.onnx");
  ASSERT_TRUE(model);
  OnnxModel moved = std::move(model).value();
  EXPECT_EQ(moved.name(), "a.onnx");
  EXPECT_EQ(moved.opset(), 13);
}

}  // namespace
}  // namespace hdeploy::onnx
