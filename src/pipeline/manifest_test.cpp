#include "hdeploy/pipeline/manifest.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/sha256.hpp"
#include "testing/temp_dir.hpp"

namespace hdeploy::pipeline {
namespace {
namespace fs = std::filesystem;

using hdeploy::testing::TempDir;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(Stage, NamesRoundTripInOrder) {
  for (Stage s : kStages) {
    auto parsed = parse_stage(stage_name(s));
    ASSERT_TRUE(parsed) << stage_name(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(stage_name(Stage::kExport), "export");
  EXPECT_EQ(stage_name(Stage::kReport), "report");
  EXPECT_LT(Stage::kCompile, Stage::kInspect);
}

TEST(Stage, UnknownNameIsUsageErrorListingNames) {
  auto parsed = parse_stage("compil");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message.find("export, check, calib"), std::string::npos);
}

TEST(Stage, ParsesCommaSeparatedList) {
  auto list = parse_stage_list("calib,bench");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::vector<Stage>{Stage::kCalib, Stage::kBench}));
  EXPECT_FALSE(parse_stage_list("calib,"));
  EXPECT_FALSE(parse_stage_list("calib,nope"));
}

TEST(Manifest, SetKeepsStageOrderAndReplaces) {
  Manifest m;
  StageRecord bench;
  bench.stage = Stage::kBench;
  StageRecord exp;
  exp.stage = Stage::kExport;
  m.set(bench);
  m.set(exp);
  ASSERT_EQ(m.stages.size(), 2U);
  EXPECT_EQ(m.stages[0].stage, Stage::kExport);
  exp.why = "again";
  m.set(exp);
  ASSERT_EQ(m.stages.size(), 2U);
  EXPECT_EQ(m.find(Stage::kExport)->why, "again");
  EXPECT_EQ(m.find(Stage::kCheck), nullptr);
}

TEST(Manifest, JsonRoundTrip) {
  TempDir tmp;
  Manifest m;
  m.hdeploy_version = "0.1.0";
  m.hdeploy_commit = "abc123";
  m.spec_name = "resnet18";
  m.spec_path = "/x/resnet18.toml";
  m.spec_sha256 = std::string(64, 'a');
  m.options = {{"seed", 3}};
  StageRecord r;
  r.stage = Stage::kCompile;
  r.status = StageStatus::kNotRun;
  r.why = "no Dataflow Compiler found";
  r.command = {"hdeploy", "compile", "export/model.onnx"};
  r.started = "2025-01-01T00:00:00Z";
  r.seconds = 1.5;
  r.cache_key = std::string(64, 'b');
  r.inputs = {{"export/model.onnx", std::string(64, 'c')}};
  r.outputs = {{"compile/model.alls", std::string(64, 'd')}};
  r.summary = {{"status", "not_run"}};
  r.versions = {{"dfc", nullptr}};
  m.set(r);
  ASSERT_TRUE(write_manifest(tmp.path() / "manifest.json", m));
  auto back = read_manifest(tmp.path() / "manifest.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), to_json(m));
  EXPECT_EQ(to_json(m)["format"], "hdeploy-pipeline");
  EXPECT_EQ(to_json(m)["version"], 1);
  const StageRecord* got = back->find(Stage::kCompile);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->status, StageStatus::kNotRun);
  EXPECT_EQ(got->outputs, r.outputs);
}

TEST(Manifest, RejectsForeignJson) {
  TempDir tmp;
  write(tmp.path() / "m.json", R"({"format": "something-else", "version": 1})");
  auto m = read_manifest(tmp.path() / "m.json");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(m.error().message.find("m.json"), std::string::npos);
  write(tmp.path() / "bad.json", "{not json");
  EXPECT_EQ(read_manifest(tmp.path() / "bad.json").error().code, ErrorCode::kInvalidFormat);
  write(tmp.path() / "stage.json",
        R"({"format": "hdeploy-pipeline", "version": 1, "hdeploy": {}, "spec": {},
            "stages": [{"stage": "nope", "status": "ran"}]})");
  EXPECT_FALSE(read_manifest(tmp.path() / "stage.json"));
}

TEST(Manifest, VerifyOutputsFindsMissingAndChangedFiles) {
  TempDir tmp;
  write(tmp.path() / "calib/calib.npy", "npy bytes");
  StageRecord r;
  r.stage = Stage::kCalib;
  r.outputs["calib/calib.npy"] = *sha256_file_hex(tmp.path() / "calib/calib.npy");
  FileHashes hashes;
  auto ok = verify_outputs(r, tmp.path(), hashes);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 1);

  write(tmp.path() / "calib/calib.npy", "tampered");
  auto changed = verify_outputs(r, tmp.path(), hashes);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kFailed);
  EXPECT_NE(changed.error().message.find("calib/calib.npy: changed"), std::string::npos);

  fs::remove(tmp.path() / "calib/calib.npy");
  auto missing = verify_outputs(r, tmp.path(), hashes);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
}

TEST(FileHashes, HashesEachFileOnceUntilItChangesOrIsForgotten) {
  TempDir tmp;
  const fs::path file = tmp.path() / "calib/calib.npy";
  write(file, "npy bytes");
  FileHashes hashes;
  const auto first = hashes.sha256(file);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, *sha256_file_hex(file));
  EXPECT_EQ(*hashes.sha256(tmp.path() / "calib" / ".." / "calib" / "calib.npy"), *first);
  EXPECT_EQ(hashes.files_hashed(), 1U);  // the second call (same file, other spelling) is free

  // Rewritten: another size and modification time, so it is read again.
  write(file, "other bytes!");
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5));
  EXPECT_EQ(*hashes.sha256(file), *sha256_file_hex(file));
  EXPECT_EQ(hashes.files_hashed(), 2U);

  // A stage about to rewrite calib/: nothing under it is trusted any more.
  hashes.forget_under(tmp.path() / "calib");
  EXPECT_EQ(*hashes.sha256(file), *sha256_file_hex(file));
  EXPECT_EQ(hashes.files_hashed(), 3U);
  // Forgetting another folder keeps it.
  hashes.forget_under(tmp.path() / "cal");
  EXPECT_TRUE(hashes.sha256(file));
  EXPECT_EQ(hashes.files_hashed(), 3U);

  fs::remove(file);
  EXPECT_FALSE(hashes.sha256(file));
}

}  // namespace
}  // namespace hdeploy::pipeline
