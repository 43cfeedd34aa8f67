// From frame traces to the typed `results` and `frames` of the run record (run_record.hpp).

#include <algorithm>
#include <cmath>
#include <utility>

#include "hdeploy/bench/runner.hpp"
#include "hdeploy/bench/statistics.hpp"

namespace hdeploy::bench {
namespace {

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

Distribution distribution_of(const std::vector<double>& samples, const AnalyzeOptions& options) {
  const SampleSummary s = summarize(samples, options.percentiles, options.confidence);
  Distribution d;
  d.count = s.count;
  d.confidence = s.confidence;
  for (const PercentileEstimate& e : s.percentiles) {
    PercentileResult p;
    p.percentile = e.percentile;
    p.min_samples = e.min_samples;
    if (e.supported) {
      p.value = e.value;
      p.ci_low = e.ci_low;
      p.ci_high = e.ci_high;
    } else {
      p.why = e.why;
    }
    d.percentiles.push_back(std::move(p));
  }
  if (s.count == 0) {
    d.why = kNoSamples;
    return d;
  }
  d.min = s.min;
  d.mean = s.mean;
  d.max = s.max;
  d.stddev = s.stddev;
  d.cv_percent = s.cv_percent;
  return d;
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

// The measured samples of one run, per stage, in milliseconds (stage_time_ms's formulas).
struct Samples {
  std::vector<double> end_to_end, preprocess, queue_wait, device, postprocess;
  std::vector<double> completions_s;  // every frame completed inside the measured window
  std::uint64_t warmup_frames = 0;
  std::uint64_t arrivals = 0;  // measured frames scheduled (stream: dropped included)
  std::uint64_t dropped = 0;
  std::uint64_t deadline_misses = 0;
  double queue_depth_sum = 0.0;
  std::int64_t queue_depth_max = 0;
  double occupancy = 0.0;  // share of the window with >= 1 frame in the device
};

Samples collect(const RunResult& run, const FrameColumns& f) {
  Samples s;
  const std::int64_t lo = run.measure_start_ns;
  const std::int64_t hi = run.measure_end_ns;
  std::vector<std::pair<std::int64_t, std::int64_t>> in_device;
  const auto has = [&f](std::size_t i, std::uint32_t flag) {
    return (f.flags[i] & static_cast<std::int64_t>(flag)) != 0;
  };
  const auto push = [&f](std::vector<double>& out, std::size_t i, Stage stage) {
    if (auto t = stage_time_ms(f, i, stage)) out.push_back(*t);
  };
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f.submit_ns[i] >= 0 && f.complete_ns[i] >= f.submit_ns[i]) {
      in_device.emplace_back(f.submit_ns[i], f.complete_ns[i]);
    }
    const bool done =
        !has(i, kFrameDropped) && !has(i, kFrameFailed) && f.postprocess_end_ns[i] >= 0;
    if (done && f.postprocess_end_ns[i] >= lo && f.postprocess_end_ns[i] <= hi) {
      s.completions_s.push_back(static_cast<double>(f.postprocess_end_ns[i]) / 1e9);
    }
    if (has(i, kFrameWarmup)) {
      ++s.warmup_frames;
      continue;
    }
    ++s.arrivals;
    s.queue_depth_sum += static_cast<double>(f.queue_depth[i]);
    s.queue_depth_max = std::max(s.queue_depth_max, f.queue_depth[i]);
    if (has(i, kFrameDropped)) ++s.dropped;
    if (has(i, kFrameDeadlineMissed)) ++s.deadline_misses;
    if (!is_measured_frame(f, i)) continue;
    push(s.end_to_end, i, Stage::kEndToEnd);
    push(s.preprocess, i, Stage::kPreprocess);
    push(s.queue_wait, i, Stage::kQueueWait);
    push(s.device, i, Stage::kDevice);
    push(s.postprocess, i, Stage::kPostprocess);
  }
  if (hi > lo) {
    s.occupancy = static_cast<double>(covered_ns(in_device, lo, hi)) / static_cast<double>(hi - lo);
  }
  return s;
}

ThroughputResult throughput_of(const Samples& s, const RunResult& run,
                               const AnalyzeOptions& options) {
  ThroughputResult r;
  r.confidence = options.confidence;
  const double start_s = static_cast<double>(run.measure_start_ns) / 1e9;
  const double end_s = static_cast<double>(run.measure_end_ns) / 1e9;
  if (s.completions_s.empty() || end_s <= start_s) {
    r.why = kNoSamples;
    return r;
  }
  const ThroughputEstimate t =
      throughput_batch_means(s.completions_s, start_s, end_s, 20, options.confidence);
  r.fps = t.fps;
  r.confidence = t.confidence;
  r.method = fmt::format("batch means, {} batches of {:.3g} s", t.batches, t.batch_s);
  if (t.ci_valid) {
    r.ci_low = t.ci_low;
    r.ci_high = t.ci_high;
  } else {
    r.why = t.why;
  }
  return r;
}

StabilityResult stability_of(const Samples& s, const AnalyzeOptions& options) {
  StabilityResult r;
  if (s.device.size() < 2) {
    r.why = "not measured: needs at least 2 device times";
    return r;
  }
  const SampleSummary device = summarize(s.device, {}, options.confidence);
  r.cv_percent = device.cv_percent;
  r.unstable = device.cv_percent > kUnstableCvPercent;
  if (*r.unstable) {
    r.warning = fmt::format(
        "device time varies: coefficient of variation {:.1f}% > {:g}%: other load, thermal "
        "throttling or power saving can make results unstable",
        device.cv_percent, kUnstableCvPercent);
  }
  return r;
}

std::string percent(double share) { return fmt::format("{:.0f}%", 100.0 * share); }

VerdictResult verdict_of(const Samples& s, const RunResult& run, const RunOptions& options,
                         bool source_measured, double achieved_rate, double offered_rate) {
  const double window_ms = ms(run.measure_end_ns - run.measure_start_ns);
  const std::size_t workers = std::max<std::size_t>(1, run.preprocess_threads);
  const double pre_ms = mean_of(s.preprocess);
  const double post_ms = mean_of(s.postprocess);
  const double host_ms = pre_ms / static_cast<double>(workers) + post_ms;
  VerdictResult r;
  r.device_occupancy = s.occupancy;
  r.host_ms_per_frame = host_ms;
  if (s.completions_s.empty() || window_ms <= 0.0) {
    r.why = kNoSamples;
    return r;
  }
  const double interval_ms = window_ms / static_cast<double>(s.completions_s.size());
  r.device_interval_ms = interval_ms;
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
  r.bound = bound;
  r.text = text;
  return r;
}

constexpr const char* kNoBound = "no latency bound given";

}  // namespace

RunResults analyze(const RunResult& run, const RunOptions& options,
                   const AnalyzeOptions& analyze_options) {
  return analyze(run, frame_columns(run), options, analyze_options);
}

RunResults analyze(const RunResult& run, const FrameColumns& frames, const RunOptions& options,
                   const AnalyzeOptions& analyze_options) {
  const Samples s = collect(run, frames);
  const double window_s = static_cast<double>(run.measure_end_ns - run.measure_start_ns) / 1e9;
  const std::uint64_t processed = s.end_to_end.size();

  RunResults results;
  results.frames = processed;
  results.warmup.frames = s.warmup_frames;
  results.warmup.duration_s = run.warmup_s;
  results.failed_frames = run.failed_frames;
  results.errors = run.errors;
  results.duration_s = window_s;
  results.throughput = throughput_of(s, run, analyze_options);
  results.latency = distribution_of(s.end_to_end, analyze_options);
  if (analyze_options.source_measured) {
    results.stages.preprocess.value = distribution_of(s.preprocess, analyze_options);
  } else {
    results.stages.preprocess.why = "not measured: fixed tensor input (--random-input)";
  }
  results.stages.queue_wait.value = distribution_of(s.queue_wait, analyze_options);
  results.stages.device.value = distribution_of(s.device, analyze_options);
  results.stages.postprocess.value = distribution_of(s.postprocess, analyze_options);
  results.stability = stability_of(s, analyze_options);

  // Rates for stream/poisson: what was offered (measured arrivals over their span) and what
  // was achieved (processed frames over the measured window, which runs until the last of them
  // completes, so a backlog lowers it).
  double offered = 0.0;
  if (options.scenario == Scenario::kStream) offered = options.stream_fps;
  if (options.scenario == Scenario::kPoisson) offered = options.poisson_qps;
  const double achieved = window_s > 0.0 ? static_cast<double>(processed) / window_s : 0.0;
  results.verdict = verdict_of(s, run, options, analyze_options.source_measured, achieved, offered);

  if (options.scenario == Scenario::kStream) {
    StreamResult stream;
    stream.fps = options.stream_fps;
    stream.arrivals = s.arrivals;
    stream.processed = processed;
    stream.dropped = s.dropped;
    stream.deadline_ms =
        options.deadline_ms > 0.0 ? options.deadline_ms : 1000.0 / options.stream_fps;
    stream.deadline_misses = s.deadline_misses;
    stream.queue_depth_max = static_cast<std::uint64_t>(s.queue_depth_max);
    if (s.arrivals > 0)
      stream.queue_depth_mean = s.queue_depth_sum / static_cast<double>(s.arrivals);
    results.stream = stream;
  }
  if (options.scenario == Scenario::kPoisson) {
    PoissonResult poisson;
    poisson.qps = options.poisson_qps;
    poisson.achieved_qps =
        window_s > 0.0 ? Measured<double>{achieved, {}} : Measured<double>::missing(kNoSamples);
    const double bound = analyze_options.latency_bound_ms;
    poisson.latency_bound_ms =
        bound > 0.0 ? Measured<double>{bound, {}} : Measured<double>::missing(kNoBound);
    const double p99[] = {99.0};
    const SampleSummary tail = summarize(s.end_to_end, p99, analyze_options.confidence);
    const PercentileEstimate& e = tail.percentiles.at(0);
    if (e.supported) {
      poisson.p99_ms.value = e.value;
      poisson.p99_within_bound =
          bound > 0.0 ? Measured<bool>{e.value <= bound, {}} : Measured<bool>::missing(kNoBound);
    } else {
      poisson.p99_ms = Measured<double>::missing(e.why);
      poisson.p99_within_bound = Measured<bool>::missing(e.why);
    }
    results.poisson = poisson;
  }
  return results;
}

FrameColumns frame_columns(const RunResult& run) {
  FrameColumns f;
  for (const FrameColumn& column : kFrameColumns) (f.*column.values).resize(run.frames.size());
  for (std::size_t i = 0; i < run.frames.size(); ++i) {
    const FrameTrace& t = run.frames[i];
    f.sequence[i] = static_cast<std::int64_t>(t.sequence);
    f.flags[i] = t.flags;
    f.source_index[i] = t.source_index;
    f.queue_depth[i] = t.queue_depth;
    f.scheduled_ns[i] = t.scheduled_ns;
    f.preprocess_start_ns[i] = t.preprocess_start_ns;
    f.preprocess_end_ns[i] = t.preprocess_end_ns;
    f.submit_ns[i] = t.submit_ns;
    f.complete_ns[i] = t.complete_ns;
    f.postprocess_start_ns[i] = t.postprocess_start_ns;
    f.postprocess_end_ns[i] = t.postprocess_end_ns;
  }
  return f;
}

}  // namespace hdeploy::bench
