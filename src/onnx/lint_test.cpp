#include "hdeploy/onnx/lint.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "testing/test_models.hpp"

namespace hdeploy::onnx {
namespace {

using testing::TinyModelOptions;

LintReport lint(const TinyModelOptions& options) {
  auto model = OnnxModel::from_proto(testing::make_tiny_classifier(options), "m.onnx");
  EXPECT_TRUE(model);
  return lint_for_hailo(*model);
}

std::vector<const Finding*> with_code(const LintReport& report, const std::string& code) {
  std::vector<const Finding*> found;
  for (const auto& f : report.findings) {
    if (f.code == code) found.push_back(&f);
  }
  return found;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Lint, CleanModelHasOnlyTheEndNodeInfo) {
  const auto report = lint({});
  EXPECT_FALSE(report.has_errors());
  EXPECT_EQ(report.suggested_end_node, "fc0");
  ASSERT_EQ(report.findings.size(), 1U) << report.findings[0].code;
  EXPECT_EQ(report.findings[0].severity, Severity::kInfo);
  EXPECT_EQ(report.findings[0].code, "end-node");
  EXPECT_TRUE(contains(report.findings[0].message, "'fc0'"));
}

TEST(Lint, OpsetOutsideRangeIsAnError) {
  for (std::int64_t opset : {10, 18}) {
    TinyModelOptions options;
    options.opset = opset;
    const auto report = lint(options);
    const auto found = with_code(report, "opset-range");
    ASSERT_EQ(found.size(), 1U) << "opset " << opset;
    EXPECT_EQ(found[0]->severity, Severity::kError);
    EXPECT_TRUE(contains(found[0]->message, std::to_string(opset)));
    EXPECT_TRUE(contains(found[0]->fix, "opset_version"));
    EXPECT_TRUE(report.has_errors());
  }
  for (std::int64_t opset : {11, 17}) {
    TinyModelOptions options;
    options.opset = opset;
    EXPECT_TRUE(with_code(lint(options), "opset-range").empty()) << "opset " << opset;
  }
}

TEST(Lint, IrVersionAboveNineIsAnError) {
  TinyModelOptions options;
  options.ir_version = 10;
  const auto report = lint(options);
  const auto found = with_code(report, "ir-version");
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0]->severity, Severity::kError);
  EXPECT_TRUE(contains(found[0]->message, "10"));
  EXPECT_TRUE(contains(found[0]->fix, "version_converter"));
  options.ir_version = 9;
  EXPECT_TRUE(with_code(lint(options), "ir-version").empty());
}

TEST(Lint, DynamicDimensionsOnInputAndOutputAreErrors) {
  TinyModelOptions options;
  options.batch_dim_param = "batch";
  const auto report = lint(options);
  const auto found = with_code(report, "dynamic-shape");
  ASSERT_EQ(found.size(), 2U);  // input and output
  EXPECT_TRUE(contains(found[0]->message, "input 'input'"));
  EXPECT_TRUE(contains(found[0]->message, "'batch'"));
  EXPECT_TRUE(contains(found[1]->message, "output 'logits'"));
  EXPECT_TRUE(contains(found[0]->fix, "1x3x224x224"));
  // A dynamic batch is reported once, as dynamic-shape, not again as a layout problem.
  EXPECT_TRUE(with_code(report, "input-layout").empty());
}

TEST(Lint, InputThatIsNotFloat1x3HxWIsAnError) {
  TinyModelOptions uint8_input;
  uint8_input.input_elem_type = ::onnx::TensorProto::UINT8;
  const auto report = lint(uint8_input);
  auto found = with_code(report, "input-layout");
  ASSERT_EQ(found.size(), 1U);
  EXPECT_TRUE(contains(found[0]->message, "uint8"));

  TinyModelOptions one_channel;
  one_channel.input_channels = 1;
  const auto report2 = lint(one_channel);
  found = with_code(report2, "input-layout");
  ASSERT_EQ(found.size(), 1U);
  EXPECT_TRUE(contains(found[0]->message, "1x1x8x8"));
  EXPECT_EQ(found[0]->severity, Severity::kError);
}

TEST(Lint, MoreThanOneInputIsAnError) {
  TinyModelOptions options;
  options.second_input = true;
  const auto report = lint(options);
  const auto found = with_code(report, "input-count");
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0]->severity, Severity::kError);
  EXPECT_TRUE(contains(found[0]->message, "2 inputs"));
}

TEST(Lint, ConvWithoutKernelShapeIsAnError) {
  TinyModelOptions options;
  options.conv_kernel_shape = false;
  const auto report = lint(options);
  const auto found = with_code(report, "conv-kernel-shape");
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0]->severity, Severity::kError);
  EXPECT_TRUE(contains(found[0]->message, "'conv0'"));
  EXPECT_TRUE(contains(found[0]->fix, "dynamo=False"));
}

TEST(Lint, SoftmaxAtTheEndIsAWarningNamingTheGemm) {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    TinyModelOptions options;
    options.end_op = op;
    const auto report = lint(options);
    const auto found = with_code(report, "softmax-at-end");
    ASSERT_EQ(found.size(), 1U) << op;
    EXPECT_EQ(found[0]->severity, Severity::kWarning);
    EXPECT_TRUE(contains(found[0]->message, op));
    EXPECT_TRUE(contains(found[0]->fix, "'fc0'"));
    EXPECT_TRUE(contains(found[0]->fix, "host"));
    EXPECT_FALSE(report.has_errors());
  }
}

TEST(Lint, SoftmaxFeedingAnIdentityOutputIsNotAtTheEnd) {
  // Conservative: only a softmax that produces a graph output is "at the end".
  TinyModelOptions options;
  options.end_op = "Softmax";
  options.identity_to_output = true;
  EXPECT_TRUE(with_code(lint(options), "softmax-at-end").empty());
}

TEST(Lint, OpsOpenCvCannotImportAreWarningsNamingOpAndNode) {
  TinyModelOptions options;
  options.unsupported_op = "NonZero";
  const auto report = lint(options);
  const auto found = with_code(report, "opencv-unsupported-op");
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0]->severity, Severity::kWarning);
  EXPECT_TRUE(contains(found[0]->message, "'NonZero'"));
  EXPECT_TRUE(contains(found[0]->message, "'bad0'"));
  EXPECT_FALSE(report.has_errors());
}

TEST(Lint, SuggestedEndNodeIsTheLastGemmOrMatMulInGraphOrder) {
  auto proto = testing::make_tiny_classifier();
  auto* graph = proto.mutable_graph();
  auto* mm = graph->add_node();  // a MatMul after the Gemm, dangling
  mm->set_op_type("MatMul");
  mm->set_name("late_mm");
  mm->add_input("logits");
  mm->add_input("fc_w");
  mm->add_output("mm_out");
  auto model = OnnxModel::from_proto(std::move(proto), "m.onnx");
  ASSERT_TRUE(model);
  EXPECT_EQ(lint_for_hailo(*model).suggested_end_node, "late_mm");

  auto no_fc = testing::make_tiny_classifier();
  no_fc.mutable_graph()->mutable_node(4)->set_op_type("Relu");  // Gemm gone
  auto model2 = OnnxModel::from_proto(std::move(no_fc), "m.onnx");
  ASSERT_TRUE(model2);
  const auto report = lint_for_hailo(*model2);
  EXPECT_EQ(report.suggested_end_node, "");
  EXPECT_TRUE(with_code(report, "end-node").empty());
}

TEST(Lint, SeverityNames) {
  EXPECT_STREQ(to_string(Severity::kError), "error");
  EXPECT_STREQ(to_string(Severity::kWarning), "warning");
  EXPECT_STREQ(to_string(Severity::kInfo), "info");
}

}  // namespace
}  // namespace hdeploy::onnx
