#include <gtest/gtest.h>

#include <cstring>

#include "hdeploy/preprocess/image.hpp"
#include "testing/test_images.hpp"

namespace hdeploy::preprocess {
namespace {

TEST(ShorterSideSize, LongerSideIsTruncated) {
  EXPECT_EQ(shorter_side_size(640, 480, 256), (std::pair{341, 256}));  // 341.33
  EXPECT_EQ(shorter_side_size(480, 640, 256), (std::pair{256, 341}));
  EXPECT_EQ(shorter_side_size(1000, 300, 256), (std::pair{853, 256}));  // 853.33
  EXPECT_EQ(shorter_side_size(257, 255, 256), (std::pair{258, 256}));   // 258.007
  EXPECT_EQ(shorter_side_size(100, 700, 256), (std::pair{256, 1792}));  // exact
  EXPECT_EQ(shorter_side_size(223, 224, 256), (std::pair{256, 257}));   // 257.15
  EXPECT_EQ(shorter_side_size(299, 300, 256), (std::pair{256, 256}));   // 256.86, not rounded
  EXPECT_EQ(shorter_side_size(500, 500, 256), (std::pair{256, 256}));
  EXPECT_EQ(shorter_side_size(256, 300, 256), (std::pair{256, 300}));  // unchanged
}

TEST(CenterCropOffsets, RoundHalfToEven) {
  // (H - h) = 1, 3, 5, 7 -> 0.5, 1.5, 2.5, 3.5 -> 0, 2, 2, 4 (Python's round).
  EXPECT_EQ(center_crop_offsets(225, 300, 224, 224).top, 0);
  EXPECT_EQ(center_crop_offsets(227, 300, 224, 224).top, 2);
  EXPECT_EQ(center_crop_offsets(229, 300, 224, 224).top, 2);
  EXPECT_EQ(center_crop_offsets(231, 300, 224, 224).top, 4);
  EXPECT_EQ(center_crop_offsets(300, 225, 224, 224).left, 0);
  EXPECT_EQ(center_crop_offsets(300, 229, 224, 224).left, 2);
  EXPECT_EQ(center_crop_offsets(256, 341, 224, 224).left, 58);  // 58.5 -> 58
  EXPECT_EQ(center_crop_offsets(256, 341, 224, 224).top, 16);
  EXPECT_EQ(center_crop_offsets(224, 224, 224, 224).top, 0);
}

TEST(CenterCropOffsets, PaddingPutsTheSmallerHalfBefore) {
  // torchvision pads (crop - size) // 2 before and the rest after.
  EXPECT_EQ(center_crop_offsets(3, 3, 6, 6).top, -1);
  EXPECT_EQ(center_crop_offsets(3, 3, 6, 6).left, -1);
  EXPECT_EQ(center_crop_offsets(2, 3, 6, 6).top, -2);
  EXPECT_EQ(center_crop_offsets(100, 10, 50, 20).top, 25);
  EXPECT_EQ(center_crop_offsets(100, 10, 50, 20).left, -5);
}

TEST(CenterCrop, CopiesTheRightWindow) {
  const Image in = testing::make_random(11, 9, 3);
  const Image out = center_crop(in, 4, 6);  // offsets: top round(2.5)=2, left round(2.5)=2
  ASSERT_EQ(out.width, 6);
  ASSERT_EQ(out.height, 4);
  for (int y = 0; y < 4; ++y) {
    EXPECT_EQ(std::memcmp(&out.rgb[static_cast<std::size_t>(y) * 6 * 3],
                          &in.rgb[((static_cast<std::size_t>(y) + 2) * 11 + 2) * 3], 6 * 3),
              0)
        << y;
  }
}

TEST(CenterCrop, PadsWithZerosWhereTheImageIsSmaller) {
  Image in{3, 2, std::vector<std::uint8_t>(3 * 2 * 3, 200)};
  const Image out = center_crop(in, 5, 6);  // pad top 1, bottom 2, left 1, right 2
  ASSERT_EQ(out.width, 6);
  ASSERT_EQ(out.height, 5);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 6; ++x) {
      const bool inside = y >= 1 && y < 3 && x >= 1 && x < 4;
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(out.rgb[(static_cast<std::size_t>(y) * 6 + x) * 3 + c], inside ? 200 : 0)
            << x << "," << y;
      }
    }
  }
  // Padded in one dimension, cropped in the other.
  const Image tall = testing::make_random(2, 10, 5);
  const Image mixed = center_crop(tall, 4, 5);  // top round(3.0)=3, left pad 1
  for (int y = 0; y < 4; ++y) {
    EXPECT_EQ(mixed.rgb[(static_cast<std::size_t>(y) * 5 + 0) * 3], 0);
    EXPECT_EQ(mixed.rgb[(static_cast<std::size_t>(y) * 5 + 1) * 3],
              tall.rgb[(static_cast<std::size_t>(y + 3) * 2 + 0) * 3]);
    EXPECT_EQ(mixed.rgb[(static_cast<std::size_t>(y) * 5 + 2) * 3],
              tall.rgb[(static_cast<std::size_t>(y + 3) * 2 + 1) * 3]);
    EXPECT_EQ(mixed.rgb[(static_cast<std::size_t>(y) * 5 + 3) * 3], 0);
  }
}

TEST(ToNchwFloat, ToTensorThenNormalizeInFloat32) {
  const Image in = testing::make_random(5, 3, 8);
  const std::array<float, 3> mean{0.485F, 0.456F, 0.406F};
  const std::array<float, 3> std{0.229F, 0.224F, 0.225F};
  std::vector<float> out(5 * 3 * 3);
  to_nchw_float(in, mean, std, out);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 3; ++y) {
      for (int x = 0; x < 5; ++x) {
        // Each step rounded to float32, as torch's float tensors do.
        volatile float v =
            static_cast<float>(in.rgb[(static_cast<std::size_t>(y) * 5 + x) * 3 + c]);
        volatile float scaled = v / 255.0F;
        volatile float centred = scaled - mean[c];
        const float expected = centred / std[c];
        EXPECT_EQ(out[(static_cast<std::size_t>(c) * 3 + y) * 5 + x], expected)
            << c << " " << y << " " << x;
      }
    }
  }
  // Not the double-precision formula rounded once: for some value it differs in the last bit,
  // which is why the steps must stay in float32.
  int differ = 0;
  for (int v = 0; v < 256; ++v) {
    const auto once = static_cast<float>((v / 255.0 - 0.485) / 0.229);
    const float steps = (static_cast<float>(v) / 255.0F - 0.485F) / 0.229F;
    differ += once != steps;
  }
  EXPECT_GT(differ, 0);
}

TEST(ToNhwcUint8, IsTheInterleavedBytes) {
  const Image in = testing::make_random(4, 3, 1);
  std::vector<std::uint8_t> out(in.rgb.size());
  to_nhwc_uint8(in, out);
  EXPECT_EQ(out, in.rgb);
}

}  // namespace
}  // namespace hdeploy::preprocess
