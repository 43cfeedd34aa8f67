#pragma once
// File helpers: whole-file reads with clear errors, and atomic writes (temporary file in the
// same folder, then rename) so that no output is ever left half-written.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy {

// Reads a whole file. Errors: kNotFound (missing), kInvalidFormat (a directory),
// kUnsupported (over max_bytes), kIo.
// `max_bytes` guards against reading something unexpectedly huge.
Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path,
                                            std::uintmax_t max_bytes = 1ULL << 32);
Result<std::string> read_text_file(const std::filesystem::path& path);

// Checks that `path` names an existing regular file (errors as read_file).
Status check_readable_file(const std::filesystem::path& path);

// How to treat an existing output.
enum class Overwrite { kRefuse, kAllow };

// Checks before any work starts that `path` may be written: its folder exists (or can be
// created) and is writable, and the file does not exist unless `overwrite` allows it.
// Errors: kAlreadyExists (suggests --force), kIo (folder not writable).
Status check_writable_output(const std::filesystem::path& path, Overwrite overwrite);

// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename. Parent
// folders are created. Errors: kAlreadyExists, kIo.
Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                         Overwrite overwrite);
Status write_text_file_atomic(const std::filesystem::path& path, std::string_view text,
                              Overwrite overwrite);

}  // namespace hdeploy
