// From frame traces to the `results` and `frames` objects of docs/run-record.md.

#include <algorithm>
#include <cmath>
#include <utility>

#include "hdeploy/bench/runner.hpp"
#include "hdeploy/bench/statistics.hpp"

namespace hdeploy::bench {
namespace {

using nlohmann::json;

// Below this share of the measured window with a frame in the device, the device waited.
constexpr double kDeviceBoundOccupancy = 0.9;
// stream/poisson keep up with their load when they complete at least this share of the
// offered rate.
constexpr double kKeepingUpShare = 0.95;

constexpr const char* kNoSamples = "not measured: no frame completed in the measured window";

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double sum = 0.0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

std::string percentile_key(double p) { return fmt::format("{}", p); }

json summary_json(const std::vector<double>& samples, const AnalyzeOptions& options) {
  const SampleSummary s = summarize(samples, options.percentiles, options.confidence);
  json percentiles = json::object();
  for (const PercentileEstimate& e : s.percentiles) {
    json entry;
    if (e.supported) {
      entry = {{"value", e.value},
               {"ci_low", e.ci_low},
               {"ci_high", e.ci_high},
               {"min_samples", e.min_samples},
               {"supported", true}};
    } else {
      entry = {
          {"value", nullptr}, {"supported", false}, {"min_samples", e.min_samples}, {"why", e.why}};
    }
    percentiles[percentile_key(e.percentile)] = std::move(entry);
  }
  json j = {
      {"count", s.count}, {"percentiles", std::move(percentiles)}, {"confidence", s.confidence}};
  if (s.count == 0) {
    for (const char* key : {"min", "mean", "max", "stddev", "cv_percent"}) j[key] = nullptr;
    j["why"] = kNoSamples;
    return j;
  }
  j["min"] = s.min;
  j["mean"] = s.mean;
  j["max"] = s.max;
  j["stddev"] = s.stddev;
  j["cv_percent"] = s.cv_percent;
  return j;
}

// Length of the union of [begin, end) intervals clipped to [lo, hi].
std::int64_t covered_ns(std::vector<std::pair<std::int64_t, std::int64_t>>& intervals,
                        std::int64_t lo, std::int64_t hi) {
  std::sort(intervals.begin(), intervals.end());
  std::int64_t covered = 0;
  std::int64_t reach = lo;  // everything before `reach` is counted already
  for (auto [begin, end] : intervals) {
    begin = std::max(begin, reach);
    end = std::min(end, hi);
    if (end <= begin) continue;
    covered += end - begin;
    reach = end;
  }
  return covered;
}

// The measured samples of one run, per stage, in milliseconds.
struct Samples {
  std::vector<double> end_to_end, preprocess, queue_wait, device, postprocess;
  std::vector<double> completions_s;  // every frame completed inside the measured window
  std::uint64_t warmup_frames = 0;
  std::uint64_t arrivals = 0;  // measured frames scheduled (stream: dropped included)
  std::uint64_t dropped = 0;
  std::uint64_t deadline_misses = 0;
  std::int64_t last_arrival_ns = -1;
  double queue_depth_sum = 0.0;
  std::uint32_t queue_depth_max = 0;
  double occupancy = 0.0;  // share of the window with >= 1 frame in the device
};

Samples collect(const RunResult& run) {
  Samples s;
  const std::int64_t lo = run.measure_start_ns;
  const std::int64_t hi = run.measure_end_ns;
  std::vector<std::pair<std::int64_t, std::int64_t>> in_device;
  for (const FrameTrace& t : run.frames) {
    const bool warmup = (t.flags & FrameTrace::kWarmup) != 0;
    const bool dropped = (t.flags & FrameTrace::kDropped) != 0;
    const bool failed = (t.flags & FrameTrace::kFailed) != 0;
    if (t.submit_ns >= 0 && t.complete_ns >= t.submit_ns) {
      in_device.emplace_back(t.submit_ns, t.complete_ns);
    }
    const bool done = !dropped && !failed && t.postprocess_end_ns >= 0;
    if (done && t.postprocess_end_ns >= lo && t.postprocess_end_ns <= hi) {
      s.completions_s.push_back(static_cast<double>(t.postprocess_end_ns) / 1e9);
    }
    if (warmup) {
      ++s.warmup_frames;
      continue;
    }
    ++s.arrivals;
    s.last_arrival_ns = std::max(s.last_arrival_ns, t.scheduled_ns);
    s.queue_depth_sum += t.queue_depth;
    s.queue_depth_max = std::max(s.queue_depth_max, t.queue_depth);
    if (dropped) ++s.dropped;
    if ((t.flags & FrameTrace::kDeadlineMiss) != 0) ++s.deadline_misses;
    if (!done) continue;
    s.end_to_end.push_back(ms(t.postprocess_end_ns - t.scheduled_ns));
    if (t.preprocess_start_ns >= 0 && t.preprocess_end_ns >= 0) {
      s.preprocess.push_back(ms(t.preprocess_end_ns - t.preprocess_start_ns));
    }
    s.queue_wait.push_back(ms(t.submit_ns - std::max(t.scheduled_ns, t.preprocess_end_ns)));
    s.device.push_back(ms(t.complete_ns - t.submit_ns));
    s.postprocess.push_back(ms(t.postprocess_end_ns - t.postprocess_start_ns));
  }
  if (hi > lo) {
    s.occupancy = static_cast<double>(covered_ns(in_device, lo, hi)) / static_cast<double>(hi - lo);
  }
  return s;
}

json throughput_json(const Samples& s, const RunResult& run, const AnalyzeOptions& options) {
  const double start_s = static_cast<double>(run.measure_start_ns) / 1e9;
  const double end_s = static_cast<double>(run.measure_end_ns) / 1e9;
  if (s.completions_s.empty() || end_s <= start_s) {
    return {{"fps", nullptr},     {"ci_low", nullptr},
            {"ci_high", nullptr}, {"confidence", options.confidence},
            {"method", nullptr},  {"why", kNoSamples}};
  }
  const ThroughputEstimate t =
      throughput_batch_means(s.completions_s, start_s, end_s, 20, options.confidence);
  json j = {{"fps", t.fps},
            {"confidence", t.confidence},
            {"method", fmt::format("batch means, {} batches of {:.3g} s", t.batches, t.batch_s)}};
  if (t.ci_valid) {
    j["ci_low"] = t.ci_low;
    j["ci_high"] = t.ci_high;
    j["why"] = nullptr;
  } else {
    j["ci_low"] = nullptr;
    j["ci_high"] = nullptr;
    j["why"] = t.why;
  }
  return j;
}

json stability_json(const Samples& s, const AnalyzeOptions& options) {
  if (s.device.size() < 2) {
    return {{"cv_percent", nullptr},
            {"unstable", nullptr},
            {"warning", nullptr},
            {"why", "not measured: needs at least 2 device times"}};
  }
  const SampleSummary device = summarize(s.device, {}, options.confidence);
  const bool unstable = device.cv_percent > kUnstableCvPercent;
  json j = {{"cv_percent", device.cv_percent}, {"unstable", unstable}, {"warning", nullptr}};
  if (unstable) {
    j["warning"] = fmt::format(
        "device time varies: coefficient of variation {:.1f}% > {:g}%: other load, thermal "
        "throttling or power saving can make results unstable",
        device.cv_percent, kUnstableCvPercent);
  }
  return j;
}

std::string percent(double share) { return fmt::format("{:.0f}%", 100.0 * share); }

json verdict_json(const Samples& s, const RunResult& run, const RunOptions& options,
                  bool source_measured, double achieved_rate, double offered_rate) {
  const double window_ms = ms(run.measure_end_ns - run.measure_start_ns);
  const std::size_t workers = std::max<std::size_t>(1, run.preprocess_threads);
  const double pre_ms = mean_of(s.preprocess);
  const double post_ms = mean_of(s.postprocess);
  const double host_ms = pre_ms / static_cast<double>(workers) + post_ms;
  json j = {{"device_occupancy", s.occupancy}, {"host_ms_per_frame", host_ms}};
  if (s.completions_s.empty() || window_ms <= 0.0) {
    j["bound"] = nullptr;
    j["text"] = nullptr;
    j["device_interval_ms"] = nullptr;
    j["why"] = kNoSamples;
    return j;
  }
  const double interval_ms = window_ms / static_cast<double>(s.completions_s.size());
  j["device_interval_ms"] = interval_ms;
  // Three significant digits: host work is often microseconds, device intervals milliseconds.
  const char* pre_name = source_measured ? "preprocess" : "input copy";
  const std::string host_detail = fmt::format(
      "host work {:.3g} ms/frame ({} {:.3g} ms over {} worker{} + post-process "
      "{:.3g} ms) vs {:.3g} ms between completions",
      host_ms, pre_name, pre_ms, workers, workers == 1 ? "" : "s", post_ms, interval_ms);
  std::string bound;
  std::string text;
  const bool loaded =
      options.scenario == Scenario::kStream || options.scenario == Scenario::kPoisson;
  if (options.scenario == Scenario::kLatency) {
    const double e2e = mean_of(s.end_to_end);
    const double device = mean_of(s.device);
    const double host = pre_ms + post_ms;
    const double device_share = e2e > 0.0 ? device / e2e : 0.0;
    const double host_share = e2e > 0.0 ? host / e2e : 0.0;
    bound = device_share >= host_share ? "device" : "host";
    text = fmt::format(
        "{}-bound: of {:.3g} ms per frame end to end, the device took {:.3g} ms ({}) and host "
        "work {:.3g} ms ({}: {} {:.3g} + post-process {:.3g})",
        bound, e2e, device, percent(device_share), host, percent(host_share), pre_name, pre_ms,
        post_ms);
  } else if (loaded && offered_rate > 0.0 && achieved_rate >= kKeepingUpShare * offered_rate) {
    bound = "load";
    text = fmt::format(
        "load-bound: the pipeline kept up with the offered {:.1f}/s ({:.1f}/s achieved); a frame "
        "was in the device {} of the time, {}",
        offered_rate, achieved_rate, percent(s.occupancy), host_detail);
  } else if (s.occupancy >= kDeviceBoundOccupancy) {
    bound = "device";
    text = fmt::format("device-bound: a frame was in the device {} of the time; {}",
                       percent(s.occupancy), host_detail);
  } else {
    bound = "host";
    text = fmt::format("host-bound: the device sat idle {} of the time waiting for frames; {}",
                       percent(1.0 - s.occupancy), host_detail);
  }
  if (loaded && bound != "load") {
    text += fmt::format("; offered {:.1f}/s, achieved {:.1f}/s", offered_rate, achieved_rate);
  }
  j["bound"] = bound;
  j["text"] = text;
  return j;
}

}  // namespace

json analyze(const RunResult& run, const RunOptions& options,
             const AnalyzeOptions& analyze_options) {
  const Samples s = collect(run);
  const double window_s = static_cast<double>(run.measure_end_ns - run.measure_start_ns) / 1e9;
  const std::uint64_t processed = s.end_to_end.size();

  json results;
  results["frames"] = processed;
  results["warmup"] = {{"frames", s.warmup_frames}, {"duration_s", run.warmup_s}};
  results["failed_frames"] = run.failed_frames;
  results["errors"] = run.errors;
  results["duration_s"] = window_s;
  results["throughput"] = throughput_json(s, run, analyze_options);
  results["latency"] = summary_json(s.end_to_end, analyze_options);
  json stages = json::object();
  if (analyze_options.source_measured) {
    stages["preprocess"] = summary_json(s.preprocess, analyze_options);
  } else {
    stages["preprocess"] = nullptr;
    stages["preprocess_why"] = "not measured: fixed tensor input (--random-input)";
  }
  stages["queue_wait"] = summary_json(s.queue_wait, analyze_options);
  stages["device"] = summary_json(s.device, analyze_options);
  stages["postprocess"] = summary_json(s.postprocess, analyze_options);
  results["stages"] = std::move(stages);
  results["stability"] = stability_json(s, analyze_options);

  // Rates for stream/poisson: what was offered (measured arrivals over their span) and what
  // was achieved (processed frames over the measured window, which runs until the last of them
  // completes, so a backlog lowers it).
  double offered = 0.0;
  if (options.scenario == Scenario::kStream) offered = options.stream_fps;
  if (options.scenario == Scenario::kPoisson) offered = options.poisson_qps;
  const double achieved = window_s > 0.0 ? static_cast<double>(processed) / window_s : 0.0;
  results["verdict"] =
      verdict_json(s, run, options, analyze_options.source_measured, achieved, offered);

  results["stream"] = nullptr;
  results["poisson"] = nullptr;
  if (options.scenario == Scenario::kStream) {
    const double deadline_ms =
        options.deadline_ms > 0.0 ? options.deadline_ms : 1000.0 / options.stream_fps;
    json stream = {{"fps", options.stream_fps},
                   {"arrivals", s.arrivals},
                   {"processed", processed},
                   {"dropped", s.dropped},
                   {"deadline_ms", deadline_ms},
                   {"deadline_misses", s.deadline_misses},
                   {"queue_depth_max", s.queue_depth_max}};
    if (s.arrivals > 0) {
      stream["queue_depth_mean"] = s.queue_depth_sum / static_cast<double>(s.arrivals);
    } else {
      stream["queue_depth_mean"] = nullptr;
    }
    results["stream"] = std::move(stream);
  }
  if (options.scenario == Scenario::kPoisson) {
    json poisson = {{"qps", options.poisson_qps}};
    if (window_s > 0.0) {
      poisson["achieved_qps"] = achieved;
    } else {
      poisson["achieved_qps"] = nullptr;
      poisson["achieved_qps_why"] = kNoSamples;
    }
    const double bound = analyze_options.latency_bound_ms;
    if (bound > 0.0) {
      poisson["latency_bound_ms"] = bound;
    } else {
      poisson["latency_bound_ms"] = nullptr;
      poisson["latency_bound_ms_why"] = "no bound given (--latency-bound-ms)";
    }
    const double p99[] = {99.0};
    const SampleSummary tail = summarize(s.end_to_end, p99, analyze_options.confidence);
    const PercentileEstimate& e = tail.percentiles.at(0);
    if (e.supported) {
      poisson["p99_ms"] = e.value;
      if (bound > 0.0) {
        poisson["p99_within_bound"] = e.value <= bound;
      } else {
        poisson["p99_within_bound"] = nullptr;
        poisson["p99_within_bound_why"] = "no bound given (--latency-bound-ms)";
      }
    } else {
      poisson["p99_ms"] = nullptr;
      poisson["p99_ms_why"] = e.why;
      poisson["p99_within_bound"] = nullptr;
      poisson["p99_within_bound_why"] = e.why;
    }
    results["poisson"] = std::move(poisson);
  }
  return results;
}

json frames_to_json(const RunResult& run) {
  static constexpr const char* kFields[] = {"sequence",          "flags",
                                            "source_index",      "queue_depth",
                                            "scheduled_ns",      "preprocess_start_ns",
                                            "preprocess_end_ns", "submit_ns",
                                            "complete_ns",       "postprocess_start_ns",
                                            "postprocess_end_ns"};
  const std::size_t n = run.frames.size();
  std::vector<std::uint64_t> sequence(n);
  std::vector<std::uint32_t> flags(n);
  std::vector<std::uint32_t> source_index(n);
  std::vector<std::uint32_t> queue_depth(n);
  std::vector<std::int64_t> times[7];
  for (auto& column : times) column.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const FrameTrace& t = run.frames[i];
    sequence[i] = t.sequence;
    flags[i] = t.flags;
    source_index[i] = t.source_index;
    queue_depth[i] = t.queue_depth;
    const std::int64_t values[7] = {
        t.scheduled_ns, t.preprocess_start_ns,  t.preprocess_end_ns, t.submit_ns,
        t.complete_ns,  t.postprocess_start_ns, t.postprocess_end_ns};
    for (std::size_t k = 0; k < 7; ++k) times[k][i] = values[k];
  }
  json j;
  j["fields"] = kFields;
  j["sequence"] = std::move(sequence);
  j["flags"] = std::move(flags);
  j["source_index"] = std::move(source_index);
  j["queue_depth"] = std::move(queue_depth);
  for (std::size_t k = 0; k < 7; ++k) j[kFields[4 + k]] = std::move(times[k]);
  return j;
}

}  // namespace hdeploy::bench
