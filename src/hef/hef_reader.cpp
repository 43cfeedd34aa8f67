// HefReader: the fixed header, checksums, and the protobuf metadata turned into HailoRT's
// host-side view. The derivation rules (which network group layout is used, how device formats
// map to host formats, how outputs are ordered) follow what HailoRT 4.20 does, re-implemented
// here; see hef_subset.proto for the fields read.

#include "hdeploy/hef/hef_reader.hpp"

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>

#include "hdeploy/core/file.hpp"
#include "hef_subset.pb.h"
#include "hef_view.hpp"

namespace hdeploy::hef {

namespace {

constexpr std::uint32_t kCommonHeaderSize = 12;
// Larger files are not HEFs anyone compiled (the biggest Model Zoo HEFs are ~100 MB).
constexpr std::uint64_t kMaxFileSize = 1ULL << 31;

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
std::uint64_t be64(const std::uint8_t* p) {
  return (std::uint64_t{be32(p)} << 32) | std::uint64_t{be32(p + 4)};
}

std::string hex(const std::uint8_t* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xF];
  }
  return out;
}

std::uint32_t header_size_for(std::uint32_t version) {
  switch (version) {
    case 0:
      return 32;
    case 1:
      return 28;
    case 2:
      return 44;
    case 3:
      return 56;
    default:
      return 0;
  }
}

// Computes the checksum the header version uses over `body` (everything after the header).
Result<std::string> compute_checksum(ChecksumKind kind, std::span<const std::uint8_t> body) {
  switch (kind) {
    case ChecksumKind::kMd5: {
      std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
      unsigned int length = 0;
      if (EVP_Digest(body.data(), body.size(), digest.data(), &length, EVP_md5(), nullptr) != 1) {
        return fail(ErrorCode::kInternal, "OpenSSL MD5 failed");
      }
      return hex(digest.data(), length);
    }
    case ChecksumKind::kCrc32: {
      uLong crc = crc32_z(0L, Z_NULL, 0);
      crc = crc32_z(crc, body.data(), body.size());
      return fmt::format("{:08x}", static_cast<std::uint32_t>(crc));
    }
    case ChecksumKind::kXxh3_64:
      return fmt::format("{:016x}", XXH3_64bits(body.data(), body.size()));
  }
  return fail(ErrorCode::kInternal, "unknown checksum kind");
}

// Finds the `header` message (field 1) at the start of a possibly truncated protobuf and decodes
// it, so that a cut-short file still tells its arch and compiler version.
std::optional<HefProtoHeader> peek_proto_header(std::span<const std::uint8_t> proto) {
  std::size_t pos = 0;
  auto read_varint = [&](std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= proto.size()) return false;
      const std::uint8_t byte = proto[pos++];
      value |= std::uint64_t{byte & 0x7FU} << shift;
      if ((byte & 0x80U) == 0) return true;
    }
    return false;
  };
  while (pos < proto.size()) {
    std::uint64_t tag = 0;
    if (!read_varint(tag)) return std::nullopt;
    const std::uint64_t field = tag >> 3;
    const std::uint64_t wire_type = tag & 7U;
    std::uint64_t skip = 0;
    switch (wire_type) {
      case 0: {
        std::uint64_t ignored = 0;
        if (!read_varint(ignored)) return std::nullopt;
        continue;
      }
      case 1:
        skip = 8;
        break;
      case 5:
        skip = 4;
        break;
      case 2: {
        if (!read_varint(skip)) return std::nullopt;
        if (skip > proto.size() - pos) return std::nullopt;
        if (field == 1) {
          pb::Header header;
          if (!header.ParseFromArray(proto.data() + pos, static_cast<int>(skip))) {
            return std::nullopt;
          }
          return to_proto_header(header);
        }
        break;
      }
      default:
        return std::nullopt;
    }
    if (skip > proto.size() - pos) return std::nullopt;
    pos += skip;
  }
  return std::nullopt;
}

}  // namespace

const char* to_string(ChecksumKind kind) {
  switch (kind) {
    case ChecksumKind::kMd5:
      return "MD5";
    case ChecksumKind::kCrc32:
      return "CRC32";
    case ChecksumKind::kXxh3_64:
      return "XXH3-64";
  }
  return "?";
}

std::string arch_name(std::uint32_t hw_arch_value) {
  switch (hw_arch_value) {
    case 0:
    case 1:
    case 2:
      return "HAILO8";
    case 3:
      return "HAILO8L";
    case 4:
      return "HAILO15M";
    case 5:
      return "HAILO10H";
    case 6:
      return "HAILO15L";
    case 103:
      return "HAILO15H";
    default:
      return fmt::format("UNKNOWN ARCHITECTURE ({})", hw_arch_value);
  }
}

HefProtoHeader to_proto_header(const pb::Header& header) {
  HefProtoHeader out;
  out.hw_arch_value = header.hw_arch();
  out.arch = arch_name(header.hw_arch());
  out.sdk_version = header.sdk_version();
  // Compiler 5.x writes "sdk-version: 5.1.0, git-branch: HEAD, git-commit: ...".
  std::string_view version = out.sdk_version;
  constexpr std::string_view kPrefix = "sdk-version: ";
  if (const auto at = version.find(kPrefix); at != std::string_view::npos) {
    version.remove_prefix(at + kPrefix.size());
    version = version.substr(0, version.find(','));
  }
  out.compiler_version = std::string(version);
  out.timestamp = header.timestamp();
  out.version = header.version();
  return out;
}

Result<HefHeader> HefReader::read_header(std::span<const std::uint8_t> bytes,
                                         std::uint64_t file_size) {
  if (bytes.size() < kCommonHeaderSize) {
    return fail(ErrorCode::kInvalidFormat,
                "not a HEF file: {} bytes is shorter than the 12-byte header start", bytes.size());
  }
  const std::uint32_t magic = be32(bytes.data());
  if (magic != kHefMagic) {
    return fail(ErrorCode::kInvalidFormat,
                "not a HEF file: magic is 0x{:08x}, a HEF starts with 0x{:08x} (01 'H' 'E' 'F')",
                magic, kHefMagic);
  }
  HefHeader header;
  header.version = be32(bytes.data() + 4);
  header.proto_size = be32(bytes.data() + 8);
  header.actual_file_size = file_size;
  header.header_size = header_size_for(header.version);
  if (header.header_size == 0) {
    return fail(ErrorCode::kUnsupported,
                "HEF header version {} is unknown (this reader knows versions 0 to 3); the file "
                "comes from a newer Dataflow Compiler",
                header.version);
  }
  if (bytes.size() < header.header_size) {
    return fail(ErrorCode::kInvalidFormat,
                "truncated HEF: a version {} header is {} bytes, the file has {}", header.version,
                header.header_size, bytes.size());
  }
  const std::uint8_t* d = bytes.data() + kCommonHeaderSize;
  // Each size is bounded before it is added, so the sums cannot overflow.
  constexpr std::uint64_t kSizeBound = 1ULL << 60;
  std::uint64_t rest = 0;  // bytes declared after the proto
  switch (header.version) {
    case 0:
      header.checksum_kind = ChecksumKind::kMd5;
      header.expected_checksum = hex(d + 4, 16);
      break;
    case 1:
      header.checksum_kind = ChecksumKind::kCrc32;
      header.expected_checksum = fmt::format("{:08x}", be32(d));
      header.ccws_size = be64(d + 4);
      rest = header.ccws_size;
      break;
    case 2:
      header.checksum_kind = ChecksumKind::kXxh3_64;
      header.expected_checksum = fmt::format("{:016x}", be64(d));
      header.ccws_size = be64(d + 8);
      rest = header.ccws_size;
      break;
    case 3:
      header.checksum_kind = ChecksumKind::kXxh3_64;
      header.expected_checksum = fmt::format("{:016x}", be64(d));
      header.ccws_size = be64(d + 8);
      header.padding_size = be32(d + 16);
      header.additional_info_size = be64(d + 20);
      if (header.ccws_size >= kSizeBound || header.additional_info_size >= kSizeBound) {
        return fail(ErrorCode::kInvalidFormat,
                    "corrupt HEF header: declared sizes (ccws {} bytes, additional info {} "
                    "bytes) are impossible",
                    header.ccws_size, header.additional_info_size);
      }
      rest = header.ccws_size + header.additional_info_size;
      break;
    default:
      break;
  }
  if (rest >= kSizeBound) {
    return fail(ErrorCode::kInvalidFormat,
                "corrupt HEF header: declared configuration size {} bytes is impossible", rest);
  }
  header.declared_file_size = std::uint64_t{header.header_size} + header.proto_size + rest;
  if (header.version == 3 && header.padding_size > header.ccws_size) {
    return fail(ErrorCode::kInvalidFormat,
                "corrupt HEF header: padding {} bytes is larger than the configuration ({} bytes)",
                header.padding_size, header.ccws_size);
  }
  return header;
}

HefReport HefReader::inspect_buffer(std::span<const std::uint8_t> bytes) {
  HefReport report;
  auto header = read_header(bytes, bytes.size());
  if (!header) {
    report.error = header.error();
    return report;
  }
  report.header = *header;
  HefHeader& h = *report.header;
  const std::uint64_t available_proto =
      std::min<std::uint64_t>(h.proto_size, bytes.size() - h.header_size);
  auto proto_prefix = bytes.subspan(h.header_size, available_proto);

  if (h.actual_file_size != h.declared_file_size) {
    report.proto_header = peek_proto_header(proto_prefix);
    if (h.actual_file_size < h.declared_file_size) {
      report.error = make_error(
          ErrorCode::kInvalidFormat,
          "truncated HEF: the version {} header declares {} bytes ({} of metadata), the file "
          "has {} ({} bytes missing; {} of the {} metadata bytes present)",
          h.version, h.declared_file_size, h.proto_size, h.actual_file_size, h.missing_bytes(),
          proto_prefix.size(), h.proto_size);
    } else {
      report.error = make_error(ErrorCode::kInvalidFormat,
                                "corrupt HEF: the header declares {} bytes, the file has {} ({} "
                                "bytes more than the header accounts for)",
                                h.declared_file_size, h.actual_file_size,
                                h.actual_file_size - h.declared_file_size);
    }
    return report;
  }

  auto computed = compute_checksum(h.checksum_kind, bytes.subspan(h.header_size));
  if (!computed) {
    report.error = computed.error();
    return report;
  }
  h.computed_checksum = *computed;
  h.checksum_ok = h.computed_checksum == h.expected_checksum;
  if (!h.checksum_ok) {
    report.proto_header = peek_proto_header(proto_prefix);
    report.error = make_error(ErrorCode::kInvalidFormat,
                              "corrupt HEF: {} checksum mismatch (header says {}, content has {}); "
                              "the file was modified or damaged in transfer",
                              to_string(h.checksum_kind), h.expected_checksum, h.computed_checksum);
    return report;
  }

  if (proto_prefix.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    report.error =
        make_error(ErrorCode::kUnsupported,
                   "HEF metadata of {} bytes is larger than protobuf reads (2 GiB)", h.proto_size);
    return report;
  }
  pb::Hef message;
  if (!message.ParseFromArray(proto_prefix.data(), static_cast<int>(proto_prefix.size()))) {
    report.proto_header = peek_proto_header(proto_prefix);
    report.error = make_error(ErrorCode::kInvalidFormat,
                              "corrupt HEF: the {}-byte metadata block does not decode as protobuf",
                              h.proto_size);
    return report;
  }
  report.proto_header = to_proto_header(message.header());
  auto info = build_hef_info(message, h);
  if (!info) {
    report.error = info.error();
    return report;
  }
  report.info = std::move(*info);
  return report;
}

HefReport HefReader::inspect_file(const std::filesystem::path& path) {
  HefReport report;
  auto bytes = ::hdeploy::read_file(path, kMaxFileSize);
  if (!bytes) {
    report.error = bytes.error();
    return report;
  }
  report = inspect_buffer(*bytes);
  if (report.error) {
    report.error->message = fmt::format("{}: {}", path.string(), report.error->message);
  }
  return report;
}

Result<HefInfo> HefReader::read_buffer(std::span<const std::uint8_t> bytes) {
  HefReport report = inspect_buffer(bytes);
  if (report.error) return unexpected(std::move(*report.error));
  return std::move(*report.info);
}

Result<HefInfo> HefReader::read_file(const std::filesystem::path& path) {
  HefReport report = inspect_file(path);
  if (report.error) return unexpected(std::move(*report.error));
  return std::move(*report.info);
}

}  // namespace hdeploy::hef
