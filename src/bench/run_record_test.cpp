// The run record's one writer and one reader: a full record survives text and back, a
// hand-damaged one reads what it can, and the frame formulas give the documented stage times.

#include "hdeploy/bench/run_record.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hdeploy::bench {
namespace {

using nlohmann::json;

Distribution distribution(double mean_ms) {
  Distribution d;
  d.count = 700;
  d.min = mean_ms - 0.1;
  d.mean = mean_ms;
  d.max = mean_ms + 0.5;
  d.stddev = 0.05;
  d.cv_percent = 100.0 * 0.05 / mean_ms;
  PercentileResult p50;
  p50.percentile = 50.0;
  p50.value = mean_ms;
  p50.ci_low = mean_ms - 0.01;
  p50.ci_high = mean_ms + 0.01;
  p50.min_samples = 11;
  PercentileResult p999;
  p999.percentile = 99.9;
  p999.min_samples = 6636;
  p999.why = "not measured: needs >= 6636 samples, have 700";
  d.percentiles = {p50, p999};
  return d;
}

RunRecord full_record() {
  RunRecord r;
  r.context.date = "2026-12-06T10:00:00Z";
  r.context.host = "raspberrypi";
  r.context.cpu_model.value = "Cortex-A76";
  r.context.cpu_count = 4;
  r.context.governor = Measured<std::string>::missing("not measured: no cpufreq");
  r.context.memory_total_bytes.value = 8.0 * (1 << 30);
  r.context.libraries["opencv"].value = "4.10.0";
  r.context.libraries["hailort"] = Measured<std::string>::missing("not loaded: sim");
  r.context.backend = "sim";
  r.context.model.path = "model.hef";
  r.context.model.kind = "hef";
  r.context.onnx = FileRef{"model.onnx", "abc"};
  r.context.power = Measured<double>::missing("not measured: no sensor");
  r.config.scenario = "poisson";
  r.config.duration_s = 15.0;
  r.config.in_flight = 4;
  r.config.qps = 500.0;
  r.config.latency_bound_ms = Measured<double>::missing("no latency bound given");
  r.config.percentiles = {50.0, 99.9};
  r.config.confidence = 0.95;
  r.config.argv = {"hdeploy", "bench", "model.hef"};
  r.status = {false, "interrupted (SIGINT) after 4.2 s"};
  r.results.frames = 700;
  r.results.warmup = {3, 0.5};
  r.results.failed_frames = 1;
  r.results.errors = {"frame 9: device timeout"};
  r.results.duration_s = 1.4;
  r.results.throughput.fps = 500.1;
  r.results.throughput.ci_low = 499.0;
  r.results.throughput.ci_high = 501.0;
  r.results.throughput.method = "batch means, 20 batches of 0.07 s";
  r.results.latency = distribution(2.45);
  r.results.stages.preprocess = Measured<Distribution>::missing("not measured: fixed tensor");
  r.results.stages.device.value = distribution(2.0);
  r.results.stages.queue_wait.value = distribution(0.2);
  r.results.stages.postprocess.value = distribution(0.1);
  r.results.stability.cv_percent = 2.5;
  r.results.stability.unstable = true;
  r.results.stability.warning = "device time varies";
  r.results.verdict.bound = "load";
  r.results.verdict.text = "load-bound";
  r.results.verdict.device_occupancy = 0.4;
  PoissonResult poisson;
  poisson.qps = 500.0;
  poisson.achieved_qps.value = 498.6;
  poisson.latency_bound_ms = Measured<double>::missing("no latency bound given");
  poisson.p99_ms.value = 3.1;
  poisson.p99_within_bound = Measured<bool>::missing("no latency bound given");
  r.results.poisson = poisson;
  SystemReport system;
  system.interval_ms = 250.0;
  system.cores = 4;
  system.wall_s = 13.3;
  system.process_user_s = 3.1;
  system.cpu_percent_of_one_core = 23.3;
  system.peak_rss_bytes = 81234432;
  system.threads.push_back({1234, "hd-preproc-0", 2.0, 0.1, 14.0, true});
  SystemSample sample;
  sample.t_s = 0.25;
  sample.process_cpu_percent = 21.0;
  sample.core_freq_mhz = std::vector<double>{2400.0, 1500.0};
  sample.temperatures_c["cpu-thermal"] = 51.2;
  sample.throttled = 0x50005;
  system.samples.push_back(sample);
  system.events.push_back({0.25, "throttled", "under-voltage now"});
  system.throttled_during_run = true;
  system.unavailable["hailo_temp_c"] = "not measured: backend sim has no chip sensor";
  r.system = system;
  r.frames.sequence = {0, 1};
  r.frames.flags = {kFrameWarmup, 0};
  r.frames.source_index = {0, 1};
  r.frames.queue_depth = {1, 2};
  r.frames.scheduled_ns = {0, 1'000'000};
  r.frames.preprocess_start_ns = {-1, -1};
  r.frames.preprocess_end_ns = {-1, -1};
  r.frames.submit_ns = {100, 1'300'000};
  r.frames.complete_ns = {200, 3'300'000};
  r.frames.postprocess_start_ns = {300, 3'400'000};
  r.frames.postprocess_end_ns = {400, 3'450'000};
  return r;
}

RunRecord parsed(const std::string& text) {
  auto r = parse_run_record(json::parse(text), "run.json");
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? *r : RunRecord{};
}

TEST(RunRecord, EverySectionSurvivesTextAndBack) {
  const RunRecord original = full_record();
  const std::string text = run_record_text(original);
  const RunRecord back = parsed(text);
  EXPECT_EQ(to_json(back.context), to_json(original.context));
  EXPECT_EQ(to_json(back.config), to_json(original.config));
  EXPECT_EQ(to_json(back.status), to_json(original.status));
  EXPECT_EQ(to_json(back.results), to_json(original.results));
  ASSERT_TRUE(back.system.has_value());
  EXPECT_EQ(to_json(*back.system), to_json(*original.system));
  EXPECT_EQ(to_json(back.frames), to_json(original.frames));
  // Written again, the text is the same: nothing is lost or invented on the way.
  EXPECT_EQ(run_record_text(back), text);

  // The typed values, not just their JSON.
  EXPECT_EQ(back.context.governor.why, "not measured: no cpufreq");
  EXPECT_FALSE(back.context.libraries.at("hailort").value);
  EXPECT_EQ(back.context.libraries.at("opencv").value, "4.10.0");
  EXPECT_EQ(back.status.partial_reason, "interrupted (SIGINT) after 4.2 s");
  ASSERT_TRUE(back.results.latency.has_value());
  const PercentileResult* p999 = back.results.latency->find(99.9);
  ASSERT_NE(p999, nullptr);
  EXPECT_FALSE(p999->value);
  EXPECT_EQ(p999->min_samples, 6636u);
  EXPECT_EQ(back.results.stages.preprocess.why, "not measured: fixed tensor");
  EXPECT_EQ(back.results.poisson->p99_within_bound.why, "no latency bound given");
  EXPECT_EQ(back.system->samples.at(0).throttled, 0x50005u);
  EXPECT_EQ(back.system->threads.at(0).name, "hd-preproc-0");
  EXPECT_DOUBLE_EQ(back.system->wall_s, 13.3);
}

TEST(RunRecord, DocumentedKeysAndOrder) {
  const std::string text = run_record_text(full_record(), false);
  const json j = json::parse(text);
  EXPECT_EQ(j["format"], "hdeploy.bench.run");
  EXPECT_EQ(j["version"], 1);
  EXPECT_FALSE(j.contains("frames"));
  // Sections in their documented order, context first.
  EXPECT_LT(text.find("\"context\""), text.find("\"config\""));
  EXPECT_LT(text.find("\"config\""), text.find("\"status\""));
  EXPECT_LT(text.find("\"results\""), text.find("\"system\""));
  // A missing value is null with its reason beside it, never 0.
  EXPECT_TRUE(j["context"]["governor"].is_null());
  EXPECT_EQ(j["context"]["governor_why"], "not measured: no cpufreq");
  EXPECT_TRUE(j["context"]["libraries"]["hailort"].is_null());
  EXPECT_EQ(j["context"]["libraries"]["hailort_why"], "not loaded: sim");
  EXPECT_TRUE(j["results"]["stages"]["preprocess"].is_null());
  EXPECT_EQ(j["results"]["latency"]["percentiles"]["99.9"]["supported"], false);
  EXPECT_EQ(j["results"]["latency"]["percentiles"]["50"]["value"], 2.45);
  EXPECT_TRUE(j["results"]["stream"].is_null());
  EXPECT_EQ(j["status"],
            json({{"complete", false}, {"partial_reason", "interrupted (SIGINT) after 4.2 s"}}));
  EXPECT_EQ(j["system"]["samples"][0]["throttled"], "0x50005");
}

TEST(RunRecord, NonUtf8TextIsWrittenEscapedNotThrown) {
  RunRecord r = full_record();
  r.config.images_dir = std::string("images/\xff\xfe");
  std::string text;
  EXPECT_NO_THROW(text = run_record_text(r));
  EXPECT_TRUE(json::parse(text).is_object());
}

TEST(RunRecord, WrongTypesReadAsAbsentAndUnknownKeysAreKept) {
  json j = json::parse(run_record_text(full_record()));
  j["config"]["in_flight"] = "four";           // wrong type: absent, not 0
  j["results"]["throughput"]["fps"] = "fast";  // wrong type
  j["results"]["frames"] = -3;                 // a count cannot be negative
  j["context"]["npu_firmware"] = "4.23.0";     // a newer writer's key
  j["config"]["batch"] = 8;
  j["results"]["latency"]["percentiles"]["fifty"] = {{"value", 1.0}};  // not a percentile
  const RunRecord r = parsed(j.dump());
  EXPECT_FALSE(r.config.in_flight);
  EXPECT_FALSE(r.results.throughput.fps);
  EXPECT_FALSE(r.results.frames);
  EXPECT_EQ(r.context.other.at("npu_firmware"), "4.23.0");
  EXPECT_EQ(r.config.other.at("batch"), 8);
  EXPECT_EQ(r.results.latency->percentiles.size(), 2u);
  // Kept keys are written back.
  const json again = json::parse(run_record_text(r));
  EXPECT_EQ(again["context"]["npu_firmware"], "4.23.0");
}

TEST(RunRecord, AMinimalRecordReadsAsNotMeasured) {
  const RunRecord r = parsed(R"({"format": "hdeploy.bench.run", "version": 1})");
  EXPECT_FALSE(r.results.frames);
  EXPECT_FALSE(r.results.latency);
  EXPECT_FALSE(r.system);
  EXPECT_TRUE(r.status.complete);
  EXPECT_EQ(r.frames.size(), 0u);
  const RunRecord partial =
      parsed(R"({"format": "hdeploy.bench.run", "version": 1, "status": {"complete": false}})");
  EXPECT_EQ(partial.status.partial_reason, "no reason given");
}

TEST(RunRecord, RefusesWhatIsNotARecord) {
  auto not_object = parse_run_record(json::array(), "a.json");
  ASSERT_FALSE(not_object);
  EXPECT_EQ(not_object.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(not_object.error().message.find("a.json"), std::string::npos);
  auto other = parse_run_record(json{{"format", "google.benchmark"}, {"version", 1}}, "b.json");
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("google.benchmark"), std::string::npos);
  auto newer = parse_run_record(json{{"format", "hdeploy.bench.run"}, {"version", 2}}, "c.json");
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(newer.error().message.find("update hdeploy"), std::string::npos);
  auto no_version = parse_run_record(json{{"format", "hdeploy.bench.run"}}, "d.json");
  ASSERT_FALSE(no_version);
  EXPECT_EQ(no_version.error().code, ErrorCode::kInvalidFormat);
}

TEST(FramesFromJson, ColumnsOfOneLengthAbsentOnesFilled) {
  auto f = frames_from_json(json{{"flags", {1, 0, 4}}, {"scheduled_ns", {0, 5, 9.0}}}, "r");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->size(), 3u);
  EXPECT_EQ(f->sequence, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(f->scheduled_ns[2], 9);
  EXPECT_EQ(f->submit_ns, (std::vector<std::int64_t>{-1, -1, -1}));

  auto uneven = frames_from_json(json{{"flags", {1, 0}}, {"submit_ns", {1}}}, "r.json");
  ASSERT_FALSE(uneven);
  EXPECT_NE(uneven.error().message.find("one length"), std::string::npos);
  auto text = frames_from_json(json{{"flags", {"x"}}}, "r.json");
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().message.find("frames.flags[0] is not a number"), std::string::npos);
  EXPECT_FALSE(frames_from_json(json{{"flags", {1e300}}}, "r.json"));
  EXPECT_FALSE(frames_from_json(json::array(), "r.json"));
}

TEST(StageTime, TheDocumentedFormulas) {
  const RunRecord r = full_record();
  const FrameColumns& f = r.frames;
  // Frame 1: scheduled 1 ms, no preprocess (fixed input), submit 1.3, complete 3.3,
  // post-process 3.4 - 3.45.
  EXPECT_FALSE(stage_time_ns(f, 1, Stage::kPreprocess));
  EXPECT_EQ(stage_time_ns(f, 1, Stage::kQueueWait), 300'000);  // from the scheduled time
  EXPECT_EQ(stage_time_ns(f, 1, Stage::kDevice), 2'000'000);
  EXPECT_EQ(stage_time_ns(f, 1, Stage::kHostWait), 100'000);
  EXPECT_EQ(stage_time_ns(f, 1, Stage::kPostprocess), 50'000);
  EXPECT_EQ(stage_time_ns(f, 1, Stage::kEndToEnd), 2'450'000);
  EXPECT_DOUBLE_EQ(*stage_time_ms(f, 1, Stage::kEndToEnd), 2.45);
  EXPECT_FALSE(stage_time_ns(f, 2, Stage::kDevice));  // out of range
  EXPECT_FALSE(is_measured_frame(f, 0));              // warm-up
  EXPECT_TRUE(is_measured_frame(f, 1));
  EXPECT_EQ(stage_times_ms(f, Stage::kDevice), (std::vector<double>{2.0}));
  EXPECT_EQ(stage_name(Stage::kQueueWait), "queue_wait");
  EXPECT_EQ(r.results.stages.find(Stage::kEndToEnd), nullptr);
  EXPECT_EQ(r.results.stages.find(Stage::kDevice), &r.results.stages.device);
}

}  // namespace
}  // namespace hdeploy::bench
