#include "hdeploy/pipeline/pipeline.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "hdeploy/bench/run_record.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/sha256.hpp"
#include "testing/temp_dir.hpp"

namespace hdeploy::pipeline {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

using hdeploy::testing::TempDir;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string read(const fs::path& p) { return read_text_file(p).value_or(std::string()); }

// Stands in for the hdeploy binary: writes what each stage writes and prints the JSON keys the
// real commands print, with behaviour switches per test.
class FakeExecutor : public StageExecutor {
 public:
  explicit FakeExecutor(fs::path dir) : dir_(std::move(dir)) {}

  std::string compile_mode = "not_run";  // not_run | compiled | failed
  bool check_fails = false;
  std::string infer_backend = "sim";
  int bench_runs = 0;  // run.json differs per run, as real timings do
  std::vector<std::pair<Stage, std::vector<std::string>>> calls;

  std::vector<Stage> stages_called() const {
    std::vector<Stage> s;
    for (const auto& c : calls) s.push_back(c.first);
    return s;
  }
  const std::vector<std::string>* args_of(Stage stage) const {
    for (const auto& c : calls) {
      if (c.first == stage) return &c.second;
    }
    return nullptr;
  }

  Result<ProcessOutcome> run(Stage stage, const std::vector<std::string>& args,
                             const std::function<void(const std::string&)>& on_stderr) override {
    calls.emplace_back(stage, args);
    ProcessOutcome out;
    out.exit_status = 0;
    json j;
    switch (stage) {
      case Stage::kExport:
        write(dir_ / "export/model.onnx", "onnx");
        write(dir_ / "export/labels.txt", "tench\n");
        write(dir_ / "export/reference/input.npy", "in");
        write(dir_ / "export/reference/output.npy", "out");
        j = {{"opset", 13},
             {"weights", {{"kind", "none"}}},
             {"versions", {{"torch", "1.13.1"}, {"onnx", "1.12.0"}}},
             {"python", {{"version", "3.11.2"}}}};
        break;
      case Stage::kCheck:
        if (check_fails) {
          on_stderr("hdeploy check: error: model.onnx: check failed with 1 error (see above)");
          out.exit_status = 1;
          j = {{"ok", false}, {"parity", {{"ran", true}, {"pass", false}}}};
        } else {
          j = {{"ok", true},
               {"structure", {{"ok", true}}},
               {"parity",
                {{"ran", true}, {"pass", true}, {"max_abs_diff", 2.1e-6}, {"top1_agree", true}}}};
        }
        break;
      case Stage::kCalib:
        write(dir_ / "calib/calib.npy", "calib");
        write(dir_ / "calib/calib.manifest.json", "{}");
        j = {{"npy", (dir_ / "calib/calib.npy").string()}, {"count_used", 32}};
        break;
      case Stage::kCompile:
        write(dir_ / "compile/model.alls", "normalization1 = ...");
        if (compile_mode == "compiled") {
          write(dir_ / "compile/model.hef", "hef");
          j = {{"status", "compiled"},
               {"why", nullptr},
               {"hef", (dir_ / "compile/model.hef").string()},
               {"hef_check", {{"ok", true}, {"arch", "HAILO8L"}}},
               {"dfc", {{"frontend", "cli"}, {"version", "3.30.0"}}}};
        } else {
          out.exit_status = 1;
          j = {{"status", compile_mode},
               {"why", compile_mode == "failed" ? "hailo optimize exited with status 1"
                                                : "no Dataflow Compiler found (hailo on PATH)"},
               {"hef", nullptr}};
        }
        break;
      case Stage::kInspect:
        j = {{"arch", "HAILO8L"},
             {"compiler_version", "3.30.0"},
             {"compatible", {{"ok", true}, {"device", "hailo8l"}}}};
        break;
      case Stage::kInfer:
        j = {{"backend", infer_backend},
             {"backend_description", infer_backend + " device"},
             {"results",
              {{{"image", "/x/a.jpg"}, {"top_k", {{{"label", "tench"}, {"probability", 0.9}}}}}}}};
        break;
      case Stage::kBench:
        write(dir_ / "bench/run/run.json", fmt::format("{{\"run\": {}}}", ++bench_runs));
        j = {{"format", "hdeploy.bench.run"},
             {"version", 1},
             {"context", {{"backend", "sim"}, {"backend_description", "sim"}}},
             {"config", {{"scenario", "throughput"}}},
             {"results",
              {{"throughput", {{"fps", 1145.4}}},
               {"latency",
                {{"percentiles", {{"50", {{"value", 4.37}}}, {"99", {{"value", 4.93}}}}}}}}},
             {"system", {{"cores", 2}, {"process", {{"cpu_percent_of_all_cores", 12.5}}}}}};
        break;
      case Stage::kReport:
        write(dir_ / "report/report.md", "# report");
        j = {{"files", {{"markdown", (dir_ / "report/report.md").string()}}}};
        break;
    }
    out.stdout_text = j.dump();
    return out;
  }

 private:
  fs::path dir_;
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : executor_(tmp_.path() / "out") {
    options_.spec_arg = "resnet18";
    options_.spec_path = fs::path(HDEPLOY_SOURCE_DIR) / "models/resnet18.toml";
    options_.spec_name = "resnet18";
    options_.out_dir = tmp_.path() / "out";
    options_.synthetic_images = 6;
    options_.hdeploy_version = "0.1.0";
    options_.hdeploy_commit = "test";
  }

  Result<PipelineOutcome> run() {
    log_.clear();
    return run_pipeline(options_, executor_, [this](const std::string& l) { log_ += l + "\n"; });
  }

  static const SuccessRow& row(const PipelineOutcome& o, const std::string& item) {
    for (const auto& r : o.table) {
      if (r.item == item) return r;
    }
    static SuccessRow none;
    ADD_FAILURE() << "no row " << item;
    return none;
  }

  TempDir tmp_;
  FakeExecutor executor_;
  PipelineOptions options_;
  std::string log_;
};

TEST_F(PipelineTest, RunsStagesInOrderAndMarksCompileNotRun) {
  auto outcome = run();
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->failed_stage);
  EXPECT_EQ(executor_.stages_called(),
            (std::vector<Stage>{Stage::kExport, Stage::kCheck, Stage::kCalib, Stage::kCompile,
                                Stage::kInfer, Stage::kBench, Stage::kReport}));
  const Manifest& m = outcome->manifest;
  ASSERT_EQ(m.stages.size(), 8U);
  EXPECT_EQ(m.find(Stage::kCompile)->status, StageStatus::kNotRun);
  EXPECT_NE(m.find(Stage::kCompile)->why.find("no Dataflow Compiler"), std::string::npos);
  EXPECT_EQ(m.find(Stage::kInspect)->status, StageStatus::kNotRun);
  EXPECT_NE(m.find(Stage::kInspect)->why.find("no HEF"), std::string::npos);
  EXPECT_EQ(m.find(Stage::kBench)->status, StageStatus::kRan);

  // Recorded commands are relative to the folder; executed ones absolute.
  EXPECT_EQ(m.find(Stage::kCheck)->command,
            (std::vector<std::string>{"hdeploy", "check", "export/model.onnx", "--json"}));
  EXPECT_EQ(executor_.args_of(Stage::kCheck)->at(1),
            (options_.out_dir / "export/model.onnx").string());
  // Without a HEF, infer and bench use the exported ONNX on the sim.
  const auto& infer = *executor_.args_of(Stage::kInfer);
  EXPECT_EQ(infer[1], (options_.out_dir / "export/model.onnx").string());
  EXPECT_NE(std::find(infer.begin(), infer.end(), "sim"), infer.end());
  EXPECT_EQ(infer.size(), 2U + 4U + 5U);  // infer MODEL, 4 images, --model S --backend sim --json

  // Outputs hashed; the manifest on disk matches the outcome.
  const StageRecord* calib = m.find(Stage::kCalib);
  ASSERT_EQ(calib->outputs.count("calib/calib.npy"), 1U);
  EXPECT_EQ(calib->outputs.at("calib/calib.npy"),
            *sha256_file_hex(options_.out_dir / "calib/calib.npy"));
  EXPECT_EQ(calib->inputs.size(), 7U);  // 6 synthetic images + the spec
  auto on_disk = read_manifest(options_.out_dir / "manifest.json");
  ASSERT_TRUE(on_disk);
  EXPECT_EQ(to_json(*on_disk), to_json(m));
  EXPECT_EQ(m.find(Stage::kExport)->versions["torch"], "1.13.1");

  EXPECT_EQ(row(*outcome, "ONNX export validated").result, "yes");
  EXPECT_EQ(row(*outcome, "ONNX export validated").detail.substr(0, 36),
            "max abs diff 2.1e-06 vs PyTorch, top");
  EXPECT_EQ(row(*outcome, "HEF produced").result, "not run");
  EXPECT_EQ(row(*outcome, "HEF produced").detail,
            "not run: no Dataflow Compiler found (hailo on PATH)");
  EXPECT_EQ(row(*outcome, "inference on Hailo").result, "no");
  const std::string expected_hailo =
      "no HailoRT here (the hailo plugin did not load); inference ran on the sim ";
  EXPECT_EQ(row(*outcome, "inference on Hailo").detail.substr(0, expected_hailo.size()),
            expected_hailo);
  EXPECT_EQ(row(*outcome, "FPS and latency measured").detail.substr(0, 55),
            "sim, not hardware: 1145.4 FPS, p50 4.37 ms, p99 4.93 ms");
  EXPECT_EQ(row(*outcome, "CPU utilisation recorded").detail,
            "12.5% of all cores (2 cores), per-thread in report/report.md");
  ASSERT_EQ(outcome->notes.size(), 1U);
  EXPECT_NE(outcome->notes[0].find("6 synthetic images"), std::string::npos);
  const std::string md = read(options_.out_dir / "success.md");
  EXPECT_NE(md.find("| HEF produced | not run |"), std::string::npos);
  EXPECT_NE(log_.find("synthetic images"), std::string::npos);
}

TEST_F(PipelineTest, SecondRunSkipsEveryStage) {
  ASSERT_TRUE(run());
  executor_.calls.clear();
  auto again = run();
  ASSERT_TRUE(again);
  EXPECT_TRUE(executor_.calls.empty());
  for (const auto& r : again->manifest.stages) {
    if (r.stage == Stage::kInspect) {
      EXPECT_EQ(r.status, StageStatus::kNotRun);
    } else {
      EXPECT_EQ(r.status, StageStatus::kSkipped) << stage_name(r.stage);
      EXPECT_EQ(r.why.substr(0, 22), "inputs unchanged (key ") << r.why;
    }
  }
  EXPECT_NE(log_.find("compile: skipped: inputs unchanged"), std::string::npos);
  // The table still reports what the skipped stages measured.
  EXPECT_EQ(again->table, run()->table);
  EXPECT_NE(row(*again, "HEF produced").detail.find("no Dataflow Compiler"), std::string::npos);
}

TEST_F(PipelineTest, ChangedImageRerunsOnlyWhatUsesImages) {
  const fs::path images = tmp_.path() / "images";
  write(images / "a.jpg", "a");
  write(images / "b.png", "b");
  options_.images_dir = images;
  ASSERT_TRUE(run());
  executor_.calls.clear();
  write(images / "b.png", "changed");
  auto outcome = run();
  ASSERT_TRUE(outcome);
  // compile's inputs (ONNX, calib.npy, spec) hash the same: the fake writes the same calib.npy.
  EXPECT_EQ(executor_.stages_called(),
            (std::vector<Stage>{Stage::kCalib, Stage::kInfer, Stage::kBench, Stage::kReport}));
  EXPECT_EQ(outcome->manifest.find(Stage::kExport)->status, StageStatus::kSkipped);
  EXPECT_EQ(outcome->manifest.find(Stage::kCalib)->status, StageStatus::kRan);
  EXPECT_TRUE(outcome->notes.empty());  // real images: no synthetic note
}

TEST_F(PipelineTest, ChangedOutputOrRerunOrForceRunsAgain) {
  ASSERT_TRUE(run());
  executor_.calls.clear();
  write(options_.out_dir / "report/report.md", "edited by hand");
  options_.rerun = {Stage::kCheck};
  ASSERT_TRUE(run());
  EXPECT_EQ(executor_.stages_called(), (std::vector<Stage>{Stage::kCheck, Stage::kReport}));
  executor_.calls.clear();
  options_.rerun.clear();
  options_.force = true;
  ASSERT_TRUE(run());
  EXPECT_EQ(executor_.calls.size(), 7U);
}

TEST_F(PipelineTest, UntilThenFromVerifiesReceivedFiles) {
  options_.until = Stage::kCompile;
  auto first = run();
  ASSERT_TRUE(first);
  EXPECT_EQ(executor_.stages_called().back(), Stage::kCompile);
  EXPECT_EQ(first->manifest.find(Stage::kInfer), nullptr);
  EXPECT_EQ(row(*first, "FPS and latency measured").result, "not run");

  // "Copy" the folder to the Pi and run the rest there.
  const fs::path pi = tmp_.path() / "pi";
  fs::copy(options_.out_dir, pi, fs::copy_options::recursive);
  FakeExecutor pi_executor(pi);
  PipelineOptions pi_options = options_;
  pi_options.out_dir = pi;
  pi_options.until.reset();
  pi_options.from = Stage::kInspect;
  std::string log;
  auto second =
      run_pipeline(pi_options, pi_executor, [&](const std::string& l) { log += l + "\n"; });
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(pi_executor.stages_called(),
            (std::vector<Stage>{Stage::kInfer, Stage::kBench, Stage::kReport}));
  EXPECT_EQ(second->verified_files, 7);  // export 4, check 0, calib 2, compile 1 (model.alls)
  EXPECT_NE(log.find("verified 7 files received"), std::string::npos);
  EXPECT_EQ(second->manifest.find(Stage::kExport)->status, StageStatus::kRan);

  write(pi / "calib/calib.npy", "tampered in transit");
  auto tampered = run_pipeline(pi_options, pi_executor, [](const std::string&) {});
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code, ErrorCode::kFailed);
  EXPECT_NE(tampered.error().message.find("calib/calib.npy: changed"), std::string::npos);
  EXPECT_NE(tampered.error().message.find("copy the pipeline folder again"), std::string::npos);

  fs::remove(pi / "manifest.json");
  auto no_manifest = run_pipeline(pi_options, pi_executor, [](const std::string&) {});
  ASSERT_FALSE(no_manifest);
  EXPECT_NE(no_manifest.error().message.find("no manifest.json"), std::string::npos);
}

TEST_F(PipelineTest, FromAfterUntilIsUsageError) {
  options_.from = Stage::kBench;
  options_.until = Stage::kCheck;
  auto outcome = run();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(executor_.calls.empty());
  options_.from.reset();
  options_.until.reset();
  options_.bench_duration = "ten";
  EXPECT_EQ(run().error().code, ErrorCode::kInvalidArgument);
}

TEST_F(PipelineTest, FromNeedsEarlierStagesRecorded) {
  options_.until = Stage::kCheck;
  ASSERT_TRUE(run());
  options_.until.reset();
  options_.from = Stage::kInspect;
  auto outcome = run();
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().message.find("stage calib has no record"), std::string::npos);
}

TEST_F(PipelineTest, RefusesForeignNonEmptyFolderWithoutForce) {
  write(options_.out_dir / "notes.txt", "mine");
  auto outcome = run();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(outcome.error().message.find("--force"), std::string::npos);
  EXPECT_TRUE(executor_.calls.empty());
  options_.force = true;
  EXPECT_TRUE(run());
  EXPECT_EQ(read(options_.out_dir / "notes.txt"), "mine");
}

TEST_F(PipelineTest, FailedCheckStopsAndStillWritesTable) {
  executor_.check_fails = true;
  auto outcome = run();
  ASSERT_TRUE(outcome);
  ASSERT_TRUE(outcome->failed_stage);
  EXPECT_EQ(*outcome->failed_stage, Stage::kCheck);
  EXPECT_NE(outcome->failure.find("logs/check.log"), std::string::npos);
  EXPECT_EQ(executor_.stages_called(), (std::vector<Stage>{Stage::kExport, Stage::kCheck}));
  const StageRecord* check = outcome->manifest.find(Stage::kCheck);
  EXPECT_EQ(check->status, StageStatus::kFailed);
  EXPECT_NE(check->why.find("check failed with 1 error"), std::string::npos);
  EXPECT_EQ(row(*outcome, "ONNX export validated").result, "no");
  EXPECT_EQ(row(*outcome, "ONNX export validated").detail.substr(0, 13), "check failed:");
  EXPECT_EQ(row(*outcome, "HEF produced").result, "not run");
  EXPECT_NE(read(options_.out_dir / "logs/check.log").find("check failed"), std::string::npos);
  EXPECT_TRUE(fs::exists(options_.out_dir / "success.md"));
  // A failed stage is never reused from the cache.
  executor_.check_fails = false;
  executor_.calls.clear();
  ASSERT_TRUE(run());
  EXPECT_EQ(executor_.stages_called().front(), Stage::kCheck);
}

TEST_F(PipelineTest, FailedCompileStopsThePipeline) {
  executor_.compile_mode = "failed";
  auto outcome = run();
  ASSERT_TRUE(outcome);
  ASSERT_TRUE(outcome->failed_stage);
  EXPECT_EQ(*outcome->failed_stage, Stage::kCompile);
  EXPECT_EQ(executor_.stages_called().back(), Stage::kCompile);
  EXPECT_EQ(row(*outcome, "HEF produced").result, "no");
  EXPECT_NE(row(*outcome, "HEF produced").detail.find("hailo optimize exited"), std::string::npos);
}

TEST_F(PipelineTest, CompiledHefFeedsInspectInferBench) {
  executor_.compile_mode = "compiled";
  executor_.infer_backend = "hailo";
  options_.have_hailort = true;
  auto outcome = run();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->manifest.find(Stage::kCompile)->status, StageStatus::kRan);
  const std::string hef = (options_.out_dir / "compile/model.hef").string();
  EXPECT_EQ(executor_.args_of(Stage::kInspect)->at(1), hef);
  EXPECT_EQ(executor_.args_of(Stage::kInfer)->at(1), hef);
  EXPECT_EQ(executor_.args_of(Stage::kBench)->at(1), hef);
  EXPECT_EQ(row(*outcome, "HEF produced").result, "yes");
  EXPECT_EQ(row(*outcome, "HEF produced").detail, "compile/model.hef HAILO8L DFC 3.30.0");
  EXPECT_EQ(row(*outcome, "inference on Hailo").result, "yes");
  EXPECT_EQ(outcome->manifest.find(Stage::kCompile)->versions["dfc"], "3.30.0");
}

TEST_F(PipelineTest, GivenHefIsCopiedAndUsed) {
  write(tmp_.path() / "given.hef", "a hef");
  options_.hef = tmp_.path() / "given.hef";
  options_.hw_arch = "hailo8";
  auto outcome = run();
  ASSERT_TRUE(outcome);
  const auto called = executor_.stages_called();
  EXPECT_EQ(std::count(called.begin(), called.end(), Stage::kCompile), 0);
  const StageRecord* compile = outcome->manifest.find(Stage::kCompile);
  EXPECT_EQ(compile->status, StageStatus::kNotRun);
  EXPECT_EQ(compile->why, "--hef given (hef/given.hef)");
  EXPECT_EQ(compile->outputs.at("hef/given.hef"), *sha256_file_hex(options_.hef));
  const auto& inspect = *executor_.args_of(Stage::kInspect);
  EXPECT_EQ(inspect[1], (options_.out_dir / "hef/given.hef").string());
  EXPECT_EQ(inspect[3], "hailo8");
  EXPECT_EQ(row(*outcome, "HEF produced").result, "given");
  EXPECT_EQ(row(*outcome, "HEF produced").detail,
            "hef/given.hef from --hef, not compiled here; HAILO8L, compiler 3.30.0 (inspect)");
  EXPECT_EQ(row(*outcome, "inference on Hailo").detail.substr(0, 16), "no HailoRT here ");
}

TEST(SuccessTable, RowsWithoutAnyStageSayNotRun) {
  const auto rows = success_table(Manifest{}, false);
  ASSERT_EQ(rows.size(), 5U);
  for (const auto& r : rows) {
    EXPECT_EQ(r.result, "not run") << r.item;
    EXPECT_EQ(r.detail.substr(0, 9), "not run: ") << r.item;
  }
  const std::string md = render_success_table(rows, {"a note"}, "title");
  EXPECT_NE(md.find("# title"), std::string::npos);
  EXPECT_NE(md.find("| CPU utilisation recorded | not run |"), std::string::npos);
  EXPECT_NE(md.find("- a note"), std::string::npos);
}

TEST(SuccessTable, UnmeasuredNumbersAreNeverZero) {
  Manifest m;
  StageRecord bench;
  bench.stage = Stage::kBench;
  bench.status = StageStatus::kRan;
  bench.summary = {{"backend", "sim"}, {"fps", nullptr}, {"fps_why", "no frames completed"}};
  m.set(bench);
  const auto rows = success_table(m, false);
  EXPECT_EQ(rows[3].result, "no");
  EXPECT_EQ(rows[3].detail, "not measured: no frames completed");
  EXPECT_EQ(rows[4].detail, "not measured: bench recorded no process CPU time");
}

TEST(SummarizeStage, BenchRecordAndCompileContract) {
  const fs::path dir = "/p";
  // Bench's --json: the record's writer, without frames.
  bench::RunRecord record;
  record.context.backend = "hailo";
  record.context.backend_description = "Hailo-8L";
  record.config.scenario = "throughput";
  record.results.frames = 100;
  record.results.throughput.fps = 1149.9;
  bench::Distribution latency;
  bench::PercentileResult p50;
  p50.percentile = 50.0;
  p50.value = 2.4;
  bench::PercentileResult p99;
  p99.percentile = 99.0;
  p99.why = "not measured: needs 662 samples";
  latency.percentiles = {p50, p99};
  record.results.latency = latency;
  record.system = bench::SystemReport{};
  record.system->cores = 4;
  record.system->cpu_percent_of_all_cores = 5.8;
  const json bench = json::parse(bench::run_record_text(record, false));
  const json s = summarize_stage(Stage::kBench, bench, dir);
  EXPECT_EQ(s["fps"], 1149.9);
  EXPECT_EQ(s["p50_ms"], 2.4);
  EXPECT_TRUE(s["p99_ms"].is_null());
  EXPECT_EQ(s["cpu_percent_of_all_cores"], 5.8);
  EXPECT_EQ(s["backend"], "hailo");
  EXPECT_EQ(s["frames"], 100);
  EXPECT_EQ(s["cores"], 4);
  // Not a run record: the summary says so instead of guessing.
  const json not_record = summarize_stage(Stage::kBench, json{{"run", 1}}, dir);
  EXPECT_NE(not_record["error"].get<std::string>().find("not a run record"), std::string::npos);

  const json compile = {{"status", "compiled"},
                        {"why", nullptr},
                        {"hef", "/p/compile/model.hef"},
                        {"dfc", {{"version", "3.31.0"}}},
                        {"hef_check", {{"ok", true}, {"arch", "HAILO8L"}}}};
  const json c = summarize_stage(Stage::kCompile, compile, dir);
  EXPECT_EQ(c["hef"], "compile/model.hef");
  EXPECT_EQ(c["dfc_version"], "3.31.0");
  EXPECT_EQ(c["arch"], "HAILO8L");
  // Missing keys give nulls, never an exception.
  EXPECT_TRUE(summarize_stage(Stage::kInspect, json::object(), dir)["arch"].is_null());
}

TEST(Duration, ParsesUnits) {
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("10s"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("2m"), 120.0);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("3"), 3.0);
  for (const char* bad : {"", "s", "0s", "-1s", "10h", "1.2.3s", "ten"}) {
    auto d = parse_duration_seconds(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ProcessStageExecutor, RunsTheBinaryWithArgsAndForwardsStderr) {
  ProcessStageExecutor executor("/bin/sh");
  std::vector<std::string> lines;
  auto outcome = executor.run(Stage::kCheck, {"-c", "echo out; echo err1 >&2; exit 3"},
                              [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->exit_status, 3);
  EXPECT_EQ(outcome->stdout_text, "out\n");
  EXPECT_EQ(lines, (std::vector<std::string>{"err1"}));
}

}  // namespace
}  // namespace hdeploy::pipeline
