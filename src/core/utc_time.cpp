#include "hdeploy/core/utc_time.hpp"

namespace hdeploy {
namespace {

std::string format_utc(std::time_t time, const char* format) {
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  char text[32];
  const std::size_t size = std::strftime(text, sizeof text, format, &utc);
  return {text, size};
}

}  // namespace

std::string format_utc_iso8601(std::time_t time) { return format_utc(time, "%Y-%m-%dT%H:%M:%SZ"); }
std::string utc_now_iso8601() { return format_utc_iso8601(std::time(nullptr)); }

std::string format_utc_compact(std::time_t time) { return format_utc(time, "%Y%m%dT%H%M%SZ"); }
std::string utc_now_compact() { return format_utc_compact(std::time(nullptr)); }

}  // namespace hdeploy
