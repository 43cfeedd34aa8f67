#pragma once
// JSON text that never throws on strings that are not UTF-8. Linux file names are bytes, and
// nlohmann::json::dump() throws (type_error 316) on such a string: every JSON document hdeploy
// writes goes through json_text instead, which writes each invalid byte of a string or key as
// the text \xNN (a backslash, 'x', two hex digits: "img\xff.png") and says that it did so.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hdeploy {

// `bytes` itself when it is valid UTF-8; else a copy with each byte that is not part of a valid
// UTF-8 sequence written as "\xNN" (a literal backslash). Sets *escaped when it escaped anything.
std::string utf8_escaped(std::string_view bytes, bool* escaped = nullptr);

// value.dump(indent), with every string and key passed through utf8_escaped when the value holds
// one that is not UTF-8. Sets *escaped when it escaped anything. Never throws.
std::string json_text(const nlohmann::json& value, int indent = -1, bool* escaped = nullptr);

// What callers print on stderr when json_text escaped something.
inline constexpr const char* kEscapedNote =
    "a name that is not UTF-8 is written with its invalid bytes as \\xNN";

}  // namespace hdeploy
