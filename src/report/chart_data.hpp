#pragma once
// The data behind report.html's charts, computed from the frames columns and the system
// samples, and thinned so that no series has more than kMaxPointsPerSeries points (Chart.js
// stays fast on records with millions of frames).

#include <nlohmann/json.hpp>
#include <span>

#include "hdeploy/report/report.hpp"

namespace hdeploy::report::detail {

inline constexpr std::size_t kMaxPointsPerSeries = 2000;
inline constexpr std::size_t kHistogramBins = 60;

// {"runs": [{"label"}], "histogram": {...}, "cdf": [[{x,y}]], "stages": {...},
//  "timelines": [{"fps", "cpu", "freq", "temps", "events"}]}
nlohmann::json chart_data(std::span<const RunRecord> runs);

}  // namespace hdeploy::report::detail
