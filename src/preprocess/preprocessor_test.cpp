#include "hdeploy/preprocess/preprocessor.hpp"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <thread>

#include "testing/test_images.hpp"

namespace hdeploy::preprocess {
namespace {

ModelSpec resnet_like() {
  ModelSpec spec;
  spec.name = "test";
  return spec;  // defaults: Resize(256), CenterCrop(224), ImageNet mean/std, EXIF on
}

TEST(Preprocessor, ShorterSideResizeThenCrop) {
  const Image decoded = testing::make_random(640, 480, 1);
  const Preprocessor pre(resnet_like(), DecodeOptions{});
  EXPECT_EQ(pre.resized_size(640, 480), (std::pair{341, 256}));
  const Image prepared = pre.resize_and_crop(decoded);
  ASSERT_EQ(prepared.width, 224);
  ASSERT_EQ(prepared.height, 224);
  EXPECT_EQ(prepared.rgb, center_crop(pil_bilinear_resize(decoded, 341, 256), 224, 224).rgb);
}

TEST(Preprocessor, CachedPlanIsUsedOnlyForItsSize) {
  const Preprocessor pre(resnet_like(), DecodeOptions{});
  for (auto [w, h] :
       {std::pair{640, 480}, std::pair{640, 480}, std::pair{300, 500}, std::pair{640, 480}}) {
    const Image decoded = testing::make_random(w, h, static_cast<unsigned>(w + h));
    const auto [rw, rh] = shorter_side_size(w, h, 256);
    EXPECT_EQ(pre.resize_and_crop(decoded).rgb,
              center_crop(pil_bilinear_resize(decoded, rw, rh), 224, 224).rgb)
        << w << "x" << h;
  }
}

TEST(Preprocessor, WindowedResizeMatchesResizeThenCentreCrop) {
  // Shorter-side and exact resizes, crops that fit (windowed path) and crops larger than the
  // resized image on one or both sides (padding path), odd offsets (round half to even).
  struct Case {
    ResizeMode mode;
    int resize_w, resize_h;  // kExact only; kShorterSide uses resize_h
    int crop_w, crop_h;
  };
  const Case cases[] = {
      {ResizeMode::kShorterSide, 0, 256, 224, 224}, {ResizeMode::kShorterSide, 0, 224, 224, 224},
      {ResizeMode::kShorterSide, 0, 255, 224, 160}, {ResizeMode::kShorterSide, 0, 200, 224, 224},
      {ResizeMode::kShorterSide, 0, 64, 63, 17},    {ResizeMode::kExact, 240, 230, 224, 224},
      {ResizeMode::kExact, 200, 300, 224, 224},     {ResizeMode::kExact, 300, 200, 224, 224},
      {ResizeMode::kExact, 225, 231, 224, 224},     {ResizeMode::kExact, 100, 100, 224, 224},
  };
  const std::pair<int, int> sizes[] = {{1024, 768}, {640, 480}, {480, 640}, {333, 500},
                                       {257, 256},  {256, 256}, {301, 97},  {50, 41}};
  for (const Case& c : cases) {
    ModelSpec spec = resnet_like();
    spec.preprocess.resize_mode = c.mode;
    spec.preprocess.resize = c.resize_h;
    spec.preprocess.resize_width = c.resize_w;
    spec.preprocess.resize_height = c.resize_h;
    spec.preprocess.crop_width = c.crop_w;
    spec.preprocess.crop_height = c.crop_h;
    const Preprocessor pre(spec, {});
    for (auto [w, h] : sizes) {
      const Image decoded = testing::make_random(w, h, static_cast<unsigned>(w * h));
      const auto [rw, rh] = pre.resized_size(w, h);
      const Image expected = center_crop(pil_bilinear_resize(decoded, rw, rh), c.crop_h, c.crop_w);
      const Image got = pre.resize_and_crop(decoded);
      EXPECT_EQ(got.width, c.crop_w);
      EXPECT_EQ(got.height, c.crop_h);
      EXPECT_EQ(got.rgb, expected.rgb)
          << w << "x" << h << " -> " << rw << "x" << rh << " crop " << c.crop_w << "x" << c.crop_h;
    }
  }
}

TEST(Preprocessor, ConcurrentCallsAgree) {
  const Preprocessor pre(resnet_like(), DecodeOptions{});
  const Image a = testing::make_random(400, 300, 1);
  const Image b = testing::make_random(300, 400, 2);
  const auto expected_a = pre.resize_and_crop(a).rgb;
  const auto expected_b = pre.resize_and_crop(b).rgb;
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const bool use_a = (t + i) % 2 == 0;
        if (pre.resize_and_crop(use_a ? a : b).rgb != (use_a ? expected_a : expected_b)) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Preprocessor, ExactAndNoResizeModes) {
  ModelSpec spec = resnet_like();
  spec.preprocess.resize_mode = ResizeMode::kExact;
  spec.preprocess.resize_height = 230;
  spec.preprocess.resize_width = 240;
  const Image decoded = testing::make_random(500, 333, 4);
  EXPECT_EQ(Preprocessor(spec, {}).resize_and_crop(decoded).rgb,
            center_crop(pil_bilinear_resize(decoded, 240, 230), 224, 224).rgb);
  spec.preprocess.resize_mode = ResizeMode::kNone;
  EXPECT_EQ(Preprocessor(spec, {}).resize_and_crop(decoded).rgb,
            center_crop(decoded, 224, 224).rgb);
}

TEST(Preprocessor, PrepareDecodesOrientsResizesAndCrops) {
  const Image source = testing::make_pattern(300, 200);
  const auto jpeg = testing::insert_app_segment(
      testing::encode_jpeg(source), 0xE1,
      testing::exif_app1_payload(testing::make_orientation_tiff(true, 6)));
  const Result<Image> decoded = decode_image(jpeg, "x.jpg");
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->width, 200);  // rotated to portrait

  const Preprocessor pre(resnet_like(), DecodeOptions{});
  const Result<Image> prepared = pre.prepare(jpeg, "x.jpg");
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_EQ(prepared->rgb, pre.resize_and_crop(*decoded).rgb);

  // The spec's exif_orientation = false wins over DecodeOptions.
  ModelSpec no_exif = resnet_like();
  no_exif.preprocess.exif_orientation = false;
  const Result<Image> raw = Preprocessor(no_exif, DecodeOptions{}).prepare(jpeg, "x.jpg");
  ASSERT_TRUE(raw);
  DecodeOptions options;
  options.apply_exif_orientation = false;
  EXPECT_EQ(raw->rgb, pre.resize_and_crop(*decode_image(jpeg, "x.jpg", options)).rgb);
  EXPECT_NE(raw->rgb, prepared->rgb);

  // Errors carry the name and the decode options (bomb guard).
  DecodeOptions tight;
  tight.max_pixels = 100;
  const Result<Image> refused = Preprocessor(resnet_like(), tight).prepare(jpeg, "x.jpg");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(refused.error().message.find("x.jpg"), std::string::npos);
}

TEST(Preprocessor, BackendInputs) {
  ModelSpec spec = resnet_like();
  spec.preprocess.mean = {0.5F, 0.25F, 0.0F};
  spec.preprocess.std = {0.5F, 0.25F, 1.0F};
  const Preprocessor pre(spec, {});
  const Image prepared = pre.resize_and_crop(testing::make_random(256, 256, 3));
  std::vector<float> cpu(3 * 224 * 224);
  pre.to_cpu_input(prepared, cpu);
  std::vector<float> expected(cpu.size());
  to_nchw_float(prepared, spec.preprocess.mean, spec.preprocess.std, expected);
  EXPECT_EQ(cpu, expected);
  EXPECT_EQ(cpu[0], (prepared.rgb[0] / 255.0F - 0.5F) / 0.5F);
  std::vector<std::uint8_t> hailo(3 * 224 * 224);
  pre.to_hailo_input(prepared, hailo);
  EXPECT_EQ(hailo, prepared.rgb);
}

}  // namespace
}  // namespace hdeploy::preprocess
