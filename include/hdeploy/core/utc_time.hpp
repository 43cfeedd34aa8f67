#pragma once
// UTC timestamps as records and folder names show them.

#include <ctime>
#include <string>

namespace hdeploy {

// "2026-11-26T06:56:39Z" (ISO 8601, records and manifests).
std::string format_utc_iso8601(std::time_t time);
std::string utc_now_iso8601();

// "20261126T065639Z" (default folder names: sortable, no ':' for file systems that refuse it).
std::string format_utc_compact(std::time_t time);
std::string utc_now_compact();

}  // namespace hdeploy
