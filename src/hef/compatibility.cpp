// The compatibility verdict. Facts used (HailoRT 4.20-4.23 source and Hailo's release pairing):
// header v3 is read from HailoRT 4.21 on; a Hailo-8L runs only HAILO8L HEFs while a Hailo-8
// runs HAILO8 and HAILO8L ones; Hailo-10H/15H files need the HailoRT 5.x line.

#include "hdeploy/hef/compatibility.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <utility>

namespace hdeploy::hef {

namespace {

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && out >= 0;
}

// The HailoRT release each Dataflow Compiler release pairs with.
struct CompilerPairing {
  int dfc_minor;  // 3.<minor>
  RuntimeVersion runtime;
};
constexpr std::array<CompilerPairing, 5> kPairings{{
    {30, {4, 20, 0}},
    {31, {4, 21, 0}},
    {32, {4, 22, 0}},
    {33, {4, 23, 0}},
    {34, {4, 23, 0}},
}};

// Which HEF archs (HailoRT names) a device runs.
std::vector<std::string> archs_for(const std::string& device) {
  if (device == "hailo8") return {"HAILO8", "HAILO8L"};
  if (device == "hailo8l") return {"HAILO8L"};
  if (device == "hailo15h") return {"HAILO15H", "HAILO15M"};
  if (device == "hailo10h") return {"HAILO10H", "HAILO15H"};
  if (device == "hailo15m") return {"HAILO15M"};
  if (device == "hailo15l") return {"HAILO15L"};
  return {};
}

std::string pretty_device(const std::string& device) {
  if (device == "hailo8") return "Hailo-8";
  if (device == "hailo8l") return "Hailo-8L";
  if (device == "hailo10h") return "Hailo-10H";
  if (device == "hailo15h") return "Hailo-15H";
  if (device == "hailo15m") return "Hailo-15M";
  if (device == "hailo15l") return "Hailo-15L";
  return device;
}

}  // namespace

std::string RuntimeVersion::to_string() const {
  return fmt::format("{}.{}.{}", major, minor, patch);
}

Result<RuntimeVersion> parse_runtime_version(std::string_view text) {
  RuntimeVersion v;
  std::array<int*, 3> parts{&v.major, &v.minor, &v.patch};
  std::size_t index = 0;
  std::string_view rest = text;
  while (true) {
    const auto dot = rest.find('.');
    if (index >= parts.size() || !parse_int(rest.substr(0, dot), *parts[index])) {
      return fail(ErrorCode::kInvalidArgument,
                  "--runtime '{}' is not a HailoRT version such as 4.20.0", text);
    }
    ++index;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (index < 2) {
    return fail(ErrorCode::kInvalidArgument,
                "--runtime '{}' is not a HailoRT version such as 4.20.0", text);
  }
  return v;
}

Result<std::string> normalize_device(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
    return c == '-' || c == '_' ? '\0' : static_cast<char>(std::tolower(c));
  });
  lower.erase(std::remove(lower.begin(), lower.end(), '\0'), lower.end());
  if (!archs_for(lower).empty()) return lower;
  return fail(ErrorCode::kInvalidArgument,
              "--device '{}' is not a Hailo device: use hailo8, hailo8l, hailo10h, hailo15h, "
              "hailo15m or hailo15l",
              name);
}

CompatibilityVerdict check_compatibility(const HefReport& report, const RuntimeVersion& runtime,
                                         const std::string& device) {
  CompatibilityVerdict v;
  v.runtime = runtime.to_string();
  v.device = device;
  const std::string target = pretty_device(device);

  if (report.header) {
    const auto& h = *report.header;
    if (h.version >= 3 && runtime < RuntimeVersion{4, 21, 0}) {
      v.reasons.push_back(fmt::format("header version {} needs HailoRT ≥ 4.21 (this target has {})",
                                      h.version, v.runtime));
    }
  }
  if (report.proto_header) {
    const auto& p = *report.proto_header;
    const auto archs = archs_for(device);
    if (std::find(archs.begin(), archs.end(), p.arch) == archs.end()) {
      v.reasons.push_back(
          fmt::format("will not run on {}: compiled for {} — recompile with --hw-arch {}", target,
                      p.arch, device));
    }
    const bool hailo1x = p.arch == "HAILO15H" || p.arch == "HAILO15M" || p.arch == "HAILO10H" ||
                         p.arch == "HAILO15L";
    if (hailo1x && runtime.major < 5 && device != "hailo8" && device != "hailo8l") {
      v.notes.push_back("Hailo-10H/15H HEFs are run by the HailoRT 5.x line");
    }
    int dfc_major = 0;
    int dfc_minor = 0;
    if (std::sscanf(p.compiler_version.c_str(), "%d.%d", &dfc_major, &dfc_minor) == 2 &&  // NOLINT
        dfc_major == 3) {
      for (const auto& pairing : kPairings) {
        if (pairing.dfc_minor == dfc_minor && runtime < pairing.runtime) {
          v.notes.push_back(fmt::format(
              "compiled with Dataflow Compiler {}, which ships with HailoRT {}; this target "
              "has {}",
              p.compiler_version, pairing.runtime.to_string(), v.runtime));
        }
      }
    }
  }
  if (report.info && runtime.major == 4 && runtime.minor == 20) {
    std::vector<std::string> unknown;
    for (const auto& e : report.info->extensions) {
      if (!e.supported_by_4_20)
        unknown.push_back(e.name.empty() ? std::to_string(e.type_index) : e.name);
    }
    if (!unknown.empty()) {
      v.reasons.push_back(fmt::format("needs extensions HailoRT {} does not have: {}", v.runtime,
                                      fmt::join(unknown, ", ")));
    }
  }
  if (report.error) {
    v.reasons.push_back("the file cannot be loaded: " + report.error->message);
  }
  v.ok = v.reasons.empty();
  return v;
}

}  // namespace hdeploy::hef
