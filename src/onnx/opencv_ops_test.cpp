// The op table of opencv_supports_op() against the OpenCV this build links: one single-node
// model per op type of the installed onnx's ai.onnx schema, imported by cv::dnn; an op is
// supported unless the importer answers that it cannot create a layer of that type. Run on
// Debian 12 (OpenCV 4.6) and Debian 13 (OpenCV 4.10), this is how each version's table was
// measured, and it fails when a table and its OpenCV disagree.

#include <gtest/gtest.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/core/version.hpp>
#include <opencv2/dnn.hpp>
#include <set>
#include <string>

#include "hdeploy/onnx/opencv_rewrite.hpp"

namespace hdeploy::onnx {
namespace {

// Whether cv::dnn's importer knows `op`: a model of one node with the schema's minimum number
// of float inputs and outputs (1x3x4x4), no attributes. Failing for any other reason (a missing
// attribute, a shape) still means a parser took the node.
bool importer_knows(const ::onnx::OpSchema& schema) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(schema.SinceVersion());
  auto* graph = model.mutable_graph();
  graph->set_name("g");
  auto* node = graph->add_node();
  node->set_op_type(schema.Name());
  node->set_name("n0");
  const auto add_value = [](auto* list, const char* prefix, int index) {
    std::string name = prefix;
    name.append(std::to_string(index));
    auto* value = list->Add();
    value->set_name(name);
    auto* type = value->mutable_type()->mutable_tensor_type();
    type->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int d : {1, 3, 4, 4}) type->mutable_shape()->add_dim()->set_dim_value(d);
    return name;
  };
  for (int i = 0; i < std::max(schema.min_input(), 1); ++i) {
    node->add_input(add_value(graph->mutable_input(), "x", i));
  }
  for (int i = 0; i < std::max(schema.min_output(), 1); ++i) {
    node->add_output(add_value(graph->mutable_output(), "y", i));
  }
  const std::string bytes = model.SerializeAsString();
  try {
    cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  } catch (const cv::Exception& e) {
    return std::string(e.what()).find("Can't create layer") == std::string::npos;
  }
  return true;
}

TEST(OpenCvSupportsOp, TableMatchesTheLinkedOpenCv) {
  std::set<std::string> measured;
  std::set<std::string> names;
  for (const auto& schema : ::onnx::OpSchemaRegistry::get_all_schemas()) {
    if (!schema.domain().empty() || schema.Deprecated()) continue;
    if (!names.insert(schema.Name()).second) continue;
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    if (importer_knows(schema)) measured.insert(schema.Name());
  }
  ASSERT_GT(names.size(), 100U) << "the onnx schema registry looks empty";
  std::string missing_from_table;
  std::string not_imported;
  for (const auto& op : names) {
    const bool table = opencv_supports_op(op);
    const bool live = measured.count(op) > 0;
    if (live && !table) missing_from_table.append(" ").append(op);
    if (table && !live) not_imported.append(" ").append(op);
  }
  EXPECT_TRUE(missing_from_table.empty())
      << "OpenCV " << CV_VERSION << " imports ops its table lacks:" << missing_from_table;
  EXPECT_TRUE(not_imported.empty())
      << "OpenCV " << CV_VERSION << "'s table lists ops it does not import:" << not_imported;
}

}  // namespace
}  // namespace hdeploy::onnx
