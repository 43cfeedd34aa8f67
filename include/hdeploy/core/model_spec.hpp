#pragma once
// Model specs (TOML): what a model is, how its input is prepared, and how it is compiled for
// Hailo. models/resnet18.toml and models/mobilenet_v2.toml ship with hdeploy; a user's own
// spec file reads the same way.

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy {

// How the preprocessing resizes before the crop.
enum class ResizeMode {
  kShorterSide,  // torchvision Resize(int): shorter side to `resize`, the longer truncated
  kExact,        // torchvision Resize((h, w))
  kNone,
};

// The spec file's spelling: "shorter_side", "exact", "none".
const char* to_string(ResizeMode mode);

struct PreprocessSpec {
  ResizeMode resize_mode = ResizeMode::kShorterSide;
  int resize = 256;                        // kShorterSide: the shorter side's target, in pixels
  int resize_height = 0;                   // kExact
  int resize_width = 0;                    // kExact
  std::string interpolation = "bilinear";  // only PIL's antialiased bilinear is supported
  bool antialias = true;
  int crop_height = 224;  // centre crop, pixels
  int crop_width = 224;
  std::array<float, 3> mean{0.485F, 0.456F, 0.406F};  // per RGB channel, in 0-1 units
  std::array<float, 3> std{0.229F, 0.224F, 0.225F};
  bool exif_orientation = true;  // apply the EXIF Orientation tag before resizing
};

struct HailoSpec {
  std::string hw_arch = "hailo8l";
  int optimization_level = 2;
  int compression_level = 2;
  std::string end_node = "auto";  // "auto": the last Gemm/MatMul
  // Extra model-script (.alls) lines appended after the ones hdeploy writes, one command each
  // ([hailo] model_script = ["...", ...]); single lines, no newlines.
  std::vector<std::string> model_script;
};

struct ModelSpec {
  std::string name;         // e.g. "resnet18"
  std::string torchvision;  // torchvision.models builder name, e.g. "resnet18"; empty if none
  int num_classes = 1000;
  std::string labels;  // "torchvision:imagenet" or a path (resolved against the spec)
  int input_height = 224;
  int input_width = 224;
  std::string color = "RGB";
  PreprocessSpec preprocess;
  HailoSpec hailo;
  std::filesystem::path source;  // the file it was read from; empty if built in code
};

// Reads and validates a spec file. Errors: kNotFound, kInvalidFormat (TOML syntax, with line),
// kInvalidArgument (a value out of range, naming the key).
Result<ModelSpec> load_model_spec(const std::filesystem::path& path);
Result<ModelSpec> parse_model_spec(std::string_view toml_text, const std::filesystem::path& source);

// Resolves what the user typed after a command: a path to a .toml file, or the name of a spec
// shipped with hdeploy ("resnet18" → <models dir>/resnet18.toml). Errors: kNotFound listing
// the shipped names.
Result<std::filesystem::path> resolve_model_spec(const std::string& name_or_path,
                                                 const std::filesystem::path& models_dir);

}  // namespace hdeploy
