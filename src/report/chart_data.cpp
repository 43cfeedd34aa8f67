#include "chart_data.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "document.hpp"
#include "format.hpp"
#include "json_access.hpp"

namespace hdeploy::report::detail {
namespace {

json point(double x, double y) { return json{{"x", x}, {"y", y}}; }

// Evenly spaced indices 0 .. n-1, at most `limit` of them, first and last included.
std::vector<std::size_t> thin_indices(std::size_t n, std::size_t limit) {
  std::vector<std::size_t> out;
  if (n == 0) return out;
  if (n <= limit) {
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = i;
    return out;
  }
  out.reserve(limit);
  for (std::size_t k = 0; k < limit; ++k) {
    out.push_back(static_cast<std::size_t>(std::llround(
        static_cast<double>(k) * static_cast<double>(n - 1) / static_cast<double>(limit - 1))));
  }
  return out;
}

// 1, 2 or 5 times a power of ten, at least `raw`.
double nice_step(double raw) {
  if (!(raw > 0.0)) return 1.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10.0 * p;
}

json histogram(const std::vector<std::vector<double>>& sorted_runs) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (const auto& s : sorted_runs) {
    if (s.empty()) continue;
    lo = std::min(lo, s.front());
    // The upper edge covers 99.9% of each run: a few outliers must not squash the rest.
    hi = std::max(hi, s.size() > 1 ? bench::percentile_of_sorted(s, 99.9) : s.back());
  }
  json out = {{"labels", json::array()}, {"shares", json::array()}, {"overflow_ms", nullptr}};
  if (!std::isfinite(lo)) return out;
  if (hi <= lo) hi = lo + std::max(1e-3, std::fabs(lo) * 1e-3);
  const double width = (hi - lo) / static_cast<double>(kHistogramBins);
  for (std::size_t b = 0; b < kHistogramBins; ++b) {
    const double centre = lo + (static_cast<double>(b) + 0.5) * width;
    out["labels"].push_back(b + 1 == kHistogramBins ? "≥ " + fixed(hi - width, 3)
                                                    : fixed(centre, 3));
  }
  bool overflow = false;
  for (const auto& s : sorted_runs) {
    std::vector<double> counts(kHistogramBins, 0.0);
    for (double v : s) {
      // Clamped as a double first: a wild value must not overflow the integer bin index.
      const double position = std::floor((v - lo) / width);
      const auto last = static_cast<double>(kHistogramBins - 1);
      if (position > last) overflow = overflow || v > hi;
      counts[static_cast<std::size_t>(std::clamp(position, 0.0, last))] += 1.0;
    }
    json shares = json::array();
    for (double c : counts) {
      shares.push_back(s.empty() ? 0.0 : std::round(1e5 * c / static_cast<double>(s.size())) / 1e3);
    }
    out["shares"].push_back(std::move(shares));
  }
  if (overflow) out["overflow_ms"] = hi;
  return out;
}

json cdf(const std::vector<double>& sorted) {
  json points = json::array();
  const std::size_t n = sorted.size();
  for (std::size_t i : thin_indices(n, kMaxPointsPerSeries)) {
    points.push_back(point(sorted[i], static_cast<double>(i + 1) / static_cast<double>(n)));
  }
  return points;
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double sum = 0.0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

json stage_means(std::span<const RunRecord> runs) {
  const Stage stages[] = {Stage::kPreprocess, Stage::kQueueWait, Stage::kDevice, Stage::kHostWait,
                          Stage::kPostprocess};
  json names = json::array();
  for (Stage s : stages) names.push_back(std::string(stage_name(s)));
  names.push_back("other (waiting for a worker, gaps)");
  json means = json::array();
  for (const RunRecord& run : runs) {
    json row = json::array();
    double sum = 0.0;
    for (Stage s : stages) {
      const double m = mean_of(stage_times_ms(run.frames, s));
      sum += m;
      row.push_back(std::round(m * 1e6) / 1e6);
    }
    const double e2e = mean_of(stage_times_ms(run.frames, Stage::kEndToEnd));
    row.push_back(std::round(std::max(0.0, e2e - sum) * 1e6) / 1e6);
    means.push_back(std::move(row));
  }
  return {{"names", std::move(names)}, {"means", std::move(means)}};
}

json timeline(const RunRecord& run) {
  const FrameColumns& f = run.frames;
  json out = {{"fps", json::array()},   {"cpu", json::array()},    {"freq", json::array()},
              {"temps", json::array()}, {"events", json::array()}, {"bin_s", nullptr}};
  // Frames completed per second in time bins, warm-up included (the whole run is shown).
  std::vector<double> done_s;
  double measured_from = -1.0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if ((f.flags[i] & static_cast<std::int64_t>(kFrameDropped | kFrameFailed)) != 0 ||
        f.postprocess_end_ns[i] < 0)
      continue;
    done_s.push_back(static_cast<double>(f.postprocess_end_ns[i]) / 1e9);
    if (is_measured_frame(f, i)) {
      const double t = static_cast<double>(f.scheduled_ns[i]) / 1e9;
      if (measured_from < 0.0 || t < measured_from) measured_from = t;
    }
  }
  if (!done_s.empty()) {
    const double end = *std::max_element(done_s.begin(), done_s.end());
    // About 200 bins, each holding 30 completions on average at least (less jagged rates).
    const double per_frame = end / static_cast<double>(done_s.size());
    const double bin = std::max(1e-3, nice_step(std::max(end / 200.0, 30.0 * per_frame)));
    const auto bins = std::min<std::size_t>(kMaxPointsPerSeries,
                                            static_cast<std::size_t>(std::floor(end / bin)) + 1);
    std::vector<double> counts(bins, 0.0);
    for (double t : done_s) {
      const auto b = std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, t / bin)));
      counts[b] += 1.0;
    }
    for (std::size_t b = 0; b < bins; ++b) {
      // The last bin is partial: rate over the part the run covered.
      const double start = static_cast<double>(b) * bin;
      const double len = b + 1 == bins ? std::max(end - start, bin * 0.05) : bin;
      out["fps"].push_back(point(start + len / 2.0, std::round(100.0 * counts[b] / len) / 100.0));
    }
    out["bin_s"] = bin;
  }
  if (measured_from > 0.0) {
    out["events"].push_back(
        {{"t", measured_from}, {"kind", "measured"}, {"detail", "warm-up ends, measuring"}});
  }
  if (!run.system) return out;
  const bench::SystemReport& system = *run.system;
  std::map<std::string, json> temps;  // sensor -> points
  json freq = json::array();
  for (std::size_t i : thin_indices(system.samples.size(), kMaxPointsPerSeries)) {
    const bench::SystemSample& s = system.samples[i];
    const double t = s.t_s;
    out["cpu"].push_back(point(t, s.process_cpu_percent));
    if (s.core_freq_mhz) {
      for (std::size_t c = 0; c < s.core_freq_mhz->size() && c < 64; ++c) {
        while (freq.size() <= c) {
          freq.push_back(
              {{"label", fmt::format("cpu{} MHz", freq.size())}, {"points", json::array()}});
        }
        freq[c]["points"].push_back(point(t, (*s.core_freq_mhz)[c]));
      }
    }
    for (const auto& [sensor, celsius] : s.temperatures_c) {
      if (temps.size() >= 16 && !temps.count(sensor)) continue;
      auto [pos, inserted] = temps.emplace(sensor, json::array());
      pos->second.push_back(point(t, celsius));
    }
    if (s.chip_temp_c) {
      auto [pos, inserted] = temps.emplace("hailo chip", json::array());
      pos->second.push_back(point(t, *s.chip_temp_c));
    }
  }
  out["freq"] = std::move(freq);
  for (auto& [name, points] : temps) {
    out["temps"].push_back({{"label", name + " °C"}, {"points", std::move(points)}});
  }
  std::size_t kept = 0;
  for (const bench::SystemEvent& e : system.events) {
    if (++kept > 200) break;
    std::string detail = e.detail;
    if (detail.size() > 120) detail.resize(120);
    out["events"].push_back({{"t", e.t_s}, {"kind", e.kind}, {"detail", detail}});
  }
  return out;
}

}  // namespace

json chart_data(std::span<const RunRecord> runs) {
  json data = {{"runs", json::array()}, {"cdf", json::array()}, {"timelines", json::array()}};
  std::vector<std::vector<double>> sorted;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    data["runs"].push_back({{"label", run_label(runs, i)}});
    std::vector<double> latencies = end_to_end_latencies_ms(runs[i]);
    std::sort(latencies.begin(), latencies.end());
    data["cdf"].push_back(cdf(latencies));
    sorted.push_back(std::move(latencies));
    data["timelines"].push_back(timeline(runs[i]));
  }
  data["histogram"] = histogram(sorted);
  data["stages"] = stage_means(runs);
  return data;
}

}  // namespace hdeploy::report::detail
