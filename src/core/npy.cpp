#include "hdeploy/core/npy.hpp"

#include <cstring>
#include <limits>
#include <string_view>

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

std::vector<std::uint8_t> serialize_npy(DType dtype, const std::vector<std::int64_t>& shape,
                                        std::span<const std::uint8_t> data) {
  std::string shape_text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    shape_text += std::to_string(shape[i]);
    shape_text += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) shape_text += ' ';
  }
  shape_text += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   dtype == DType::kFloat32 ? "<f4" : "|u1", shape_text);
  // Pad with spaces so that the data starts on a 64-byte boundary, newline-terminated.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  const std::size_t preamble = 10 + header.size();
  std::vector<std::uint8_t> out(preamble + data.size());
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  out[6] = 1;  // format 1.0
  out[7] = 0;
  out[8] = static_cast<std::uint8_t>(header.size() & 0xff);
  out[9] = static_cast<std::uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + preamble, data.data(), data.size());
  return out;
}

Status write_npy(const std::filesystem::path& path, DType dtype,
                 const std::vector<std::int64_t>& shape, std::span<const std::uint8_t> data,
                 Overwrite overwrite) {
  return write_file_atomic(path, serialize_npy(dtype, shape, data), overwrite);
}

}  // namespace hdeploy
