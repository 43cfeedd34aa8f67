// The run record's one writer and one reader, and the stage-time formulas.
//
// Each section's fields are listed once (each_field below); writing and reading walk that
// list, so a field added to a struct and to its list is written, read and shown everywhere.

#include "hdeploy/bench/run_record.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>

#include "hdeploy/core/json_text.hpp"

namespace hdeploy::bench {

using nlohmann::json;

// ---- frames and stages ----------------------------------------------------------------------

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::kPreprocess:
      return "preprocess";
    case Stage::kQueueWait:
      return "queue_wait";
    case Stage::kDevice:
      return "device";
    case Stage::kHostWait:
      return "host_wait";
    case Stage::kPostprocess:
      return "postprocess";
    case Stage::kEndToEnd:
      return "end_to_end";
  }
  return "unknown";
}

std::optional<std::int64_t> stage_time_ns(const FrameColumns& f, std::size_t i, Stage stage) {
  if (i >= f.size()) return std::nullopt;
  auto diff = [](std::int64_t end, std::int64_t start) -> std::optional<std::int64_t> {
    if (end < 0 || start < 0) return std::nullopt;
    return end - start;
  };
  switch (stage) {
    case Stage::kPreprocess:
      return diff(f.preprocess_end_ns[i], f.preprocess_start_ns[i]);
    case Stage::kQueueWait: {
      if (f.scheduled_ns[i] < 0) return std::nullopt;
      const std::int64_t ready = std::max(f.scheduled_ns[i], f.preprocess_end_ns[i]);
      return diff(f.submit_ns[i], ready);
    }
    case Stage::kDevice:
      return diff(f.complete_ns[i], f.submit_ns[i]);
    case Stage::kHostWait:
      return diff(f.postprocess_start_ns[i], f.complete_ns[i]);
    case Stage::kPostprocess:
      return diff(f.postprocess_end_ns[i], f.postprocess_start_ns[i]);
    case Stage::kEndToEnd:
      return diff(f.postprocess_end_ns[i], f.scheduled_ns[i]);
  }
  return std::nullopt;
}

std::optional<double> stage_time_ms(const FrameColumns& f, std::size_t i, Stage stage) {
  const std::optional<std::int64_t> ns = stage_time_ns(f, i, stage);
  if (!ns) return std::nullopt;
  return static_cast<double>(*ns) / 1e6;
}

bool is_measured_frame(const FrameColumns& f, std::size_t i) {
  if (i >= f.size()) return false;
  const auto excluded = static_cast<std::int64_t>(kFrameWarmup | kFrameDropped | kFrameFailed);
  if ((f.flags[i] & excluded) != 0) return false;
  return f.scheduled_ns[i] >= 0 && f.postprocess_end_ns[i] >= 0;
}

std::vector<double> stage_times_ms(const FrameColumns& frames, Stage stage) {
  std::vector<double> out;
  out.reserve(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (!is_measured_frame(frames, i)) continue;
    if (auto t = stage_time_ms(frames, i, stage)) out.push_back(*t);
  }
  return out;
}

const PercentileResult* Distribution::find(double percentile) const {
  for (const PercentileResult& p : percentiles) {
    if (p.percentile == percentile) return &p;
  }
  return nullptr;
}

const Measured<Distribution>* StageResults::find(Stage stage) const {
  switch (stage) {
    case Stage::kPreprocess:
      return &preprocess;
    case Stage::kQueueWait:
      return &queue_wait;
    case Stage::kDevice:
      return &device;
    case Stage::kPostprocess:
      return &postprocess;
    case Stage::kHostWait:
    case Stage::kEndToEnd:
      return nullptr;
  }
  return nullptr;
}

namespace {

// ---- the field lists ------------------------------------------------------------------------

template <class F>
void each_field(ModelRef& s, F&& f) {
  f("path", s.path);
  f("kind", s.kind);
  f("sha256", s.sha256);
  f("hef_arch", s.hef_arch);
  f("compiler_version", s.compiler_version);
}
template <class F>
void each_field(FileRef& s, F&& f) {
  f("path", s.path);
  f("sha256", s.sha256);
}
template <class F>
void each_field(RunContext& s, F&& f) {
  f("date", s.date);
  f("host", s.host);
  f("cpu_model", s.cpu_model);
  f("cpu_count", s.cpu_count);
  f("governor", s.governor);
  f("kernel", s.kernel);
  f("arch", s.arch);
  f("os", s.os);
  f("page_size", s.page_size);
  f("memory_total_bytes", s.memory_total_bytes);
  f("raspberry_pi_model", s.raspberry_pi_model);
  f("hdeploy_version", s.hdeploy_version);
  f("hdeploy_commit", s.hdeploy_commit);
  f("build_type", s.build_type);
  f("libraries", s.libraries);
  f("backend", s.backend);
  f("backend_description", s.backend_description);
  f("model", s.model);
  f("onnx", s.onnx);
  f("power", s.power);
}
template <class F>
void each_field(RunConfig& s, F&& f) {
  f("scenario", s.scenario);
  f("duration_s", s.duration_s);
  f("warmup_s", s.warmup_s);
  f("warmup_frames", s.warmup_frames);
  f("min_frames_requested", s.min_frames_requested);
  f("min_frames", s.min_frames);
  f("in_flight", s.in_flight);
  f("preprocess_threads", s.preprocess_threads);
  f("input", s.input);
  f("input_description", s.input_description);
  f("images_dir", s.images_dir);
  f("image_count", s.image_count);
  f("fps", s.fps);
  f("deadline_ms", s.deadline_ms);
  f("stream_queue", s.stream_queue);
  f("qps", s.qps);
  f("latency_bound_ms", s.latency_bound_ms);
  f("percentiles", s.percentiles);
  f("confidence", s.confidence);
  f("seed", s.seed);
  f("top_k", s.top_k);
  f("sample_interval_ms", s.sample_interval_ms);
  f("sim_fps", s.sim_fps);
  f("sim_latency_ms", s.sim_latency_ms);
  f("sim_queue", s.sim_queue);
  f("argv", s.argv);
}
template <class F>
void each_field(RunStatus& s, F&& f) {
  f("complete", s.complete);
  f("partial_reason", s.partial_reason);
}
template <class F>
void each_field(StageResults& s, F&& f) {
  f("preprocess", s.preprocess);
  f("queue_wait", s.queue_wait);
  f("device", s.device);
  f("postprocess", s.postprocess);
}
template <class F>
void each_field(ThroughputResult& s, F&& f) {
  f("fps", s.fps);
  f("ci_low", s.ci_low);
  f("ci_high", s.ci_high);
  f("confidence", s.confidence);
  f("method", s.method);
  f("why", s.why);
}
template <class F>
void each_field(StabilityResult& s, F&& f) {
  f("cv_percent", s.cv_percent);
  f("unstable", s.unstable);
  f("warning", s.warning);
  f("why", s.why);
}
template <class F>
void each_field(VerdictResult& s, F&& f) {
  f("bound", s.bound);
  f("text", s.text);
  f("device_occupancy", s.device_occupancy);
  f("host_ms_per_frame", s.host_ms_per_frame);
  f("device_interval_ms", s.device_interval_ms);
  f("why", s.why);
}
template <class F>
void each_field(StreamResult& s, F&& f) {
  f("fps", s.fps);
  f("arrivals", s.arrivals);
  f("processed", s.processed);
  f("dropped", s.dropped);
  f("deadline_ms", s.deadline_ms);
  f("deadline_misses", s.deadline_misses);
  f("queue_depth_mean", s.queue_depth_mean);
  f("queue_depth_max", s.queue_depth_max);
}
template <class F>
void each_field(PoissonResult& s, F&& f) {
  f("qps", s.qps);
  f("achieved_qps", s.achieved_qps);
  f("latency_bound_ms", s.latency_bound_ms);
  f("p99_ms", s.p99_ms);
  f("p99_within_bound", s.p99_within_bound);
}
template <class F>
void each_field(WarmupResult& s, F&& f) {
  f("frames", s.frames);
  f("duration_s", s.duration_s);
}
template <class F>
void each_field(RunResults& s, F&& f) {
  f("frames", s.frames);
  f("warmup", s.warmup);
  f("failed_frames", s.failed_frames);
  f("errors", s.errors);
  f("duration_s", s.duration_s);
  f("throughput", s.throughput);
  f("latency", s.latency);
  f("stages", s.stages);
  f("stability", s.stability);
  f("verdict", s.verdict);
  f("stream", s.stream);
  f("poisson", s.poisson);
}

// ---- the generic walk -----------------------------------------------------------------------

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsMap : std::false_type {};
template <class T>
struct IsMap<std::map<std::string, T>> : std::true_type {};
template <class T>
struct IsMeasured : std::false_type {};
template <class T>
struct IsMeasured<Measured<T>> : std::true_type {};

template <class T>
concept Section = requires(T& t) {
  each_field(t, [](std::string_view, auto&) {});
};
template <class T>
concept HasOther = requires(T& t) {
  t.other;
};

json write_distribution(const Distribution& d);
bool read_distribution(const json& j, Distribution& d);

template <class T>
json write(const T& value) {
  if constexpr (IsOptional<T>::value) {
    return value ? write(*value) : json(nullptr);
  } else if constexpr (std::is_same_v<T, Distribution>) {
    return write_distribution(value);
  } else if constexpr (std::is_same_v<T, json>) {
    return value;
  } else if constexpr (IsVector<T>::value) {
    json array = json::array();
    for (const auto& item : value) array.push_back(write(item));
    return array;
  } else if constexpr (IsMap<T>::value) {
    json object = json::object();
    for (const auto& [key, item] : value) {
      if constexpr (IsMeasured<typename T::mapped_type>::value) {
        object[key] = item.value ? write(*item.value) : json(nullptr);
        if (!item.value && !item.why.empty()) object[key + "_why"] = item.why;
      } else {
        object[key] = write(item);
      }
    }
    return object;
  } else if constexpr (Section<T>) {
    json object = json::object();
    // The field lists take a mutable section (one list serves reading and writing); writing
    // only reads it.
    each_field(const_cast<T&>(value), [&object](std::string_view key, const auto& field) {
      using Field = std::remove_cvref_t<decltype(field)>;
      if constexpr (IsMeasured<Field>::value) {
        object[std::string(key)] = field.value ? write(*field.value) : json(nullptr);
        if (!field.value && !field.why.empty()) object[std::string(key) + "_why"] = field.why;
      } else {
        object[std::string(key)] = write(field);
      }
    });
    if constexpr (HasOther<T>) {
      for (const auto& [key, item] : value.other) {
        if (!object.contains(key)) object[key] = item;
      }
    }
    return object;
  } else {
    return json(value);
  }
}

template <class T>
bool read(const json& j, T& out);

template <class T>
bool read_integer(const json& j, T& out) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(v);
    return true;
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (std::is_unsigned_v<T> && v < 0) return false;
    out = static_cast<T>(v);
    return true;
  }
  if (j.is_number_float()) {  // 3.0 from another writer
    const double v = j.get<double>();
    if (!std::isfinite(v) || v != std::floor(v) || (v < 0.0 && std::is_unsigned_v<T>) ||
        std::fabs(v) > 9.0e18) {
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }
  return false;
}

// The `_why` of a missing value: "<key>_why".
std::string why_at(const json& object, std::string_view key) {
  auto it = object.find(std::string(key) + "_why");
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <class T>
void read_measured(const json& object, std::string_view key, Measured<T>& out) {
  out = {};
  auto it = object.find(std::string(key));
  if (it != object.end() && !it->is_null()) {
    T value{};
    if (read(*it, value)) out.value = std::move(value);
  }
  if (!out.value) out.why = why_at(object, key);
}

template <class T>
bool read(const json& j, T& out) {
  if constexpr (IsOptional<T>::value) {
    if (j.is_null()) {
      out.reset();
      return true;
    }
    typename T::value_type value{};
    if (!read(j, value)) return false;
    out = std::move(value);
    return true;
  } else if constexpr (std::is_same_v<T, Distribution>) {
    return read_distribution(j, out);
  } else if constexpr (std::is_same_v<T, json>) {
    out = j;
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return false;
    out = j.get<bool>();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    return read_integer(j, out);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) return false;
    out = j.get<double>();
    return std::isfinite(out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return false;
    out = j.get<std::string>();
    return true;
  } else if constexpr (IsVector<T>::value) {
    if (!j.is_array()) return false;
    out.clear();
    for (const json& item : j) {
      typename T::value_type value{};
      if (read(item, value)) out.push_back(std::move(value));  // a bad entry is skipped
    }
    return true;
  } else if constexpr (IsMap<T>::value) {
    if (!j.is_object()) return false;
    out.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
      if constexpr (IsMeasured<typename T::mapped_type>::value) {
        const std::string& key = it.key();
        if (key.ends_with("_why") && j.contains(key.substr(0, key.size() - 4))) continue;
        const std::string base = key.ends_with("_why") ? key.substr(0, key.size() - 4) : key;
        read_measured(j, base, out[base]);
      } else {
        typename T::mapped_type value{};
        if (read(*it, value)) out.emplace(it.key(), std::move(value));
      }
    }
    return true;
  } else if constexpr (Section<T>) {
    if (!j.is_object()) return false;
    out = T{};
    std::set<std::string, std::less<>> known;
    each_field(out, [&](std::string_view key, auto& field) {
      using Field = std::remove_cvref_t<decltype(field)>;
      known.emplace(key);
      if constexpr (IsMeasured<Field>::value) {
        known.emplace(std::string(key) + "_why");
        read_measured(j, key, field);
      } else {
        auto it = j.find(std::string(key));
        if (it != j.end()) read(*it, field);  // a wrong type leaves the default
      }
    });
    if constexpr (HasOther<T>) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (known.count(it.key()) == 0) out.other.emplace(it.key(), *it);
      }
    }
    return true;
  } else {
    static_assert(sizeof(T) == 0, "no reader for this field type");
    return false;
  }
}

std::string percentile_key(double p) { return fmt::format("{}", p); }

json write_distribution(const Distribution& d) {
  json percentiles = json::object();
  for (const PercentileResult& p : d.percentiles) {
    json entry;
    if (p.value) {
      entry = {{"value", *p.value},
               {"ci_low", write(p.ci_low)},
               {"ci_high", write(p.ci_high)},
               {"min_samples", p.min_samples},
               {"supported", true}};
    } else {
      entry = {
          {"value", nullptr}, {"supported", false}, {"min_samples", p.min_samples}, {"why", p.why}};
    }
    percentiles[percentile_key(p.percentile)] = std::move(entry);
  }
  json j = {{"count", d.count},
            {"min", write(d.min)},
            {"mean", write(d.mean)},
            {"max", write(d.max)},
            {"stddev", write(d.stddev)},
            {"cv_percent", write(d.cv_percent)},
            {"percentiles", std::move(percentiles)},
            {"confidence", d.confidence}};
  if (!d.why.empty()) j["why"] = d.why;
  return j;
}

bool read_distribution(const json& j, Distribution& d) {
  if (!j.is_object()) return false;
  d = Distribution{};
  auto field = [&j](const char* key, auto& out) {
    if (auto it = j.find(key); it != j.end()) read(*it, out);
  };
  field("count", d.count);
  field("min", d.min);
  field("mean", d.mean);
  field("max", d.max);
  field("stddev", d.stddev);
  field("cv_percent", d.cv_percent);
  field("confidence", d.confidence);
  field("why", d.why);
  if (auto ps = j.find("percentiles"); ps != j.end() && ps->is_object()) {
    for (auto it = ps->begin(); it != ps->end(); ++it) {
      PercentileResult p;
      const std::string& key = it.key();
      const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), p.percentile);
      if (ec != std::errc{} || end != key.data() + key.size() || !it->is_object()) continue;
      const json& e = *it;
      auto entry = [&e](const char* name, auto& out) {
        if (auto f = e.find(name); f != e.end()) read(*f, out);
      };
      entry("value", p.value);
      entry("ci_low", p.ci_low);
      entry("ci_high", p.ci_high);
      entry("min_samples", p.min_samples);
      entry("why", p.why);
      bool supported = true;
      entry("supported", supported);
      if (!supported) p.value.reset();
      if (!p.value && p.why.empty()) p.why = "not measured";
      d.percentiles.push_back(std::move(p));
    }
    std::sort(d.percentiles.begin(), d.percentiles.end(),
              [](const auto& a, const auto& b) { return a.percentile < b.percentile; });
  }
  return true;
}

// A frames entry in integer nanoseconds: null is -1 (never reached), another writer's 12.0 is
// rounded; nullopt when out of range.
std::optional<std::int64_t> frame_value(const json& v) {
  if (v.is_null()) return -1;
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return std::nullopt;
    return std::llround(d);
  }
  std::int64_t value = 0;
  if (read_integer(v, value)) return value;
  return std::nullopt;
}

template <class T>
T read_section(const json& j) {
  T out{};
  read(j, out);
  return out;
}

}  // namespace

// ---- public writers and readers -------------------------------------------------------------

json to_json(const RunContext& context) { return write(context); }
json to_json(const RunConfig& config) { return write(config); }
json to_json(const RunStatus& status) {
  if (status.complete) return json{{"complete", true}};
  return json{{"complete", false}, {"partial_reason", status.partial_reason}};
}
json to_json(const RunResults& results) { return write(results); }
json to_json(const Distribution& distribution) { return write_distribution(distribution); }

json to_json(const FrameColumns& frames) {
  json j = json::object();
  json fields = json::array();
  for (const FrameColumn& column : kFrameColumns) {
    fields.push_back(std::string(column.name));
    j[std::string(column.name)] = frames.*column.values;
  }
  j["fields"] = std::move(fields);
  return j;
}

RunContext context_from_json(const json& j) { return read_section<RunContext>(j); }
RunConfig config_from_json(const json& j) { return read_section<RunConfig>(j); }
RunResults results_from_json(const json& j) { return read_section<RunResults>(j); }

SystemReport system_from_json(const json& j) {
  SystemReport r;
  if (!j.is_object()) return r;
  auto field = [](const json& object, const char* key, auto& out) {
    if (!object.is_object()) return;
    if (auto it = object.find(key); it != object.end()) read(*it, out);
  };
  field(j, "interval_ms", r.interval_ms);
  field(j, "cores", r.cores);
  field(j, "throttled_during_run", r.throttled_during_run);
  field(j, "unavailable", r.unavailable);
  if (auto p = j.find("process"); p != j.end() && p->is_object()) {
    field(*p, "user_s", r.process_user_s);
    field(*p, "sys_s", r.process_sys_s);
    field(*p, "cpu_percent_of_one_core", r.cpu_percent_of_one_core);
    field(*p, "cpu_percent_of_all_cores", r.cpu_percent_of_all_cores);
    field(*p, "peak_rss_bytes", r.peak_rss_bytes);
    field(*p, "wall_s", r.wall_s);
  }
  if (auto threads = j.find("threads"); threads != j.end() && threads->is_array()) {
    for (const json& t : *threads) {
      if (!t.is_object()) continue;
      ThreadCpu thread;
      field(t, "tid", thread.tid);
      field(t, "name", thread.name);
      field(t, "user_s", thread.user_s);
      field(t, "sys_s", thread.sys_s);
      field(t, "cpu_percent_of_one_core", thread.cpu_percent_of_one_core);
      field(t, "exited", thread.exited);
      r.threads.push_back(std::move(thread));
    }
  }
  if (auto samples = j.find("samples"); samples != j.end() && samples->is_array()) {
    for (const json& s : *samples) {
      if (!s.is_object() || !s.contains("t_s") || !s["t_s"].is_number()) continue;
      SystemSample sample;
      field(s, "t_s", sample.t_s);
      field(s, "process_cpu_percent", sample.process_cpu_percent);
      field(s, "process_user_percent", sample.process_user_percent);
      field(s, "process_sys_percent", sample.process_sys_percent);
      field(s, "core_util_percent", sample.core_util_percent);
      field(s, "core_freq_mhz", sample.core_freq_mhz);
      field(s, "temperatures_c", sample.temperatures_c);
      field(s, "hailo_temp_c", sample.chip_temp_c);
      field(s, "rss_bytes", sample.rss_bytes);
      std::string throttled;
      field(s, "throttled", throttled);
      if (throttled.starts_with("0x")) {
        std::uint32_t bits = 0;
        const char* begin = throttled.data() + 2;
        const char* end = throttled.data() + throttled.size();
        const auto [ptr, ec] = std::from_chars(begin, end, bits, 16);
        if (ec == std::errc{} && ptr == end) sample.throttled = bits;
      }
      r.samples.push_back(std::move(sample));
    }
  }
  if (auto events = j.find("events"); events != j.end() && events->is_array()) {
    for (const json& e : *events) {
      if (!e.is_object()) continue;
      SystemEvent event;
      field(e, "t_s", event.t_s);
      field(e, "kind", event.kind);
      field(e, "detail", event.detail);
      r.events.push_back(std::move(event));
    }
  }
  return r;
}

Result<FrameColumns> frames_from_json(const json& frames, std::string_view source) {
  FrameColumns out;
  if (frames.is_null()) return out;
  if (!frames.is_object()) {
    return fail(ErrorCode::kInvalidFormat, "{}: `frames` is not an object (docs/run-record.md)",
                source);
  }
  std::optional<std::size_t> length;
  std::string_view length_from;
  for (const FrameColumn& slot : kFrameColumns) {
    auto it = frames.find(slot.name);
    if (it == frames.end() || it->is_null()) continue;
    if (!it->is_array()) {
      return fail(ErrorCode::kInvalidFormat, "{}: frames.{} is not an array", source, slot.name);
    }
    if (length && *length != it->size()) {
      return fail(ErrorCode::kInvalidFormat,
                  "{}: frames.{} has {} entries but frames.{} has {}; the columns must be of "
                  "one length",
                  source, slot.name, it->size(), length_from, *length);
    }
    length = it->size();
    length_from = slot.name;
    std::vector<std::int64_t>& column = out.*slot.values;
    column.reserve(it->size());
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_number() && !v.is_null()) {
        return fail(ErrorCode::kInvalidFormat, "{}: frames.{}[{}] is not a number", source,
                    slot.name, i);
      }
      const std::optional<std::int64_t> value = frame_value(v);
      if (!value) {
        return fail(ErrorCode::kInvalidFormat, "{}: frames.{}[{}] is out of range", source,
                    slot.name, i);
      }
      column.push_back(*value);
    }
  }
  const std::size_t n = length.value_or(0);
  for (const FrameColumn& slot : kFrameColumns) {
    std::vector<std::int64_t>& column = out.*slot.values;
    if (column.size() == n) continue;
    // An absent column: sequence counts, flags are clear, timestamps were never reached.
    column.resize(n, -1);
    if (slot.values == &FrameColumns::flags) std::fill(column.begin(), column.end(), 0);
    if (slot.values == &FrameColumns::sequence) {
      for (std::size_t i = 0; i < n; ++i) column[i] = static_cast<std::int64_t>(i);
    }
  }
  return out;
}

Result<RunRecord> parse_run_record(const json& j, std::string_view source) {
  if (!j.is_object()) {
    return fail(ErrorCode::kInvalidFormat,
                R"({}: not a run record: expected a JSON object with "format": "{}")", source,
                kRunRecordFormat);
  }
  auto format = j.find("format");
  if (format == j.end() || !format->is_string()) {
    return fail(ErrorCode::kInvalidFormat,
                R"({}: not a run record: no "format" (expected "{}", written by hdeploy bench))",
                source, kRunRecordFormat);
  }
  if (format->get<std::string>() != kRunRecordFormat) {
    return fail(ErrorCode::kInvalidFormat, R"({}: not a run record: format is "{}", expected "{}")",
                source, json_text(*format), kRunRecordFormat);
  }
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer()) {
    return fail(ErrorCode::kInvalidFormat, "{}: run record without an integer \"version\"", source);
  }
  const auto v = version->get<std::int64_t>();
  if (v > kRunRecordVersion) {
    return fail(ErrorCode::kUnsupported,
                "{}: run record version {} is newer than this hdeploy reads (version {}); "
                "update hdeploy",
                source, v, kRunRecordVersion);
  }
  if (v < 1) {
    return fail(ErrorCode::kInvalidFormat, "{}: run record version {} does not exist", source, v);
  }
  RunRecord record;
  auto section = [&j](const char* key) -> const json& {
    static const json kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
  };
  record.context = context_from_json(section("context"));
  record.config = config_from_json(section("config"));
  record.status = read_section<RunStatus>(section("status"));
  if (!record.status.complete && record.status.partial_reason.empty()) {
    record.status.partial_reason = "no reason given";
  }
  record.results = results_from_json(section("results"));
  if (section("system").is_object()) record.system = system_from_json(section("system"));
  HDEPLOY_ASSIGN_OR_RETURN(record.frames, frames_from_json(section("frames"), source));
  return record;
}

std::string run_record_text(const RunRecord& record, bool with_frames) {
  // Written by hand so the sections keep their documented order (json objects sort keys).
  std::string text = fmt::format(
      "{{\n\"format\": \"{}\",\n\"version\": {},\n\"context\": {},\n\"config\": {},\n"
      "\"status\": {},\n\"results\": {},\n\"system\": {}",
      kRunRecordFormat, kRunRecordVersion, json_text(to_json(record.context), 1),
      json_text(to_json(record.config), 1), json_text(to_json(record.status), 1),
      json_text(to_json(record.results), 1),
      record.system ? json_text(to_json(*record.system), 1) : std::string("null"));
  if (with_frames) text += ",\n\"frames\": " + json_text(to_json(record.frames));
  text += "\n}\n";
  return text;
}

}  // namespace hdeploy::bench
