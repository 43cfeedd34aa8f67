#include "hdeploy/core/tensor.hpp"

#include <gtest/gtest.h>

namespace hdeploy {
namespace {

TEST(TensorSpec, SizesAndDescription) {
  TensorSpec spec{"input", DType::kFloat32, Layout::kNCHW, {1, 3, 224, 224}, std::nullopt};
  EXPECT_EQ(spec.element_count(), 150528U);
  EXPECT_EQ(spec.byte_size(), 602112U);
  EXPECT_EQ(spec.describe(), "float32 NCHW 1x3x224x224");

  TensorSpec hailo{"in", DType::kUint8, Layout::kNHWC, {1, 224, 224, 3}, Quantization{}};
  EXPECT_EQ(hailo.byte_size(), 150528U);
  EXPECT_TRUE(hailo.quantization->is_identity());
}

TEST(TensorSpec, DynamicOrEmptyShapesHaveNoElements) {
  EXPECT_EQ((TensorSpec{"x", DType::kUint8, Layout::kNC, {1, -1}, {}}).element_count(), 0U);
  EXPECT_EQ((TensorSpec{"x", DType::kUint8, Layout::kNC, {}, {}}).element_count(), 0U);
  EXPECT_EQ(shape_to_string({1, -1, 7}), "1x?x7");
}

TEST(Quantization, Dequantizes) {
  Quantization q{0.5F, 10.0F};
  EXPECT_FALSE(q.is_identity());
  EXPECT_FLOAT_EQ(q.dequantize(14.0F), 2.0F);
  EXPECT_FLOAT_EQ(q.dequantize(10.0F), 0.0F);
}

TEST(DType, NamesAndSizes) {
  EXPECT_EQ(dtype_size(DType::kUint8), 1U);
  EXPECT_EQ(dtype_size(DType::kUint16), 2U);
  EXPECT_EQ(dtype_size(DType::kFloat32), 4U);
  EXPECT_STREQ(to_string(DType::kFloat32), "float32");
  EXPECT_STREQ(to_string(Layout::kNHWC), "NHWC");
  EXPECT_STREQ(to_string(Layout::kNC), "NC");
}

}  // namespace
}  // namespace hdeploy
