// Builds the report's blocks from the records: summary, comparisons, charts (HTML), and per
// run the context, configuration, statistics, verdicts and system sections.

#include "document.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <type_traits>

#include "format.hpp"
#include "json_access.hpp"

namespace hdeploy::report::detail {
namespace {

using Row = std::vector<std::string>;
using bench::Distribution;
using bench::Measured;
using bench::SystemReport;

std::string scalar_text(const json& v);

std::string join_array(const json& array, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (i > 0) out += separator;
    out += scalar_text(array[i]);
  }
  return out;
}

// A value this reader does not know (a newer writer's key), shown as it is.
std::string scalar_text(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "-";
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return v.get<bool>() ? "yes" : "no";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return dump_safe(v);
    case json::value_t::number_float:
      return number(v.get<double>(), 6);
    case json::value_t::array:
      return join_array(v, ", ");
    case json::value_t::object: {
      std::string out;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!out.empty()) out += ", ";
        out += it.key() + ": " + scalar_text(it.value());
      }
      return out;
    }
    default:
      return dump_safe(v);
  }
}

std::string text(const std::string& v) { return v; }
std::string text(double v) { return number(v, 6); }
std::string text(bool v) { return v ? "yes" : "no"; }
template <class T>
requires std::is_integral_v<T> std::string text(T v) { return fmt::format("{}", v); }
template <class T>
std::string text(const std::vector<T>& v) {
  std::vector<std::string> items;
  for (const T& item : v) items.push_back(text(item));
  return fmt::format("{}", fmt::join(items, ", "));
}
template <class T>
std::string text(const Measured<T>& m, std::string_view fallback = "not measured") {
  if (m.value) return text(*m.value);
  return m.why.empty() ? std::string(fallback) : m.why;
}

std::string percentile_key(double p) { return fmt::format("{:g}", p); }

// The percentiles a record reports: those asked for, else those in its latency summary.
std::vector<double> reported_percentiles(const RunRecord& run) {
  std::vector<double> values = run.config.percentiles;
  if (values.empty() && run.results.latency) {
    for (const auto& p : run.results.latency->percentiles) values.push_back(p.percentile);
  }
  if (values.empty()) {
    values.assign(bench::kDefaultPercentiles.begin(), bench::kDefaultPercentiles.end());
  }
  return values;
}

std::string ms_cell(const std::optional<double>& v) { return v ? fixed(*v, 3) : "-"; }

std::string percentile_cell(const Distribution& d, double p) {
  const bench::PercentileResult* e = d.find(p);
  if (e == nullptr) return "-";
  return e->value ? fixed(*e->value, 3) : e->why;
}

Row stats_row(const std::string& label, const Measured<Distribution>& summary,
              const std::vector<double>& percentiles) {
  Row row{label};
  if (!summary.value) {
    row.push_back(summary.why.empty() ? "-" : summary.why);
    row.resize(percentiles.size() + 7, "-");
    return row;
  }
  const Distribution& d = *summary.value;
  row.push_back(fmt::format("{}", d.count));
  row.push_back(ms_cell(d.min));
  row.push_back(ms_cell(d.mean));
  for (double p : percentiles) row.push_back(percentile_cell(d, p));
  row.push_back(ms_cell(d.max));
  row.push_back(ms_cell(d.stddev));
  return row;
}

std::string interval_text(const Distribution& d, double p, double confidence) {
  const bench::PercentileResult* e = d.find(p);
  if (e == nullptr) return "not reported";
  if (!e->value) return e->why;
  if (e->ci_low && e->ci_high) {
    return fmt::format("{} ({} CI {} – {})", ms_text(*e->value), confidence_text(confidence),
                       fixed(*e->ci_low, 3), fixed(*e->ci_high, 3));
  }
  return ms_text(*e->value);
}

// Highest reading per sensor over the run.
std::map<std::string, double> temperature_maxima(const SystemReport& system) {
  std::map<std::string, double> out;
  auto add = [&out](const std::string& sensor, double c) {
    auto [pos, inserted] = out.emplace(sensor, c);
    if (!inserted) pos->second = std::max(pos->second, c);
  };
  for (const bench::SystemSample& s : system.samples) {
    for (const auto& [sensor, c] : s.temperatures_c) add(sensor, c);
    if (s.chip_temp_c) add("hailo chip", *s.chip_temp_c);
  }
  return out;
}

std::string event_text(const bench::SystemEvent& e) {
  return fmt::format("{} at {} s{}", e.kind.empty() ? "event" : e.kind, fixed(e.t_s, 2),
                     e.detail.empty() ? "" : " (" + e.detail + ")");
}

std::string unavailable_why(const SystemReport& system, const std::string& key) {
  auto it = system.unavailable.find(key);
  return it == system.unavailable.end() ? std::string("not measured") : it->second;
}

std::string throttling_text(const SystemReport& system) {
  std::vector<const bench::SystemEvent*> throttle_events;
  for (const auto& e : system.events) {
    if (e.kind == "throttled") throttle_events.push_back(&e);
  }
  if (!throttle_events.empty() || system.throttled_during_run) {
    std::string out = "YES";
    for (std::size_t i = 0; i < throttle_events.size() && i < 3; ++i) {
      out += (i == 0 ? ": " : "; ") + event_text(*throttle_events[i]);
    }
    if (throttle_events.size() > 3) out += fmt::format("; {} more", throttle_events.size() - 3);
    return out;
  }
  // Clocks may still show throttling when the firmware's flags cannot be read.
  if (system.unavailable.count("throttled") > 0) {
    return "none seen in clocks; throttling flags " + unavailable_why(system, "throttled");
  }
  return "no";
}

std::string status_text(const bench::RunStatus& status) {
  return status.complete ? "complete" : "PARTIAL: " + status.partial_reason;
}

Block summary_block(const RunRecord& run) {
  const bench::RunResults& results = run.results;
  const double confidence = run.config.confidence.value_or(bench::kDefaultConfidence);
  Block b;
  b.kind = Block::Kind::kSummary;
  auto add = [&b](std::string group, std::string label, std::string value) {
    b.rows.push_back({std::move(group), std::move(label), std::move(value)});
  };

  const bench::ThroughputResult& tp = results.throughput;
  if (tp.fps) {
    std::string value = fixed(*tp.fps, 2);
    if (tp.ci_low && tp.ci_high) {
      value += fmt::format(" ({} CI {} – {}", confidence_text(tp.confidence), fixed(*tp.ci_low, 2),
                           fixed(*tp.ci_high, 2));
      if (tp.method) value += "; " + *tp.method;
      value += ")";
    } else if (tp.why) {
      value += " (" + *tp.why + ")";
    }
    add("FPS", "(measured)", value);
  } else {
    add("FPS", "(measured)", tp.why.value_or("not measured"));
  }
  if (results.latency) {
    const Distribution& latency = *results.latency;
    add("Latency", "(end-to-end p50)", interval_text(latency, 50.0, confidence));
    add("", "(end-to-end p99)", interval_text(latency, 99.0, confidence));
    if (latency.mean) {
      std::string value = ms_text(*latency.mean);
      if (latency.stddev) value += ", stddev " + ms_text(*latency.stddev);
      if (latency.cv_percent) value += ", CV " + fixed(*latency.cv_percent, 1) + "%";
      add("", "(end-to-end mean)", value);
    }
  } else {
    add("Latency", "(end-to-end)", "not measured");
  }
  const Measured<Distribution>& device = results.stages.device;
  if (device.value && device.value->mean) {
    add("Device", "(mean per frame)", ms_text(*device.value->mean));
  } else {
    add("Device", "(mean per frame)",
        device.value ? device.value->why : (device.why.empty() ? "not measured" : device.why));
  }
  add("Host", "(overhead per frame)",
      results.verdict.host_ms_per_frame ? ms_text(*results.verdict.host_ms_per_frame)
                                        : "not measured");
  if (run.system) {
    const SystemReport& system = *run.system;
    add("CPU", "(process)",
        fmt::format("{}% of one core ({}% of all {} cores)",
                    fixed(system.cpu_percent_of_one_core, 1),
                    fixed(system.cpu_percent_of_all_cores, 1), system.cores));
    add("Memory", "(peak RSS)",
        system.unavailable.count("peak_rss_bytes") > 0
            ? unavailable_why(system, "peak_rss_bytes")
            : bytes_text(static_cast<double>(system.peak_rss_bytes)));
    const auto temps = temperature_maxima(system);
    if (temps.empty()) {
      add("Temp", "(max)", unavailable_why(system, "temperatures_c"));
    } else {
      bool first = true;
      for (const auto& [sensor, max_c] : temps) {
        add(first ? "Temp" : "", "(max " + sensor + ")", fixed(max_c, 1) + " °C");
        first = false;
      }
    }
    add("Throttling", "", throttling_text(system));
  } else {
    for (const char* group : {"CPU", "Memory", "Temp", "Throttling"}) {
      add(group, "", "not measured: the record has no system section");
    }
  }
  if (results.frames) {
    std::string frames = fmt::format("{} measured", *results.frames);
    if (results.warmup.frames) {
      frames += fmt::format(" ({} warm-up", *results.warmup.frames);
      if (results.failed_frames) frames += fmt::format(", {} failed", *results.failed_frames);
      frames += ")";
    }
    add("Frames", "", frames);
  }
  add("Status", "", status_text(run.status));
  return b;
}

Block table(Row header, std::vector<Row> rows) {
  Block b;
  b.kind = Block::Kind::kTable;
  b.header = std::move(header);
  b.rows = std::move(rows);
  return b;
}

Block heading(int level, std::string text, std::string id = {}) {
  Block b;
  b.kind = Block::Kind::kHeading;
  b.level = level;
  b.text = std::move(text);
  b.id = std::move(id);
  return b;
}

Block paragraph(std::string text) {
  Block b;
  b.kind = Block::Kind::kParagraph;
  b.text = std::move(text);
  return b;
}

Block alert(std::string text, std::string css) {
  Block b;
  b.kind = Block::Kind::kAlert;
  b.text = std::move(text);
  b.css = std::move(css);
  return b;
}

Block chart(std::string id, std::string title) {
  Block b;
  b.kind = Block::Kind::kChart;
  b.id = std::move(id);
  b.text = std::move(title);
  b.html_only = true;
  return b;
}

Block list(const std::vector<std::string>& items) {
  Block b;
  b.kind = Block::Kind::kList;
  for (const auto& item : items) b.rows.push_back({item});
  return b;
}

// Rows for the keys a newer writer added, shown as they are.
void add_other(std::vector<Row>& rows, const std::map<std::string, json>& other) {
  for (const auto& [key, value] : other) {
    if (key.ends_with("_why")) continue;
    auto why = other.find(key + "_why");
    rows.push_back({key, value.is_null() && why != other.end() ? scalar_text(why->second)
                                                               : scalar_text(value)});
  }
}

template <class T>
void add_row(std::vector<Row>& rows, const std::string& label, const std::optional<T>& v) {
  if (v) rows.push_back({label, text(*v)});
}
template <class T>
void add_row(std::vector<Row>& rows, const std::string& label, const Measured<T>& v) {
  if (v.value || !v.why.empty()) rows.push_back({label, text(v)});
}

void add_context(std::vector<Block>& doc, const bench::RunContext& c) {
  std::vector<Row> rows;
  add_row(rows, "date", c.date);
  add_row(rows, "host", c.host);
  add_row(rows, "Raspberry Pi model", c.raspberry_pi_model);
  add_row(rows, "CPU", c.cpu_model);
  add_row(rows, "CPUs online", c.cpu_count);
  add_row(rows, "cpufreq governor", c.governor);
  add_row(rows, "OS", c.os);
  add_row(rows, "kernel", c.kernel);
  add_row(rows, "architecture", c.arch);
  add_row(rows, "page size (bytes)", c.page_size);
  if (c.memory_total_bytes.value) {
    rows.push_back({"memory", bytes_text(*c.memory_total_bytes.value)});
  } else {
    add_row(rows, "memory", c.memory_total_bytes);
  }
  if (c.hdeploy_version || c.hdeploy_commit) {
    rows.push_back({"hdeploy", fmt::format("{} (commit {})", c.hdeploy_version.value_or("-"),
                                           c.hdeploy_commit.value_or("-"))});
  }
  add_row(rows, "build type", c.build_type);
  for (const auto& [name, version] : c.libraries)
    rows.push_back({"library " + name, text(version)});
  add_row(rows, "backend", c.backend);
  add_row(rows, "backend description", c.backend_description);
  add_row(rows, "model path", c.model.path);
  add_row(rows, "model kind", c.model.kind);
  add_row(rows, "model sha256", c.model.sha256);
  add_row(rows, "model hef_arch", c.model.hef_arch);
  add_row(rows, "model compiler_version", c.model.compiler_version);
  if (c.onnx) {
    add_row(rows, "onnx path", c.onnx->path);
    add_row(rows, "onnx sha256", c.onnx->sha256);
  } else {
    // No ONNX was involved (a HEF on hailo, a timing-only sim).
    rows.push_back({"onnx", "none"});
  }
  add_row(rows, "power", c.power);
  add_other(rows, c.other);
  doc.push_back(heading(3, "Context"));
  doc.push_back(table({"item", "value"}, std::move(rows)));
}

void add_config(std::vector<Block>& doc, const bench::RunConfig& c) {
  std::vector<Row> rows;
  add_row(rows, "scenario", c.scenario);
  add_row(rows, "duration_s", c.duration_s);
  add_row(rows, "warmup_s", c.warmup_s);
  add_row(rows, "warmup_frames", c.warmup_frames);
  add_row(rows, "min_frames_requested", c.min_frames_requested);
  add_row(rows, "min_frames", c.min_frames);
  add_row(rows, "in_flight", c.in_flight);
  add_row(rows, "preprocess_threads", c.preprocess_threads);
  add_row(rows, "input", c.input);
  add_row(rows, "input_description", c.input_description);
  add_row(rows, "images_dir", c.images_dir);
  add_row(rows, "image_count", c.image_count);
  add_row(rows, "fps", c.fps);
  add_row(rows, "deadline_ms", c.deadline_ms);
  add_row(rows, "stream_queue", c.stream_queue);
  add_row(rows, "qps", c.qps);
  add_row(rows, "latency_bound_ms", c.latency_bound_ms);
  if (!c.percentiles.empty()) rows.push_back({"percentiles", text(c.percentiles)});
  add_row(rows, "confidence", c.confidence);
  add_row(rows, "seed", c.seed);
  add_row(rows, "top_k", c.top_k);
  add_row(rows, "sample_interval_ms", c.sample_interval_ms);
  add_row(rows, "sim_fps", c.sim_fps);
  add_row(rows, "sim_latency_ms", c.sim_latency_ms);
  add_row(rows, "sim_queue", c.sim_queue);
  if (!c.argv.empty()) rows.push_back({"argv", fmt::format("{}", fmt::join(c.argv, " "))});
  add_other(rows, c.other);
  if (rows.empty()) return;
  doc.push_back(heading(3, "Configuration"));
  doc.push_back(table({"flag", "value"}, std::move(rows)));
}

void add_statistics(std::vector<Block>& doc, const RunRecord& run) {
  const bench::RunResults& results = run.results;
  const std::vector<double> percentiles = reported_percentiles(run);
  Row header{"stage (ms)", "count", "min", "mean"};
  for (double p : percentiles) header.push_back(fmt::format("p{}", percentile_key(p)));
  header.push_back("max");
  header.push_back("stddev");
  std::vector<Row> rows;
  rows.push_back(stats_row("end-to-end",
                           results.latency ? Measured<Distribution>{results.latency, {}}
                                           : Measured<Distribution>::missing("not measured"),
                           percentiles));
  for (Stage stage : bench::kStages) {
    const Measured<Distribution>* summary = results.stages.find(stage);
    if (summary == nullptr || (!summary->value && summary->why.empty())) continue;
    rows.push_back(stats_row(std::string(stage_name(stage)), *summary, percentiles));
  }
  doc.push_back(heading(3, "Statistics per stage"));
  const double confidence = run.config.confidence.value_or(bench::kDefaultConfidence);
  doc.push_back(paragraph(fmt::format(
      "All times in milliseconds, over the measured frames (warm-up excluded). Percentiles "
      "interpolate linearly (numpy's default); a percentile is reported only with enough "
      "samples (MLPerf LoadGen's early-stopping minimum) for a {} distribution-free interval.",
      confidence_text(confidence))));
  doc.push_back(table(std::move(header), std::move(rows)));
}

void add_verdicts(std::vector<Block>& doc, const bench::RunResults& results) {
  std::vector<Row> rows;
  const bench::VerdictResult& verdict = results.verdict;
  add_row(rows, "bound", verdict.bound);
  add_row(rows, "verdict", verdict.text);
  if (verdict.device_occupancy) {
    rows.push_back(
        {"device occupancy", fixed(100.0 * *verdict.device_occupancy, 1) + "% of the window"});
  }
  if (verdict.host_ms_per_frame) {
    rows.push_back({"host work per frame", ms_text(*verdict.host_ms_per_frame)});
  }
  if (verdict.device_interval_ms) {
    rows.push_back({"measured window per frame", ms_text(*verdict.device_interval_ms)});
  }
  const bench::StabilityResult& stability = results.stability;
  if (stability.cv_percent) {
    rows.push_back(
        {"stability", fmt::format("CV {}% ({})", fixed(*stability.cv_percent, 2),
                                  stability.unstable.value_or(false) ? "UNSTABLE" : "stable")});
  }
  if (results.duration_s) rows.push_back({"measured window", fixed(*results.duration_s, 3) + " s"});
  if (results.warmup.frames) {
    rows.push_back({"warm-up", fmt::format("{} frames, {} s", *results.warmup.frames,
                                           optional_fixed(results.warmup.duration_s, 3))});
  }
  if (results.failed_frames) {
    rows.push_back({"failed frames", fmt::format("{}", *results.failed_frames)});
  }
  for (const std::string& e : results.errors) rows.push_back({"error", e});
  if (const auto& st = results.stream) {
    rows.push_back({"stream fps", text(st->fps)});
    rows.push_back({"stream arrivals", text(st->arrivals)});
    rows.push_back({"stream processed", text(st->processed)});
    rows.push_back({"stream dropped", text(st->dropped)});
    rows.push_back({"stream deadline_ms", text(st->deadline_ms)});
    rows.push_back({"stream deadline_misses", text(st->deadline_misses)});
    rows.push_back({"stream queue_depth_mean",
                    st->queue_depth_mean ? text(*st->queue_depth_mean) : std::string("-")});
    rows.push_back({"stream queue_depth_max", text(st->queue_depth_max)});
  }
  if (const auto& po = results.poisson) {
    rows.push_back({"poisson qps", text(po->qps)});
    rows.push_back({"poisson achieved_qps", text(po->achieved_qps)});
    rows.push_back({"poisson latency_bound_ms", text(po->latency_bound_ms)});
    rows.push_back({"poisson p99_ms", text(po->p99_ms)});
    rows.push_back({"poisson p99_within_bound", text(po->p99_within_bound)});
  }
  doc.push_back(heading(3, "Verdicts"));
  if (stability.warning) doc.push_back(alert(*stability.warning, "warning"));
  if (rows.empty()) {
    doc.push_back(paragraph("No verdicts in the record."));
    return;
  }
  doc.push_back(table({"item", "value"}, std::move(rows)));
}

void add_system(std::vector<Block>& doc, const std::optional<SystemReport>& report,
                std::size_t run_index) {
  doc.push_back(heading(3, "System"));
  if (!report) {
    doc.push_back(paragraph("Not measured: the record has no system section."));
    return;
  }
  const SystemReport& system = *report;
  std::vector<Row> rows;
  rows.push_back({"sampling interval", fixed(system.interval_ms, 0) + " ms"});
  rows.push_back({"cores", text(system.cores)});
  rows.push_back({"process user_s", fixed(system.process_user_s, 3)});
  rows.push_back({"process sys_s", fixed(system.process_sys_s, 3)});
  rows.push_back({"process cpu_percent_of_one_core", fixed(system.cpu_percent_of_one_core, 1)});
  rows.push_back({"process cpu_percent_of_all_cores", fixed(system.cpu_percent_of_all_cores, 1)});
  rows.push_back(
      {"process peak_rss_bytes", system.unavailable.count("peak_rss_bytes") > 0
                                     ? unavailable_why(system, "peak_rss_bytes")
                                     : bytes_text(static_cast<double>(system.peak_rss_bytes))});
  rows.push_back({"throttled during the run", throttling_text(system)});
  rows.push_back({"samples", std::to_string(system.samples.size())});
  // Clock range per core over the run.
  std::vector<std::pair<double, double>> range;
  for (const bench::SystemSample& s : system.samples) {
    if (!s.core_freq_mhz) continue;
    const std::vector<double>& f = *s.core_freq_mhz;
    if (range.size() < f.size()) range.resize(f.size(), {1e300, -1e300});
    for (std::size_t c = 0; c < f.size(); ++c) {
      range[c] = {std::min(range[c].first, f[c]), std::max(range[c].second, f[c])};
    }
  }
  for (std::size_t c = 0; c < range.size(); ++c) {
    if (range[c].second < 0) continue;
    rows.push_back(
        {fmt::format("cpu{} clock", c),
         fmt::format("{} – {} MHz", fixed(range[c].first, 0), fixed(range[c].second, 0))});
  }
  for (const auto& [sensor, max_c] : temperature_maxima(system)) {
    rows.push_back({"max temperature " + sensor, fixed(max_c, 1) + " °C"});
  }
  doc.push_back(table({"item", "value"}, std::move(rows)));

  if (!system.threads.empty()) {
    std::vector<Row> trows;
    for (const bench::ThreadCpu& t : system.threads) {
      trows.push_back({t.name, text(t.tid), fixed(t.user_s, 3), fixed(t.sys_s, 3),
                       fixed(t.cpu_percent_of_one_core, 1)});
    }
    doc.push_back(heading(3, "CPU per thread"));
    doc.push_back(
        table({"thread", "tid", "user (s)", "sys (s)", "CPU (% of one core)"}, std::move(trows)));
  }
  doc.push_back(heading(3, "Events"));
  if (system.events.empty()) {
    doc.push_back(paragraph("No throttling, clock drops or temperature events were recorded."));
  } else {
    std::vector<Row> erows;
    erows.reserve(system.events.size());
    for (const bench::SystemEvent& e : system.events) {
      erows.push_back({fixed(e.t_s, 2), e.kind, e.detail});
    }
    doc.push_back(table({"time (s)", "kind", "detail"}, std::move(erows)));
  }
  if (!system.unavailable.empty()) {
    std::vector<std::string> items;
    for (const auto& [key, why] : system.unavailable) items.push_back(key + ": " + why);
    doc.push_back(paragraph("Not sampled:"));
    doc.push_back(list(items));
  }
  if (!system.samples.empty()) {
    doc.push_back(chart(fmt::format("chart-sys-{}", run_index),
                        "Clocks and temperatures over the run (events marked)"));
  }
}

void add_comparisons(std::vector<Block>& doc, std::span<const RunRecord> runs,
                     std::span<const RunComparison> comparisons) {
  if (comparisons.empty() || runs.size() < 2) return;
  const RunComparison& first = comparisons.front();
  doc.push_back(heading(2, "Comparison with the baseline " + run_label(runs, 0), "comparison"));
  doc.push_back(paragraph(fmt::format(
      "Each run is compared with the baseline from the per-frame end-to-end latencies of its "
      "measured frames (warm-up, dropped and failed frames excluded), computed from the frames "
      "columns. Intervals at {} confidence; a change is significant when its interval excludes "
      "0, and a regression when it is significant and worse than the baseline by more than {}% "
      "of the baseline value.",
      confidence_text(first.confidence), number(first.threshold_percent, 4))));

  Row header{"key number"};
  for (std::size_t i = 0; i < runs.size(); ++i) header.push_back(run_label(runs, i));
  std::vector<RunKeyNumbers> keys;
  for (const auto& run : runs) keys.push_back(key_numbers(run));
  std::vector<Row> rows;
  auto add = [&](const std::string& label, auto&& cell) {
    Row row{label};
    for (const auto& k : keys) row.push_back(cell(k));
    rows.push_back(std::move(row));
  };
  add("status", [](const RunKeyNumbers& k) {
    return k.complete ? std::string("complete") : "PARTIAL: " + k.partial_reason;
  });
  add("scenario", [](const RunKeyNumbers& k) { return k.scenario; });
  add("backend", [](const RunKeyNumbers& k) { return k.backend; });
  add("measured frames", [](const RunKeyNumbers& k) { return std::to_string(k.measured_frames); });
  add("FPS", [](const RunKeyNumbers& k) {
    std::string text = optional_fixed(k.fps, 2);
    if (k.fps_ci_low && k.fps_ci_high) {
      text += fmt::format(" [{}, {}]", fixed(*k.fps_ci_low, 2), fixed(*k.fps_ci_high, 2));
    }
    return text;
  });
  add("latency p50", [](const RunKeyNumbers& k) { return optional_ms(k.p50_ms); });
  add("latency p99", [](const RunKeyNumbers& k) { return optional_ms(k.p99_ms); });
  add("latency mean", [](const RunKeyNumbers& k) { return optional_ms(k.mean_ms); });
  add("device mean", [](const RunKeyNumbers& k) { return optional_ms(k.device_mean_ms); });
  add("host per frame", [](const RunKeyNumbers& k) { return optional_ms(k.host_ms_per_frame); });
  add("CPU (% of one core)",
      [](const RunKeyNumbers& k) { return optional_fixed(k.cpu_percent_of_one_core, 1); });
  add("peak RSS", [](const RunKeyNumbers& k) {
    return k.peak_rss_bytes ? bytes_text(*k.peak_rss_bytes) : std::string("-");
  });
  doc.push_back(heading(3, "Key numbers side by side"));
  doc.push_back(table(std::move(header), std::move(rows)));

  for (std::size_t i = 0; i < comparisons.size() && i + 1 < runs.size(); ++i) {
    const RunComparison& c = comparisons[i];
    doc.push_back(heading(3, run_label(runs, i + 1) + " vs " + run_label(runs, 0)));
    if (c.has_regression()) {
      std::vector<std::string> names;
      for (const auto& m : c.changes) {
        if (m.regression) names.push_back(m.metric + " " + signed_percent(m.change_percent));
      }
      doc.push_back(alert(fmt::format("REGRESSION: {}", fmt::join(names, "; ")), "regression"));
    }
    std::vector<Row> crows;
    for (const MetricChange& m : c.changes) {
      const int d = m.unit == "FPS" ? 2 : 3;
      if (!m.measured) {
        crows.push_back({m.metric, "-", "-", "-", "-", "-", "-", m.why});
        continue;
      }
      std::string base = fixed(m.baseline, d) + " " + m.unit;
      std::string cand = fixed(m.candidate, d) + " " + m.unit;
      if (m.unit == "FPS") {
        base += fmt::format(" [{}, {}]", fixed(m.baseline_ci_low, d), fixed(m.baseline_ci_high, d));
        cand +=
            fmt::format(" [{}, {}]", fixed(m.candidate_ci_low, d), fixed(m.candidate_ci_high, d));
      }
      crows.push_back(
          {m.metric, base, cand, signed_fixed(m.change, d) + " " + m.unit,
           signed_percent(m.change_percent),
           fmt::format("[{}, {}]", signed_fixed(m.ci_low, d), signed_fixed(m.ci_high, d)),
           m.p_value ? p_value_text(*m.p_value) : "-", verdict_text(m, c.threshold_percent)});
    }
    doc.push_back(table({"metric", "baseline", "candidate", "change", "change %",
                         confidence_text(c.confidence) + " CI", "p", "verdict"},
                        std::move(crows)));
    std::vector<std::string> methods;
    for (const MetricChange& m : c.changes) methods.push_back(m.metric + ": " + m.method);
    doc.push_back(
        paragraph(fmt::format("Frames compared: {} (baseline) and {}. Methods: {}.",
                              c.baseline_frames, c.candidate_frames, fmt::join(methods, "; "))));
    if (!c.differences.empty()) {
      doc.push_back(alert(fmt::format("These runs differ in more than the change under test: {}",
                                      fmt::join(c.differences, "; ")),
                          "warning"));
    }
  }
}

}  // namespace

std::string run_label(std::span<const RunRecord> runs, std::size_t index) {
  if (index >= runs.size()) return fmt::format("#{}", index + 1);
  return fmt::format("#{} {}", index + 1, runs[index].name);
}

std::vector<Block> build_document(std::span<const RunRecord> runs,
                                  std::span<const RunComparison> comparisons) {
  std::vector<Block> doc;
  doc.push_back(heading(1, "hdeploy report"));
  std::vector<std::string> items;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    items.push_back(fmt::format("{}{}: {}", run_label(runs, i),
                                i == 0 && runs.size() > 1 ? " (baseline)" : "",
                                runs[i].path.string()));
  }
  doc.push_back(list(items));

  // Prominent notes first: partial runs, regressions, records that disagree with themselves.
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].status.complete) {
      doc.push_back(
          alert(fmt::format("PARTIAL RUN {}: {}. Its numbers cover only the part that ran.",
                            run_label(runs, i), runs[i].status.partial_reason),
                "partial"));
    }
    const std::size_t measured = stage_times_ms(runs[i].frames, Stage::kEndToEnd).size();
    const std::optional<std::uint64_t> said = runs[i].results.frames;
    if (runs[i].frames.size() > 0 && said && *said != measured) {
      doc.push_back(
          alert(fmt::format("{}: results.frames says {} but the frames columns hold {} measured "
                            "frames; comparisons use the columns.",
                            run_label(runs, i), *said, measured),
                "warning"));
    }
    if (runs[i].frames.size() == 0) {
      doc.push_back(alert(fmt::format("{}: the record has no per-frame data (frames); it cannot "
                                      "be compared or charted.",
                                      run_label(runs, i)),
                          "warning"));
    }
  }
  for (std::size_t i = 0; i < comparisons.size(); ++i) {
    if (comparisons[i].has_regression()) {
      doc.push_back(alert(fmt::format("REGRESSION in {} against the baseline: see the comparison.",
                                      run_label(runs, i + 1)),
                          "regression"));
    }
  }

  doc.push_back(heading(2, "Summary", "summary"));
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs.size() > 1) doc.push_back(heading(3, run_label(runs, i)));
    doc.push_back(summary_block(runs[i]));
  }
  add_comparisons(doc, runs, comparisons);

  Block charts = heading(2, "Charts", "charts");
  charts.html_only = true;
  doc.push_back(charts);
  doc.push_back(chart("chart-hist", "End-to-end latency histogram (share of measured frames)"));
  doc.push_back(chart("chart-cdf", "End-to-end latency CDF"));
  doc.push_back(chart("chart-stages", "Mean time per stage (stacked, ms)"));

  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& run = runs[i];
    doc.push_back(heading(2, "Run " + run_label(runs, i), fmt::format("run-{}", i + 1)));
    if (!run.status.complete) doc.push_back(alert(status_text(run.status), "partial"));
    if (runs[i].frames.size() > 0) {
      doc.push_back(chart(fmt::format("chart-fps-{}", i),
                          "Timeline: completed frames per second and process CPU (events marked)"));
    }
    add_context(doc, run.context);
    add_config(doc, run.config);
    add_statistics(doc, run);
    add_verdicts(doc, run.results);
    add_system(doc, run.system, i);
  }
  return doc;
}

}  // namespace hdeploy::report::detail
