#pragma once
// Shared by the pipeline's files: manifest paths and tolerant reads of a stage's --json.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hdeploy::pipeline::detail {

// A path as the manifest names it: relative to the pipeline folder when inside it.
inline std::string manifest_path(const std::filesystem::path& path,
                                 const std::filesystem::path& dir) {
  const std::string p = path.lexically_normal().string();
  const std::string d = dir.lexically_normal().string() + "/";
  return p.starts_with(d) ? p.substr(d.size()) : p;
}

// j[key], or null when j is not an object or lacks the key.
inline const nlohmann::json& at_or_null(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

inline std::string str_or(const nlohmann::json& j, std::string_view key,
                          const std::string& fallback = "") {
  const nlohmann::json& v = at_or_null(j, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

}  // namespace hdeploy::pipeline::detail
