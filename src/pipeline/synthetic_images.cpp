#include "hdeploy/pipeline/synthetic_images.hpp"

#include <algorithm>
#include <array>
#include <random>
#include <utility>

#include "hdeploy/core/file.hpp"
#include "hdeploy/preprocess/encode.hpp"

namespace hdeploy::pipeline {

using preprocess::encode_jpeg;
using preprocess::encode_png;
using preprocess::Image;

namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

constexpr int kMaxCount = 10000;
constexpr int kJpegQuality = 90;
// Sizes (width, height): landscape, portrait, square, small and large, so resize and crop are
// exercised in both orientations.
constexpr std::array<std::pair<int, int>, 10> kSizes{{{320, 240},
                                                      {240, 320},
                                                      {256, 256},
                                                      {500, 375},
                                                      {375, 500},
                                                      {640, 360},
                                                      {224, 224},
                                                      {300, 200},
                                                      {200, 300},
                                                      {400, 400}}};
enum class Pattern { kGradient, kShapes, kNoise, kStripes, kChecker };
constexpr int kPatterns = 5;

struct Canvas {
  int width;
  int height;
  Bytes rgb;
  std::uint8_t* at(int x, int y) { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

std::uint8_t byte_of(std::mt19937& rng) { return static_cast<std::uint8_t>(rng() & 0xFFU); }

void draw(Canvas& c, Pattern pattern, std::mt19937& rng) {
  const std::array<std::uint8_t, 3> a{byte_of(rng), byte_of(rng), byte_of(rng)};
  const std::array<std::uint8_t, 3> b{byte_of(rng), byte_of(rng), byte_of(rng)};
  switch (pattern) {
    case Pattern::kGradient:
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) {
          const int t =
              (x * 255 / std::max(1, c.width - 1) + y * 255 / std::max(1, c.height - 1)) / 2;
          for (int ch = 0; ch < 3; ++ch) {
            c.at(x, y)[ch] = static_cast<std::uint8_t>((a[ch] * (255 - t) + b[ch] * t) / 255);
          }
        }
      }
      break;
    case Pattern::kShapes: {
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) std::copy(a.begin(), a.end(), c.at(x, y));
      }
      const int shapes = 3 + static_cast<int>(rng() % 5);
      for (int s = 0; s < shapes; ++s) {
        const std::array<std::uint8_t, 3> col{byte_of(rng), byte_of(rng), byte_of(rng)};
        const int cx = static_cast<int>(rng() % static_cast<unsigned>(c.width));
        const int cy = static_cast<int>(rng() % static_cast<unsigned>(c.height));
        const int r = 10 + static_cast<int>(rng() % static_cast<unsigned>(c.width / 3));
        const bool circle = (rng() & 1U) != 0;
        for (int y = std::max(0, cy - r); y < std::min(c.height, cy + r); ++y) {
          for (int x = std::max(0, cx - r); x < std::min(c.width, cx + r); ++x) {
            if (!circle || (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) {
              std::copy(col.begin(), col.end(), c.at(x, y));
            }
          }
        }
      }
      break;
    }
    case Pattern::kNoise:
      for (auto& v : c.rgb) v = byte_of(rng);
      break;
    case Pattern::kStripes: {
      const int period = 4 + static_cast<int>(rng() % 40);
      const bool vertical = (rng() & 1U) != 0;
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) {
          const bool on = (((vertical ? x : y) / period) % 2) == 0;
          const auto& col = on ? a : b;
          std::copy(col.begin(), col.end(), c.at(x, y));
        }
      }
      break;
    }
    case Pattern::kChecker: {
      const int cell = 8 + static_cast<int>(rng() % 48);
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) {
          const auto& col = ((x / cell + y / cell) % 2) == 0 ? a : b;
          std::copy(col.begin(), col.end(), c.at(x, y));
        }
      }
      break;
    }
  }
}

}  // namespace

Result<std::vector<EncodedImage>> make_synthetic_images(int count, std::uint32_t seed) {
  if (count < 1 || count > kMaxCount) {
    return fail(ErrorCode::kInvalidArgument, "synthetic image count {}: must be 1-{}", count,
                kMaxCount);
  }
  std::mt19937 rng(seed);
  std::vector<EncodedImage> images;
  images.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto [width, height] = kSizes[static_cast<std::size_t>(i) % kSizes.size()];
    Canvas canvas{width, height, Bytes(static_cast<std::size_t>(width) * height * 3)};
    draw(canvas, static_cast<Pattern>(i % kPatterns), rng);
    const bool png = i % 3 == 2;  // a third PNG, the rest JPEG
    EncodedImage image;
    image.name = fmt::format("synthetic-{:03d}.{}", i, png ? "png" : "jpg");
    image.width = width;
    image.height = height;
    const Image pixels{width, height, std::move(canvas.rgb)};
    if (png) {
      HDEPLOY_ASSIGN_OR_RETURN(image.bytes, encode_png(pixels));
    } else {
      HDEPLOY_ASSIGN_OR_RETURN(image.bytes, encode_jpeg(pixels, kJpegQuality));
    }
    images.push_back(std::move(image));
  }
  return images;
}

Result<std::vector<fs::path>> write_synthetic_images(const fs::path& dir, int count,
                                                     std::uint32_t seed) {
  HDEPLOY_ASSIGN_OR_RETURN(std::vector<EncodedImage> images, make_synthetic_images(count, seed));
  std::vector<fs::path> paths;
  for (const auto& image : images) {
    const fs::path path = dir / image.name;
    auto existing = read_file(path);
    if (!existing || *existing != image.bytes) {
      HDEPLOY_TRY(write_file_atomic(path, image.bytes, Overwrite::kAllow));
    }
    paths.push_back(path);
  }
  return paths;
}

}  // namespace hdeploy::pipeline
