#pragma once
// Number and text formatting shared by the renderers.

#include <optional>
#include <string>
#include <string_view>

#include "hdeploy/report/report.hpp"

namespace hdeploy::report::detail {

// Fixed decimals: fixed(2.4451, 3) -> "2.445"; non-finite -> "-".
std::string fixed(double v, int decimals);
// Significant digits: number(0.000123, 3) -> "0.000123".
std::string number(double v, int significant);
std::string signed_fixed(double v, int decimals);  // "+0.245", "-1.000"
std::string signed_percent(double percent);        // "+10.1%"
std::string ms_text(double ms);                    // "2.445 ms"
std::string bytes_text(double bytes);              // "77.5 MiB"
std::string p_value_text(double p);                // "0.4231", "3.1e-12", "< 1e-300"
std::string confidence_text(double confidence);    // "95%"
// "+0.245 ms, 95% CI [+0.240, +0.250], p = 1.2e-50" for a measured change.
std::string change_text(const MetricChange& m);
// The verdict word of a change: "REGRESSION (> 5%)", "significant improvement", ...
std::string verdict_text(const MetricChange& m, double threshold_percent);
std::string optional_ms(const std::optional<double>& v);
std::string optional_fixed(const std::optional<double>& v, int decimals);

}  // namespace hdeploy::report::detail
