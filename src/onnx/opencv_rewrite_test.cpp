#include "hdeploy/onnx/opencv_rewrite.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <opencv2/core.hpp>
#include <opencv2/core/version.hpp>
#include <opencv2/dnn.hpp>

#include "testing/test_models.hpp"

namespace hdeploy::onnx {
namespace {

using testing::Activation;
using testing::TinyModelOptions;

// Imports serialized bytes into the linked OpenCV and runs the tiny input through to "logits".
std::vector<float> run_opencv(const std::vector<std::uint8_t>& bytes,
                              const TinyModelOptions& options) {
  cv::dnn::Net net =
      cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  auto input = testing::tiny_input(options);
  const int dims[] = {1, static_cast<int>(options.input_channels), static_cast<int>(options.height),
                      static_cast<int>(options.width)};
  net.setInput(cv::Mat(4, dims, CV_32F, input.data()));
  cv::Mat out = net.forward("logits");
  const auto* p = out.ptr<float>();
  return {p, p + out.total()};
}

Result<OpenCvRewrite> rewrite(const ::onnx::ModelProto& proto) {
  auto model = OnnxModel::from_proto(proto, "m.onnx");
  if (!model) return unexpected(model.error());
  return rewrite_for_opencv(*model);
}

void expect_near_all(const std::vector<float>& actual, const std::vector<float>& expected,
                     float tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tolerance) << "index " << i;
  }
}

const ::onnx::NodeProto* find_node(const ::onnx::ModelProto& proto, const std::string& name) {
  for (const auto& node : proto.graph().node()) {
    if (node.name() == name) return &node;
  }
  return nullptr;
}

::onnx::ModelProto parse_bytes(const std::vector<std::uint8_t>& bytes) {
  ::onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  return proto;
}

TEST(OpenCvSupportsOp, KnowsWhatOpenCv46Imports) {
  for (const char* op : {"Conv", "Gemm", "Clip", "Relu", "GlobalAveragePool", "Flatten", "Add",
                         "MaxPool", "BatchNormalization", "Softmax", "Identity", "Sigmoid"}) {
    EXPECT_TRUE(opencv_supports_op(op)) << op;
  }
  // Missing from 4.6 and 4.10, made-up, OpenCV-internal names, empty.
  for (const char* op : {"NonZero", "TopK", "MadeUpOp", "Convolution", "ReLU6", "conv", ""}) {
    EXPECT_FALSE(opencv_supports_op(op)) << op;
  }
  // Added by 4.10 (Debian 13), not in 4.6 (Debian 12).
  for (const char* op : {"Where", "Range", "LayerNormalization", "Mod", "Tile", "Gelu"}) {
    EXPECT_EQ(opencv_supports_op(op), CV_VERSION_MAJOR == 4 && CV_VERSION_MINOR >= 10) << op;
  }
}

TEST(OpenCvRewrite, NeededWhereTheLinkedOpenCvIsOlderThan410) {
  EXPECT_EQ(opencv_needs_rewrite(), CV_VERSION_MAJOR == 4 && CV_VERSION_MINOR < 10);
  EXPECT_STREQ(opencv_version(), CV_VERSION);
}

TEST(OpenCvRewrite, WithoutTheRewriteTheModelIsKeptAndOpsAreStillChecked) {
  TinyModelOptions options;
  options.activation = Activation::kClipInitializers;
  options.identity_over_weight = true;
  const auto proto = testing::make_tiny_classifier(options);
  const auto bytes = testing::serialize(proto);
  auto model = OnnxModel::parse(bytes, "m.onnx");
  ASSERT_TRUE(model) << model.error().message;
  auto kept = rewrite_for_opencv(*model, false);
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(kept->clips_rewritten, 0);
  EXPECT_EQ(kept->identities_removed, 0);
  EXPECT_EQ(parse_bytes(kept->model_bytes).SerializeAsString(), proto.SerializeAsString());
  auto rewritten = rewrite_for_opencv(*model, true);
  ASSERT_TRUE(rewritten);
  EXPECT_EQ(rewritten->clips_rewritten, 1);
  EXPECT_EQ(rewritten->identities_removed, 1);
}

TEST(OpenCvRewrite, ClipWithInputsAsIsNeedsTheRewriteOnOpenCv46Only) {
  // Why the rewrite exists: OpenCV 4.6 (Debian 12) rejects Clip with its bounds as inputs;
  // 4.10 (Debian 13) imports it as it is, and the rewrite is then harmless.
  TinyModelOptions options;
  options.activation = Activation::kClipInitializers;
  const auto bytes = testing::serialize(testing::make_tiny_classifier(options));
#if CV_VERSION_MAJOR == 4 && CV_VERSION_MINOR <= 6
  EXPECT_THROW(run_opencv(bytes, options), cv::Exception);
#else
  EXPECT_NO_THROW(run_opencv(bytes, options));
#endif
}

TEST(OpenCvRewrite, ClipBoundsFromInitializersBecomeAttributes) {
  TinyModelOptions options;
  options.activation = Activation::kClipInitializers;
  const auto proto = testing::make_tiny_classifier(options);
  auto rewritten = rewrite(proto);
  ASSERT_TRUE(rewritten) << rewritten.error().message;
  EXPECT_EQ(rewritten->clips_rewritten, 1);
  EXPECT_EQ(rewritten->identities_removed, 0);
  EXPECT_TRUE(rewritten->unsupported_ops.empty());

  const auto out_proto = parse_bytes(rewritten->model_bytes);
  const auto* clip = find_node(out_proto, "act0");
  ASSERT_NE(clip, nullptr);
  ASSERT_EQ(clip->input_size(), 1);
  ASSERT_EQ(clip->attribute_size(), 2);
  EXPECT_EQ(clip->attribute(0).name(), "min");
  EXPECT_FLOAT_EQ(clip->attribute(0).f(), options.clip_min);
  EXPECT_EQ(clip->attribute(1).name(), "max");
  EXPECT_FLOAT_EQ(clip->attribute(1).f(), options.clip_max);

  const auto actual = run_opencv(rewritten->model_bytes, options);
  expect_near_all(actual, testing::tiny_reference(options, testing::tiny_input(options)), 1e-5F);

  // Same numbers as the equivalent model written with Clip attributes, loaded directly.
  TinyModelOptions attrs = options;
  attrs.activation = Activation::kClipAttributes;
  expect_near_all(
      actual, run_opencv(testing::serialize(testing::make_tiny_classifier(attrs)), attrs), 0.0F);
}

TEST(OpenCvRewrite, ClipBoundsFromConstantNodesAreFoldedAndTheConstantsDropped) {
  TinyModelOptions options;
  options.activation = Activation::kClipConstants;
  auto rewritten = rewrite(testing::make_tiny_classifier(options));
  ASSERT_TRUE(rewritten) << rewritten.error().message;
  EXPECT_EQ(rewritten->clips_rewritten, 1);
  const auto out_proto = parse_bytes(rewritten->model_bytes);
  for (const auto& node : out_proto.graph().node()) EXPECT_NE(node.op_type(), "Constant");
  expect_near_all(run_opencv(rewritten->model_bytes, options),
                  testing::tiny_reference(options, testing::tiny_input(options)), 1e-5F);
}

TEST(OpenCvRewrite, AbsentOrEmptyClipBoundsMeanNoBound) {
  for (auto activation : {Activation::kClipMaxOnly, Activation::kClipMinOnly}) {
    TinyModelOptions options;
    options.activation = activation;
    auto rewritten = rewrite(testing::make_tiny_classifier(options));
    ASSERT_TRUE(rewritten) << rewritten.error().message;
    const auto out_proto = parse_bytes(rewritten->model_bytes);
    const auto* clip = find_node(out_proto, "act0");
    ASSERT_NE(clip, nullptr);
    ASSERT_EQ(clip->attribute_size(), 1);
    EXPECT_EQ(clip->attribute(0).name(), activation == Activation::kClipMaxOnly ? "max" : "min");
    expect_near_all(run_opencv(rewritten->model_bytes, options),
                    testing::tiny_reference(options, testing::tiny_input(options)), 1e-5F);
  }
}

TEST(OpenCvRewrite, ClipBoundComputedAtRunTimeIsUnsupportedNamingTheNode) {
  TinyModelOptions options;
  options.activation = Activation::kClipDynamic;
  auto rewritten = rewrite(testing::make_tiny_classifier(options));
  ASSERT_FALSE(rewritten);
  EXPECT_EQ(rewritten.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(rewritten.error().message.find("m.onnx: Clip node 'act0'"), std::string::npos)
      << rewritten.error().message;
  EXPECT_NE(rewritten.error().message.find("'dyn_min_out'"), std::string::npos);
}

TEST(OpenCvRewrite, IdentityOverAnInitializerIsRemoved) {
  TinyModelOptions options;
  options.identity_over_weight = true;
  auto rewritten = rewrite(testing::make_tiny_classifier(options));
  ASSERT_TRUE(rewritten) << rewritten.error().message;
  EXPECT_EQ(rewritten->identities_removed, 1);
  const auto out_proto = parse_bytes(rewritten->model_bytes);
  EXPECT_EQ(find_node(out_proto, "id_w"), nullptr);
  const auto* gemm = find_node(out_proto, "fc0");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->input(1), "fc_w");
  expect_near_all(run_opencv(rewritten->model_bytes, options),
                  testing::tiny_reference(options, testing::tiny_input(options)), 1e-5F);
}

TEST(OpenCvRewrite, IdentityProducingTheGraphOutputKeepsTheOutputName) {
  for (const char* end_op : {"", "Softmax"}) {
    TinyModelOptions options;
    options.identity_to_output = true;
    options.end_op = end_op;
    auto rewritten = rewrite(testing::make_tiny_classifier(options));
    ASSERT_TRUE(rewritten) << rewritten.error().message;
    EXPECT_EQ(rewritten->identities_removed, 1);
    const auto out_proto = parse_bytes(rewritten->model_bytes);
    EXPECT_EQ(find_node(out_proto, "id_out"), nullptr);
    const auto& last = out_proto.graph().node(out_proto.graph().node_size() - 1);
    EXPECT_EQ(last.output(0), "logits");
    EXPECT_EQ(out_proto.graph().output(0).name(), "logits");
    expect_near_all(run_opencv(rewritten->model_bytes, options),
                    testing::tiny_reference(options, testing::tiny_input(options)), 1e-5F);
  }
}

TEST(OpenCvRewrite, AllRewritesTogetherMatchTheReference) {
  TinyModelOptions options;
  options.activation = Activation::kClipConstants;
  options.identity_over_weight = true;
  options.identity_to_output = true;
  auto rewritten = rewrite(testing::make_tiny_classifier(options));
  ASSERT_TRUE(rewritten) << rewritten.error().message;
  EXPECT_EQ(rewritten->clips_rewritten, 1);
  EXPECT_EQ(rewritten->identities_removed, 2);
  expect_near_all(run_opencv(rewritten->model_bytes, options),
                  testing::tiny_reference(options, testing::tiny_input(options)), 1e-5F);
}

TEST(OpenCvRewrite, LeavesTheSourceModelUntouched) {
  TinyModelOptions options;
  options.activation = Activation::kClipInitializers;
  options.identity_over_weight = true;
  auto model = OnnxModel::from_proto(testing::make_tiny_classifier(options), "m.onnx");
  ASSERT_TRUE(model);
  const std::string before = model->proto().SerializeAsString();
  ASSERT_TRUE(rewrite_for_opencv(*model));
  EXPECT_EQ(model->proto().SerializeAsString(), before);
}

TEST(OpenCvRewrite, ReportsUnsupportedOpsWithTheirNodes) {
  TinyModelOptions options;
  options.unsupported_op = "NonZero";
  auto rewritten = rewrite(testing::make_tiny_classifier(options));
  ASSERT_TRUE(rewritten) << rewritten.error().message;
  EXPECT_EQ(rewritten->unsupported_ops, std::vector<std::string>{"NonZero"});
  ASSERT_EQ(rewritten->unsupported_nodes.size(), 1U);
  EXPECT_EQ(rewritten->unsupported_nodes[0].op_type, "NonZero");
  EXPECT_EQ(rewritten->unsupported_nodes[0].node, "bad0");
  EXPECT_EQ(describe_unsupported(*rewritten, "model.onnx"),
            "model.onnx: OpenCV " CV_VERSION
            " DNN cannot run op 'NonZero' (node 'bad0'); the CPU backend "
            "cannot load this model");

  OpenCvRewrite clean;
  EXPECT_EQ(describe_unsupported(clean, "model.onnx"), "");
}

TEST(OpenCvRewrite, DescribeUnsupportedCountsFurtherNodes) {
  OpenCvRewrite rewrite;
  rewrite.unsupported_ops = {"NonZero", "Where"};
  rewrite.unsupported_nodes = {{"NonZero", "nz0"}, {"Where", "w0"}, {"NonZero", "nz1"}};
  EXPECT_EQ(describe_unsupported(rewrite, "m.onnx"),
            "m.onnx: OpenCV " CV_VERSION
            " DNN cannot run op 'NonZero' (node 'nz0') and 2 more nodes (ops: "
            "NonZero, Where); the CPU backend cannot load this model");
}

TEST(OpenCvRewrite, OpsOfOtherDomainsAreUnsupported) {
  auto proto = testing::make_tiny_classifier();
  proto.mutable_graph()->mutable_node(1)->set_domain("com.example");
  auto rewritten = rewrite(proto);
  ASSERT_TRUE(rewritten);
  EXPECT_EQ(rewritten->unsupported_ops, std::vector<std::string>{"com.example.Relu"});
}

}  // namespace
}  // namespace hdeploy::onnx
