// A port of Pillow's src/libImaging/Resample.c (ImagingResampleInner with the bilinear filter,
// 8 bits per channel) to packed RGB. The coefficient arithmetic is Pillow's, operation for
// operation, because the fixed-point weights must round the same way to be bit-exact.

#include <algorithm>
#include <cassert>
#include <cmath>

#include "hdeploy/preprocess/image.hpp"

namespace hdeploy {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS
constexpr std::int32_t kHalf = 1 << (kPrecisionBits - 1);

// Pillow's bilinear_filter, support 1.0.
double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

// Pillow's precompute_coeffs followed by normalize_coeffs_8bpc, for box [0, in_size).
PilBilinearResize::Axis plan_axis(int in_size, int out_size) {
  constexpr double kSupport = 1.0;
  PilBilinearResize::Axis axis;
  axis.needed = in_size != out_size;
  // Pillow computes (double)(in1 - in0) / outSize with float box bounds.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = kSupport * filterscale;
  const int ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.taps_stride = ksize;
  axis.first.resize(out_size);
  axis.count.resize(out_size);
  axis.weights.assign(static_cast<std::size_t>(out_size) * ksize, 0);
  std::vector<double> k(ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    xmin = std::max(xmin, 0);
    int xmax = static_cast<int>(center + support + 0.5);
    xmax = std::min(xmax, in_size);
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = bilinear_filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    std::int32_t* fixed = &axis.weights[static_cast<std::size_t>(xx) * ksize];
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      fixed[x] = w < 0 ? static_cast<std::int32_t>(-0.5 + w * (1 << kPrecisionBits))
                       : static_cast<std::int32_t>(0.5 + w * (1 << kPrecisionBits));
    }
    axis.first[xx] = xmin;
    axis.count[xx] = xmax;
  }
  // Widen every window to exactly ksize taps (zero weights added, the window shifted left at
  // the right edge) so the kernels run a fixed-length loop. Adding 0 * pixel changes nothing.
  if (in_size >= ksize) {
    for (int xx = 0; xx < out_size; ++xx) {
      std::int32_t* fixed = &axis.weights[static_cast<std::size_t>(xx) * ksize];
      const int shift = std::max(0, axis.first[xx] + ksize - in_size);
      if (shift > 0) {
        std::copy_backward(fixed, fixed + axis.count[xx], fixed + axis.count[xx] + shift);
        std::fill_n(fixed, shift, 0);
        axis.first[xx] -= shift;
      }
      axis.count[xx] = ksize;
    }
    axis.fixed_taps = true;
  }
  return axis;
}

inline std::uint8_t clip8(std::int32_t v) {
  // Pillow: clip8_lookups[v >> PRECISION_BITS], i.e. clamp to 0..255 after the shift.
  return static_cast<std::uint8_t>(std::clamp(v >> kPrecisionBits, 0, 255));
}

// Horizontal pass over input rows [row_begin, row_end) into `out` (out_width x rows). `Taps`
// is the fixed window length when known at compile time, else 0 (per-output count).
template <int Taps>
void resample_horizontal_rows(const std::uint8_t* in, int in_width, int row_begin, int row_end,
                              const PilBilinearResize::Axis& axis, int out_width,
                              std::uint8_t* out) {
  const std::size_t in_stride = static_cast<std::size_t>(in_width) * 3;
  const std::size_t out_stride = static_cast<std::size_t>(out_width) * 3;
  for (int y = row_begin; y < row_end; ++y) {
    const std::uint8_t* row = in + static_cast<std::size_t>(y) * in_stride;
    std::uint8_t* dst = out + static_cast<std::size_t>(y - row_begin) * out_stride;
    for (int xx = 0; xx < out_width; ++xx) {
      const std::int32_t* k = &axis.weights[static_cast<std::size_t>(xx) * axis.taps_stride];
      const std::uint8_t* src = row + static_cast<std::size_t>(axis.first[xx]) * 3;
      const int taps = Taps > 0 ? Taps : axis.count[xx];
      std::int32_t s0 = kHalf;
      std::int32_t s1 = kHalf;
      std::int32_t s2 = kHalf;
      for (int x = 0; x < taps; ++x, src += 3) {
        s0 += src[0] * k[x];
        s1 += src[1] * k[x];
        s2 += src[2] * k[x];
      }
      dst[3 * xx] = clip8(s0);
      dst[3 * xx + 1] = clip8(s1);
      dst[3 * xx + 2] = clip8(s2);
    }
  }
}

void resample_horizontal(const std::uint8_t* in, int in_width, int row_begin, int row_end,
                         const PilBilinearResize::Axis& axis, int out_width, std::uint8_t* out) {
  // The window lengths of the common scale factors: upscaling (3), down by up to 2, 3, 4.
  const int fixed = axis.fixed_taps ? axis.taps_stride : 0;
  switch (fixed) {
    case 3:
      return resample_horizontal_rows<3>(in, in_width, row_begin, row_end, axis, out_width, out);
    case 5:
      return resample_horizontal_rows<5>(in, in_width, row_begin, row_end, axis, out_width, out);
    case 7:
      return resample_horizontal_rows<7>(in, in_width, row_begin, row_end, axis, out_width, out);
    case 9:
      return resample_horizontal_rows<9>(in, in_width, row_begin, row_end, axis, out_width, out);
    default:
      return resample_horizontal_rows<0>(in, in_width, row_begin, row_end, axis, out_width, out);
  }
}

// Vertical pass: output row yy sums input rows first[yy] - row_offset onwards. Works along
// the row in blocks so the accumulators stay on the stack and the inner loop vectorises.
void resample_vertical(const std::uint8_t* in, int width, int row_offset,
                       const PilBilinearResize::Axis& axis, int out_height, std::uint8_t* out) {
  constexpr std::size_t kBlock = 256;
  const std::size_t stride = static_cast<std::size_t>(width) * 3;
  std::int32_t acc[kBlock];
  for (int yy = 0; yy < out_height; ++yy) {
    const std::int32_t* k = &axis.weights[static_cast<std::size_t>(yy) * axis.taps_stride];
    const std::uint8_t* top = in + static_cast<std::size_t>(axis.first[yy] - row_offset) * stride;
    const int taps = axis.count[yy];
    std::uint8_t* dst = out + static_cast<std::size_t>(yy) * stride;
    for (std::size_t begin = 0; begin < stride; begin += kBlock) {
      const std::size_t n = std::min(kBlock, stride - begin);
      std::fill_n(acc, n, kHalf);
      for (int y = 0; y < taps; ++y) {
        const std::uint8_t* src = top + static_cast<std::size_t>(y) * stride + begin;
        const std::int32_t w = k[y];
        for (std::size_t i = 0; i < n; ++i) acc[i] += src[i] * w;
      }
      for (std::size_t i = 0; i < n; ++i) dst[begin + i] = clip8(acc[i]);
    }
  }
}

}  // namespace

PilBilinearResize::PilBilinearResize(int in_width, int in_height, int out_width, int out_height)
    : in_width_(in_width),
      in_height_(in_height),
      out_width_(out_width),
      out_height_(out_height),
      horizontal_(plan_axis(in_width, out_width)),
      vertical_(plan_axis(in_height, out_height)) {
  assert(in_width > 0 && in_height > 0 && out_width > 0 && out_height > 0);
  first_row_ = vertical_.first.front();
  last_row_ = vertical_.first.back() + vertical_.count.back();
}

void PilBilinearResize::run(const Image& in, Image& out, std::vector<std::uint8_t>& scratch) const {
  assert(in.width == in_width_ && in.height == in_height_);
  out.width = out_width_;
  out.height = out_height_;
  out.rgb.resize(static_cast<std::size_t>(out_width_) * out_height_ * 3);
  if (!horizontal_.needed && !vertical_.needed) {
    std::copy(in.rgb.begin(), in.rgb.end(), out.rgb.begin());
    return;
  }
  if (!vertical_.needed) {
    resample_horizontal(in.rgb.data(), in_width_, 0, in_height_, horizontal_, out_width_,
                        out.rgb.data());
    return;
  }
  if (!horizontal_.needed) {
    resample_vertical(in.rgb.data(), in_width_, 0, vertical_, out_height_, out.rgb.data());
    return;
  }
  scratch.resize(static_cast<std::size_t>(last_row_ - first_row_) * out_width_ * 3);
  resample_horizontal(in.rgb.data(), in_width_, first_row_, last_row_, horizontal_, out_width_,
                      scratch.data());
  resample_vertical(scratch.data(), out_width_, first_row_, vertical_, out_height_, out.rgb.data());
}

Image PilBilinearResize::run(const Image& in) const {
  Image out;
  std::vector<std::uint8_t> scratch;
  run(in, out, scratch);
  return out;
}

Image pil_bilinear_resize(const Image& in, int out_width, int out_height) {
  if (in.width == out_width && in.height == out_height) return in;
  return PilBilinearResize(in.width, in.height, out_width, out_height).run(in);
}

}  // namespace hdeploy
