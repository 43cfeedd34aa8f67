#pragma once
// Whether a HEF will load on a given HailoRT version and Hailo device, and why not: the checks
// HailoRT makes when it opens and configures a HEF (header version, required extensions, device
// arch), made ahead of time on any machine.

#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/core/result.hpp"
#include "hdeploy/hef/hef_reader.hpp"

namespace hdeploy::hef {

struct RuntimeVersion {
  int major = 0, minor = 0, patch = 0;
  std::string to_string() const;
  auto operator<=>(const RuntimeVersion&) const = default;
};

// Parses "4.20.0" or "4.20". Errors: kInvalidArgument.
Result<RuntimeVersion> parse_runtime_version(std::string_view text);

// Device names hdeploy accepts: hailo8, hailo8l, hailo10h, hailo15h, hailo15m, hailo15l.
// Errors: kInvalidArgument (lists the accepted names).
Result<std::string> normalize_device(std::string_view name);

struct CompatibilityVerdict {
  std::string runtime;  // "4.20.0"
  std::string device;   // "hailo8l"
  bool ok = false;
  std::vector<std::string> reasons;  // why it will not run (empty when ok)
  std::vector<std::string> notes;    // worth knowing, not blocking
};

// Judges what `report` learned about a file (a failed read is itself a reason).
CompatibilityVerdict check_compatibility(const HefReport& report, const RuntimeVersion& runtime,
                                         const std::string& device);

}  // namespace hdeploy::hef
