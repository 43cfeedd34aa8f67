#pragma once
// A small, varied, deterministic image set for calibration and inference when the user gives
// no images: gradients, shapes, noise, stripes and checkerboards, JPEG and PNG, several sizes
// and aspect ratios. The same count and seed give the same bytes on every machine (std::mt19937
// is specified by the standard; no <random> distributions are used).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::pipeline {

// One encoded image and the file name it is written under ("synthetic-007.png").
struct EncodedImage {
  std::string name;
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> bytes;
};

// Makes `count` (1–10000) images in memory. Errors: kInvalidArgument (count), kInternal (an
// encoder failed).
Result<std::vector<EncodedImage>> make_synthetic_images(int count, std::uint32_t seed);

// Writes make_synthetic_images(count, seed) into `dir` (created if missing), atomically, and
// leaves a file alone when it already holds the same bytes (so hashes and times stay stable).
// Returns the paths written or kept, in name order. Errors: as make_synthetic_images, kIo.
Result<std::vector<std::filesystem::path>> write_synthetic_images(const std::filesystem::path& dir,
                                                                  int count, std::uint32_t seed);

}  // namespace hdeploy::pipeline
