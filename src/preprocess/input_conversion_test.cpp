#include "hdeploy/preprocess/input_conversion.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "testing/test_images.hpp"

namespace hdeploy::preprocess {
namespace {

TensorSpec uint8_input(int h, int w, std::optional<Quantization> qp = std::nullopt) {
  TensorSpec spec;
  spec.name = "in";
  spec.dtype = DType::kUint8;
  spec.layout = Layout::kNHWC;
  spec.shape = {1, h, w, 3};
  spec.quantization = qp;
  return spec;
}

TensorSpec float_input(int h, int w) {
  TensorSpec spec;
  spec.name = "input";
  spec.dtype = DType::kFloat32;
  spec.layout = Layout::kNCHW;
  spec.shape = {1, 3, h, w};
  return spec;
}

ModelSpec small_spec() {
  ModelSpec spec;
  spec.name = "small";
  spec.input_height = 8;
  spec.input_width = 8;
  spec.preprocess.resize_mode = ResizeMode::kExact;
  spec.preprocess.resize_width = 8;
  spec.preprocess.resize_height = 8;
  spec.preprocess.crop_width = 8;
  spec.preprocess.crop_height = 8;
  return spec;
}

TEST(QuantizeInputValue, RoundsHalfToEvenAsHailoRtDoes) {
  const Quantization qp{2.0F, 0.0F};
  // v / 2: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (std::round would give 1, 2, 3, 4).
  EXPECT_EQ(quantize_input_value(1.0F, qp), 0);
  EXPECT_EQ(quantize_input_value(3.0F, qp), 2);
  EXPECT_EQ(quantize_input_value(5.0F, qp), 2);
  EXPECT_EQ(quantize_input_value(7.0F, qp), 4);
  EXPECT_EQ(quantize_input_value(255.0F, qp), 128);  // 127.5 -> 128
}

TEST(QuantizeInputValue, ClipsToTheLimitsTheQpRepresents) {
  // Limits: dequantize(0) = -5, dequantize(255) = 122.5.
  const Quantization qp{0.5F, 10.0F};
  EXPECT_EQ(quantize_input_value(200.0F, qp), 255);
  EXPECT_EQ(quantize_input_value(122.5F, qp), 255);
  EXPECT_EQ(quantize_input_value(-10.0F, qp), 0);
  EXPECT_EQ(quantize_input_value(0.0F, qp), 10);
  EXPECT_EQ(quantize_input_value(1.25F, qp), 12);  // 12.5 -> 12
}

TEST(InputConversion, Uint8IdentityWritesThePixels) {
  const Preprocessor pre(small_spec(), DecodeOptions{});
  const Image image = testing::make_random(8, 8, 3);
  auto conv = InputConversion::create(uint8_input(8, 8), 8, 8);
  ASSERT_TRUE(conv) << conv.error().message;
  EXPECT_EQ(conv->kind(), InputConversion::Kind::kUint8Nhwc);
  EXPECT_FALSE(conv->quantizes());
  std::vector<std::uint8_t> out(conv->byte_size());
  ASSERT_TRUE(conv->write(pre, image, out));
  EXPECT_EQ(out, image.rgb);
}

TEST(InputConversion, Uint8QuantizedUsesTheOneRuleForEveryPixel) {
  const Preprocessor pre(small_spec(), DecodeOptions{});
  const Image image = testing::make_random(8, 8, 4);
  const Quantization qp{2.0F, 3.0F};
  auto conv = InputConversion::create(uint8_input(8, 8, qp), 8, 8);
  ASSERT_TRUE(conv) << conv.error().message;
  EXPECT_TRUE(conv->quantizes());
  std::vector<std::uint8_t> out(conv->byte_size());
  ASSERT_TRUE(conv->write(pre, image, out));
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i], quantize_input_value(static_cast<float>(image.rgb[i]), qp)) << i;
  }
}

TEST(InputConversion, FloatNchwEqualsTheCpuInput) {
  const Preprocessor pre(small_spec(), DecodeOptions{});
  const Image image = testing::make_random(8, 8, 5);
  auto conv = InputConversion::create(float_input(8, 8), 8, 8);
  ASSERT_TRUE(conv) << conv.error().message;
  EXPECT_EQ(conv->kind(), InputConversion::Kind::kFloatNchw);
  std::vector<float> expected(3 * 8 * 8);
  pre.to_cpu_input(image, expected);
  std::vector<float> out(expected.size());
  ASSERT_TRUE(conv->write(
      pre, image,
      std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size() * 4)));
  EXPECT_EQ(out, expected);
}

TEST(InputConversion, RefusesOtherContractsAndSizes) {
  auto wrong_size = InputConversion::create(uint8_input(16, 16), 8, 8);
  ASSERT_FALSE(wrong_size);
  EXPECT_NE(wrong_size.error().message.find("produces 8x8"), std::string::npos);
  TensorSpec nchw_uint8 = uint8_input(8, 8);
  nchw_uint8.layout = Layout::kNCHW;
  EXPECT_FALSE(InputConversion::create(nchw_uint8, 8, 8));
  EXPECT_FALSE(InputConversion::create(uint8_input(8, 8, Quantization{0.0F, 1.0F}), 8, 8));
  EXPECT_FALSE(InputConversion::create(uint8_input(8, 8, Quantization{NAN, 1.0F}), 8, 8));

  const Preprocessor pre(small_spec(), DecodeOptions{});
  auto conv = InputConversion::create(uint8_input(8, 8), 8, 8);
  ASSERT_TRUE(conv);
  std::vector<std::uint8_t> short_buffer(conv->byte_size() - 1);
  EXPECT_FALSE(conv->write(pre, testing::make_random(8, 8, 1), short_buffer));
  std::vector<std::uint8_t> out(conv->byte_size());
  EXPECT_FALSE(conv->write(pre, testing::make_random(9, 8, 1), out));
}

}  // namespace
}  // namespace hdeploy::preprocess
