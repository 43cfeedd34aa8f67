#include "hdeploy/core/json_text.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace hdeploy {
namespace {

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, at most U+10FFFF), or 0 when it does not start with one.
std::size_t valid_sequence(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

void escape_strings(nlohmann::json& value, bool& escaped) {
  if (value.is_string()) {
    value = utf8_escaped(value.get_ref<const std::string&>(), &escaped);
  } else if (value.is_array()) {
    for (auto& item : value) escape_strings(item, escaped);
  } else if (value.is_object()) {
    nlohmann::json object = nlohmann::json::object();
    for (auto& [key, item] : value.items()) {
      escape_strings(item, escaped);
      object[utf8_escaped(key, &escaped)] = std::move(item);
    }
    value = std::move(object);
  }
}

}  // namespace

std::string utf8_escaped(std::string_view bytes, bool* escaped) {
  std::string out;
  bool any = false;
  std::size_t done = 0;  // bytes of `bytes` already copied to `out`
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t n = valid_sequence(bytes.substr(i));
    if (n > 0) {
      i += n;
      continue;
    }
    out.append(bytes.substr(done, i - done));
    out += fmt::format("\\x{:02x}", static_cast<std::uint8_t>(bytes[i]));
    any = true;
    done = ++i;
  }
  if (!any) return std::string(bytes);
  out.append(bytes.substr(done));
  if (escaped != nullptr) *escaped = true;
  return out;
}

std::string json_text(const nlohmann::json& value, int indent, bool* escaped) {
  try {
    return value.dump(indent);
  } catch (const nlohmann::json::type_error&) {
    // 316: a string that is not UTF-8. Escape a copy and write that.
  }
  nlohmann::json copy = value;
  bool any = false;
  escape_strings(copy, any);
  if (escaped != nullptr && any) *escaped = true;
  return copy.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hdeploy
