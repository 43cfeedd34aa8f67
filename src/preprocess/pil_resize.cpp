// A port of Pillow's src/libImaging/Resample.c (ImagingResampleInner with the bilinear filter,
// 8 bits per channel) to packed RGB. The coefficient arithmetic is Pillow's, operation for
// operation, because the fixed-point weights must round the same way to be bit-exact.

#include <algorithm>
#include <cassert>
#include <cmath>

#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::preprocess {
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
      assert(fixed[x] >= 0);  // the horizontal pass relies on it (a triangle filter)
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

// Horizontal pass over `rows` input rows starting at `in` (`in_stride` bytes apart) for output
// columns [col_begin, col_end), into `out` (rows packed, (col_end - col_begin) pixels each).
// `Taps` is the fixed window length when known at compile time, else 0 (per-output count).
// Two rows at a time in the two 32-bit lanes of a uint64_t (row y low, row y + 1 high), which
// halves the multiplies. Exact: the bilinear weights are never negative, so no lane borrows,
// and a lane's sum stays below 255 * (2^22 + taps) + 2^21 < 2^30, so none carries.
template <int Taps>
void resample_horizontal_rows(const std::uint8_t* in, std::size_t in_stride, int rows,
                              const PilBilinearResize::Axis& axis, int col_begin, int col_end,
                              std::uint8_t* out) {
  constexpr std::uint64_t kHalfPair = (std::uint64_t{kHalf} << 32) | std::uint64_t{kHalf};
  const std::size_t out_stride = static_cast<std::size_t>(col_end - col_begin) * 3;
  for (int y = 0; y < rows; y += 2) {
    // An odd last row is paired with itself (both lanes compute, and write, the same bytes).
    const std::size_t next = y + 1 < rows ? 1 : 0;
    const std::uint8_t* row0 = in + static_cast<std::size_t>(y) * in_stride;
    const std::uint8_t* row1 = row0 + next * in_stride;
    std::uint8_t* dst0 = out + static_cast<std::size_t>(y) * out_stride;
    std::uint8_t* dst1 = dst0 + next * out_stride;
    for (int xx = col_begin; xx < col_end; ++xx, dst0 += 3, dst1 += 3) {
      const std::int32_t* k = &axis.weights[static_cast<std::size_t>(xx) * axis.taps_stride];
      const std::size_t first = static_cast<std::size_t>(axis.first[xx]) * 3;
      const std::uint8_t* src0 = row0 + first;
      const std::uint8_t* src1 = row1 + first;
      const int taps = Taps > 0 ? Taps : axis.count[xx];
      std::uint64_t r = kHalfPair;
      std::uint64_t g = kHalfPair;
      std::uint64_t b = kHalfPair;
      for (int x = 0; x < taps; ++x, src0 += 3, src1 += 3) {
        const auto w = static_cast<std::uint64_t>(k[x]);
        r += ((std::uint64_t{src1[0]} << 32) | src0[0]) * w;
        g += ((std::uint64_t{src1[1]} << 32) | src0[1]) * w;
        b += ((std::uint64_t{src1[2]} << 32) | src0[2]) * w;
      }
      dst1[0] = clip8(static_cast<std::int32_t>(r >> 32));
      dst1[1] = clip8(static_cast<std::int32_t>(g >> 32));
      dst1[2] = clip8(static_cast<std::int32_t>(b >> 32));
      dst0[0] = clip8(static_cast<std::int32_t>(r & 0xFFFFFFFFU));
      dst0[1] = clip8(static_cast<std::int32_t>(g & 0xFFFFFFFFU));
      dst0[2] = clip8(static_cast<std::int32_t>(b & 0xFFFFFFFFU));
    }
  }
}

void resample_horizontal(const std::uint8_t* in, std::size_t in_stride, int rows,
                         const PilBilinearResize::Axis& axis, int col_begin, int col_end,
                         std::uint8_t* out) {
  // The window lengths of the common scale factors: upscaling (3), down by up to 2, 3, 4.
  const int fixed = axis.fixed_taps ? axis.taps_stride : 0;
  switch (fixed) {
    case 3:
      return resample_horizontal_rows<3>(in, in_stride, rows, axis, col_begin, col_end, out);
    case 5:
      return resample_horizontal_rows<5>(in, in_stride, rows, axis, col_begin, col_end, out);
    case 7:
      return resample_horizontal_rows<7>(in, in_stride, rows, axis, col_begin, col_end, out);
    case 9:
      return resample_horizontal_rows<9>(in, in_stride, rows, axis, col_begin, col_end, out);
    default:
      return resample_horizontal_rows<0>(in, in_stride, rows, axis, col_begin, col_end, out);
  }
}

// Vertical pass for output rows [row_begin, row_end): output row yy sums the input rows from
// first[yy] on, input row r being at `in + (r - row_offset) * in_stride`; each row is
// `row_bytes` long and the output rows are packed. Works along the row in blocks so the
// accumulators stay on the stack and the inner loop vectorises.
void resample_vertical(const std::uint8_t* in, std::size_t in_stride, int row_offset,
                       const PilBilinearResize::Axis& axis, int row_begin, int row_end,
                       std::size_t row_bytes, std::uint8_t* out) {
  constexpr std::size_t kBlock = 256;
  std::int32_t acc[kBlock];
  for (int yy = row_begin; yy < row_end; ++yy) {
    const std::int32_t* k = &axis.weights[static_cast<std::size_t>(yy) * axis.taps_stride];
    const std::uint8_t* top =
        in + static_cast<std::size_t>(axis.first[yy] - row_offset) * in_stride;
    const int taps = axis.count[yy];
    std::uint8_t* dst = out + static_cast<std::size_t>(yy - row_begin) * row_bytes;
    for (std::size_t begin = 0; begin < row_bytes; begin += kBlock) {
      const std::size_t n = std::min(kBlock, row_bytes - begin);
      std::fill_n(acc, n, kHalf);
      for (int y = 0; y < taps; ++y) {
        const std::uint8_t* src = top + static_cast<std::size_t>(y) * in_stride + begin;
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
}

void PilBilinearResize::run(const Image& in, Image& out, std::vector<std::uint8_t>& scratch) const {
  run(in, out, scratch, Window{0, 0, out_width_, out_height_});
}

void PilBilinearResize::run(const Image& in, Image& out, std::vector<std::uint8_t>& scratch,
                            const Window& window) const {
  assert(in.width == in_width_ && in.height == in_height_);
  assert(window.width > 0 && window.height > 0 && window.left >= 0 && window.top >= 0);
  assert(window.left + window.width <= out_width_ && window.top + window.height <= out_height_);
  const int col_begin = window.left;
  const int col_end = window.left + window.width;
  const int row_begin = window.top;
  const int row_end = window.top + window.height;
  const std::size_t in_stride = static_cast<std::size_t>(in_width_) * 3;
  const std::size_t row_bytes = static_cast<std::size_t>(window.width) * 3;
  out.width = window.width;
  out.height = window.height;
  out.rgb.resize(row_bytes * static_cast<std::size_t>(window.height));
  const std::uint8_t* pixels = in.rgb.data();
  if (!horizontal_.needed && !vertical_.needed) {
    for (int y = row_begin; y < row_end; ++y) {
      const std::uint8_t* src = pixels + static_cast<std::size_t>(y) * in_stride +
                                static_cast<std::size_t>(col_begin) * 3;
      std::copy_n(src, row_bytes,
                  out.rgb.data() + static_cast<std::size_t>(y - row_begin) * row_bytes);
    }
    return;
  }
  if (!vertical_.needed) {
    resample_horizontal(pixels + static_cast<std::size_t>(row_begin) * in_stride, in_stride,
                        window.height, horizontal_, col_begin, col_end, out.rgb.data());
    return;
  }
  if (!horizontal_.needed) {
    resample_vertical(pixels + static_cast<std::size_t>(col_begin) * 3, in_stride, 0, vertical_,
                      row_begin, row_end, row_bytes, out.rgb.data());
    return;
  }
  // The input rows the window's vertical taps read (both ends of the windows only grow with
  // the output row, so the span is set by the first and last rows).
  const int first_row = vertical_.first[row_begin];
  const int last_row = vertical_.first[row_end - 1] + vertical_.count[row_end - 1];
  scratch.resize(static_cast<std::size_t>(last_row - first_row) * row_bytes);
  resample_horizontal(pixels + static_cast<std::size_t>(first_row) * in_stride, in_stride,
                      last_row - first_row, horizontal_, col_begin, col_end, scratch.data());
  resample_vertical(scratch.data(), row_bytes, first_row, vertical_, row_begin, row_end, row_bytes,
                    out.rgb.data());
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

}  // namespace hdeploy::preprocess
