#pragma once
// Calibration sets for the Dataflow Compiler: images from a folder, in a seeded order, through
// the same Preprocessor as `infer` (decode, EXIF, PIL resize, centre crop, RGB), written as one
// NHWC float32 .npy of 0–255 pixel values (normalisation runs on chip), plus a manifest that
// names every image used (with its SHA-256) and every image skipped (with why).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"

namespace hdeploy::compile {

// The Dataflow Compiler's recommended minimum calibration set size.
inline constexpr std::size_t kRecommendedCalibrationImages = 1024;

// A uniform integer in [0, bound) from `rng` by rejection, without modulo bias; bound > 0.
// Written out because std::uniform_int_distribution differs between standard libraries.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound);

// Fisher–Yates shuffle of `items` with std::mt19937_64(seed) and uniform_below: the same order
// for a seed on every platform and standard library.
void seeded_shuffle(std::vector<std::filesystem::path>& items, std::uint64_t seed);

struct CalibrationImage {
  std::filesystem::path path;  // as listed (under the image folder)
  std::string sha256;          // of the file's bytes
  int width = 0;               // as decoded and EXIF-oriented, before resizing
  int height = 0;
};

struct CalibrationSkip {
  std::filesystem::path path;
  std::string reason;  // the decoder's one-line error
};

// What make_calibration_set wrote.
struct CalibrationSet {
  std::filesystem::path image_dir;
  std::filesystem::path npy_path;
  std::filesystem::path manifest_path;
  std::vector<CalibrationImage> used;  // in the order of the .npy rows
  std::vector<CalibrationSkip> skipped;
  std::size_t count_requested = 0;
  std::size_t candidates = 0;  // JPEG/PNG files found
  std::uint64_t seed = 0;
  std::vector<std::int64_t> shape;  // {N, H, W, 3}
  std::string npy_sha256;
  std::vector<std::string> warnings;  // too few images for the DFC, fewer than requested
  std::string spec_name;
  std::filesystem::path spec_path;
  PreprocessSpec preprocess;

  // The manifest (format "hdeploy-calibration", version 1): versions, the spec and the
  // preprocessing used, layout/dtype/range/shape, seed, counts, every image used (path relative
  // to the image folder, SHA-256, size) and skipped (path, reason), and the .npy's SHA-256.
  nlohmann::json to_json() const;
};

struct CalibrationOptions {
  std::size_t count = kRecommendedCalibrationImages;  // at least 1
  std::uint64_t seed = 0;
  unsigned threads = 0;  // decode+preprocess workers; 0: the hardware threads
  Overwrite overwrite = Overwrite::kRefuse;
  // Called on the calling thread after each candidate is taken or skipped: (images written,
  // images to write). May be empty.
  std::function<void(std::size_t done, std::size_t total)> on_progress{};
};

// `<stem>.manifest.json` beside the .npy (calib.npy → calib.manifest.json).
std::filesystem::path calibration_manifest_path(const std::filesystem::path& npy);

// Lists `image_dir`, orders it with `options.seed`, and preprocesses candidates in that order
// on a worker pool until `options.count` images are taken (an unreadable one is recorded in
// `skipped` and the next is taken), streaming each row into `npy` as float32; then writes the
// manifest beside it. Rows keep the seeded order whatever the thread count. Both outputs are
// checked before any work and written atomically; on any error or Ctrl-C (InterruptGuard)
// neither exists afterwards. Errors: kNotFound (no folder), kInvalidArgument (count 0, a file
// for the folder), kFailed (no JPEG/PNG files, none readable, interrupted), kAlreadyExists,
// kIo.
Result<CalibrationSet> make_calibration_set(const std::filesystem::path& image_dir,
                                            const preprocess::Preprocessor& preprocessor,
                                            const std::filesystem::path& npy,
                                            const CalibrationOptions& options);

}  // namespace hdeploy::compile
