#include "hdeploy/report/report.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "testing/temp_dir.hpp"

namespace hdeploy::report {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// A record as hdeploy bench writes it (docs/run-record.md), with `n` measured frames after
// `warmup` warm-up frames run one at a time (latency scenario): device times lognormal
// around 2 ms times `scale`, fixed small host stages.
struct Spec {
  std::size_t n = 2000;
  std::size_t warmup = 50;
  std::uint64_t seed = 1;
  double scale = 1.0;
  bool complete = true;
  std::string model_path = "/models/resnet18.hef";
  std::size_t dropped = 0;  // extra dropped frames (flags 2), never completed
  std::size_t failed = 0;   // extra failed frames (flags 4)
};

json make_record(const Spec& spec) {
  std::mt19937_64 rng(spec.seed);
  std::lognormal_distribution<double> device_ms(std::log(2.0), 0.05);
  json cols = json::object();
  const char* names[] = {"sequence",          "flags",
                         "source_index",      "queue_depth",
                         "scheduled_ns",      "preprocess_start_ns",
                         "preprocess_end_ns", "submit_ns",
                         "complete_ns",       "postprocess_start_ns",
                         "postprocess_end_ns"};
  for (const char* name : names) cols[name] = json::array();
  std::int64_t t = 1'000'000;  // 1 ms after the start
  const std::size_t total = spec.warmup + spec.n + spec.dropped + spec.failed;
  for (std::size_t i = 0; i < total; ++i) {
    std::int64_t flags = i < spec.warmup ? kFrameWarmup : 0;
    const bool dropped = i >= spec.warmup + spec.n && i < spec.warmup + spec.n + spec.dropped;
    const bool failed = i >= spec.warmup + spec.n + spec.dropped;
    if (dropped) flags |= kFrameDropped;
    if (failed) flags |= kFrameFailed;
    const std::int64_t scheduled = t;
    const std::int64_t pre_start = scheduled + 10'000;
    const std::int64_t pre_end = pre_start + static_cast<std::int64_t>(200'000 * spec.scale);
    const std::int64_t submit = pre_end + 20'000;
    const auto device = static_cast<std::int64_t>(device_ms(rng) * spec.scale * 1e6);
    const std::int64_t complete = submit + device;
    const std::int64_t post_start = complete + 5'000;
    const std::int64_t post_end = post_start + static_cast<std::int64_t>(50'000 * spec.scale);
    cols["sequence"].push_back(i);
    cols["flags"].push_back(flags);
    cols["source_index"].push_back(i % 24);
    cols["queue_depth"].push_back(0);
    cols["scheduled_ns"].push_back(scheduled);
    if (dropped) {
      for (const char* name : {"preprocess_start_ns", "preprocess_end_ns", "submit_ns",
                               "complete_ns", "postprocess_start_ns", "postprocess_end_ns"}) {
        cols[name].push_back(-1);
      }
      continue;
    }
    cols["preprocess_start_ns"].push_back(pre_start);
    cols["preprocess_end_ns"].push_back(pre_end);
    cols["submit_ns"].push_back(submit);
    cols["complete_ns"].push_back(failed ? -1 : complete);
    cols["postprocess_start_ns"].push_back(failed ? -1 : post_start);
    cols["postprocess_end_ns"].push_back(failed ? -1 : post_end);
    t = (failed ? submit : post_end) + 1'000;
  }
  json fields = json::array();
  for (const char* name : names) fields.push_back(name);
  cols["fields"] = fields;

  json latency = {{"count", spec.n},
                  {"min", 2.1},
                  {"mean", 2.47},
                  {"max", 3.9},
                  {"stddev", 0.05},
                  {"cv_percent", 2.0},
                  {"confidence", 0.95},
                  {"percentiles",
                   {{"50",
                     {{"value", 2.45},
                      {"ci_low", 2.449},
                      {"ci_high", 2.452},
                      {"min_samples", 10},
                      {"supported", true}}},
                    {"99",
                     {{"value", 3.125},
                      {"ci_low", 3.1},
                      {"ci_high", 3.2},
                      {"min_samples", 662},
                      {"supported", true}}},
                    {"99.9",
                     {{"value", nullptr},
                      {"supported", false},
                      {"min_samples", 6636},
                      {"why", "not measured: needs ≥ 6636 samples, have 2000"}}}}}};
  json record = {
      {"format", "hdeploy.bench.run"},
      {"version", 1},
      {"context",
       {{"date", "2025-01-01T00:00:00Z"},
        {"host", "raspberrypi"},
        {"cpu_model", "Cortex-A76"},
        {"cpu_count", 4},
        {"governor", nullptr},
        {"governor_why", "not measured: no cpufreq"},
        {"kernel", "Linux 6.6.51"},
        {"arch", "aarch64"},
        {"os", "Debian GNU/Linux 12 (bookworm)"},
        {"hdeploy_version", "0.1.0"},
        {"hdeploy_commit", "abc123"},
        {"build_type", "Release"},
        {"libraries",
         {{"opencv", "4.6.0"}, {"hailort", nullptr}, {"hailort_why", "not installed"}}},
        {"backend", "hailo"},
        {"backend_description", "Hailo-8L over PCIe"},
        {"model", {{"path", spec.model_path}, {"sha256", "f00dfeed"}, {"kind", "hef"}}},
        {"power", nullptr},
        {"power_why", "not measured: no sensor"}}},
      {"config",
       {{"scenario", "latency"},
        {"duration_s", 15},
        {"percentiles", {50, 90, 99, 99.9}},
        {"confidence", 0.95},
        {"argv", {"hdeploy", "bench", spec.model_path}}}},
      {"status", spec.complete ? json{{"complete", true}}
                               : json{{"complete", false},
                                      {"partial_reason", "interrupted (SIGINT) after 4.2 s"}}},
      {"results",
       {{"frames", spec.n},
        {"warmup", {{"frames", spec.warmup}, {"duration_s", 0.1}}},
        {"failed_frames", spec.failed},
        {"errors", json::array()},
        {"duration_s", 5.0},
        {"throughput",
         {{"fps", 1149.7},
          {"ci_low", 1148.9},
          {"ci_high", 1150.5},
          {"confidence", 0.95},
          {"method", "batch means, 20 batches of 0.25 s"},
          {"why", nullptr}}},
        {"latency", latency},
        {"stages",
         {{"preprocess", latency},
          {"queue_wait", latency},
          {"device",
           {{"count", spec.n},
            {"min", 1.8},
            {"mean", 2.013},
            {"max", 2.5},
            {"stddev", 0.1},
            {"percentiles", json::object()}}},
          {"postprocess", nullptr},
          {"postprocess_why", "not measured: no post-processing"}}},
        {"stability",
         {{"cv_percent", 2.0}, {"unstable", true}, {"warning", "unstable: CV 2.0% > 1%"}}},
        {"verdict",
         {{"bound", "device"},
          {"text", "device-bound: occupancy 97%"},
          {"device_occupancy", 0.97},
          {"host_ms_per_frame", 0.31},
          {"device_interval_ms", 0.87}}},
        {"stream", nullptr},
        {"poisson", nullptr}}},
      {"system",
       {{"interval_ms", 250},
        {"cores", 4},
        {"process",
         {{"user_s", 3.1},
          {"sys_s", 0.4},
          {"cpu_percent_of_one_core", 23.3},
          {"cpu_percent_of_all_cores", 5.8},
          {"peak_rss_bytes", 81234432}}},
        {"threads",
         {{{"tid", 1234},
           {"name", "hd-preproc-0"},
           {"user_s", 2.0},
           {"sys_s", 0.1},
           {"cpu_percent_of_one_core", 14.0}}}},
        {"samples", json::array()},
        {"events", {{{"t_s", 2.5}, {"kind", "throttled"}, {"detail", "0x50005"}}}},
        {"throttled_during_run", true},
        {"unavailable", {{"hailo_temp_c", "not measured: no chip sensor"}}}}},
      {"frames", cols}};
  for (int s = 0; s < 20; ++s) {
    record["system"]["samples"].push_back({{"t_s", 0.25 * s},
                                           {"process_cpu_percent", 20.0 + s},
                                           {"core_util_percent", {30, 12}},
                                           {"core_freq_mhz", {2400, s > 10 ? 1500 : 2400}},
                                           {"temperatures_c", {{"cpu-thermal", 50.0 + 0.5 * s}}},
                                           {"throttled", "0x0"},
                                           {"hailo_temp_c", nullptr},
                                           {"rss_bytes", 81234432}});
  }
  return record;
}

RunRecord make_run(const Spec& spec, const std::string& path = "/runs/base/run.json") {
  auto run = parse_run(make_record(spec), path);
  EXPECT_TRUE(run.has_value()) << run.error().message;
  return std::move(run).value();
}

using hdeploy::testing::TempDir;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// ---- load_run / parse_run ----

TEST(LoadRun, ReadsARecordAndNamesItByItsFolder) {
  TempDir dir;
  const fs::path path = dir.path() / "baseline" / "run.json";
  write(path, make_record({.n = 100}).dump());
  auto run = load_run(path);
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->name, "baseline");
  EXPECT_EQ(run->frames.size(), 150u);
  EXPECT_EQ(run->context.host, "raspberrypi");

  const fs::path other = dir.path() / "fast-run.json";
  write(other, make_record({.n = 10}).dump());
  EXPECT_EQ(load_run(other)->name, "fast-run");
}

TEST(LoadRun, MissingFileNamesIt) {
  auto run = load_run("/nonexistent/dir/run.json");
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code, ErrorCode::kNotFound);
  EXPECT_NE(run.error().message.find("/nonexistent/dir/run.json"), std::string::npos);
}

TEST(LoadRun, NotJsonIsOneLineNamingTheFile) {
  TempDir dir;
  const fs::path path = dir.path() / "garbage.json";
  write(path, "this is\nnot json\n");
  auto run = load_run(path);
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(run.error().message.find(path.string()), std::string::npos);
  EXPECT_NE(run.error().message.find("not JSON"), std::string::npos);
  EXPECT_EQ(run.error().message.find('\n'), std::string::npos);
}

TEST(ParseRun, RefusesAnotherFormat) {
  json record = make_record({.n = 10});
  record["format"] = "hdeploy.export";
  auto run = parse_run(record, "x/run.json");
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(run.error().message.find("x/run.json"), std::string::npos);
  EXPECT_NE(run.error().message.find("hdeploy.export"), std::string::npos);
  record.erase("format");
  EXPECT_FALSE(parse_run(record, "x/run.json").has_value());
  EXPECT_FALSE(parse_run(json::array({1, 2}), "x/run.json").has_value());
}

TEST(ParseRun, RefusesANewerVersion) {
  json record = make_record({.n = 10});
  record["version"] = 2;
  auto run = parse_run(record, "new/run.json");
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(run.error().message.find("new/run.json"), std::string::npos);
  EXPECT_NE(run.error().message.find("version 2"), std::string::npos);
  record["version"] = "1";
  EXPECT_FALSE(parse_run(record, "new/run.json").has_value());
  record["version"] = 0;
  EXPECT_FALSE(parse_run(record, "new/run.json").has_value());
}

TEST(ParseRun, ToleratesUnknownKeysAndMissingColumns) {
  json record = make_record({.n = 10, .warmup = 0});
  record["something_new"] = {{"a", 1}};
  record["frames"].erase("queue_depth");
  record["frames"].erase("sequence");
  auto run = parse_run(record, "r.json");
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->frames.queue_depth, std::vector<std::int64_t>(10, -1));
  EXPECT_EQ(run->frames.sequence[9], 9);
}

TEST(ParseRun, RejectsColumnsOfDifferentLengthsAndNonNumbers) {
  json record = make_record({.n = 10, .warmup = 0});
  record["frames"]["submit_ns"].push_back(5);
  auto run = parse_run(record, "r.json");
  ASSERT_FALSE(run.has_value());
  EXPECT_NE(run.error().message.find("submit_ns"), std::string::npos);
  record = make_record({.n = 10, .warmup = 0});
  record["frames"]["flags"][3] = "warm";
  EXPECT_FALSE(parse_run(record, "r.json").has_value());
  record = make_record({.n = 10, .warmup = 0});
  record["frames"] = "nope";
  EXPECT_FALSE(parse_run(record, "r.json").has_value());
}

TEST(ParseRun, WrongTypesInsideTheRecordDoNotThrow) {
  json record = make_record({.n = 700});
  record["results"] = "broken";
  record["system"]["samples"] = {1, "x", nullptr};
  record["system"]["events"] = {{{"t_s", "soon"}}};
  record["context"]["model"] = 7;
  record["config"]["percentiles"] = "all";
  record["status"] = {{"complete", "maybe"}};
  auto run = parse_run(record, "odd/run.json");
  ASSERT_TRUE(run.has_value());
  const std::vector<RunRecord> runs{*run, *run};
  const std::vector<RunComparison> comparisons{compare_runs(runs[0], runs[1])};
  EXPECT_FALSE(render_markdown(runs, comparisons).empty());
  EXPECT_FALSE(render_html(runs, comparisons, "/* Chart */").empty());
  EXPECT_FALSE(summary_json(runs, comparisons).empty());
}

TEST(ParseRun, WildTimestampsDoNotBreakTheRenderings) {
  json record = make_record({.n = 700, .warmup = 0});
  record["frames"]["postprocess_end_ns"][5] = 9'000'000'000'000'000'000LL;
  record["frames"]["scheduled_ns"][6] = 8'000'000'000'000'000'000LL;  // ends before it starts
  record["frames"]["complete_ns"][7] = 1e300;                         // not an int64
  EXPECT_FALSE(parse_run(record, "wild/run.json").has_value());
  record["frames"]["complete_ns"][7] = 5;
  const std::vector<RunRecord> runs{*parse_run(record, "wild/run.json"), make_run({.n = 700})};
  const std::vector<RunComparison> comparisons{compare_runs(runs[0], runs[1])};
  EXPECT_NE(render_html(runs, comparisons, "/* Chart */").find("chart-hist"), std::string::npos);
  EXPECT_FALSE(render_trace_csv(runs).empty());
  EXPECT_FALSE(render_markdown(runs, comparisons).empty());
}

// ---- per-frame quantities ----

FrameColumns one_frame(std::int64_t scheduled, std::int64_t pre_start, std::int64_t pre_end,
                       std::int64_t submit, std::int64_t complete, std::int64_t post_start,
                       std::int64_t post_end, std::int64_t flags = 0) {
  FrameColumns f;
  f.sequence = {0};
  f.flags = {flags};
  f.source_index = {0};
  f.queue_depth = {0};
  f.scheduled_ns = {scheduled};
  f.preprocess_start_ns = {pre_start};
  f.preprocess_end_ns = {pre_end};
  f.submit_ns = {submit};
  f.complete_ns = {complete};
  f.postprocess_start_ns = {post_start};
  f.postprocess_end_ns = {post_end};
  return f;
}

TEST(StageTimeMs, FollowsTheDocumentedDefinitions) {
  const FrameColumns f =
      one_frame(1'000'000, 1'500'000, 2'000'000, 2'250'000, 4'250'000, 4'300'000, 4'400'000);
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 0, Stage::kPreprocess), 0.5);
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 0, Stage::kQueueWait), 0.25);
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 0, Stage::kDevice), 2.0);
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 0, Stage::kHostWait), 0.05);
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 0, Stage::kPostprocess), 0.1);
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 0, Stage::kEndToEnd), 3.4);
  EXPECT_FALSE(stage_time_ms(f, 1, Stage::kDevice).has_value());  // out of range
}

TEST(StageTimeMs, MissingTimestampsGiveNothing) {
  // A fixed input: no preprocess; queue wait counts from the scheduled time.
  const FrameColumns f = one_frame(1'000'000, -1, -1, 1'200'000, 3'200'000, -1, -1);
  EXPECT_FALSE(stage_time_ms(f, 0, Stage::kPreprocess).has_value());
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 0, Stage::kQueueWait), 0.2);
  EXPECT_FALSE(stage_time_ms(f, 0, Stage::kPostprocess).has_value());
  EXPECT_FALSE(stage_time_ms(f, 0, Stage::kEndToEnd).has_value());
}

TEST(StageName, NamesEveryStage) {
  EXPECT_EQ(stage_name(Stage::kPreprocess), "preprocess");
  EXPECT_EQ(stage_name(Stage::kQueueWait), "queue_wait");
  EXPECT_EQ(stage_name(Stage::kDevice), "device");
  EXPECT_EQ(stage_name(Stage::kHostWait), "host_wait");
  EXPECT_EQ(stage_name(Stage::kPostprocess), "postprocess");
  EXPECT_EQ(stage_name(Stage::kEndToEnd), "end_to_end");
}

TEST(IsMeasuredFrame, ExcludesWarmupDroppedFailedAndIncomplete) {
  auto frame = [](std::int64_t flags, std::int64_t post_end = 9) {
    return one_frame(1, 2, 3, 4, 5, 6, post_end, flags);
  };
  EXPECT_TRUE(is_measured_frame(frame(0), 0));
  EXPECT_TRUE(is_measured_frame(frame(kFrameDeadlineMissed), 0));
  EXPECT_FALSE(is_measured_frame(frame(kFrameWarmup), 0));
  EXPECT_FALSE(is_measured_frame(frame(kFrameDropped), 0));
  EXPECT_FALSE(is_measured_frame(frame(kFrameFailed), 0));
  EXPECT_FALSE(is_measured_frame(frame(0, -1), 0));
  EXPECT_FALSE(is_measured_frame(frame(0), 1));
}

TEST(StageTimesMs, OnlyMeasuredFrames) {
  const RunRecord run = make_run({.n = 300, .warmup = 20, .dropped = 7, .failed = 3});
  EXPECT_EQ(run.frames.size(), 330u);
  EXPECT_EQ(stage_times_ms(run.frames, Stage::kDevice).size(), 300u);
  EXPECT_EQ(stage_times_ms(run.frames, Stage::kPreprocess).size(), 300u);
}

TEST(EndToEndLatenciesMs, ComputedFromTheColumns) {
  const RunRecord run = make_run({.n = 500, .warmup = 10, .dropped = 4, .failed = 2});
  const std::vector<double> e2e = end_to_end_latencies_ms(run);
  ASSERT_EQ(e2e.size(), 500u);
  for (std::size_t i = 0; i < 500; ++i) {
    const std::size_t frame = 10 + i;
    EXPECT_DOUBLE_EQ(e2e[i], static_cast<double>(run.frames.postprocess_end_ns[frame] -
                                                 run.frames.scheduled_ns[frame]) /
                                 1e6);
  }
  const double mean = std::accumulate(e2e.begin(), e2e.end(), 0.0) / 500.0;
  EXPECT_NEAR(mean, 2.0 + 0.2 + 0.01 + 0.02 + 0.005 + 0.05, 0.05);
}

TEST(FrameThroughput, RateOfTheMeasuredWindow) {
  const RunRecord run = make_run({.n = 1000});
  const bench::ThroughputEstimate t = frame_throughput(run.frames);
  // Frames one at a time: 1 / (mean frame time incl. the 1 us gap).
  const std::vector<double> e2e = end_to_end_latencies_ms(run);
  const double mean = std::accumulate(e2e.begin(), e2e.end(), 0.0) / 1000.0;
  EXPECT_NEAR(t.fps, 1000.0 / (mean + 0.001), 1.0);
  EXPECT_TRUE(t.ci_valid);
  EXPECT_LT(t.ci_low, t.fps);
  EXPECT_GT(t.ci_high, t.fps);
  EXPECT_EQ(frame_throughput(FrameColumns{}).fps, 0.0);
  EXPECT_FALSE(frame_throughput(FrameColumns{}).why.empty());
}

TEST(KeyNumbers, FromResultsElseFromFrames) {
  RunRecord run = make_run({.n = 1000, .complete = false});
  RunKeyNumbers k = key_numbers(run);
  EXPECT_EQ(k.name, "base");
  EXPECT_FALSE(k.complete);
  EXPECT_EQ(k.partial_reason, "interrupted (SIGINT) after 4.2 s");
  EXPECT_EQ(k.scenario, "latency");
  EXPECT_EQ(k.backend, "hailo");
  EXPECT_EQ(k.measured_frames, 1000u);
  EXPECT_DOUBLE_EQ(*k.fps, 1149.7);
  EXPECT_DOUBLE_EQ(*k.p50_ms, 2.45);
  EXPECT_DOUBLE_EQ(*k.p99_ms, 3.125);
  EXPECT_DOUBLE_EQ(*k.device_mean_ms, 2.013);
  EXPECT_DOUBLE_EQ(*k.cpu_percent_of_one_core, 23.3);
  EXPECT_DOUBLE_EQ(*k.peak_rss_bytes, 81234432.0);

  run.results = {};
  k = key_numbers(run);
  const std::vector<double> e2e = end_to_end_latencies_ms(run);
  std::vector<double> sorted = e2e;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NEAR(*k.p50_ms, bench::percentile_of_sorted(sorted, 50), 1e-12);
  EXPECT_NEAR(*k.fps, frame_throughput(run.frames).fps, 1e-9);
  EXPECT_FALSE(k.device_mean_ms.has_value());
}

TEST(ParseThresholdPercent, AcceptsPercentOrNumber) {
  EXPECT_DOUBLE_EQ(*parse_threshold_percent("5%"), 5.0);
  EXPECT_DOUBLE_EQ(*parse_threshold_percent("5"), 5.0);
  EXPECT_DOUBLE_EQ(*parse_threshold_percent("2.5%"), 2.5);
  EXPECT_DOUBLE_EQ(*parse_threshold_percent("0"), 0.0);
  for (const char* bad : {"", "%", "abc", "-5", "5%%", "5x", "nan", "inf", "1e9", "5 %"}) {
    auto r = parse_threshold_percent(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

// ---- comparisons ----

const MetricChange& change_of(const RunComparison& c, const std::string& metric) {
  for (const auto& m : c.changes) {
    if (m.metric == metric) return m;
  }
  ADD_FAILURE() << "no " << metric;
  return c.changes.front();
}

TEST(CompareRuns, PlantedTenPercentSlowdownIsARegression) {
  const RunRecord base = make_run({.n = 2000, .seed = 1});
  const RunRecord slow = make_run({.n = 2000, .seed = 2, .scale = 1.10}, "/runs/slow/run.json");
  const RunComparison c = compare_runs(base, slow, {.regression_threshold_percent = 5.0});
  EXPECT_EQ(c.baseline_name, "base");
  EXPECT_EQ(c.candidate_name, "slow");
  EXPECT_EQ(c.baseline_frames, 2000u);
  ASSERT_EQ(c.changes.size(), 3u);
  const MetricChange median = change_of(c, "median end-to-end latency");
  ASSERT_TRUE(median.measured);
  EXPECT_NEAR(median.change_percent, 10.0, 1.0);
  EXPECT_TRUE(median.significant);
  EXPECT_TRUE(median.worse);
  EXPECT_TRUE(median.regression);
  ASSERT_TRUE(median.p_value.has_value());
  EXPECT_LT(*median.p_value, 1e-6);
  EXPECT_GT(median.ci_low, 0.0);
  const MetricChange p99 = change_of(c, "p99 end-to-end latency");
  ASSERT_TRUE(p99.measured);
  EXPECT_TRUE(p99.significant);
  EXPECT_TRUE(p99.regression);
  const MetricChange fps = change_of(c, "throughput");
  ASSERT_TRUE(fps.measured) << fps.why;
  EXPECT_NEAR(fps.change_percent, -9.1, 1.0);
  EXPECT_TRUE(fps.regression);
  EXPECT_LT(fps.baseline_ci_low, fps.baseline);
  EXPECT_GT(fps.candidate_ci_high, fps.candidate);
  EXPECT_TRUE(c.has_regression());

  // The same change under a 20% threshold: significant, not a regression.
  const RunComparison lax = compare_runs(base, slow, {.regression_threshold_percent = 20.0});
  EXPECT_TRUE(change_of(lax, "median end-to-end latency").significant);
  EXPECT_FALSE(lax.has_regression());
  // And the other way round: an improvement.
  const RunComparison faster = compare_runs(slow, base);
  EXPECT_TRUE(change_of(faster, "median end-to-end latency").significant);
  EXPECT_FALSE(change_of(faster, "median end-to-end latency").worse);
  EXPECT_FALSE(faster.has_regression());
}

TEST(CompareRuns, SameDistributionIsNoRegression) {
  const RunRecord a = make_run({.n = 2000, .seed = 11});
  const RunRecord b = make_run({.n = 2000, .seed = 12});
  const RunComparison c = compare_runs(a, b);
  EXPECT_FALSE(c.has_regression());
  const MetricChange median = change_of(c, "median end-to-end latency");
  EXPECT_LT(std::fabs(median.change_percent), 1.0);
  EXPECT_FALSE(median.regression);
  const RunComparison same = compare_runs(a, a);
  EXPECT_NEAR(change_of(same, "median end-to-end latency").change, 0.0, 1e-12);
  EXPECT_FALSE(change_of(same, "median end-to-end latency").significant);
  EXPECT_TRUE(c.differences.empty());
}

TEST(CompareRuns, TooFewFramesForP99AndNoFrames) {
  const RunRecord a = make_run({.n = 100, .seed = 1});
  const RunRecord b = make_run({.n = 100, .seed = 2});
  const RunComparison c = compare_runs(a, b);
  const MetricChange p99 = change_of(c, "p99 end-to-end latency");
  EXPECT_FALSE(p99.measured);
  EXPECT_NE(p99.why.find("not measured: p99 needs ≥ 662"), std::string::npos) << p99.why;
  RunRecord empty = a;
  empty.frames = FrameColumns{};
  const RunComparison none = compare_runs(empty, b);
  for (const auto& m : none.changes) {
    EXPECT_FALSE(m.measured);
    EXPECT_TRUE(m.why.starts_with("not measured: ")) << m.why;
    EXPECT_EQ(m.why.find("not measured: not measured"), std::string::npos) << m.why;
  }
  EXPECT_FALSE(none.has_regression());
}

TEST(CompareRuns, NotesDifferentSetups) {
  json other = make_record({.n = 100, .seed = 2});
  other["context"]["backend"] = "sim";
  const RunRecord a = make_run({.n = 100, .seed = 1});
  const RunRecord b = *parse_run(other, "b/run.json");
  const RunComparison c = compare_runs(a, b);
  ASSERT_EQ(c.differences.size(), 1u);
  EXPECT_EQ(c.differences[0], "backend: hailo → sim");
}

TEST(RegressionLines, OneLinePerRegression) {
  const RunRecord base = make_run({.n = 2000, .seed = 1});
  const RunRecord slow = make_run({.n = 2000, .seed = 2, .scale = 1.1}, "/r/slow/run.json");
  const RunRecord same = make_run({.n = 2000, .seed = 3}, "/r/same/run.json");
  const std::vector<RunComparison> cs{compare_runs(base, same), compare_runs(base, slow)};
  const std::vector<std::string> lines = regression_lines(cs);
  ASSERT_EQ(lines.size(), 3u);  // median, p99, throughput of #3
  EXPECT_TRUE(lines[0].starts_with("#3 slow vs #1 base: median end-to-end latency +")) << lines[0];
  EXPECT_NE(lines[0].find("> 5%"), std::string::npos);
  EXPECT_TRUE(regression_lines(std::span<const RunComparison>(cs.data(), 1)).empty());
}

// ---- renderings ----

TEST(RenderMarkdown, SummaryStatisticsAndContext) {
  const std::vector<RunRecord> runs{make_run({.n = 2000})};
  const std::string md = render_markdown(runs, {});
  EXPECT_NE(md.find("=======\nSummary\n=======\n"), std::string::npos);
  EXPECT_NE(md.find("FPS     (measured)                = 1149.70 (95% CI 1148.90 – 1150.50; "
                    "batch means, 20 batches of 0.25 s)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("Latency (end-to-end p50)          = 2.450 ms (95% CI 2.449 – 2.452)"),
            std::string::npos);
  EXPECT_NE(md.find("        (end-to-end p99)          = 3.125 ms"), std::string::npos);
  EXPECT_NE(md.find("Device  (mean per frame)          = 2.013 ms"), std::string::npos);
  EXPECT_NE(md.find("Host    (overhead per frame)      = 0.310 ms"), std::string::npos);
  EXPECT_NE(md.find("23.3% of one core (5.8% of all 4 cores)"), std::string::npos);
  EXPECT_NE(md.find("77.5 MiB"), std::string::npos);
  EXPECT_NE(md.find("(max cpu-thermal)"), std::string::npos);
  EXPECT_NE(md.find("59.5 °C"), std::string::npos);
  EXPECT_NE(md.find("Throttling                        = YES: throttled at 2.50 s (0x50005)"),
            std::string::npos);
  // Statistics table: the configured percentiles, the unsupported one with its reason.
  EXPECT_NE(md.find("| stage (ms) | count | min | mean | p50 | p90 | p99 | p99.9 | max | stddev |"),
            std::string::npos);
  EXPECT_NE(md.find("not measured: needs ≥ 6636 samples, have 2000"), std::string::npos);
  EXPECT_NE(md.find("| postprocess | not measured: no post-processing |"), std::string::npos);
  // Context, verdicts, system.
  EXPECT_NE(md.find("| cpufreq governor | not measured: no cpufreq |"), std::string::npos);
  EXPECT_NE(md.find("| library hailort | not installed |"), std::string::npos);
  EXPECT_NE(md.find("| model sha256 | f00dfeed |"), std::string::npos);
  EXPECT_NE(md.find("| power | not measured: no sensor |"), std::string::npos);
  EXPECT_NE(md.find("| bound | device |"), std::string::npos);
  EXPECT_NE(md.find("> **unstable: CV 2.0% > 1%**"), std::string::npos);
  EXPECT_NE(md.find("| hd-preproc-0 | 1234 | 2.000 | 0.100 | 14.0 |"), std::string::npos);
  EXPECT_NE(md.find("| 2.50 | throttled | 0x50005 |"), std::string::npos);
  EXPECT_NE(md.find("| cpu1 clock | 1500 – 2400 MHz |"), std::string::npos);
  EXPECT_EQ(md.find("PARTIAL"), std::string::npos);
  EXPECT_EQ(md.find("<canvas"), std::string::npos);
}

TEST(RenderMarkdown, ThrottlingNotMeasured) {
  json record = make_record({.n = 100});
  record["system"]["events"] = json::array();
  record["system"]["throttled_during_run"] = false;
  record["system"]["unavailable"]["throttled"] = "not measured: vcgencmd not found";
  record["context"]["onnx"] = nullptr;
  const std::vector<RunRecord> runs{*parse_run(record, "r/run.json")};
  const std::string md = render_markdown(runs, {});
  EXPECT_NE(md.find("Throttling                        = none seen in clocks; throttling flags "
                    "not measured: vcgencmd not found"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| onnx | none |"), std::string::npos);
}

TEST(RenderMarkdown, PartialRunIsProminent) {
  const std::vector<RunRecord> runs{make_run({.n = 100, .complete = false})};
  const std::string md = render_markdown(runs, {});
  const auto alert = md.find("> **PARTIAL RUN #1 base: interrupted (SIGINT) after 4.2 s.");
  ASSERT_NE(alert, std::string::npos) << md;
  EXPECT_LT(alert, md.find("Summary"));  // before everything else
  EXPECT_NE(md.find("Status                            = PARTIAL: interrupted (SIGINT)"),
            std::string::npos);
}

TEST(RenderMarkdown, ComparisonTables) {
  const std::vector<RunRecord> runs{
      make_run({.n = 2000, .seed = 1}),
      make_run({.n = 2000, .seed = 2, .scale = 1.1}, "/runs/slow/run.json")};
  const std::vector<RunComparison> cs{compare_runs(runs[0], runs[1])};
  const std::string md = render_markdown(runs, cs);
  EXPECT_NE(md.find("## Comparison with the baseline #1 base"), std::string::npos);
  EXPECT_NE(md.find("| key number | #1 base | #2 slow |"), std::string::npos) << md;
  EXPECT_NE(md.find("### #2 slow vs #1 base"), std::string::npos);
  EXPECT_NE(md.find("> **REGRESSION: median end-to-end latency +"), std::string::npos);
  EXPECT_NE(md.find("REGRESSION (worse by > 5%)"), std::string::npos);
  EXPECT_NE(md.find("| metric | baseline | candidate | change | change % | 95% CI | p | verdict |"),
            std::string::npos);
}

TEST(RenderMarkdown, RecordStringsCannotBreakTables) {
  const std::vector<RunRecord> runs{make_run({.model_path = "a|b<script>`x`\nnext"})};
  const std::string md = render_markdown(runs, {});
  EXPECT_NE(md.find("| model path | a\\|b&lt;script>\\`x\\` next |"), std::string::npos);
  EXPECT_EQ(md.find("<script>"), std::string::npos);
}

// The first src= or href= value that leaves the page (anything but "#fragment"), else "".
// (No std::regex: GCC 12 warns inside it under -fsanitize=address.)
std::string first_external_reference(const std::string& html) {
  for (const std::string attr : {"src=", "href=", "SRC=", "HREF="}) {
    for (auto at = html.find(attr); at != std::string::npos; at = html.find(attr, at + 1)) {
      std::size_t v = at + attr.size();
      while (v < html.size() && (html[v] == '"' || html[v] == '\'' || html[v] == ' ')) ++v;
      std::string value = html.substr(v, 40);
      if (!value.starts_with("#")) return value;
    }
  }
  return "";
}

const char* kFakeChartJs =
    "/*!\n * Chart.js v3.9.1\n * https://www.chartjs.org\n */\n"
    "window.Chart = function () {}; var s = '</script><!--';";

TEST(RenderHtml, SelfContainedWithChartJsInlined) {
  const std::vector<RunRecord> runs{make_run({.n = 2000, .seed = 1}),
                                    make_run({.n = 2000, .seed = 2}, "/runs/b/run.json")};
  const std::vector<RunComparison> cs{compare_runs(runs[0], runs[1])};
  const std::string html = render_html(runs, cs, kFakeChartJs);
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.find("window.Chart = function () {};"), std::string::npos);
  EXPECT_NE(html.find("www.chartjs.org"), std::string::npos);  // the credit stays
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(first_external_reference(html), "");
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // The inlined script cannot close its element early.
  EXPECT_NE(html.find("'<\\/script><\\!--'"), std::string::npos);
  // Error hooks, canvases, the drawn check, no animation.
  EXPECT_NE(html.find("<pre id=\"errors\"></pre>"), std::string::npos);
  EXPECT_NE(html.find("window.onerror"), std::string::npos);
  EXPECT_NE(html.find("console.error ="), std::string::npos);
  EXPECT_NE(html.find("data-drawn"), std::string::npos);
  EXPECT_NE(html.find("getImageData"), std::string::npos);
  EXPECT_NE(html.find("Chart.defaults.animation = false"), std::string::npos);
  for (const char* id : {"chart-hist", "chart-cdf", "chart-stages", "chart-fps-0", "chart-fps-1",
                         "chart-sys-0", "chart-sys-1"}) {
    EXPECT_NE(html.find(fmt::format("<canvas id=\"{}\"", id)), std::string::npos) << id;
  }
  // The same summary as tables.
  EXPECT_NE(html.find("<td>FPS (measured)</td>"), std::string::npos);
  EXPECT_NE(html.find("1149.70 (95% CI 1148.90 – 1150.50"), std::string::npos);
  EXPECT_NE(html.find("not measured: needs ≥ 6636 samples, have 2000"), std::string::npos);
  EXPECT_NE(html.find("Comparison with the baseline"), std::string::npos);
}

TEST(RenderHtml, EscapesHostileRecordStrings) {
  const std::string hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
  json record = make_record({.n = 100, .model_path = hostile});
  record["system"]["events"][0]["detail"] = hostile;
  record["system"]["samples"][0]["temperatures_c"][hostile] = 40.0;
  const std::vector<RunRecord> runs{*parse_run(record, "/x/</script>/run.json")};
  const std::string html = render_html(runs, {}, kFakeChartJs);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;script&gt;alert(1)"), std::string::npos);
  // Inside the JSON data: \u003c escapes only.
  const auto data = html.find(R"(<script type="application/json" id="report-data">)");
  ASSERT_NE(data, std::string::npos);
  const auto data_end = html.find("</script>", data);
  const std::string payload = html.substr(data, data_end - data);
  EXPECT_NE(payload.find("\\u003c/script\\u003e"), std::string::npos);
  // Exactly the page's own script elements.
  std::size_t closes = 0;
  for (auto at = html.find("</script"); at != std::string::npos;
       at = html.find("</script", at + 1)) {
    ++closes;
  }
  EXPECT_EQ(closes, 4u);  // error hooks, data, Chart.js, charts
}

TEST(RenderHtml, BigRecordsAreThinned) {
  const std::vector<RunRecord> runs{make_run({.n = 30000, .warmup = 0})};
  const std::string html = render_html(runs, {}, kFakeChartJs);
  const auto data = html.find("id=\"report-data\">");
  const auto end = html.find("</script>", data);
  const json parsed = json::parse(html.substr(data + 17, end - data - 17));
  EXPECT_LE(parsed["cdf"][0].size(), 2000u);
  EXPECT_GE(parsed["cdf"][0].size(), 1000u);
  EXPECT_LE(parsed["timelines"][0]["fps"].size(), 2000u);
  EXPECT_EQ(parsed["histogram"]["shares"][0].size(), 60u);
  EXPECT_EQ(parsed["stages"]["means"][0].size(), 6u);
  EXPECT_NEAR(parsed["stages"]["means"][0][2].get<double>(), 2.0, 0.1);  // device
}

TEST(RenderTraceCsv, OneRowPerFrameWithBlanks) {
  std::vector<RunRecord> runs{make_run({.n = 5, .warmup = 1, .dropped = 1}),
                              make_run({.n = 3, .warmup = 0}, "/r/we,ird/run.json")};
  const std::string csv = render_trace_csv(runs);
  std::istringstream in(csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header,
            "run,run_name,sequence,flags,source_index,queue_depth,scheduled_ms,"
            "preprocess_start_ms,preprocess_end_ms,submit_ms,complete_ms,postprocess_start_ms,"
            "postprocess_end_ms,preprocess_ms,queue_wait_ms,device_ms,postprocess_ms,"
            "end_to_end_ms");
  EXPECT_EQ(count_lines(csv), 1u + 7u + 3u);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  // The first frame: scheduled at 1 ms, preprocess 10 us later for 0.2 ms.
  EXPECT_TRUE(lines[0].starts_with("1,base,0,1,0,0,1.000000,1.010000,1.210000,1.230000,"))
      << lines[0];
  EXPECT_TRUE(lines[0].find(",0.200000,0.020000,") != std::string::npos) << lines[0];
  // The dropped frame: scheduled only, every other cell blank.
  EXPECT_TRUE(lines[6].starts_with("1,base,6,2,6,0,")) << lines[6];
  EXPECT_TRUE(lines[6].ends_with(",,,,,,,,,,,")) << lines[6];
  EXPECT_TRUE(lines[7].starts_with("2,\"we,ird\",0,0,")) << lines[7];
  const RunRecord& r = runs[0];
  EXPECT_NE(
      lines[1].find(fmt::format(",{:.6f}\n", static_cast<double>(r.frames.postprocess_end_ns[1] -
                                                                 r.frames.scheduled_ns[1]) /
                                                 1e6)
                        .substr(0, 8)),
      std::string::npos);
}

TEST(SummaryJson, KeyNumbersAndComparisons) {
  const std::vector<RunRecord> runs{
      make_run({.n = 2000, .seed = 1}),
      make_run({.n = 2000, .seed = 2, .scale = 1.1}, "/runs/slow/run.json")};
  const std::vector<RunComparison> cs{compare_runs(runs[0], runs[1])};
  const json j = summary_json(runs, cs);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["name"], "base");
  EXPECT_EQ(j["runs"][0]["baseline"], true);
  EXPECT_DOUBLE_EQ(j["runs"][1]["fps"].get<double>(), 1149.7);
  EXPECT_EQ(j["runs"][1]["measured_frames"], 2000);
  ASSERT_EQ(j["comparisons"].size(), 1u);
  const json& c = j["comparisons"][0];
  EXPECT_EQ(c["candidate"]["index"], 2);
  EXPECT_EQ(c["regression"], true);
  EXPECT_EQ(c["changes"][0]["metric"], "median end-to-end latency");
  EXPECT_EQ(c["changes"][0]["significant"], true);
  EXPECT_TRUE(c["changes"][0]["p_value"].is_number());
  EXPECT_TRUE(c["changes"][2]["baseline_ci"].is_array());
  EXPECT_EQ(j["regressions"].size(), 3u);
}

TEST(SummaryText, RunsAndVerdicts) {
  const std::vector<RunRecord> runs{make_run({.n = 2000, .seed = 1}),
                                    make_run({.n = 2000, .seed = 2}, "/runs/b/run.json")};
  const std::vector<RunComparison> cs{compare_runs(runs[0], runs[1])};
  const std::string text = summary_text(runs, cs);
  EXPECT_NE(text.find("#1 base (baseline): 1149.70 FPS [1148.90, 1150.50], p50 2.450 ms, p99 "
                      "3.125 ms, 2000 measured frames\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("#2 b vs #1 base: median end-to-end latency "), std::string::npos);
  EXPECT_EQ(text.find("REGRESSION"), std::string::npos);
}

TEST(LoadChartjs, MissingFileSaysWhatToInstall) {
  auto js = load_chartjs("/nonexistent/chart.min.js");
  ASSERT_FALSE(js.has_value());
  EXPECT_EQ(js.error().code, ErrorCode::kNotFound);
  EXPECT_NE(js.error().message.find("install libjs-chart.js or pass --chartjs"), std::string::npos);
  TempDir dir;
  write(dir.path() / "not-chart.js", "var x = 1;");
  EXPECT_FALSE(load_chartjs(dir.path() / "not-chart.js").has_value());
}

TEST(DefaultChartjsPath, IsDebiansChartJs) {
  EXPECT_EQ(default_chartjs_path().filename(), "chart.min.js");
  if (fs::exists(default_chartjs_path())) {
    auto js = load_chartjs(default_chartjs_path());
    ASSERT_TRUE(js.has_value()) << js.error().message;
    EXPECT_NE(js->find("Chart.js v"), std::string::npos);
  }
}

TEST(WriteReportFiles, WritesRefusesThenOverwritesWithForce) {
  TempDir dir;
  const ReportFiles files = report_files(dir.path() / "new" / "out");
  EXPECT_EQ(files.markdown.filename(), "report.md");
  EXPECT_EQ(files.html.filename(), "report.html");
  EXPECT_EQ(files.trace_csv.filename(), "trace.csv");
  ASSERT_TRUE(write_report_files(files, "md", "html", "csv", Overwrite::kRefuse).has_value());
  EXPECT_TRUE(fs::is_regular_file(files.html));
  auto again = write_report_files(files, "md2", "html2", "csv2", Overwrite::kRefuse);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  ASSERT_TRUE(write_report_files(files, "md2", "html2", "csv2", Overwrite::kAllow).has_value());
  std::ifstream in(files.trace_csv);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "csv2");
  // Nothing left behind under temporary names.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(files.html.parent_path())) ++entries;
  EXPECT_EQ(entries, 3u);
}

TEST(WriteReportFiles, ChecksAllBeforeWritingAny) {
  TempDir dir;
  const ReportFiles files = report_files(dir.path());
  write(files.trace_csv, "old");
  EXPECT_FALSE(write_report_files(files, "md", "html", "csv", Overwrite::kRefuse).has_value());
  EXPECT_FALSE(fs::exists(files.markdown));
  EXPECT_FALSE(fs::exists(files.html));
}

}  // namespace
}  // namespace hdeploy::report
