#pragma once
// Non-throwing reads of an untrusted run record: a missing key or a value of the wrong type
// reads as "absent" instead of throwing nlohmann's type_error.

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "hdeploy/core/json_text.hpp"

namespace hdeploy::report::detail {

using nlohmann::json;

// The value at a path of object keys, or nullptr when any step is missing or not an object.
inline const json* find(const json& root, std::span<const std::string_view> keys) {
  const json* node = &root;
  for (std::string_view key : keys) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}
inline const json* find(const json& root, std::initializer_list<std::string_view> keys) {
  return find(root, std::span<const std::string_view>(keys.begin(), keys.size()));
}

inline const json& empty_object() {
  static const json kEmpty = json::object();
  return kEmpty;
}

// The object at a path, or an empty object.
inline const json& object_at(const json& root, std::initializer_list<std::string_view> keys) {
  const json* node = find(root, keys);
  return node != nullptr && node->is_object() ? *node : empty_object();
}

inline std::optional<double> number_at(const json& root,
                                       std::initializer_list<std::string_view> keys) {
  const json* node = find(root, keys);
  if (node == nullptr || !node->is_number()) return std::nullopt;
  return node->get<double>();
}

inline std::optional<std::string> string_at(const json& root,
                                            std::initializer_list<std::string_view> keys) {
  const json* node = find(root, keys);
  if (node == nullptr || !node->is_string()) return std::nullopt;
  return node->get<std::string>();
}

inline std::optional<bool> bool_at(const json& root, std::initializer_list<std::string_view> keys) {
  const json* node = find(root, keys);
  if (node == nullptr || !node->is_boolean()) return std::nullopt;
  return node->get<bool>();
}

// dump() that cannot throw on invalid UTF-8 (file names are bytes).
inline std::string dump_safe(const json& j, int indent = -1) { return json_text(j, indent); }

}  // namespace hdeploy::report::detail
