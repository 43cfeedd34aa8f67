#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "hdeploy/preprocess/image.hpp"
#include "testing/test_images.hpp"

namespace hdeploy::preprocess {
namespace {

// The obvious, slow reading of Pillow's Resample.c: for every output sample, work out the
// filter window and weights from scratch in double precision, convert them to 22-bit fixed
// point, and sum. Same two passes (horizontal over the rows the vertical pass needs, 8-bit
// rounding in between), no precomputation, no blocking.
struct Taps {
  int first = 0;
  std::vector<std::int32_t> weights;
};

Taps reference_taps(int in_size, int out_size, int out_index) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;
  const double center = (out_index + 0.5) * scale;
  const int xmin = std::max(0, static_cast<int>(center - support + 0.5));
  const int xmax = std::min(in_size, static_cast<int>(center + support + 0.5));
  std::vector<double> w;
  double total = 0.0;
  for (int x = xmin; x < xmax; ++x) {
    const double t = std::fabs((x - center + 0.5) * (1.0 / filterscale));
    w.push_back(t < 1.0 ? 1.0 - t : 0.0);
    total += w.back();
  }
  Taps taps{xmin, {}};
  for (double v : w) {
    const double normalised = total != 0.0 ? v / total : v;
    taps.weights.push_back(static_cast<std::int32_t>(
        normalised < 0 ? -0.5 + normalised * (1 << 22) : 0.5 + normalised * (1 << 22)));
  }
  return taps;
}

std::uint8_t reference_clip(std::int64_t v) {
  return static_cast<std::uint8_t>(std::clamp<std::int64_t>(v >> 22, 0, 255));
}

Image reference_resize(const Image& in, int out_w, int out_h) {
  if (out_w == in.width && out_h == in.height) return in;
  Image horizontal = in;
  int row_offset = 0;
  if (out_w != in.width) {
    int first = in.height;
    int last = 0;
    for (int y = 0; y < out_h; ++y) {
      const Taps t = reference_taps(in.height, out_h, y);
      first = std::min(first, t.first);
      last = std::max(last, t.first + static_cast<int>(t.weights.size()));
    }
    if (out_h == in.height) {
      first = 0;
      last = in.height;
    }
    horizontal = Image{out_w, last - first, {}};
    horizontal.rgb.resize(static_cast<std::size_t>(out_w) * (last - first) * 3);
    for (int y = first; y < last; ++y) {
      for (int x = 0; x < out_w; ++x) {
        const Taps t = reference_taps(in.width, out_w, x);
        for (int c = 0; c < 3; ++c) {
          std::int64_t sum = 1 << 21;
          for (std::size_t i = 0; i < t.weights.size(); ++i) {
            sum += static_cast<std::int64_t>(
                       in.rgb[(static_cast<std::size_t>(y) * in.width + t.first + i) * 3 + c]) *
                   t.weights[i];
          }
          horizontal.rgb[(static_cast<std::size_t>(y - first) * out_w + x) * 3 + c] =
              reference_clip(sum);
        }
      }
    }
    row_offset = first;
  }
  if (out_h == in.height) return horizontal;
  Image out{horizontal.width, out_h, {}};
  out.rgb.resize(static_cast<std::size_t>(out.width) * out_h * 3);
  for (int y = 0; y < out_h; ++y) {
    const Taps t = reference_taps(in.height, out_h, y);
    for (int x = 0; x < out.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        std::int64_t sum = 1 << 21;
        for (std::size_t i = 0; i < t.weights.size(); ++i) {
          const std::size_t row = t.first - row_offset + i;
          sum += static_cast<std::int64_t>(horizontal.rgb[(row * out.width + x) * 3 + c]) *
                 t.weights[i];
        }
        out.rgb[(static_cast<std::size_t>(y) * out.width + x) * 3 + c] = reference_clip(sum);
      }
    }
  }
  return out;
}

TEST(PilBilinearResize, MatchesSlowReferenceOnRandomSizes) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> size(1, 90);
  for (int trial = 0; trial < 120; ++trial) {
    const int in_w = size(rng);
    const int in_h = size(rng);
    const int out_w = size(rng);
    const int out_h = size(rng);
    const Image in = testing::make_random(in_w, in_h, static_cast<unsigned>(trial));
    const Image fast = pil_bilinear_resize(in, out_w, out_h);
    const Image slow = reference_resize(in, out_w, out_h);
    ASSERT_EQ(fast.width, out_w);
    ASSERT_EQ(fast.height, out_h);
    ASSERT_EQ(fast.rgb, slow.rgb) << in_w << "x" << in_h << " -> " << out_w << "x" << out_h;
  }
}

TEST(PilBilinearResize, MatchesSlowReferenceOnTypicalSizes) {
  struct Case {
    int in_w, in_h, out_w, out_h;
  };
  for (const Case c : {Case{640, 480, 341, 256}, Case{1000, 300, 853, 256},
                       Case{257, 255, 258, 256}, Case{100, 700, 256, 1792},
                       Case{223, 224, 256, 257}, Case{300, 200, 300, 100},  // vertical only
                       Case{300, 200, 150, 200},                            // horizontal only
                       Case{7, 5, 7, 5}}) {
    const Image in = testing::make_random(c.in_w, c.in_h, 99);
    EXPECT_EQ(pil_bilinear_resize(in, c.out_w, c.out_h).rgb,
              reference_resize(in, c.out_w, c.out_h).rgb)
        << c.in_w << "x" << c.in_h << " -> " << c.out_w << "x" << c.out_h;
  }
}

TEST(PilBilinearResize, PlanIsReusableAcrossFramesAndBuffers) {
  const PilBilinearResize plan(97, 61, 40, 33);
  Image out;
  std::vector<std::uint8_t> scratch;
  for (unsigned frame = 0; frame < 4; ++frame) {
    const Image in = testing::make_random(97, 61, frame);
    plan.run(in, out, scratch);
    EXPECT_EQ(out.rgb, reference_resize(in, 40, 33).rgb) << frame;
  }
}

TEST(PilBilinearResize, PlanWeightsSumToOneInFixedPoint) {
  for (auto [in, out] : {std::pair{640, 341}, std::pair{100, 256}, std::pair{1000, 3}}) {
    const PilBilinearResize plan(in, 1, out, 1);
    const auto& axis = plan.horizontal();
    ASSERT_TRUE(axis.needed);
    for (int i = 0; i < out; ++i) {
      std::int64_t sum = 0;
      for (int t = 0; t < axis.count[i]; ++t) sum += axis.weights[i * axis.taps_stride + t];
      EXPECT_NEAR(static_cast<double>(sum), 1 << 22, axis.count[i]) << in << "->" << out;
      EXPECT_GE(axis.first[i], 0);
      EXPECT_LE(axis.first[i] + axis.count[i], in);
    }
  }
  // Downscaling by 3 widens the window to +-3 input pixels (antialiasing).
  EXPECT_EQ(PilBilinearResize(300, 1, 100, 1).horizontal().taps_stride, 7);
  EXPECT_EQ(PilBilinearResize(100, 1, 300, 1).horizontal().taps_stride, 3);
}

TEST(PilBilinearResize, ConstantImageStaysConstant) {
  Image in{50, 40, std::vector<std::uint8_t>(50 * 40 * 3, 0)};
  for (std::size_t i = 0; i < in.rgb.size(); i += 3) {
    in.rgb[i] = 255;
    in.rgb[i + 1] = 128;
    in.rgb[i + 2] = 1;
  }
  const Image out = pil_bilinear_resize(in, 17, 93);
  for (std::size_t i = 0; i < out.rgb.size(); i += 3) {
    ASSERT_EQ(out.rgb[i], 255);
    ASSERT_EQ(out.rgb[i + 1], 128);
    ASSERT_EQ(out.rgb[i + 2], 1);
  }
}

TEST(PilBilinearResize, CloseToExactMathematicalFilter) {
  // Independent of Pillow's fixed point: a triangle filter of support max(scale, 1) in pure
  // double math agrees to within the two 8-bit roundings.
  const Image in = testing::make_pattern(120, 90);
  const int out_w = 50;
  const int out_h = 37;
  const Image out = pil_bilinear_resize(in, out_w, out_h);
  auto weights = [](int in_size, int out_size, int o) {
    const double scale = static_cast<double>(in_size) / out_size;
    const double fs = std::max(scale, 1.0);
    const double center = (o + 0.5) * scale;
    std::vector<double> w(in_size, 0.0);
    double total = 0;
    for (int i = 0; i < in_size; ++i) {
      const double t = std::fabs((i + 0.5 - center) / fs);
      w[i] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[i];
    }
    for (double& v : w) v /= total;
    return w;
  };
  int worst = 0;
  for (int y = 0; y < out_h; ++y) {
    const auto wy = weights(in.height, out_h, y);
    for (int x = 0; x < out_w; ++x) {
      const auto wx = weights(in.width, out_w, x);
      for (int c = 0; c < 3; ++c) {
        double v = 0;
        for (int sy = 0; sy < in.height; ++sy) {
          if (wy[sy] == 0) continue;
          for (int sx = 0; sx < in.width; ++sx) {
            v += wy[sy] * wx[sx] * in.rgb[(static_cast<std::size_t>(sy) * in.width + sx) * 3 + c];
          }
        }
        worst =
            std::max(worst, std::abs(out.rgb[(static_cast<std::size_t>(y) * out_w + x) * 3 + c] -
                                     static_cast<int>(std::lround(v))));
      }
    }
  }
  EXPECT_LE(worst, 1);
}

// The window [left, left + width) x [top, top + height) of a full image.
Image crop_window(const Image& full, const PilBilinearResize::Window& w) {
  Image out{w.width, w.height, {}};
  for (int y = w.top; y < w.top + w.height; ++y) {
    const auto row = full.rgb.begin() + (static_cast<std::ptrdiff_t>(y) * full.width + w.left) * 3;
    out.rgb.insert(out.rgb.end(), row, row + static_cast<std::ptrdiff_t>(w.width) * 3);
  }
  return out;
}

// Windowed run == full run then crop, through one plan and reused buffers.
void expect_window_matches(const Image& in, const PilBilinearResize& plan, const Image& full,
                           const PilBilinearResize::Window& w, Image& out,
                           std::vector<std::uint8_t>& scratch) {
  plan.run(in, out, scratch, w);
  ASSERT_EQ(out.width, w.width);
  ASSERT_EQ(out.height, w.height);
  ASSERT_EQ(out.rgb, crop_window(full, w).rgb)
      << in.width << "x" << in.height << " -> " << plan.out_width() << "x" << plan.out_height()
      << " window " << w.left << "," << w.top << " " << w.width << "x" << w.height;
}

TEST(PilBilinearResize, WindowMatchesFullResizeThenCropOnRandomSizes) {
  std::mt19937 rng(4321);
  std::uniform_int_distribution<int> size(1, 80);
  Image out;
  std::vector<std::uint8_t> scratch;
  for (int trial = 0; trial < 400; ++trial) {
    const int in_w = size(rng);
    const int in_h = size(rng);
    // A quarter of the trials keep one side, so only one pass runs (or none).
    const int out_w = trial % 4 == 1 ? in_w : size(rng);
    const int out_h = trial % 4 == 2 ? in_h : (trial % 16 == 3 ? in_h : size(rng));
    const Image in = testing::make_random(in_w, in_h, static_cast<unsigned>(trial));
    const PilBilinearResize plan(in_w, in_h, out_w, out_h);
    const Image full = plan.run(in);
    ASSERT_EQ(full.rgb, reference_resize(in, out_w, out_h).rgb);
    std::vector<PilBilinearResize::Window> windows = {
        {0, 0, out_w, out_h},  // everything
        {0, 0, 1, 1},          // 1-pixel windows in the corners
        {out_w - 1, 0, 1, 1},
        {0, out_h - 1, 1, 1},
        {out_w - 1, out_h - 1, 1, 1},
        {0, 0, out_w, 1},  // first / last row, first / last column
        {0, out_h - 1, out_w, 1},
        {0, 0, 1, out_h},
        {out_w - 1, 0, 1, out_h},
    };
    for (int i = 0; i < 6; ++i) {
      const int left = std::uniform_int_distribution<int>(0, out_w - 1)(rng);
      const int top = std::uniform_int_distribution<int>(0, out_h - 1)(rng);
      const int width = std::uniform_int_distribution<int>(1, out_w - left)(rng);
      const int height = std::uniform_int_distribution<int>(1, out_h - top)(rng);
      windows.push_back({left, top, width, height});
    }
    for (const auto& w : windows) {
      expect_window_matches(in, plan, full, w, out, scratch);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(PilBilinearResize, WindowMatchesOnTypicalSizesAndCentreCrops) {
  struct Case {
    int in_w, in_h, out_w, out_h;
  };
  Image out;
  std::vector<std::uint8_t> scratch;
  for (const Case c : {Case{1024, 768, 341, 256}, Case{640, 480, 341, 256},
                       Case{1000, 300, 853, 256}, Case{100, 700, 256, 1792},
                       Case{223, 224, 256, 257}, Case{300, 256, 300, 224},  // vertical only
                       Case{480, 256, 256, 256},                            // horizontal only
                       Case{256, 256, 256, 256}}) {
    const Image in = testing::make_random(c.in_w, c.in_h, 7);
    const PilBilinearResize plan(c.in_w, c.in_h, c.out_w, c.out_h);
    const Image full = plan.run(in);
    const CropOffsets centre = center_crop_offsets(c.out_h, c.out_w, 224, 224);
    for (const PilBilinearResize::Window w :
         {PilBilinearResize::Window{centre.left, centre.top, 224, 224},
          PilBilinearResize::Window{0, 0, 224, 224},
          PilBilinearResize::Window{c.out_w - 224, c.out_h - 224, 224, 224},
          PilBilinearResize::Window{c.out_w / 2, c.out_h / 3, 1, 1}}) {
      expect_window_matches(in, plan, full, w, out, scratch);
    }
  }
}

TEST(PilBilinearResize, WindowMatchesSlowReference) {
  const Image in = testing::make_random(203, 151, 5);
  const Image slow = reference_resize(in, 97, 64);
  Image out;
  std::vector<std::uint8_t> scratch;
  const PilBilinearResize::Window w{13, 7, 60, 50};
  PilBilinearResize(203, 151, 97, 64).run(in, out, scratch, w);
  EXPECT_EQ(out.rgb, crop_window(slow, w).rgb);
}

TEST(PilBilinearResize, SameSizeIsACopy) {
  const Image in = testing::make_random(9, 4, 2);
  EXPECT_EQ(pil_bilinear_resize(in, 9, 4).rgb, in.rgb);
  EXPECT_EQ(PilBilinearResize(9, 4, 9, 4).run(in).rgb, in.rgb);
}

}  // namespace
}  // namespace hdeploy::preprocess
