#include "hdeploy/compile/verify.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace hdeploy::compile {

Result<OnnxIo> onnx_io(const onnx::OnnxModel& model) {
  const auto inputs = model.inputs();
  const auto outputs = model.outputs();
  if (inputs.size() != 1 || inputs[0].dims.size() != 4 || inputs[0].dims[0] != 1 ||
      inputs[0].dims[1] != 3 || inputs[0].dims[2] <= 0 || inputs[0].dims[3] <= 0) {
    return fail(ErrorCode::kUnsupported,
                "{}: hdeploy compiles image classifiers with one 1x3xHxW input; run `hdeploy "
                "check {}` for details",
                model.name(), model.name());
  }
  OnnxIo io;
  io.input_name = inputs[0].name;
  io.channels = inputs[0].dims[1];
  io.height = inputs[0].dims[2];
  io.width = inputs[0].dims[3];
  if (outputs.size() != 1) {
    return fail(ErrorCode::kUnsupported,
                "{}: has {} outputs; hdeploy compiles classifiers with one", model.name(),
                outputs.size());
  }
  std::int64_t classes = 1;
  int non_unit = 0;
  for (const auto d : outputs[0].dims) {
    if (d <= 0) {
      return fail(ErrorCode::kUnsupported, "{}: output '{}' has a dynamic dimension", model.name(),
                  outputs[0].name);
    }
    if (d != 1) {
      classes = d;
      ++non_unit;
    }
  }
  if (non_unit > 1) {
    return fail(ErrorCode::kUnsupported,
                "{}: output '{}' is not 1xC: hdeploy compiles classifiers with one class vector",
                model.name(), outputs[0].name);
  }
  io.classes = classes;
  return io;
}

Result<std::string> hef_arch_for(const std::string& hw_arch) {
  if (hw_arch == "hailo8") return std::string("HAILO8");
  if (hw_arch == "hailo8l") return std::string("HAILO8L");
  return fail(ErrorCode::kInvalidArgument,
              "hw arch '{}' is not supported by hdeploy compile; use hailo8l (Raspberry Pi AI "
              "Kit) or hailo8 (AI HAT+ 26 TOPS)",
              hw_arch);
}

HefCheck verify_hef(const hef::HefInfo& info, const std::string& hw_arch, const OnnxIo& io) {
  HefCheck check;
  check.arch = info.proto_header.arch;
  check.compiler_version = info.proto_header.compiler_version;
  const auto expected_arch = hef_arch_for(hw_arch);
  if (!expected_arch) {
    check.problems.push_back(expected_arch.error().message);
  } else if (check.arch != *expected_arch) {
    check.problems.push_back(fmt::format("the HEF is compiled for {} but --hw-arch {} needs {}",
                                         check.arch, hw_arch, *expected_arch));
  }
  if (info.network_groups.empty()) {
    check.problems.push_back("the HEF has no network group");
    return check;
  }
  const auto& group = info.network_groups.front();
  if (group.inputs.empty()) {
    check.problems.push_back(fmt::format("network group '{}' has no input", group.name));
  } else {
    const auto& in = group.inputs.front();
    check.input = {in.height, in.width, in.features};
    if (in.height != io.height || in.width != io.width || in.features != io.channels) {
      check.problems.push_back(fmt::format(
          "the HEF's input is {}x{}x{} but the ONNX model takes 1x{}x{}x{} (expected {}x{}x{})",
          in.height, in.width, in.features, io.channels, io.height, io.width, io.height, io.width,
          io.channels));
    }
  }
  if (group.outputs.empty()) {
    check.problems.push_back(fmt::format("network group '{}' has no output", group.name));
  } else {
    const auto& out = group.outputs.front();
    check.output_classes = out.nms ? out.nms->number_of_classes : out.features;
    if (group.outputs.size() != 1) {
      check.problems.push_back(
          fmt::format("the HEF has {} outputs but the ONNX model has one (a classifier)",
                      group.outputs.size()));
    }
    if (check.output_classes != io.classes) {
      check.problems.push_back(
          fmt::format("the HEF outputs {} classes but the ONNX model outputs {}",
                      check.output_classes, io.classes));
    }
  }
  check.ok = check.problems.empty();
  return check;
}

Result<HefCheck> verify_hef_file(const std::filesystem::path& hef, const std::string& hw_arch,
                                 const OnnxIo& io) {
  HDEPLOY_ASSIGN_OR_RETURN(hef::HefInfo info, hef::HefReader::read_file(hef));
  return verify_hef(info, hw_arch, io);
}

}  // namespace hdeploy::compile
