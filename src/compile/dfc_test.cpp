#include "hdeploy/compile/dfc.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "testing/temp_dir.hpp"

namespace hdeploy::compile {
namespace {
namespace fs = std::filesystem;
using Argv = std::vector<std::string>;

using hdeploy::testing::TempDir;

fs::path write_script(const fs::path& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

TEST(FindDfcTest, HailoOnPathIsTheCliFrontend) {
  TempDir dir("hdeploy_dfc_path");
  write_script(dir.path() / "hailo", "exit 0");
  DfcSearch search;
  search.path_env = "/nonexistent:" + dir.path().string();
  auto tool = find_dfc(search);
  ASSERT_TRUE(tool) << tool.error().message;
  EXPECT_EQ(tool->frontend, DfcFrontend::kCli);
  EXPECT_EQ(tool->executable, dir.path() / "hailo");
}

TEST(FindDfcTest, NothingFoundListsWhatWasLookedFor) {
  DfcSearch search;
  search.path_env = "/nonexistent/a:/nonexistent/b";
  auto tool = find_dfc(search);
  ASSERT_FALSE(tool);
  EXPECT_EQ(tool.error().code, ErrorCode::kNotFound);
  for (const char* needle : {"`hailo`", "/nonexistent/a:/nonexistent/b", "--dfc PATH",
                             "--dfc-python PYTHON", "hailo_sdk_client"}) {
    EXPECT_NE(tool.error().message.find(needle), std::string::npos) << tool.error().message;
  }
}

TEST(FindDfcTest, ExplicitCliMustBeExecutable) {
  TempDir dir("hdeploy_dfc_explicit");
  DfcSearch search;
  search.cli = (dir.path() / "missing-hailo").string();
  auto tool = find_dfc(search);
  ASSERT_FALSE(tool);
  EXPECT_NE(tool.error().message.find("missing-hailo"), std::string::npos);
  search.cli = write_script(dir.path() / "my-hailo", "exit 0").string();
  tool = find_dfc(search);
  ASSERT_TRUE(tool) << tool.error().message;
  EXPECT_EQ(tool->executable, dir.path() / "my-hailo");
}

TEST(FindDfcTest, PythonFrontendNeedsTheInterpreterAndTheDriver) {
  TempDir dir("hdeploy_dfc_python");
  const fs::path driver = dir.path() / "hdeploy_dfc.py";
  DfcSearch search;
  search.python = "/bin/sh";
  search.driver_script = driver;
  auto missing_driver = find_dfc(search);
  ASSERT_FALSE(missing_driver);
  EXPECT_NE(missing_driver.error().message.find("hdeploy_dfc.py"), std::string::npos);
  std::ofstream(driver) << "# driver\n";
  auto tool = find_dfc(search);
  ASSERT_TRUE(tool) << tool.error().message;
  EXPECT_EQ(tool->frontend, DfcFrontend::kPython);
  EXPECT_EQ(tool->driver_script, driver);
  search.python = "/nonexistent/python";
  EXPECT_FALSE(find_dfc(search));
}

TEST(DfcVersionTest, ParsesWhatTheToolsPrint) {
  EXPECT_EQ(parse_dfc_version("HailoRT v4.20.0\nHailo Dataflow Compiler v3.30.0\n"), "3.30.0");
  EXPECT_EQ(parse_dfc_version("[info] Current Time: 10:00\nHailo Dataflow Compiler v3.33.1"),
            "3.33.1");
  EXPECT_EQ(parse_dfc_version("3.31.0\n"), "3.31.0");
  EXPECT_EQ(parse_dfc_version("HailoRT v4.20.0\n"), std::nullopt);
  EXPECT_EQ(parse_dfc_version("usage: hailo [-h]"), std::nullopt);
  EXPECT_EQ(parse_hailort_version_line("HailoRT v4.21.0\nHailo Dataflow Compiler v3.31.0"),
            "4.21.0");
}

TEST(DfcVersionTest, ProbeRunsTheTool) {
  TempDir dir("hdeploy_dfc_probe");
  DfcTool tool{DfcFrontend::kCli,
               write_script(dir.path() / "hailo",
                            "echo 'HailoRT v4.21.0'; echo 'Hailo Dataflow Compiler v3.31.0'"),
               {},
               {},
               {}};
  ASSERT_TRUE(probe_dfc_version(tool));
  EXPECT_EQ(tool.version, "3.31.0");
  EXPECT_EQ(tool.hailort_version, "4.21.0");
  DfcTool broken{DfcFrontend::kCli,
                 write_script(dir.path() / "broken",
                              "echo 'No module named hailo_sdk_client' >&2; "
                              "exit 1"),
                 {},
                 {},
                 {}};
  auto s = probe_dfc_version(broken);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("No module named hailo_sdk_client"), std::string::npos);
}

TEST(PairingTest, TableFromTheModelZooReleaseNotes) {
  EXPECT_EQ(hailort_for_dfc("3.30.0"), "4.20");
  EXPECT_EQ(hailort_for_dfc("3.31.2"), "4.21");
  EXPECT_EQ(hailort_for_dfc("3.32.0"), "4.22");
  EXPECT_EQ(hailort_for_dfc("3.33.1"), "4.23");
  EXPECT_EQ(hailort_for_dfc("3.29.0"), std::nullopt);
  EXPECT_EQ(hailort_for_dfc("5.1.0"), std::nullopt);
}

TEST(PairingTest, Verdicts) {
  auto ok = check_pairing("3.31.0", "4.21.0");
  EXPECT_EQ(ok.ok, true);
  auto bad = check_pairing("3.33.0", "4.20.0");
  EXPECT_EQ(bad.ok, false);
  EXPECT_NE(bad.message.find("4.23"), std::string::npos);
  EXPECT_NE(bad.message.find("4.20.0"), std::string::npos);
  auto unchecked = check_pairing("3.33.0", std::nullopt);
  EXPECT_EQ(unchecked.ok, std::nullopt);
  EXPECT_NE(unchecked.message.find("--hailort"), std::string::npos);
  EXPECT_EQ(check_pairing(std::nullopt, "4.20.0").ok, std::nullopt);
  EXPECT_EQ(check_pairing("3.27.0", "4.20.0").ok, std::nullopt);
}

PlanInputs inputs() {
  PlanInputs in;
  in.onnx = "/m/model.onnx";
  in.calib = "/c/calib.npy";
  in.out_dir = "/o";
  in.hw_arch = "hailo8l";
  in.start_node = "input";
  in.end_node = "/fc/Gemm";
  return in;
}

TEST(PlanTest, CliFrontendArgv) {
  const CompilePlan plan = make_plan({DfcFrontend::kCli, "/venv/bin/hailo", {}, {}, {}}, inputs());
  ASSERT_EQ(plan.stages.size(), 3U);
  EXPECT_EQ(plan.stages[0].name, "parse");
  EXPECT_EQ(plan.stages[0].argv,
            (Argv{"/venv/bin/hailo", "parser", "onnx", "/m/model.onnx", "--net-name", "model",
                  "--hw-arch", "hailo8l", "--har-path", "/o/model.har", "--start-node-names",
                  "input", "--end-node-names", "/fc/Gemm", "-y"}));
  EXPECT_EQ(plan.stages[0].output, "/o/model.har");
  EXPECT_EQ(plan.stages[1].argv,
            (Argv{"/venv/bin/hailo", "optimize", "/o/model.har", "--hw-arch", "hailo8l",
                  "--calib-set-path", "/c/calib.npy", "--model-script", "/o/model.alls",
                  "--output-har-path", "/o/model_optimized.har"}));
  EXPECT_EQ(plan.stages[1].output, "/o/model_optimized.har");
  EXPECT_EQ(plan.stages[2].name, "compile");
  EXPECT_EQ(plan.stages[2].argv, (Argv{"/venv/bin/hailo", "compiler", "/o/model_optimized.har",
                                       "--hw-arch", "hailo8l", "--output-dir", "/o/dfc-out"}));
  EXPECT_EQ(plan.stages[2].output_dir, "/o/dfc-out");
  EXPECT_EQ(plan.final_hef, "/o/model.hef");
  EXPECT_EQ(plan.model_script, "/o/model.alls");
}

TEST(PlanTest, PythonFrontendArgv) {
  const CompilePlan plan = make_plan(
      {DfcFrontend::kPython, "/venv/bin/python", "/share/hdeploy_dfc.py", {}, {}}, inputs());
  ASSERT_EQ(plan.stages.size(), 3U);
  EXPECT_EQ(
      plan.stages[0].argv,
      (Argv{"/venv/bin/python", "/share/hdeploy_dfc.py", "parse", "--onnx", "/m/model.onnx",
            "--net-name", "model", "--hw-arch", "hailo8l", "--har", "/o/model.har", "--start-node",
            "input", "--end-node", "/fc/Gemm", "--input-shape", "1,3,224,224"}));
  EXPECT_EQ(plan.stages[1].argv,
            (Argv{"/venv/bin/python", "/share/hdeploy_dfc.py", "optimize", "--har", "/o/model.har",
                  "--calib", "/c/calib.npy", "--model-script", "/o/model.alls", "--output-har",
                  "/o/model_optimized.har"}));
  EXPECT_EQ(plan.stages[2].argv,
            (Argv{"/venv/bin/python", "/share/hdeploy_dfc.py", "compile", "--har",
                  "/o/model_optimized.har", "--hef", "/o/dfc-out/model.hef"}));
}

TEST(PlanTest, ShellQuotingAndScript) {
  EXPECT_EQ(shell_quote("/a/b-c_d.onnx"), "/a/b-c_d.onnx");
  EXPECT_EQ(shell_quote("my model.onnx"), "'my model.onnx'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  const CompilePlan plan = make_plan({DfcFrontend::kCli, "hailo", {}, {}, {}}, inputs());
  const std::string script = commands_script(plan, "line one\nline two");
  EXPECT_EQ(script.rfind("#!/bin/sh\n# line one\n# line two\nset -e\n", 0), 0U) << script;
  EXPECT_NE(script.find("hailo parser onnx /m/model.onnx --net-name model --hw-arch hailo8l "
                        "--har-path /o/model.har --start-node-names input --end-node-names "
                        "/fc/Gemm -y\n"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("mkdir -p /o/dfc-out\n"), std::string::npos);
}

TEST(RunStageTest, SuccessWritesTheLogAndChecksTheOutput) {
  TempDir dir("hdeploy_stage_ok");
  const fs::path out = dir.path() / "model.har";
  DfcStage stage{"parse",
                 {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; pwd > " + out.string()},
                 out,
                 {}};
  std::vector<std::string> progress;
  auto r =
      run_stage(stage, dir.path() / "logs" / "parse.log", dir.path(),
                {[&](const std::string& l) { progress.push_back(l); }, std::chrono::seconds(10)});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, StageStatus::kOk);
  EXPECT_EQ(r->produced, out);
  ASSERT_TRUE(r->seconds);
  const auto log = last_lines(dir.path() / "logs" / "parse.log", 10);
  ASSERT_EQ(log.size(), 3U);
  EXPECT_EQ(log[0].rfind("$ /bin/sh -c", 0), 0U);
  EXPECT_EQ(log[1], "to-stdout");
  EXPECT_EQ(log[2], "to-stderr");
  ASSERT_EQ(progress.size(), 2U);
  EXPECT_NE(progress[0].find("parse: started"), std::string::npos);
  EXPECT_NE(progress[1].find("parse: done in"), std::string::npos);
  // It ran in the working directory it was given.
  EXPECT_EQ(last_lines(out, 1).at(0), fs::canonical(dir.path()).string());
}

TEST(RunStageTest, FailureKeepsTheLastTwentyLines) {
  TempDir dir("hdeploy_stage_fail");
  DfcStage stage{"optimize",
                 {"/bin/sh", "-c",
                  "i=0; while [ $i -lt 30 ]; do echo line $i; i=$((i+1)); done; "
                  "echo '[error] boom' >&2; exit 3"},
                 dir.path() / "out.har",
                 {}};
  auto r = run_stage(stage, dir.path() / "optimize.log", dir.path(), {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, StageStatus::kFailed);
  EXPECT_NE(r->problem.find("status 3"), std::string::npos);
  ASSERT_EQ(r->last_log_lines.size(), 20U);
  EXPECT_EQ(r->last_log_lines.back(), "[error] boom");
  EXPECT_EQ(r->last_log_lines.front(), "line 11");
}

TEST(RunStageTest, ExitZeroWithoutTheOutputFailsNamingIt) {
  TempDir dir("hdeploy_stage_missing");
  std::ofstream(dir.path() / "model.har") << "stale";  // from an earlier run: must not count
  DfcStage stage{"parse", {"/bin/sh", "-c", "exit 0"}, dir.path() / "model.har", {}};
  auto r = run_stage(stage, dir.path() / "parse.log", dir.path(), {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, StageStatus::kFailed);
  EXPECT_NE(r->problem.find((dir.path() / "model.har").string()), std::string::npos);
}

TEST(RunStageTest, CompileStageFindsTheOneHefItWrote) {
  TempDir dir("hdeploy_stage_hef");
  const fs::path hef_dir = dir.path() / "dfc-out";
  fs::create_directories(hef_dir);
  std::ofstream(hef_dir / "stale.hef") << "old";  // emptied before the stage runs
  DfcStage stage{
      "compile", {"/bin/sh", "-c", "echo x > " + (hef_dir / "net.hef").string()}, {}, hef_dir};
  auto r = run_stage(stage, dir.path() / "compile.log", dir.path(), {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, StageStatus::kOk) << r->problem;
  EXPECT_EQ(r->produced, hef_dir / "net.hef");
  DfcStage none{"compile", {"/bin/sh", "-c", "true"}, {}, hef_dir};
  r = run_stage(none, dir.path() / "compile.log", dir.path(), {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, StageStatus::kFailed);
  EXPECT_NE(r->problem.find("no .hef"), std::string::npos);
}

TEST(RunStageTest, HeartbeatWhileAStageRuns) {
  TempDir dir("hdeploy_stage_heartbeat");
  DfcStage stage{
      "optimize", {"/bin/sh", "-c", "sleep 2.5; echo done > out.har"}, dir.path() / "out.har", {}};
  std::vector<std::string> progress;
  auto r =
      run_stage(stage, dir.path() / "optimize.log", dir.path(),
                {[&](const std::string& l) { progress.push_back(l); }, std::chrono::seconds(1)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, StageStatus::kOk) << r->problem;
  int beats = 0;
  for (const auto& line : progress) beats += line.find("still running") != std::string::npos;
  EXPECT_GE(beats, 2);
  EXPECT_LE(beats, 3);
}

TEST(RunStageTest, InstallHelpNamesBothWays) {
  const std::string help = dfc_install_help();
  for (const char* needle :
       {"x86-64 Linux", "hailo_dataflow_compiler-<ver>-py3-none-linux_x86_64.whl",
        "--dfc VENV/bin/hailo", "--dfc-python VENV/bin/python", "Software Suite"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace hdeploy::compile
