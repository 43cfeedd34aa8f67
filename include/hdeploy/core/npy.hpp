#pragma once
// NumPy .npy (format 1.0/2.0/3.0) read and write for float32 and uint8 C-order arrays: the
// interchange format with PyTorch (reference inputs and outputs) and the Dataflow Compiler
// (calibration sets).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
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

// Writes one .npy file (format 1.0, C order) as a stream of chunks, so an array larger than
// memory (a 617 MB calibration set) is never held whole. The data goes to a temporary file
// beside `path`; commit() checks the byte count, fsyncs and renames it into place, and a writer
// destroyed without a successful commit (an error, Ctrl-C) removes the temporary file, so
// `path` is either absent, untouched, or complete. Move-only; one thread at a time.
class NpyFileWriter {
 public:
  // Checks `path` as check_writable_output does (kAlreadyExists without Overwrite::kAllow),
  // creates its folders and the temporary file, and writes the header. Errors: those of
  // check_writable_output, kInvalidArgument (negative dimension), kIo.
  static Result<NpyFileWriter> create(const std::filesystem::path& path, DType dtype,
                                      std::vector<std::int64_t> shape, Overwrite overwrite);

  NpyFileWriter(NpyFileWriter&& other) noexcept;
  NpyFileWriter& operator=(NpyFileWriter&& other) noexcept;
  NpyFileWriter(const NpyFileWriter&) = delete;
  NpyFileWriter& operator=(const NpyFileWriter&) = delete;
  ~NpyFileWriter();

  // Appends raw little-endian element bytes. Errors: kInvalidArgument (more bytes than the
  // shape holds; nothing is written), kIo.
  Status append(std::span<const std::uint8_t> bytes);

  // Lowers the first dimension (when fewer rows arrived than planned, e.g. skipped images)
  // before commit(); the header keeps its length, so data already written stays in place.
  // Errors: kInvalidArgument (larger than planned, negative, or a 0-d array).
  Status shrink_leading_dimension(std::int64_t rows);

  // Finishes the file: the data must be exactly what the shape holds (kInvalidArgument
  // otherwise, the temporary file is removed), then fsync and rename (or link, which never
  // replaces a file that appeared meanwhile, without Overwrite::kAllow). Errors:
  // kInvalidArgument, kAlreadyExists, kIo. The writer is finished either way.
  Status commit();

  const std::filesystem::path& path() const;
  const std::vector<std::int64_t>& shape() const;
  std::uint64_t data_bytes_written() const;
  std::uint64_t data_bytes_expected() const;
  // SHA-256 (lowercase hex) of the whole committed file, header included; empty before a
  // successful commit().
  const std::string& sha256() const;

 private:
  struct State;
  explicit NpyFileWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace hdeploy
