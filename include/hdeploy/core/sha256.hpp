#pragma once
// SHA-256 (OpenSSL) of buffers and files, as lowercase hex: manifests and export records.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "hdeploy/core/result.hpp"

namespace hdeploy {

std::string sha256_hex(std::span<const std::uint8_t> bytes);
// Streams the file; errors as read_file.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

}  // namespace hdeploy
