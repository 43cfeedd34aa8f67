#include "hdeploy/core/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

namespace hdeploy {
namespace fs = std::filesystem;

Status check_readable_file(const fs::path& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    return fail(ErrorCode::kNotFound, "{}: no such file; check the path", path.string());
  }
  if (fs::is_directory(st)) {
    return fail(ErrorCode::kInvalidFormat, "{}: is a directory, expected a file", path.string());
  }
  if (access(path.c_str(), R_OK) != 0) {
    return fail(ErrorCode::kIo, "{}: cannot be read ({}); check its permissions", path.string(),
                std::strerror(errno));
  }
  return {};
}

Result<std::vector<std::uint8_t>> read_file(const fs::path& path, std::uintmax_t max_bytes) {
  HDEPLOY_TRY(check_readable_file(path));
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    return fail(ErrorCode::kIo, "{}: cannot read its size ({})", path.string(), ec.message());
  }
  if (size > max_bytes) {
    return fail(ErrorCode::kUnsupported, "{}: {} bytes is larger than the {} bytes allowed",
                path.string(), size, max_bytes);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "{}: cannot open: {}", path.string(), std::strerror(errno));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) {
    return fail(ErrorCode::kIo, "{}: read {} of {} bytes", path.string(), in.gcount(), size);
  }
  return bytes;
}

Result<std::string> read_text_file(const fs::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(auto bytes, read_file(path, 1ULL << 30));
  return std::string(bytes.begin(), bytes.end());
}

Status check_writable_output(const fs::path& path, Overwrite overwrite) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (fs::is_directory(path, ec)) {
      return fail(ErrorCode::kInvalidFormat, "{}: is a directory, expected a file path",
                  path.string());
    }
    if (overwrite == Overwrite::kRefuse) {
      return fail(ErrorCode::kAlreadyExists,
                  "{}: already exists; pass --force to overwrite it or choose another path",
                  path.string());
    }
  }
  // Walk up to the first existing ancestor: it must be a writable folder.
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  while (!dir.empty() && !fs::exists(dir, ec)) {
    if (!dir.has_parent_path()) {
      dir = ".";  // a relative path whose first folder does not exist yet
      break;
    }
    if (dir.parent_path() == dir) break;
    dir = dir.parent_path();
  }
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorCode::kIo, "{}: cannot be written: {} is not a folder", path.string(),
                dir.string());
  }
  if (access(dir.c_str(), W_OK) != 0) {
    return fail(ErrorCode::kIo, "{}: cannot be written: folder {} is not writable ({})",
                path.string(), dir.string(), std::strerror(errno));
  }
  return {};
}

Status write_file_atomic(const fs::path& path, std::span<const std::uint8_t> bytes,
                         Overwrite overwrite) {
  HDEPLOY_TRY(check_writable_output(path, overwrite));
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      return fail(ErrorCode::kIo, "{}: cannot create folder {}: {}", path.string(),
                  path.parent_path().string(), ec.message());
    }
  }
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  fs::path tmp = path;
  tmp += fmt::format(".tmp-{:016x}", rng());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(ErrorCode::kIo, "{}: cannot create: {}", tmp.string(), std::strerror(errno));
  }
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fs::remove(tmp, ec);
      return fail(ErrorCode::kIo, "{}: write failed: {}", path.string(), std::strerror(err));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    fs::remove(tmp, ec);
    return fail(ErrorCode::kIo, "{}: write failed: {}", path.string(), std::strerror(err));
  }
  if (overwrite == Overwrite::kRefuse) {
    // link() fails if the target appeared since the check: never clobber without --force.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      fs::remove(tmp, ec);
      if (err == EEXIST) {
        return fail(ErrorCode::kAlreadyExists,
                    "{}: already exists; pass --force to overwrite it or choose another path",
                    path.string());
      }
      return fail(ErrorCode::kIo, "{}: cannot create: {}", path.string(), std::strerror(err));
    }
    fs::remove(tmp, ec);
    return {};
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return fail(ErrorCode::kIo, "{}: cannot rename into place: {}", path.string(), ec.message());
  }
  return {};
}

Status write_text_file_atomic(const fs::path& path, std::string_view text, Overwrite overwrite) {
  return write_file_atomic(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                           overwrite);
}

}  // namespace hdeploy
