#pragma once
// NumPy .npy (format 1.0/2.0/3.0) read and write for float32 and uint8 C-order arrays: the
// interchange format with PyTorch (reference inputs and outputs) and the Dataflow Compiler
// (calibration sets).

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"

namespace hdeploy {

struct NpyArray {
  DType dtype = DType::kFloat32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;  // little-endian, C order

  std::size_t element_count() const;
  // Typed views; the caller checks dtype first.
  std::span<const float> as_float() const;
  std::span<const std::uint8_t> as_uint8() const { return data; }
};

// Parses .npy bytes. Errors: kInvalidFormat (bad magic, header, size), kUnsupported (a dtype
// other than <f4/|u1, Fortran order, big-endian).
Result<NpyArray> parse_npy(std::span<const std::uint8_t> bytes, const std::string& name);
Result<NpyArray> read_npy(const std::filesystem::path& path);

std::vector<std::uint8_t> serialize_npy(DType dtype, const std::vector<std::int64_t>& shape,
                                        std::span<const std::uint8_t> data);
Status write_npy(const std::filesystem::path& path, DType dtype,
                 const std::vector<std::int64_t>& shape, std::span<const std::uint8_t> data,
                 Overwrite overwrite);

}  // namespace hdeploy
