// Builds the report's blocks from the records: summary, comparisons, charts (HTML), and per
// run the context, configuration, statistics, verdicts and system sections.

#include "document.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "format.hpp"
#include "json_access.hpp"

namespace hdeploy::report::detail {
namespace {

using Row = std::vector<std::string>;

std::string scalar_text(const json& v);

std::string join_array(const json& array, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (i > 0) out += separator;
    out += scalar_text(array[i]);
  }
  return out;
}

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

// The why of a null value: "<key>_why", "cpu_<key>_why" (context.governor), the object's "why".
std::string why_of(const json& object, const std::string& key) {
  for (const std::string& candidate : {key + "_why", "cpu_" + key + "_why", std::string("why")}) {
    if (auto w = string_at(object, {candidate})) return *w;
  }
  return "not measured";
}

// Text of object[key]: its value, or for null the recorded reason.
std::string value_text(const json& object, const std::string& key) {
  const json* v = find(object, {key});
  if (v == nullptr) return "-";
  if (v->is_null()) return why_of(object, key);
  return scalar_text(*v);
}

std::string percentile_key(double p) { return fmt::format("{:g}", p); }

std::vector<std::string> percentile_keys(const json& record) {
  std::vector<double> values;
  if (const json* ps = find(record, {"config", "percentiles"}); ps && ps->is_array()) {
    for (const json& p : *ps) {
      if (p.is_number()) values.push_back(p.get<double>());
    }
  }
  if (values.empty()) {
    const json& ps = object_at(record, {"results", "latency", "percentiles"});
    for (auto it = ps.begin(); it != ps.end(); ++it) {
      try {
        values.push_back(std::stod(it.key()));
      } catch (const std::exception&) {
      }
    }
    std::sort(values.begin(), values.end());
  }
  if (values.empty())
    values.assign(bench::kDefaultPercentiles.begin(), bench::kDefaultPercentiles.end());
  std::vector<std::string> keys;
  keys.reserve(values.size());
  for (double p : values) keys.push_back(percentile_key(p));
  return keys;
}

std::string ms_cell(const json& summary, const char* key) {
  auto v = number_at(summary, {key});
  return v ? fixed(*v, 3) : "-";
}

std::string percentile_cell(const json& summary, const std::string& key) {
  const json& p = object_at(summary, {"percentiles", key});
  if (p.empty()) return "-";
  auto value = number_at(p, {"value"});
  if (bool_at(p, {"supported"}).value_or(value.has_value()) && value) return fixed(*value, 3);
  return string_at(p, {"why"}).value_or("not measured");
}

Row stats_row(const std::string& label, const json& results_parent, const std::string& key,
              const std::vector<std::string>& pkeys) {
  Row row{label};
  const json* summary = find(results_parent, {key});
  if (summary == nullptr || !summary->is_object()) {
    row.push_back(summary == nullptr ? "-" : why_of(results_parent, key));
    row.resize(pkeys.size() + 7, "-");
    return row;
  }
  const auto count = number_at(*summary, {"count"});
  row.push_back(count ? fmt::format("{:.0f}", *count) : "-");
  row.push_back(ms_cell(*summary, "min"));
  row.push_back(ms_cell(*summary, "mean"));
  for (const std::string& p : pkeys) row.push_back(percentile_cell(*summary, p));
  row.push_back(ms_cell(*summary, "max"));
  row.push_back(ms_cell(*summary, "stddev"));
  return row;
}

std::string interval_text(const json& summary_percentile, double confidence) {
  auto value = number_at(summary_percentile, {"value"});
  if (!value || !bool_at(summary_percentile, {"supported"}).value_or(true)) {
    return string_at(summary_percentile, {"why"}).value_or("not measured");
  }
  auto lo = number_at(summary_percentile, {"ci_low"});
  auto hi = number_at(summary_percentile, {"ci_high"});
  if (lo && hi) {
    return fmt::format("{} ({} CI {} – {})", ms_text(*value), confidence_text(confidence),
                       fixed(*lo, 3), fixed(*hi, 3));
  }
  return ms_text(*value);
}

struct SensorMax {
  std::map<std::string, double> max_c;  // sensor -> max
};

SensorMax temperature_maxima(const json& system) {
  SensorMax out;
  const json* samples = find(system, {"samples"});
  if (samples == nullptr || !samples->is_array()) return out;
  for (const json& s : *samples) {
    const json& temps = object_at(s, {"temperatures_c"});
    for (auto it = temps.begin(); it != temps.end(); ++it) {
      if (!it->is_number()) continue;
      auto [pos, inserted] = out.max_c.emplace(it.key(), it->get<double>());
      if (!inserted) pos->second = std::max(pos->second, it->get<double>());
    }
    if (auto h = number_at(s, {"hailo_temp_c"})) {
      auto [pos, inserted] = out.max_c.emplace("hailo chip", *h);
      if (!inserted) pos->second = std::max(pos->second, *h);
    }
  }
  return out;
}

std::vector<const json*> events_of(const json& system, std::string_view kind = {}) {
  std::vector<const json*> out;
  const json* events = find(system, {"events"});
  if (events == nullptr || !events->is_array()) return out;
  for (const json& e : *events) {
    if (!e.is_object()) continue;
    if (!kind.empty() && string_at(e, {"kind"}).value_or("") != kind) continue;
    out.push_back(&e);
  }
  return out;
}

std::string event_text(const json& e) {
  const auto t = number_at(e, {"t_s"});
  return fmt::format("{} at {} s{}", string_at(e, {"kind"}).value_or("event"),
                     t ? fixed(*t, 2) : "?",
                     string_at(e, {"detail"}) ? " (" + *string_at(e, {"detail"}) + ")" : "");
}

std::string throttling_text(const json& system) {
  const json* during = find(system, {"throttled_during_run"});
  const auto throttle_events = events_of(system, "throttled");
  if (!throttle_events.empty() || (during && during->is_boolean() && during->get<bool>())) {
    std::string text = "YES";
    for (std::size_t i = 0; i < throttle_events.size() && i < 3; ++i) {
      text += (i == 0 ? ": " : "; ") + event_text(*throttle_events[i]);
    }
    if (throttle_events.size() > 3) text += fmt::format("; {} more", throttle_events.size() - 3);
    return text;
  }
  const std::optional<std::string> flags_why = string_at(system, {"unavailable", "throttled"});
  if (during && during->is_boolean()) {
    // Clocks may still show throttling when the firmware's flags cannot be read.
    return flags_why ? "none seen in clocks; throttling flags " + *flags_why : "no";
  }
  return flags_why.value_or("not measured");
}

Block summary_block(const RunRecord& run) {
  const json& r = run.record;
  const json& results = object_at(r, {"results"});
  const json& system = object_at(r, {"system"});
  const double confidence = number_at(r, {"config", "confidence"}).value_or(0.95);
  Block b;
  b.kind = Block::Kind::kSummary;
  auto add = [&b](std::string group, std::string label, std::string value) {
    b.rows.push_back({std::move(group), std::move(label), std::move(value)});
  };

  const json& tp = object_at(results, {"throughput"});
  if (auto fps = number_at(tp, {"fps"})) {
    std::string text = fixed(*fps, 2);
    auto lo = number_at(tp, {"ci_low"});
    auto hi = number_at(tp, {"ci_high"});
    if (lo && hi) {
      text += fmt::format(" ({} CI {} – {}",
                          confidence_text(number_at(tp, {"confidence"}).value_or(confidence)),
                          fixed(*lo, 2), fixed(*hi, 2));
      if (auto method = string_at(tp, {"method"})) text += "; " + *method;
      text += ")";
    } else if (auto why = string_at(tp, {"why"})) {
      text += " (" + *why + ")";
    }
    add("FPS", "(measured)", text);
  } else {
    add("FPS", "(measured)", string_at(tp, {"why"}).value_or("not measured"));
  }
  const json* latency = find(results, {"latency"});
  if (latency != nullptr && latency->is_object()) {
    for (const char* p : {"50", "99"}) {
      add(std::string(p) == "50" ? "Latency" : "", fmt::format("(end-to-end p{})", p),
          interval_text(object_at(*latency, {"percentiles", p}), confidence));
    }
    if (auto mean = number_at(*latency, {"mean"})) {
      std::string text = ms_text(*mean);
      if (auto sd = number_at(*latency, {"stddev"})) text += ", stddev " + ms_text(*sd);
      if (auto cv = number_at(*latency, {"cv_percent"})) text += ", CV " + fixed(*cv, 1) + "%";
      add("", "(end-to-end mean)", text);
    }
  } else {
    add("Latency", "(end-to-end)", latency == nullptr ? "-" : why_of(results, "latency"));
  }
  const json& stages = object_at(results, {"stages"});
  if (auto device = number_at(stages, {"device", "mean"})) {
    add("Device", "(mean per frame)", ms_text(*device));
  } else {
    add("Device", "(mean per frame)",
        find(stages, {"device"}) ? why_of(stages, "device") : "not measured");
  }
  if (auto host = number_at(results, {"verdict", "host_ms_per_frame"})) {
    add("Host", "(overhead per frame)", ms_text(*host));
  } else {
    add("Host", "(overhead per frame)", "not measured");
  }
  const json& process = object_at(system, {"process"});
  if (auto one = number_at(process, {"cpu_percent_of_one_core"})) {
    std::string text = fixed(*one, 1) + "% of one core";
    if (auto all = number_at(process, {"cpu_percent_of_all_cores"})) {
      text += fmt::format(" ({}% of all {} cores)", fixed(*all, 1),
                          number_at(system, {"cores"}).value_or(0));
    }
    add("CPU", "(process)", text);
  } else {
    add("CPU", "(process)", "not measured");
  }
  auto rss = number_at(process, {"peak_rss_bytes"});
  add("Memory", "(peak RSS)", rss ? bytes_text(*rss) : "not measured");
  const SensorMax temps = temperature_maxima(system);
  if (temps.max_c.empty()) {
    add("Temp", "(max)",
        string_at(system, {"unavailable", "temperatures_c"}).value_or("not measured"));
  } else {
    bool first = true;
    for (const auto& [sensor, max_c] : temps.max_c) {
      add(first ? "Temp" : "", "(max " + sensor + ")", fixed(max_c, 1) + " °C");
      first = false;
    }
  }
  add("Throttling", "", throttling_text(system));
  std::string frames_text;
  if (auto n = number_at(results, {"frames"})) frames_text = fmt::format("{:.0f} measured", *n);
  if (auto w = number_at(results, {"warmup", "frames"})) {
    frames_text += fmt::format(" ({:.0f} warm-up", *w);
    if (auto failed = number_at(results, {"failed_frames"})) {
      frames_text += fmt::format(", {:.0f} failed", *failed);
    }
    frames_text += ")";
  }
  if (!frames_text.empty()) add("Frames", "", frames_text);
  const bool complete = bool_at(r, {"status", "complete"}).value_or(true);
  add("Status", "",
      complete
          ? "complete"
          : "PARTIAL: " + string_at(r, {"status", "partial_reason"}).value_or("no reason given"));
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

void add_context(std::vector<Block>& doc, const json& context) {
  std::vector<Row> rows;
  std::set<std::string> shown;
  auto add_key = [&](const std::string& key, const std::string& label) {
    shown.insert(key);
    shown.insert(key + "_why");
    if (find(context, {key}) == nullptr) return;
    rows.push_back({label, value_text(context, key)});
  };
  add_key("date", "date");
  add_key("host", "host");
  add_key("raspberry_pi_model", "Raspberry Pi model");
  add_key("cpu_model", "CPU");
  add_key("cpu_count", "CPUs online");
  add_key("governor", "cpufreq governor");
  shown.insert("cpu_governor_why");
  add_key("os", "OS");
  add_key("kernel", "kernel");
  add_key("arch", "architecture");
  add_key("page_size", "page size (bytes)");
  if (auto mem = number_at(context, {"memory_total_bytes"})) {
    rows.push_back({"memory", bytes_text(*mem)});
  }
  shown.insert("memory_total_bytes");
  if (find(context, {"hdeploy_version"}) || find(context, {"hdeploy_commit"})) {
    rows.push_back({"hdeploy", fmt::format("{} (commit {})", value_text(context, "hdeploy_version"),
                                           value_text(context, "hdeploy_commit"))});
  }
  shown.insert("hdeploy_version");
  shown.insert("hdeploy_commit");
  add_key("build_type", "build type");
  const json& libraries = object_at(context, {"libraries"});
  for (auto it = libraries.begin(); it != libraries.end(); ++it) {
    if (it.key().ends_with("_why")) continue;
    rows.push_back({"library " + it.key(), value_text(libraries, it.key())});
  }
  shown.insert("libraries");
  add_key("backend", "backend");
  add_key("backend_description", "backend description");
  const json& model = object_at(context, {"model"});
  for (auto it = model.begin(); it != model.end(); ++it) {
    if (it.key().ends_with("_why")) continue;
    rows.push_back({"model " + it.key(), value_text(model, it.key())});
  }
  shown.insert("model");
  const json* onnx = find(context, {"onnx"});
  if (onnx != nullptr && onnx->is_object()) {
    for (auto it = onnx->begin(); it != onnx->end(); ++it) {
      rows.push_back({"onnx " + it.key(), value_text(*onnx, it.key())});
    }
  } else if (onnx != nullptr) {
    // null without a reason: no ONNX was involved (a HEF on hailo, a timing-only sim).
    rows.push_back({"onnx", find(context, {"onnx_why"}) ? value_text(context, "onnx") : "none"});
  }
  shown.insert("onnx");
  shown.insert("onnx_why");
  add_key("power", "power");
  // Keys this reader does not know yet (the format may grow): shown as they are.
  for (auto it = context.begin(); it != context.end(); ++it) {
    if (shown.count(it.key()) || it.key().ends_with("_why")) continue;
    rows.push_back({it.key(), value_text(context, it.key())});
  }
  doc.push_back(heading(3, "Context"));
  doc.push_back(table({"item", "value"}, std::move(rows)));
}

void add_config(std::vector<Block>& doc, const json& config) {
  std::vector<Row> rows;
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (it.key().ends_with("_why")) continue;
    std::string text;
    if (it.key() == "argv" && it->is_array()) {
      text = join_array(*it, " ");
    } else {
      text = value_text(config, it.key());
    }
    rows.push_back({it.key(), text});
  }
  if (rows.empty()) return;
  doc.push_back(heading(3, "Configuration"));
  doc.push_back(table({"flag", "value"}, std::move(rows)));
}

void add_statistics(std::vector<Block>& doc, const json& record) {
  const json& results = object_at(record, {"results"});
  const std::vector<std::string> pkeys = percentile_keys(record);
  Row header{"stage (ms)", "count", "min", "mean"};
  for (const auto& p : pkeys) header.push_back("p" + p);
  header.push_back("max");
  header.push_back("stddev");
  std::vector<Row> rows;
  rows.push_back(stats_row("end-to-end", results, "latency", pkeys));
  const json& stages = object_at(results, {"stages"});
  std::vector<std::string> names = {"preprocess", "queue_wait", "device", "postprocess"};
  for (auto it = stages.begin(); it != stages.end(); ++it) {
    if (it.key().ends_with("_why")) continue;
    if (std::find(names.begin(), names.end(), it.key()) == names.end()) names.push_back(it.key());
  }
  for (const auto& name : names) {
    if (find(stages, {name}) == nullptr && find(stages, {name + "_why"}) == nullptr) continue;
    rows.push_back(stats_row(name, stages, name, pkeys));
  }
  doc.push_back(heading(3, "Statistics per stage"));
  const double confidence = number_at(record, {"config", "confidence"}).value_or(0.95);
  doc.push_back(paragraph(fmt::format(
      "All times in milliseconds, over the measured frames (warm-up excluded). Percentiles "
      "interpolate linearly (numpy's default); a percentile is reported only with enough "
      "samples (MLPerf LoadGen's early-stopping minimum) for a {} distribution-free interval.",
      confidence_text(confidence))));
  doc.push_back(table(std::move(header), std::move(rows)));
}

void add_verdicts(std::vector<Block>& doc, const json& record) {
  const json& results = object_at(record, {"results"});
  std::vector<Row> rows;
  const json& verdict = object_at(results, {"verdict"});
  if (auto bound = string_at(verdict, {"bound"})) rows.push_back({"bound", *bound});
  if (auto text = string_at(verdict, {"text"})) rows.push_back({"verdict", *text});
  if (auto occ = number_at(verdict, {"device_occupancy"})) {
    rows.push_back({"device occupancy", fixed(100.0 * *occ, 1) + "% of the window"});
  }
  if (auto host = number_at(verdict, {"host_ms_per_frame"})) {
    rows.push_back({"host work per frame", ms_text(*host)});
  }
  if (auto interval = number_at(verdict, {"device_interval_ms"})) {
    rows.push_back({"measured window per frame", ms_text(*interval)});
  }
  const json& stability = object_at(results, {"stability"});
  if (auto cv = number_at(stability, {"cv_percent"})) {
    const bool unstable = bool_at(stability, {"unstable"}).value_or(false);
    rows.push_back(
        {"stability", fmt::format("CV {}% ({})", fixed(*cv, 2), unstable ? "UNSTABLE" : "stable")});
  }
  if (auto d = number_at(results, {"duration_s"})) {
    rows.push_back({"measured window", fixed(*d, 3) + " s"});
  }
  if (auto w = number_at(results, {"warmup", "frames"})) {
    rows.push_back(
        {"warm-up", fmt::format("{:.0f} frames, {} s", *w,
                                optional_fixed(number_at(results, {"warmup", "duration_s"}), 3))});
  }
  if (auto failed = number_at(results, {"failed_frames"})) {
    rows.push_back({"failed frames", fmt::format("{:.0f}", *failed)});
  }
  if (const json* errors = find(results, {"errors"}); errors && errors->is_array()) {
    for (const json& e : *errors) rows.push_back({"error", scalar_text(e)});
  }
  for (const char* block : {"stream", "poisson"}) {
    const json* b = find(results, {block});
    if (b == nullptr || !b->is_object()) continue;
    for (auto it = b->begin(); it != b->end(); ++it) {
      if (it.key().ends_with("_why")) continue;
      rows.push_back({fmt::format("{} {}", block, it.key()), value_text(*b, it.key())});
    }
  }
  doc.push_back(heading(3, "Verdicts"));
  if (auto warning = string_at(stability, {"warning"})) doc.push_back(alert(*warning, "warning"));
  if (rows.empty()) {
    doc.push_back(paragraph("No verdicts in the record."));
    return;
  }
  doc.push_back(table({"item", "value"}, std::move(rows)));
}

void add_system(std::vector<Block>& doc, const json& system, std::size_t run_index,
                bool has_samples) {
  doc.push_back(heading(3, "System"));
  std::vector<Row> rows;
  if (auto interval = number_at(system, {"interval_ms"})) {
    rows.push_back({"sampling interval", fixed(*interval, 0) + " ms"});
  }
  if (auto cores = number_at(system, {"cores"})) rows.push_back({"cores", number(*cores, 6)});
  const json& process = object_at(system, {"process"});
  for (auto it = process.begin(); it != process.end(); ++it) {
    std::string text = value_text(process, it.key());
    if (it.key() == "peak_rss_bytes" && it->is_number()) text = bytes_text(it->get<double>());
    rows.push_back({"process " + it.key(), text});
  }
  rows.push_back({"throttled during the run", throttling_text(system)});
  if (const json* samples = find(system, {"samples"}); samples && samples->is_array()) {
    rows.push_back({"samples", std::to_string(samples->size())});
    // Clock range per core over the run.
    std::vector<std::pair<double, double>> range;
    for (const json& s : *samples) {
      const json* f = find(s, {"core_freq_mhz"});
      if (f == nullptr || !f->is_array()) continue;
      if (range.size() < f->size()) range.resize(f->size(), {1e300, -1e300});
      for (std::size_t c = 0; c < f->size(); ++c) {
        if (!(*f)[c].is_number()) continue;
        const double mhz = (*f)[c].get<double>();
        range[c] = {std::min(range[c].first, mhz), std::max(range[c].second, mhz)};
      }
    }
    for (std::size_t c = 0; c < range.size(); ++c) {
      if (range[c].second < 0) continue;
      rows.push_back(
          {fmt::format("cpu{} clock", c),
           fmt::format("{} – {} MHz", fixed(range[c].first, 0), fixed(range[c].second, 0))});
    }
    for (const auto& [sensor, max_c] : temperature_maxima(system).max_c) {
      rows.push_back({"max temperature " + sensor, fixed(max_c, 1) + " °C"});
    }
  }
  doc.push_back(table({"item", "value"}, std::move(rows)));

  if (const json* threads = find(system, {"threads"});
      threads && threads->is_array() && !threads->empty()) {
    std::vector<Row> trows;
    for (const json& t : *threads) {
      trows.push_back({value_text(t, "name"), value_text(t, "tid"),
                       optional_fixed(number_at(t, {"user_s"}), 3),
                       optional_fixed(number_at(t, {"sys_s"}), 3),
                       optional_fixed(number_at(t, {"cpu_percent_of_one_core"}), 1)});
    }
    doc.push_back(heading(3, "CPU per thread"));
    doc.push_back(
        table({"thread", "tid", "user (s)", "sys (s)", "CPU (% of one core)"}, std::move(trows)));
  }
  const auto events = events_of(system);
  doc.push_back(heading(3, "Events"));
  if (events.empty()) {
    doc.push_back(paragraph("No throttling, clock drops or temperature events were recorded."));
  } else {
    std::vector<Row> erows;
    erows.reserve(events.size());
    for (const json* e : events) {
      erows.push_back({optional_fixed(number_at(*e, {"t_s"}), 2), value_text(*e, "kind"),
                       value_text(*e, "detail")});
    }
    doc.push_back(table({"time (s)", "kind", "detail"}, std::move(erows)));
  }
  const json& unavailable = object_at(system, {"unavailable"});
  if (!unavailable.empty()) {
    std::vector<std::string> items;
    for (auto it = unavailable.begin(); it != unavailable.end(); ++it) {
      items.push_back(it.key() + ": " + scalar_text(*it));
    }
    doc.push_back(paragraph("Not sampled:"));
    doc.push_back(list(items));
  }
  if (has_samples) {
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
    const json& r = runs[i].record;
    if (!bool_at(r, {"status", "complete"}).value_or(true)) {
      doc.push_back(
          alert(fmt::format("PARTIAL RUN {}: {}. Its numbers cover only the part that ran.",
                            run_label(runs, i),
                            string_at(r, {"status", "partial_reason"}).value_or("no reason given")),
                "partial"));
    }
    const std::size_t measured = stage_times_ms(runs[i].frames, Stage::kEndToEnd).size();
    const auto said = number_at(r, {"results", "frames"});
    if (runs[i].frames.size() > 0 && said && *said != static_cast<double>(measured)) {
      doc.push_back(alert(
          fmt::format("{}: results.frames says {:.0f} but the frames columns hold {} measured "
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
    const json& r = runs[i].record;
    doc.push_back(heading(2, "Run " + run_label(runs, i), fmt::format("run-{}", i + 1)));
    if (!bool_at(r, {"status", "complete"}).value_or(true)) {
      doc.push_back(alert(
          "PARTIAL: " + string_at(r, {"status", "partial_reason"}).value_or("no reason given"),
          "partial"));
    }
    if (runs[i].frames.size() > 0) {
      doc.push_back(chart(fmt::format("chart-fps-{}", i),
                          "Timeline: completed frames per second and process CPU (events marked)"));
    }
    add_context(doc, object_at(r, {"context"}));
    add_config(doc, object_at(r, {"config"}));
    add_statistics(doc, r);
    add_verdicts(doc, r);
    const json* samples = find(r, {"system", "samples"});
    add_system(doc, object_at(r, {"system"}), i,
               samples != nullptr && samples->is_array() && !samples->empty());
  }
  return doc;
}

}  // namespace hdeploy::report::detail
