#pragma once
// Checks that a HEF the DFC produced is the model that was asked for: compiled for the
// requested arch, taking the ONNX model's H×W×3 image and giving its class count.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"
#include "hdeploy/hef/hef_reader.hpp"
#include "hdeploy/onnx/model.hpp"

namespace hdeploy::compile {

// What the ONNX model takes and gives: input 1x3xHxW, output 1xC (or 1xCx1x1).
struct OnnxIo {
  std::string input_name;
  std::int64_t height = 0;
  std::int64_t width = 0;
  std::int64_t channels = 0;
  std::int64_t classes = 0;
};
// Errors: kUnsupported naming the model when it has not exactly one input 1x3xHxW and one
// output with a single non-1 dimension.
Result<OnnxIo> onnx_io(const onnx::OnnxModel& model);

// The arch a HEF compiled for `hw_arch` carries, as HefReader names it: hailo8 → HAILO8,
// hailo8l → HAILO8L. Errors: kInvalidArgument for others (hdeploy targets the Hailo-8 family).
Result<std::string> hef_arch_for(const std::string& hw_arch);

struct HefCheck {
  bool ok = false;
  std::string arch;
  std::string compiler_version;
  std::array<std::int64_t, 3> input{0, 0, 0};  // H, W, C of the first input vstream
  std::int64_t output_classes = 0;             // features of the first output vstream
  std::vector<std::string> problems;           // each naming both values
};

// Compares a read HEF (its first network group) with the request. Pure.
HefCheck verify_hef(const hef::HefInfo& info, const std::string& hw_arch, const OnnxIo& io);
// Reads and compares. Errors: the reader's (a HEF that cannot be read at all).
Result<HefCheck> verify_hef_file(const std::filesystem::path& hef, const std::string& hw_arch,
                                 const OnnxIo& io);

}  // namespace hdeploy::compile
