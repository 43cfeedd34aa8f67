#include "hdeploy/pipeline/synthetic_images.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "hdeploy/core/file.hpp"
#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::pipeline {
namespace {
namespace fs = std::filesystem;

TEST(SyntheticImages, SameSeedSameBytesOtherSeedOtherBytes) {
  auto a = make_synthetic_images(12, 7);
  auto b = make_synthetic_images(12, 7);
  auto c = make_synthetic_images(12, 8);
  ASSERT_TRUE(a && b && c);
  ASSERT_EQ(a->size(), 12U);
  int differing = 0;
  for (std::size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].name, (*b)[i].name);
    EXPECT_EQ((*a)[i].bytes, (*b)[i].bytes) << (*a)[i].name;
    differing += (*a)[i].bytes != (*c)[i].bytes;
  }
  EXPECT_EQ(differing, 12);
}

TEST(SyntheticImages, DecodableVariedSizesJpegAndPng) {
  auto images = make_synthetic_images(32, 0);
  ASSERT_TRUE(images);
  std::set<std::pair<int, int>> sizes;
  std::set<double> aspects;
  int png = 0;
  int jpeg = 0;
  for (const auto& image : *images) {
    auto decoded = preprocess::decode_image(image.bytes, image.name);
    ASSERT_TRUE(decoded) << image.name << ": " << decoded.error().message;
    EXPECT_EQ(decoded->width, image.width);
    EXPECT_EQ(decoded->height, image.height);
    sizes.insert({image.width, image.height});
    aspects.insert(static_cast<double>(image.width) / image.height);
    png += image.name.ends_with(".png");
    jpeg += image.name.ends_with(".jpg");
    // Not flat: some pixel differs from the first.
    const auto& rgb = decoded->rgb;
    EXPECT_NE(std::count(rgb.begin(), rgb.end(), rgb[0]), static_cast<long>(rgb.size()))
        << image.name;
  }
  EXPECT_GE(sizes.size(), 8U);
  EXPECT_GE(aspects.size(), 5U);
  EXPECT_GE(png, 8);
  EXPECT_GE(jpeg, 16);
}

TEST(SyntheticImages, WriteIsStableAndRepairsChangedFiles) {
  std::string pattern = (fs::temp_directory_path() / "hdeploy-synth-XXXXXX").string();
  const fs::path dir = ::mkdtemp(pattern.data());
  auto first = write_synthetic_images(dir / "images", 5, 1);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 5U);
  const auto time = fs::last_write_time(first->front());
  const auto original = *read_file(first->back());
  ASSERT_TRUE(write_text_file_atomic(first->back(), "tampered", Overwrite::kAllow));
  auto second = write_synthetic_images(dir / "images", 5, 1);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(fs::last_write_time(first->front()), time);  // unchanged files are left alone
  EXPECT_EQ(*read_file(first->back()), original);
  EXPECT_FALSE(make_synthetic_images(0, 1));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hdeploy::pipeline
