// hdeploy calib IMAGE_DIR --model SPEC -o calib.npy: the Dataflow Compiler's calibration set,
// made with exactly the preprocessing `infer` uses (so quantisation sees what inference will
// see), as NHWC float32 0–255 with a manifest of every image used and skipped.

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "command.hpp"
#include "hdeploy/compile/calibration.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/core/tensor.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"

namespace hdeploy::cli {

using compile::CalibrationOptions;
using compile::CalibrationSet;
using compile::CalibrationSkip;
using compile::kRecommendedCalibrationImages;
using compile::make_calibration_set;
using preprocess::DecodeOptions;
using preprocess::Preprocessor;

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A whole number >= `min` (CLI11 would wrap "-1" into a huge unsigned value otherwise).
CLI::Validator whole_number(std::uint64_t min) {
  return {[min](std::string& text) -> std::string {
            std::uint64_t value = 0;
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, value);
            if (ec != std::errc() || ptr != end) {
              return fmt::format("{} is not a whole number >= {}", text, min);
            }
            if (value < min) return fmt::format("{} is less than {}", text, min);
            return {};
          },
          fmt::format("INT>={}", min)};
}

class CalibCommand : public Command {
 public:
  CalibCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "calib",
        "Make the Dataflow Compiler's calibration set from a folder of images: the model "
        "spec's evaluation preprocessing (as infer: decode, EXIF, PIL resize, centre crop, RGB), "
        "written as float32 NHWC (N,H,W,3) with values 0-255 (normalisation runs on chip), plus "
        "<stem>.manifest.json beside it listing every image used (SHA-256) and skipped (why)");
    app_->add_option("IMAGE_DIR", image_dir_,
                     "folder of JPEG/PNG images (.jpg, .jpeg, .png, any case), searched with its "
                     "subfolders (ImageNet-style class folders work); hidden entries and other "
                     "files are ignored")
        ->required();
    app_->add_option("--model", spec_name_,
                     "model spec: a shipped name (resnet18, mobilenet_v2) or a .toml path")
        ->required();
    app_->add_option("-o,--out", output_,
                     "the .npy to write; its manifest goes beside it as <stem>.manifest.json")
        ->required();
    app_->add_option("--count", count_,
                     "images to take, in the seeded order; unreadable ones are skipped and the "
                     "next taken (the DFC recommends at least 1024)")
        ->capture_default_str()
        ->check(whole_number(1));
    app_->add_option("--seed", seed_,
                     "order: paths sorted, then shuffled with this seed (the same set on every "
                     "machine)")
        ->capture_default_str()
        ->check(whole_number(0));
    app_->add_option("--threads", threads_,
                     "decode and preprocessing threads; 0: one per hardware thread")
        ->capture_default_str()
        ->check(CLI::Range(0, 1024));
    app_->add_option("--max-pixels", max_pixels_,
                     "skip images with more pixels than this, before decoding (a guard against "
                     "decompression bombs; PIL's default limit), pixels")
        ->capture_default_str()
        ->check(whole_number(1));
    app_->add_flag("--force", force_, "overwrite an existing .npy and manifest");
    app_->add_flag("--json", json_, "print one JSON object on stdout instead of text");
  }

  Status run() override {
    if (count_ == 0) {
      return fail(ErrorCode::kUsage,
                  "--count 0: a calibration set needs at least 1 image (1024 recommended)");
    }
    if (max_pixels_ == 0) {
      return fail(ErrorCode::kUsage, "--max-pixels 0: must be at least 1 pixel");
    }
    HDEPLOY_ASSIGN_OR_RETURN(const fs::path spec_path,
                             resolve_model_spec(spec_name_, ctx_.models_dir()));
    HDEPLOY_ASSIGN_OR_RETURN(const ModelSpec spec, load_model_spec(spec_path));
    DecodeOptions decode;
    decode.max_pixels = max_pixels_;
    const Preprocessor preprocessor(spec, decode);

    CalibrationOptions options;
    options.count = count_;
    options.seed = seed_;
    options.threads = threads_;
    options.overwrite = force_ ? Overwrite::kAllow : Overwrite::kRefuse;
    const auto start = Clock::now();
    auto last_print = start;
    const bool tty = isatty(STDERR_FILENO) != 0;
    bool printed = false;
    // Progress only for runs long enough to wonder about, at most once a second.
    options.on_progress = [&](std::size_t done, std::size_t total) {
      const auto now = Clock::now();
      if (now - start < std::chrono::seconds(2) || now - last_print < std::chrono::seconds(1)) {
        return;
      }
      last_print = now;
      printed = true;
      const std::string line = fmt::format("calib: {}/{} images, {:.1f} s", done, total,
                                           std::chrono::duration<double>(now - start).count());
      std::cerr << (tty ? "\r" : "") << line << (tty ? "\033[K" : "\n") << std::flush;
    };

    InterruptGuard interrupts;  // Ctrl-C abandons the set: nothing is left half-written
    auto made = make_calibration_set(image_dir_, preprocessor, output_, options);
    if (tty && printed) std::cerr << '\n';
    if (!made) return unexpected(std::move(made).error());
    const CalibrationSet& set = *made;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    for (const CalibrationSkip& skip : set.skipped) {
      log_warning(fmt::format("skipped {}: {}", skip.path.string(), skip.reason));
    }
    for (const std::string& warning : set.warnings) log_warning(warning);

    if (json_) {
      nlohmann::json skipped = nlohmann::json::array();
      for (const CalibrationSkip& skip : set.skipped) {
        skipped.push_back({{"path", skip.path.string()}, {"reason", skip.reason}});
      }
      const nlohmann::json out{
          {"npy", set.npy_path.string()},
          {"manifest", set.manifest_path.string()},
          {"shape", set.shape},
          {"count_requested", set.count_requested},
          {"count_used", set.used.size()},
          {"skipped", skipped},
          {"seed", set.seed},
          {"npy_sha256", set.npy_sha256},
          {"warnings", set.warnings},
          {"seconds", seconds},
      };
      print_json(out);
      return {};
    }
    std::cout << fmt::format(
        "{}: {} images for {}, float32 NHWC {} RGB 0-255 (normalisation runs on chip), seed {}, "
        "sha256 {}\n",
        set.npy_path.string(), set.used.size(), spec.name, shape_to_string(set.shape), set.seed,
        set.npy_sha256);
    std::cout << fmt::format("{}: manifest ({} used, {} skipped of {} found) in {:.1f} s\n",
                             set.manifest_path.string(), set.used.size(), set.skipped.size(),
                             set.candidates, seconds);
    return {};
  }

 private:
  const CliContext& ctx_;
  fs::path image_dir_;
  std::string spec_name_;
  fs::path output_;
  std::size_t count_ = kRecommendedCalibrationImages;
  std::uint64_t seed_ = 0;
  unsigned threads_ = 0;
  std::uint64_t max_pixels_ = DecodeOptions{}.max_pixels;
  bool force_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_calib_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<CalibCommand>(root, ctx);
}

}  // namespace hdeploy::cli
