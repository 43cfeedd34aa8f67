// hdeploy preprocess IMAGE --model SPEC -o OUT.npy: runs a spec's evaluation preprocessing
// (bit-exact with torchvision on PIL) on one image and saves the backend input as .npy, so it
// can be compared with PyTorch or fed to a backend or the Dataflow Compiler.

#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/npy.hpp"
#include "hdeploy/core/sha256.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"

namespace hdeploy::cli {

using preprocess::center_crop_offsets;
using preprocess::CropOffsets;
using preprocess::DecodeOptions;
using preprocess::Image;
using preprocess::load_image;
using preprocess::Preprocessor;
using preprocess::to_nchw_float;
using preprocess::to_nhwc_uint8;

namespace {
namespace fs = std::filesystem;

constexpr const char* kLayoutFloat = "nchw-float";
constexpr const char* kLayoutUint8 = "nhwc-uint8";

class PreprocessCommand : public Command {
 public:
  PreprocessCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "preprocess",
        "Decode an image and run a model spec's preprocessing (PIL decode, EXIF orientation, "
        "PIL bilinear resize, centre crop, normalisation: bit-exact with torchvision), saving "
        "the network input as .npy");
    app_->add_option("IMAGE", image_, "the image: JPEG or PNG")->required();
    app_->add_option("--model", spec_name_,
                     "model spec: a shipped name (resnet18, mobilenet_v2) or a .toml path")
        ->required();
    app_->add_option("-o,--output", output_, "the .npy file to write")->required();
    app_->add_option("--layout", layout_,
                     "nchw-float: float32 (1,3,H,W), normalised, the CPU backend's input; "
                     "nhwc-uint8: uint8 (1,H,W,3) RGB, the Hailo input")
        ->capture_default_str();
    app_->add_option("--max-pixels", max_pixels_,
                     "refuse images with more pixels than this, before decoding (a guard "
                     "against decompression bombs; PIL's default limit), pixels")
        ->capture_default_str();
    app_->add_flag("--force", force_, "overwrite an existing output file");
    app_->add_flag("--json", json_, "print one JSON object instead of a text line");
  }

  Status run() override {
    if (layout_ != kLayoutFloat && layout_ != kLayoutUint8) {
      return fail(ErrorCode::kUsage, "--layout {}: must be {} or {}", layout_, kLayoutFloat,
                  kLayoutUint8);
    }
    if (max_pixels_ == 0) {
      return fail(ErrorCode::kUsage, "--max-pixels 0: must be at least 1 pixel");
    }
    // Everything the user named is checked before the image is decoded.
    std::error_code ec;
    if (fs::is_directory(image_, ec)) {
      return fail(ErrorCode::kIo, "{}: is a directory; give the path of a JPEG or PNG file",
                  image_.string());
    }
    HDEPLOY_TRY(check_readable_file(image_));
    HDEPLOY_ASSIGN_OR_RETURN(const fs::path spec_path,
                             resolve_model_spec(spec_name_, ctx_.models_dir()));
    HDEPLOY_ASSIGN_OR_RETURN(const ModelSpec spec, load_model_spec(spec_path));
    const Overwrite overwrite = force_ ? Overwrite::kAllow : Overwrite::kRefuse;
    HDEPLOY_TRY(check_writable_output(output_, overwrite));

    DecodeOptions decode;
    decode.max_pixels = max_pixels_;
    const Preprocessor preprocessor(spec, decode);
    HDEPLOY_ASSIGN_OR_RETURN(const Image decoded,
                             load_image(image_, preprocessor.decode_options()));
    const auto [resized_width, resized_height] =
        preprocessor.resized_size(decoded.width, decoded.height);
    const Image prepared = preprocessor.resize_and_crop(decoded);
    const CropOffsets crop =
        center_crop_offsets(resized_height, resized_width, prepared.height, prepared.width);

    const bool as_float = layout_ == kLayoutFloat;
    const auto h = static_cast<std::int64_t>(prepared.height);
    const auto w = static_cast<std::int64_t>(prepared.width);
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> data;
    if (as_float) {
      std::vector<float> input(static_cast<std::size_t>(3 * h * w));
      to_nchw_float(prepared, spec.preprocess.mean, spec.preprocess.std, input);
      data.resize(input.size() * sizeof(float));
      std::memcpy(data.data(), input.data(), data.size());
      shape = {1, 3, h, w};
    } else {
      data.resize(static_cast<std::size_t>(3 * h * w));
      to_nhwc_uint8(prepared, data);
      shape = {1, h, w, 3};
    }
    const DType dtype = as_float ? DType::kFloat32 : DType::kUint8;
    const std::vector<std::uint8_t> npy = serialize_npy(dtype, shape, data);
    HDEPLOY_TRY(write_file_atomic(output_, npy, overwrite));

    const std::string digest = sha256_hex(npy);
    if (json_) {
      nlohmann::json out{
          {"file", output_.string()},
          {"image", image_.string()},
          {"model", spec.name},
          {"layout", layout_},
          {"dtype", to_string(dtype)},
          {"shape", shape},
          {"source", {{"width", decoded.width}, {"height", decoded.height}}},
          {"resized", {{"width", resized_width}, {"height", resized_height}}},
          {"crop",
           {{"top", crop.top},
            {"left", crop.left},
            {"width", prepared.width},
            {"height", prepared.height}}},
          {"sha256", digest},
      };
      print_json(out);
    } else {
      std::cout << fmt::format(
          "{}: {} {} {} from {} ({}x{} -> resize {}x{} -> crop {}x{} at top {}, left {}), "
          "sha256 {}\n",
          output_.string(), to_string(dtype), layout_, shape_to_string(shape), image_.string(),
          decoded.width, decoded.height, resized_width, resized_height, prepared.width,
          prepared.height, crop.top, crop.left, digest);
    }
    return {};
  }

 private:
  const CliContext& ctx_;
  fs::path image_;
  std::string spec_name_;
  fs::path output_;
  std::string layout_ = kLayoutFloat;
  std::uint64_t max_pixels_ = DecodeOptions{}.max_pixels;
  bool force_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_preprocess_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<PreprocessCommand>(root, ctx);
}

}  // namespace hdeploy::cli
