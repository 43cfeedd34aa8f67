#include "testing/test_models.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace hdeploy::testing {
namespace {

constexpr std::int64_t kConvOut = 4;
constexpr std::int64_t kKernel = 3;

float conv_weight(std::int64_t i) { return static_cast<float>((i * 37) % 17 - 8) / 40.0F; }
float conv_bias(std::int64_t o) { return 0.05F * (static_cast<float>(o) - 1.5F); }
float fc_weight(std::int64_t i) { return static_cast<float>((i * 29) % 13 - 6) / 10.0F; }
float fc_bias(std::int64_t k) { return 0.1F * static_cast<float>(k) - 0.2F; }

void set_float_raw(::onnx::TensorProto* tensor, const std::vector<float>& values) {
  tensor->set_data_type(::onnx::TensorProto::FLOAT);
  tensor->set_raw_data(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

void add_initializer(::onnx::GraphProto* graph, const std::string& name,
                     const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
  auto* tensor = graph->add_initializer();
  tensor->set_name(name);
  for (auto d : dims) tensor->add_dims(d);
  set_float_raw(tensor, values);
}

::onnx::NodeProto* add_node(::onnx::GraphProto* graph, const std::string& op,
                            const std::string& name, const std::vector<std::string>& inputs,
                            const std::vector<std::string>& outputs) {
  auto* node = graph->add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (const auto& in : inputs) node->add_input(in);
  for (const auto& out : outputs) node->add_output(out);
  return node;
}

void add_ints(::onnx::NodeProto* node, const std::string& name,
              const std::vector<std::int64_t>& v) {
  auto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(::onnx::AttributeProto::INTS);
  for (auto x : v) attr->add_ints(x);
}
void add_int(::onnx::NodeProto* node, const std::string& name, std::int64_t v) {
  auto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(::onnx::AttributeProto::INT);
  attr->set_i(v);
}
void add_float(::onnx::NodeProto* node, const std::string& name, float v) {
  auto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(::onnx::AttributeProto::FLOAT);
  attr->set_f(v);
}

void set_value_info(::onnx::ValueInfoProto* value, const std::string& name, std::int32_t elem_type,
                    const std::vector<std::int64_t>& dims, const std::string& dim0_param) {
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  auto* shape = tensor->mutable_shape();
  for (std::size_t i = 0; i < dims.size(); ++i) {
    auto* dim = shape->add_dim();
    if (i == 0 && !dim0_param.empty()) {
      dim->set_dim_param(dim0_param);
    } else {
      dim->set_dim_value(dims[i]);
    }
  }
}

void add_constant_scalar(::onnx::GraphProto* graph, const std::string& name, float value) {
  auto* node = add_node(graph, "Constant", name + "_node", {}, {name});
  auto* attr = node->add_attribute();
  attr->set_name("value");
  attr->set_type(::onnx::AttributeProto::TENSOR);
  set_float_raw(attr->mutable_t(), {value});
}

}  // namespace

::onnx::ModelProto make_tiny_classifier(const TinyModelOptions& o) {
  ::onnx::ModelProto model;
  model.set_ir_version(o.ir_version);
  model.set_producer_name("hdeploy-test");
  model.set_producer_version("1.0");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  auto* graph = model.mutable_graph();
  graph->set_name("tiny");

  set_value_info(graph->add_input(), "input", o.input_elem_type,
                 {1, o.input_channels, o.height, o.width}, o.batch_dim_param);
  if (o.second_input)
    set_value_info(graph->add_input(), "aux", ::onnx::TensorProto::FLOAT, {1, 4}, "");

  std::vector<float> w(static_cast<std::size_t>(kConvOut * o.input_channels * kKernel * kKernel));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = conv_weight(static_cast<std::int64_t>(i));
  std::vector<float> b(kConvOut);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = conv_bias(static_cast<std::int64_t>(i));
  add_initializer(graph, "conv_w", {kConvOut, o.input_channels, kKernel, kKernel}, w);
  add_initializer(graph, "conv_b", {kConvOut}, b);
  auto* conv = add_node(graph, "Conv", "conv0", {"input", "conv_w", "conv_b"}, {"conv_out"});
  if (o.conv_kernel_shape) add_ints(conv, "kernel_shape", {kKernel, kKernel});
  add_ints(conv, "pads", {1, 1, 1, 1});
  add_ints(conv, "strides", {1, 1});

  switch (o.activation) {
    case Activation::kRelu:
      add_node(graph, "Relu", "act0", {"conv_out"}, {"act_out"});
      break;
    case Activation::kClipAttributes: {
      auto* clip = add_node(graph, "Clip", "act0", {"conv_out"}, {"act_out"});
      add_float(clip, "min", o.clip_min);
      add_float(clip, "max", o.clip_max);
      break;
    }
    case Activation::kClipInitializers: {
      add_initializer(graph, "clip_min", {}, {o.clip_min});
      auto* max = graph->add_initializer();  // float_data encoding, the other one PyTorch uses
      max->set_name("clip_max");
      max->set_data_type(::onnx::TensorProto::FLOAT);
      max->add_float_data(o.clip_max);
      add_node(graph, "Clip", "act0", {"conv_out", "clip_min", "clip_max"}, {"act_out"});
      break;
    }
    case Activation::kClipConstants:
      add_constant_scalar(graph, "clip_min_c", o.clip_min);
      add_constant_scalar(graph, "clip_max_c", o.clip_max);
      add_node(graph, "Clip", "act0", {"conv_out", "clip_min_c", "clip_max_c"}, {"act_out"});
      break;
    case Activation::kClipMaxOnly:
      add_initializer(graph, "clip_max", {}, {o.clip_max});
      add_node(graph, "Clip", "act0", {"conv_out", "", "clip_max"}, {"act_out"});
      break;
    case Activation::kClipMinOnly:
      add_initializer(graph, "clip_min", {}, {o.clip_min});
      add_node(graph, "Clip", "act0", {"conv_out", "clip_min"}, {"act_out"});
      break;
    case Activation::kClipDynamic: {
      auto* reduce = add_node(graph, "ReduceMin", "dyn_min", {"conv_out"}, {"dyn_min_out"});
      add_int(reduce, "keepdims", 0);
      add_node(graph, "Clip", "act0", {"conv_out", "dyn_min_out"}, {"act_out"});
      break;
    }
  }
  if (!o.unsupported_op.empty())
    add_node(graph, o.unsupported_op, "bad0", {"act_out"}, {"bad_out"});

  add_node(graph, "GlobalAveragePool", "gap0", {"act_out"}, {"gap_out"});
  auto* flatten = add_node(graph, "Flatten", "flatten0", {"gap_out"}, {"flat_out"});
  add_int(flatten, "axis", 1);

  std::vector<float> fw(static_cast<std::size_t>(o.classes * kConvOut));
  for (std::size_t i = 0; i < fw.size(); ++i) fw[i] = fc_weight(static_cast<std::int64_t>(i));
  std::vector<float> fb(static_cast<std::size_t>(o.classes));
  for (std::size_t i = 0; i < fb.size(); ++i) fb[i] = fc_bias(static_cast<std::int64_t>(i));
  add_initializer(graph, "fc_w", {o.classes, kConvOut}, fw);
  add_initializer(graph, "fc_b", {o.classes}, fb);
  std::string fc_w = "fc_w";
  if (o.identity_over_weight) {
    add_node(graph, "Identity", "id_w", {"fc_w"}, {"fc_w_id"});
    fc_w = "fc_w_id";
  }
  const bool more_after_fc = !o.end_op.empty() || o.identity_to_output;
  std::string last = more_after_fc ? "fc_out" : "logits";
  auto* gemm = add_node(graph, "Gemm", "fc0", {"flat_out", fc_w, "fc_b"}, {last});
  add_float(gemm, "alpha", 1.0F);
  add_float(gemm, "beta", 1.0F);
  add_int(gemm, "transB", 1);
  if (!o.end_op.empty()) {
    std::string out = o.identity_to_output ? "sm_out" : "logits";
    auto* sm = add_node(graph, o.end_op, "softmax0", {last}, {out});
    add_int(sm, "axis", 1);
    last = out;
  }
  if (o.identity_to_output) add_node(graph, "Identity", "id_out", {last}, {"logits"});
  set_value_info(graph->add_output(), "logits", ::onnx::TensorProto::FLOAT, {1, o.classes},
                 o.batch_dim_param);
  return model;
}

std::vector<std::uint8_t> serialize(const ::onnx::ModelProto& model) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw std::runtime_error("serialize failed");
  return {bytes.begin(), bytes.end()};
}

std::vector<float> tiny_input(const TinyModelOptions& o) {
  std::vector<float> x(static_cast<std::size_t>(o.input_channels * o.height * o.width));
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(static_cast<std::int64_t>(i * 7919 % 101)) / 50.0F - 1.0F;
  }
  return x;
}

std::vector<float> tiny_reference(const TinyModelOptions& o, std::span<const float> x) {
  const std::int64_t c_in = o.input_channels;
  const std::int64_t h = o.height;
  const std::int64_t w = o.width;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  switch (o.activation) {
    case Activation::kRelu:
      lo = 0.0;
      break;
    case Activation::kClipAttributes:
    case Activation::kClipInitializers:
    case Activation::kClipConstants:
      lo = o.clip_min;
      hi = o.clip_max;
      break;
    case Activation::kClipMaxOnly:
      hi = o.clip_max;
      break;
    case Activation::kClipMinOnly:
      lo = o.clip_min;
      break;
    case Activation::kClipDynamic:
      throw std::logic_error("no reference for a dynamic Clip");
  }
  std::vector<double> pooled(kConvOut, 0.0);
  for (std::int64_t oc = 0; oc < kConvOut; ++oc) {
    for (std::int64_t y = 0; y < h; ++y) {
      for (std::int64_t xx = 0; xx < w; ++xx) {
        double acc = conv_bias(oc);
        for (std::int64_t ic = 0; ic < c_in; ++ic) {
          for (std::int64_t ky = 0; ky < kKernel; ++ky) {
            for (std::int64_t kx = 0; kx < kKernel; ++kx) {
              const std::int64_t iy = y + ky - 1;
              const std::int64_t ix = xx + kx - 1;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const auto wi = ((oc * c_in + ic) * kKernel + ky) * kKernel + kx;
              acc += static_cast<double>(conv_weight(wi)) *
                     x[static_cast<std::size_t>((ic * h + iy) * w + ix)];
            }
          }
        }
        pooled[static_cast<std::size_t>(oc)] += std::clamp(acc, lo, hi);
      }
    }
    pooled[static_cast<std::size_t>(oc)] /= static_cast<double>(h * w);
  }
  std::vector<double> logits(static_cast<std::size_t>(o.classes));
  for (std::int64_t k = 0; k < o.classes; ++k) {
    double acc = fc_bias(k);
    for (std::int64_t i = 0; i < kConvOut; ++i) {
      acc += static_cast<double>(fc_weight(k * kConvOut + i)) * pooled[static_cast<std::size_t>(i)];
    }
    logits[static_cast<std::size_t>(k)] = acc;
  }
  if (!o.end_op.empty()) {
    const double max = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (double v : logits) sum += std::exp(v - max);
    for (double& v : logits) {
      v = o.end_op == "LogSoftmax" ? (v - max - std::log(sum)) : std::exp(v - max) / sum;
    }
  }
  return {logits.begin(), logits.end()};
}

TempFile::TempFile(const std::string& stem) {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() / ("hdeploy_test_" + std::to_string(::getpid()) +
                                                    "_" + std::to_string(counter++) + "_" + stem);
}

TempFile::~TempFile() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempFile::write(std::span<const std::uint8_t> bytes) const {
  std::ofstream out(path_, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path_.string());
}

}  // namespace hdeploy::testing
