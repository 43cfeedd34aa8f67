#include "format.hpp"

#include <fmt/format.h>

#include <cmath>

namespace hdeploy::report::detail {

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:.{}f}", v, decimals);
}

std::string number(double v, int significant) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:.{}g}", v, significant);
}

std::string signed_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:+.{}f}", v, decimals);
}

std::string signed_percent(double percent) {
  if (!std::isfinite(percent)) return "-";
  return fmt::format("{:+.1f}%", percent);
}

std::string ms_text(double ms) { return fixed(ms, 3) + " ms"; }

std::string bytes_text(double bytes) {
  if (!std::isfinite(bytes)) return "-";
  if (bytes >= 1024.0 * 1024.0 * 1024.0) return fmt::format("{:.2f} GiB", bytes / (1 << 30));
  return fmt::format("{:.1f} MiB", bytes / (1 << 20));
}

std::string p_value_text(double p) {
  if (!std::isfinite(p)) return "-";
  if (p < 1e-300) return "< 1e-300";
  if (p < 1e-4) return fmt::format("{:.1e}", p);
  return fmt::format("{:.4f}", p);
}

std::string confidence_text(double confidence) {
  return fmt::format("{:g}%", std::round(confidence * 1000.0) / 10.0);
}

std::string change_text(const MetricChange& m) {
  if (!m.measured) return m.why;
  const int decimals = m.unit == "FPS" ? 2 : 3;
  std::string text = fmt::format("{} {}, {} CI [{}, {}]", signed_fixed(m.change, decimals), m.unit,
                                 confidence_text(m.confidence), signed_fixed(m.ci_low, decimals),
                                 signed_fixed(m.ci_high, decimals));
  if (m.p_value) text += ", p = " + p_value_text(*m.p_value);
  return text;
}

std::string verdict_text(const MetricChange& m, double threshold_percent) {
  if (!m.measured) return m.why;
  if (m.regression) return fmt::format("REGRESSION (worse by > {}%)", number(threshold_percent, 4));
  if (!m.significant) return "not significant";
  if (m.worse) return fmt::format("significant, worse within {}%", number(threshold_percent, 4));
  return "significant improvement";
}

std::string optional_ms(const std::optional<double>& v) { return v ? ms_text(*v) : "-"; }

std::string optional_fixed(const std::optional<double>& v, int decimals) {
  return v ? fixed(*v, decimals) : "-";
}

}  // namespace hdeploy::report::detail
