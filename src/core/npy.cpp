#include "hdeploy/core/npy.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <random>
#include <string_view>

#include "hdeploy/core/sha256.hpp"

namespace hdeploy {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

// Finds `'key':` in the header dict and returns the text after the colon.
std::string_view value_after(std::string_view header, std::string_view key) {
  const std::string quoted = fmt::format("'{}'", key);
  auto pos = header.find(quoted);
  if (pos == std::string_view::npos) return {};
  pos = header.find(':', pos + quoted.size());
  if (pos == std::string_view::npos) return {};
  auto rest = header.substr(pos + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

}  // namespace

std::size_t NpyArray::element_count() const {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

std::span<const float> NpyArray::as_float() const {
  return {reinterpret_cast<const float*>(data.data()), data.size() / sizeof(float)};
}

Result<NpyArray> parse_npy(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    return fail(ErrorCode::kInvalidFormat, "{}: not a .npy file (bad magic)", name);
  }
  const int major = bytes[6];
  std::size_t header_len = 0;
  std::size_t offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return fail(ErrorCode::kInvalidFormat, "{}: truncated header", name);
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) |
                 (static_cast<std::size_t>(bytes[11]) << 24);
    offset = 12;
  } else {
    return fail(ErrorCode::kUnsupported, "{}: .npy format version {} is not supported", name,
                major);
  }
  if (header_len > bytes.size() - offset) {
    return fail(ErrorCode::kInvalidFormat, "{}: truncated header", name);
  }
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);
  NpyArray array;
  const auto descr = value_after(header, "descr");
  if (descr.starts_with("'<f4'")) {
    array.dtype = DType::kFloat32;
  } else if (descr.starts_with("'|u1'") || descr.starts_with("'<u1'")) {
    array.dtype = DType::kUint8;
  } else {
    return fail(ErrorCode::kUnsupported,
                "{}: dtype {} is not supported (float32 '<f4' or uint8 '|u1' only)", name,
                descr.substr(0, descr.find(',')));
  }
  if (!value_after(header, "fortran_order").starts_with("False")) {
    return fail(ErrorCode::kUnsupported, "{}: Fortran-order arrays are not supported", name);
  }
  auto shape_text = value_after(header, "shape");
  if (shape_text.empty() || shape_text.front() != '(') {
    return fail(ErrorCode::kInvalidFormat, "{}: header has no shape", name);
  }
  shape_text.remove_prefix(1);
  std::size_t elements = 1;
  while (!shape_text.empty() && shape_text.front() != ')') {
    if (shape_text.front() == ',' || shape_text.front() == ' ') {
      shape_text.remove_prefix(1);
      continue;
    }
    std::int64_t dim = 0;
    bool digits = false;
    while (!shape_text.empty() && shape_text.front() >= '0' && shape_text.front() <= '9') {
      dim = dim * 10 + (shape_text.front() - '0');
      if (dim > (std::int64_t{1} << 40)) {
        return fail(ErrorCode::kInvalidFormat, "{}: shape dimension too large", name);
      }
      shape_text.remove_prefix(1);
      digits = true;
    }
    if (!digits) return fail(ErrorCode::kInvalidFormat, "{}: malformed shape", name);
    array.shape.push_back(dim);
    elements *= static_cast<std::size_t>(dim);
    if (elements > (std::size_t{1} << 40)) {
      return fail(ErrorCode::kInvalidFormat, "{}: array too large", name);
    }
  }
  const std::size_t data_offset = offset + header_len;
  const std::size_t expected = elements * dtype_size(array.dtype);
  if (bytes.size() - data_offset != expected) {
    return fail(ErrorCode::kInvalidFormat, "{}: holds {} data bytes, its shape {} needs {}", name,
                bytes.size() - data_offset, shape_to_string(array.shape), expected);
  }
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_offset), bytes.end());
  return array;
}

Result<NpyArray> read_npy(const std::filesystem::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  return parse_npy(bytes, path.string());
}

namespace {

// Magic, version, header length and the header dict, padded with spaces so that the data
// starts on a 64-byte boundary (or, with `padded_size`, to exactly that many bytes).
std::vector<std::uint8_t> npy_preamble(DType dtype, const std::vector<std::int64_t>& shape,
                                       std::size_t padded_size = 0) {
  std::string shape_text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    shape_text += std::to_string(shape[i]);
    shape_text += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) shape_text += ' ';
  }
  shape_text += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   dtype == DType::kFloat32 ? "<f4" : "|u1", shape_text);
  const std::size_t unpadded = 10 + header.size() + 1;
  if (padded_size >= unpadded) {
    header.append(padded_size - unpadded, ' ');
  } else {
    header.append((64 - unpadded % 64) % 64, ' ');
  }
  header += '\n';
  std::vector<std::uint8_t> out(10 + header.size());
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  out[6] = 1;  // format 1.0
  out[7] = 0;
  out[8] = static_cast<std::uint8_t>(header.size() & 0xff);
  out[9] = static_cast<std::uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  return out;
}

Status write_all(int fd, const std::uint8_t* data, std::size_t size, const std::string& name) {
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kIo, "{}: write failed: {}", name, std::strerror(errno));
    }
    written += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

std::vector<std::uint8_t> serialize_npy(DType dtype, const std::vector<std::int64_t>& shape,
                                        std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> out = npy_preamble(dtype, shape);
  const std::size_t preamble = out.size();
  out.resize(preamble + data.size());
  if (!data.empty()) std::memcpy(out.data() + preamble, data.data(), data.size());
  return out;
}

Status write_npy(const std::filesystem::path& path, DType dtype,
                 const std::vector<std::int64_t>& shape, std::span<const std::uint8_t> data,
                 Overwrite overwrite) {
  return write_file_atomic(path, serialize_npy(dtype, shape, data), overwrite);
}

struct NpyFileWriter::State {
  std::filesystem::path path;
  std::filesystem::path tmp;
  DType dtype = DType::kFloat32;
  std::vector<std::int64_t> shape;
  Overwrite overwrite = Overwrite::kRefuse;
  int fd = -1;
  std::size_t header_size = 0;
  std::uint64_t expected = 0;
  std::uint64_t written = 0;
  bool header_rewritten = false;  // the streamed digest no longer matches the file
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> digest{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  std::string sha256;

  // Closes and removes the temporary file; the writer is finished.
  void abandon() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    if (!tmp.empty()) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      tmp.clear();
    }
  }
  ~State() { abandon(); }
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  State(State&&) = delete;
  State& operator=(State&&) = delete;
};

NpyFileWriter::NpyFileWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
NpyFileWriter::NpyFileWriter(NpyFileWriter&& other) noexcept = default;
NpyFileWriter& NpyFileWriter::operator=(NpyFileWriter&& other) noexcept = default;
NpyFileWriter::~NpyFileWriter() = default;

Result<NpyFileWriter> NpyFileWriter::create(const std::filesystem::path& path, DType dtype,
                                            std::vector<std::int64_t> shape, Overwrite overwrite) {
  std::uint64_t elements = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) {
      return fail(ErrorCode::kInvalidArgument, "{}: shape {} has a negative dimension",
                  path.string(), shape_to_string(shape));
    }
    elements *= static_cast<std::uint64_t>(d);
  }
  HDEPLOY_TRY(check_writable_output(path, overwrite));
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return fail(ErrorCode::kIo, "{}: cannot create folder {}: {}", path.string(),
                  path.parent_path().string(), ec.message());
    }
  }
  auto state = std::make_unique<State>();
  state->path = path;
  state->dtype = dtype;
  state->shape = std::move(shape);
  state->overwrite = overwrite;
  state->expected = elements * dtype_size(dtype);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp-{:016x}", rng());
  state->fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (state->fd < 0) {
    return fail(ErrorCode::kIo, "{}: cannot create: {}", tmp.string(), std::strerror(errno));
  }
  state->tmp = tmp;
  const std::vector<std::uint8_t> preamble = npy_preamble(dtype, state->shape);
  state->header_size = preamble.size();
  EVP_DigestInit_ex(state->digest.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(state->digest.get(), preamble.data(), preamble.size());
  HDEPLOY_TRY(write_all(state->fd, preamble.data(), preamble.size(), path.string()));
  return NpyFileWriter(std::move(state));
}

Status NpyFileWriter::append(std::span<const std::uint8_t> bytes) {
  State& s = *state_;
  if (s.fd < 0) {
    return fail(ErrorCode::kInternal, "{}: append after the writer finished", s.path.string());
  }
  if (bytes.size() > s.expected - s.written) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: {} more bytes would exceed the {} bytes that shape {} holds", s.path.string(),
                bytes.size(), s.expected, shape_to_string(s.shape));
  }
  if (auto st = write_all(s.fd, bytes.data(), bytes.size(), s.path.string()); !st) {
    s.abandon();
    return st;
  }
  EVP_DigestUpdate(s.digest.get(), bytes.data(), bytes.size());
  s.written += bytes.size();
  return {};
}

Status NpyFileWriter::shrink_leading_dimension(std::int64_t rows) {
  State& s = *state_;
  if (s.fd < 0) {
    return fail(ErrorCode::kInternal, "{}: resize after the writer finished", s.path.string());
  }
  if (s.shape.empty() || rows < 0 || rows > s.shape[0]) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: cannot shrink the first dimension of shape {} to {}", s.path.string(),
                shape_to_string(s.shape), rows);
  }
  if (rows == s.shape[0]) return {};
  const std::uint64_t row_bytes = s.shape[0] == 0 ? 0 : s.expected / s.shape[0];
  s.shape[0] = rows;
  s.expected = row_bytes * static_cast<std::uint64_t>(rows);
  // Fewer digits (or as many) in the first dimension: the new header fits the old length.
  const std::vector<std::uint8_t> preamble = npy_preamble(s.dtype, s.shape, s.header_size);
  if (preamble.size() != s.header_size) {
    return fail(ErrorCode::kInternal, "{}: new header is {} bytes, the old {}", s.path.string(),
                preamble.size(), s.header_size);
  }
  std::size_t done = 0;
  while (done < preamble.size()) {
    const ssize_t n =
        ::pwrite(s.fd, preamble.data() + done, preamble.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      s.abandon();
      return fail(ErrorCode::kIo, "{}: write failed: {}", s.path.string(), std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  s.header_rewritten = true;
  return {};
}

Status NpyFileWriter::commit() {
  State& s = *state_;
  const std::string name = s.path.string();
  if (s.fd < 0) return fail(ErrorCode::kInternal, "{}: commit after the writer finished", name);
  if (s.written != s.expected) {
    s.abandon();
    return fail(ErrorCode::kInvalidArgument,
                "{}: {} data bytes written, shape {} needs {}; nothing was written", name,
                s.written, shape_to_string(s.shape), s.expected);
  }
  if (::fsync(s.fd) != 0 || ::close(s.fd) != 0) {
    const int err = errno;
    s.fd = -1;
    s.abandon();
    return fail(ErrorCode::kIo, "{}: write failed: {}", name, std::strerror(err));
  }
  s.fd = -1;
  std::string digest;
  if (s.header_rewritten) {
    auto hashed = sha256_file_hex(s.tmp);
    if (!hashed) {
      s.abandon();
      return unexpected(std::move(hashed).error());
    }
    digest = std::move(*hashed);
  } else {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(s.digest.get(), md.data(), &len);
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
      digest += kHex[md[i] >> 4];
      digest += kHex[md[i] & 15];
    }
  }
  std::error_code ec;
  if (s.overwrite == Overwrite::kRefuse) {
    // link() fails if the target appeared since create(): never clobber without --force.
    if (::link(s.tmp.c_str(), s.path.c_str()) != 0) {
      const int err = errno;
      s.abandon();
      if (err == EEXIST) {
        return fail(ErrorCode::kAlreadyExists,
                    "{}: already exists; pass --force to overwrite it or choose another path",
                    name);
      }
      return fail(ErrorCode::kIo, "{}: cannot create: {}", name, std::strerror(err));
    }
    s.abandon();  // removes the temporary name only; the data lives on under `path`
  } else {
    std::filesystem::rename(s.tmp, s.path, ec);
    if (ec) {
      s.abandon();
      return fail(ErrorCode::kIo, "{}: cannot rename into place: {}", name, ec.message());
    }
    s.tmp.clear();
  }
  s.sha256 = std::move(digest);
  return {};
}

const std::filesystem::path& NpyFileWriter::path() const { return state_->path; }
const std::vector<std::int64_t>& NpyFileWriter::shape() const { return state_->shape; }
std::uint64_t NpyFileWriter::data_bytes_written() const { return state_->written; }
std::uint64_t NpyFileWriter::data_bytes_expected() const { return state_->expected; }
const std::string& NpyFileWriter::sha256() const { return state_->sha256; }

}  // namespace hdeploy
