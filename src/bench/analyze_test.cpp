// analyzed() and frames_to_json() on hand-built runs whose every number is known.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "hdeploy/bench/runner.hpp"
#include "hdeploy/bench/statistics.hpp"

namespace hdeploy::bench {
namespace {

using nlohmann::json;

constexpr std::int64_t kMs = 1'000'000;  // ns

// A frame with all its stages, times in ms (fractional allowed).
FrameTrace frame(std::uint64_t sequence, double scheduled, double pre_start, double pre_end,
                 double submit, double complete, double post_start, double post_end,
                 std::uint8_t flags = 0) {
  const auto ns = [](double t) { return std::llround(t * 1e6); };
  FrameTrace t;
  t.sequence = sequence;
  t.flags = flags;
  t.source_index = static_cast<std::uint32_t>(sequence % 3);
  t.queue_depth = static_cast<std::uint32_t>(sequence % 2);
  t.scheduled_ns = ns(scheduled);
  t.preprocess_start_ns = ns(pre_start);
  t.preprocess_end_ns = ns(pre_end);
  t.submit_ns = ns(submit);
  t.complete_ns = ns(complete);
  t.postprocess_start_ns = ns(post_start);
  t.postprocess_end_ns = ns(post_end);
  return t;
}

// One warm-up frame, then four measured frames 1 ms apart: preprocess 0.2 ms, queue wait
// 0.3 ms, device 1.0 ms, 0.1 ms waiting for the host, post-process 0.1 ms, end to end 1.7 ms.
// The warm-up frame is in the device during [warmup_submit, warmup_complete] ms. Measured
// window [1.0, 5.7] ms.
RunResult four_frames(double warmup_submit, double warmup_complete) {
  RunResult run;
  run.frames.push_back(frame(0, 0.0, 0.0, 0.1, warmup_submit, warmup_complete,
                             warmup_complete + 0.1, warmup_complete + 0.2, FrameTrace::kWarmup));
  for (std::uint64_t i = 1; i <= 4; ++i) {
    const auto s = static_cast<double>(i);  // scheduled at i ms
    run.frames.push_back(frame(i, s, s, s + 0.2, s + 0.5, s + 1.5, s + 1.6, s + 1.7));
  }
  run.measure_start_ns = 1 * kMs;
  run.measure_end_ns = run.frames.back().postprocess_end_ns;  // 5.7 ms
  run.warmup_s = 0.001;
  run.in_flight = 4;
  run.preprocess_threads = 2;
  return run;
}

// The results as the record writes them.
json analyzed(const RunResult& run, const RunOptions& options, const AnalyzeOptions& analyze) {
  return to_json(bench::analyze(run, options, analyze));
}

RunOptions options_for(Scenario scenario) {
  RunOptions options;
  options.scenario = scenario;
  return options;
}

TEST(Analyze, StagesAndCounts) {
  const RunResult run = four_frames(0.5, 1.5);
  const json r = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{});
  EXPECT_EQ(r["frames"], 4);
  EXPECT_EQ(r["warmup"]["frames"], 1);
  EXPECT_DOUBLE_EQ(r["warmup"]["duration_s"].get<double>(), 0.001);
  EXPECT_EQ(r["failed_frames"], 0);
  EXPECT_TRUE(r["errors"].empty());
  EXPECT_NEAR(r["duration_s"].get<double>(), 0.0047, 1e-12);
  const auto expect_all = [&](const json& summary, double value) {
    EXPECT_EQ(summary["count"], 4) << summary.dump();
    EXPECT_NEAR(summary["min"].get<double>(), value, 1e-9) << summary.dump();
    EXPECT_NEAR(summary["mean"].get<double>(), value, 1e-9) << summary.dump();
    EXPECT_NEAR(summary["max"].get<double>(), value, 1e-9) << summary.dump();
    EXPECT_EQ(summary["confidence"], 0.95);
  };
  expect_all(r["latency"], 1.7);
  expect_all(r["stages"]["preprocess"], 0.2);
  expect_all(r["stages"]["queue_wait"], 0.3);
  expect_all(r["stages"]["device"], 1.0);
  expect_all(r["stages"]["postprocess"], 0.1);
  // Percentiles keyed by their number as text; 4 samples support none of the defaults but
  // p50 needs only a few.
  const json& p = r["latency"]["percentiles"];
  for (const char* key : {"50", "90", "95", "99", "99.9"}) EXPECT_TRUE(p.contains(key)) << key;
  EXPECT_FALSE(p["99.9"]["supported"].get<bool>());
  EXPECT_TRUE(p["99.9"]["value"].is_null());
  EXPECT_EQ(p["99.9"]["min_samples"].get<std::size_t>(), min_samples_for_percentile(99.9));
  EXPECT_FALSE(p["99.9"]["why"].get<std::string>().empty());
}

TEST(Analyze, ThroughputCountsEveryCompletionInTheWindow) {
  const RunResult run = four_frames(0.5, 1.2);  // the warm-up frame finishes at 1.4 ms
  const json r = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{});
  // 5 completions (the warm-up frame's included: it finished inside the window) in 4.7 ms.
  EXPECT_NEAR(r["throughput"]["fps"].get<double>(), 5.0 / 0.0047, 1e-6);
  EXPECT_EQ(r["throughput"]["confidence"], 0.95);
  // Too few completions for 20 batches: no interval, and it says why.
  EXPECT_TRUE(r["throughput"]["ci_low"].is_null());
  EXPECT_FALSE(r["throughput"]["why"].is_null());
  EXPECT_NEAR(r["verdict"]["device_interval_ms"].get<double>(), 4.7 / 5.0, 1e-9);
}

TEST(Analyze, ThroughputVerdictFromDeviceOccupancy) {
  // Device busy [1.0, 1.2] (warm-up frame, clipped to the window) + [1.5, 5.5]: 4.2 of 4.7 ms.
  RunResult run = four_frames(0.2, 1.2);
  json v = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{})["verdict"];
  EXPECT_NEAR(v["device_occupancy"].get<double>(), 4.2 / 4.7, 1e-9);
  EXPECT_EQ(v["bound"], "host");
  // Host: preprocess 0.2 ms over 2 workers + post-process 0.1 ms.
  EXPECT_NEAR(v["host_ms_per_frame"].get<double>(), 0.2, 1e-9);
  EXPECT_NE(v["text"].get<std::string>().find("host-bound"), std::string::npos) << v.dump();
  EXPECT_NE(
      v["text"].get<std::string>().find("host work 0.2 ms/frame (preprocess 0.2 ms over 2 workers"),
      std::string::npos)
      << v.dump();

  // Busy [1.0, 1.5] + [1.5, 5.5]: 4.5 of 4.7 ms.
  run = four_frames(0.5, 1.5);
  v = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{})["verdict"];
  EXPECT_NEAR(v["device_occupancy"].get<double>(), 4.5 / 4.7, 1e-9);
  EXPECT_EQ(v["bound"], "device");
  EXPECT_NE(v["text"].get<std::string>().find("device-bound: a frame was in the device 96%"),
            std::string::npos)
      << v.dump();

  // Overlapping intervals count once.
  run.frames[2].submit_ns = run.frames[1].submit_ns;  // [1.5, 3.5] over [1.5, 2.5]
  v = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{})["verdict"];
  EXPECT_NEAR(v["device_occupancy"].get<double>(), 4.5 / 4.7, 1e-9);
}

TEST(Analyze, LatencyVerdictFromTheLargerShare) {
  RunResult run = four_frames(0.5, 1.5);
  json v = analyzed(run, options_for(Scenario::kLatency), AnalyzeOptions{})["verdict"];
  EXPECT_EQ(v["bound"], "device");  // 1.0 of 1.7 ms vs 0.3 ms of host work
  EXPECT_NE(v["text"].get<std::string>().find(
                "of 1.7 ms per frame end to end, the device took 1 ms (59%)"),
            std::string::npos)
      << v.dump();
  // Make the host slower than the device: 2 ms of preprocessing per frame.
  for (std::size_t i = 1; i < run.frames.size(); ++i) run.frames[i].preprocess_start_ns -= 2 * kMs;
  v = analyzed(run, options_for(Scenario::kLatency), AnalyzeOptions{})["verdict"];
  EXPECT_EQ(v["bound"], "host") << v.dump();
}

TEST(Analyze, FixedInputHasNoPreprocessStage) {
  AnalyzeOptions options;
  options.source_measured = false;
  const json r = analyzed(four_frames(0.5, 1.5), options_for(Scenario::kThroughput), options);
  EXPECT_TRUE(r["stages"]["preprocess"].is_null());
  EXPECT_EQ(r["stages"]["preprocess_why"], "not measured: fixed tensor input (--random-input)");
  EXPECT_TRUE(r["stages"]["device"].is_object());
}

TEST(Analyze, FailedAndUnfinishedFramesAreNotSamples) {
  RunResult run = four_frames(0.5, 1.5);
  run.frames[2].flags |= FrameTrace::kFailed;
  run.frames[3].postprocess_start_ns = run.frames[3].postprocess_end_ns = -1;  // never finished
  run.failed_frames = 1;
  run.errors = {"device said no"};
  const json r = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{});
  EXPECT_EQ(r["frames"], 2);
  EXPECT_EQ(r["latency"]["count"], 2);
  EXPECT_EQ(r["failed_frames"], 1);
  EXPECT_EQ(r["errors"], json::array({"device said no"}));
}

TEST(Analyze, Stability) {
  RunResult run = four_frames(0.5, 1.5);
  json s = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{})["stability"];
  EXPECT_NEAR(s["cv_percent"].get<double>(), 0.0, 1e-9);
  EXPECT_FALSE(s["unstable"].get<bool>());
  EXPECT_TRUE(s["warning"].is_null());
  // Device times 1.0, 1.1, 0.9, 1.0 ms: stddev 0.0816, cv 8.2%.
  run.frames[2].complete_ns += kMs / 10;
  run.frames[3].complete_ns -= kMs / 10;
  s = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{})["stability"];
  EXPECT_NEAR(s["cv_percent"].get<double>(), 100.0 * std::sqrt(0.02 / 3.0), 1e-6);
  EXPECT_TRUE(s["unstable"].get<bool>());
  EXPECT_EQ(s["warning"],
            "device time varies: coefficient of variation 8.2% > 1%: other load, thermal "
            "throttling or power saving can make results unstable");
}

TEST(Analyze, NoMeasuredFrames) {
  RunResult run;
  run.measure_start_ns = run.measure_end_ns = 5 * kMs;
  const json r = analyzed(run, options_for(Scenario::kThroughput), AnalyzeOptions{});
  EXPECT_EQ(r["frames"], 0);
  EXPECT_TRUE(r["throughput"]["fps"].is_null());
  EXPECT_TRUE(r["latency"]["mean"].is_null());
  EXPECT_FALSE(r["latency"]["why"].is_null());
  EXPECT_TRUE(r["verdict"]["bound"].is_null());
  EXPECT_TRUE(r["stability"]["cv_percent"].is_null());
}

// Stream at 100 FPS (10 ms apart), measured window [0, 100] ms: 10 arrivals, 2 dropped, one
// processed frame past its deadline.
RunResult stream_run(bool keep_up) {
  RunResult run;
  for (std::uint64_t i = 0; i < 10; ++i) {
    const double s = 10.0 * static_cast<double>(i);
    const double e2e = i == 4 ? 12.0 : 2.0;  // frame 4 misses the 10 ms deadline
    FrameTrace t = frame(i, s, s, s + 0.5, s + 0.6, s + e2e - 0.5, s + e2e - 0.2, s + e2e);
    t.queue_depth = static_cast<std::uint32_t>(i % 3);
    if (i == 4) t.flags |= FrameTrace::kDeadlineMiss;
    if (!keep_up && (i == 6 || i == 7)) {
      FrameTrace dropped;
      dropped.sequence = i;
      dropped.flags = FrameTrace::kDropped;
      dropped.scheduled_ns = t.scheduled_ns;
      dropped.queue_depth = 3;
      t = dropped;
    }
    run.frames.push_back(t);
  }
  run.measure_start_ns = 0;
  run.measure_end_ns = 92 * kMs;
  run.preprocess_threads = 1;
  return run;
}

TEST(Analyze, StreamBlock) {
  RunOptions options = options_for(Scenario::kStream);
  options.stream_fps = 100.0;
  json r = analyzed(stream_run(false), options, AnalyzeOptions{});
  const json& s = r["stream"];
  EXPECT_EQ(s["fps"], 100.0);
  EXPECT_EQ(s["arrivals"], 10);
  EXPECT_EQ(s["processed"], 8);
  EXPECT_EQ(s["dropped"], 2);
  EXPECT_NEAR(s["deadline_ms"].get<double>(), 10.0, 1e-12);
  EXPECT_EQ(s["deadline_misses"], 1);
  // Depths 0,1,2,0,1,2,3(dropped),3(dropped),2,0.
  EXPECT_NEAR(s["queue_depth_mean"].get<double>(), 14.0 / 10.0, 1e-12);
  EXPECT_EQ(s["queue_depth_max"], 3);
  EXPECT_TRUE(r["poisson"].is_null());
  // 8 of 10 offered frames processed: it did not keep up.
  EXPECT_NE(r["verdict"]["bound"], "load");

  r = analyzed(stream_run(true), options, AnalyzeOptions{});
  EXPECT_EQ(r["stream"]["dropped"], 0);
  // 10 frames in 92 ms: 108.7/s against 100 offered.
  EXPECT_EQ(r["verdict"]["bound"], "load") << r["verdict"].dump();
  EXPECT_NE(r["verdict"]["text"].get<std::string>().find("offered 100.0/s"), std::string::npos);
}

// Poisson with n frames whose end-to-end latencies are 1, 2, ..., n (in units of 0.01 ms).
RunResult poisson_run(std::size_t n) {
  RunResult run;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto s = static_cast<double>(i);  // one per ms
    const double e2e = 0.01 * static_cast<double>(i + 1);
    run.frames.push_back(frame(i, s, s, s, s, s + e2e, s + e2e, s + e2e));
  }
  run.measure_start_ns = 0;
  run.measure_end_ns = run.frames.back().postprocess_end_ns;
  run.preprocess_threads = 1;
  return run;
}

TEST(Analyze, PoissonBlock) {
  RunOptions options = options_for(Scenario::kPoisson);
  options.poisson_qps = 1000.0;
  AnalyzeOptions bounded;
  bounded.latency_bound_ms = 7.0;
  // 700 samples support p99: value at position 699 * 0.99 = 692.01 → 6.9301 ms.
  json p = analyzed(poisson_run(700), options, bounded)["poisson"];
  EXPECT_EQ(p["qps"], 1000.0);
  EXPECT_NEAR(p["p99_ms"].get<double>(), 6.9301, 1e-9);
  EXPECT_EQ(p["latency_bound_ms"], 7.0);
  EXPECT_TRUE(p["p99_within_bound"].get<bool>());
  EXPECT_NEAR(p["achieved_qps"].get<double>(), 700.0 / (0.699 + 0.007), 1e-6);
  bounded.latency_bound_ms = 6.0;
  p = analyzed(poisson_run(700), options, bounded)["poisson"];
  EXPECT_FALSE(p["p99_within_bound"].get<bool>());

  // No bound given.
  p = analyzed(poisson_run(700), options, AnalyzeOptions{})["poisson"];
  EXPECT_TRUE(p["latency_bound_ms"].is_null());
  EXPECT_TRUE(p["p99_within_bound"].is_null());
  EXPECT_FALSE(p["p99_within_bound_why"].get<std::string>().empty());
  // Too few samples for p99.
  p = analyzed(poisson_run(100), options, bounded)["poisson"];
  EXPECT_TRUE(p["p99_ms"].is_null());
  EXPECT_TRUE(p["p99_within_bound"].is_null());
  EXPECT_NE(p["p99_within_bound_why"].get<std::string>().find("662"), std::string::npos)
      << p.dump();
}

TEST(FramesToJson, ColumnarAndComplete) {
  RunResult run = four_frames(0.5, 1.5);
  run.frames[3].flags |= FrameTrace::kFailed;
  run.frames[3].postprocess_start_ns = run.frames[3].postprocess_end_ns = -1;
  const json j = to_json(frame_columns(run));
  const std::vector<std::string> fields = {"sequence",          "flags",
                                           "source_index",      "queue_depth",
                                           "scheduled_ns",      "preprocess_start_ns",
                                           "preprocess_end_ns", "submit_ns",
                                           "complete_ns",       "postprocess_start_ns",
                                           "postprocess_end_ns"};
  EXPECT_EQ(j["fields"].get<std::vector<std::string>>(), fields);
  EXPECT_EQ(j.size(), fields.size() + 1);
  for (const std::string& f : fields) {
    ASSERT_TRUE(j[f].is_array()) << f;
    EXPECT_EQ(j[f].size(), run.frames.size()) << f;
  }
  EXPECT_EQ(j["flags"][0], FrameTrace::kWarmup);
  EXPECT_EQ(j["flags"][3], FrameTrace::kFailed);
  EXPECT_EQ(j["postprocess_end_ns"][3], -1);
  EXPECT_EQ(j["scheduled_ns"][2], 2 * kMs);
  EXPECT_EQ(j["submit_ns"][2], run.frames[2].submit_ns);
  EXPECT_EQ(j["sequence"][4], 4);
  EXPECT_EQ(j["source_index"][4], 1);
  EXPECT_EQ(j["queue_depth"][1], 1);
  // Round trip through text.
  const json back = json::parse(j.dump());
  EXPECT_EQ(back, j);
  EXPECT_EQ(to_json(frame_columns(RunResult{}))["sequence"].size(), 0U);
}

}  // namespace
}  // namespace hdeploy::bench
