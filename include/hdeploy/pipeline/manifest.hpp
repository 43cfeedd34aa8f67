#pragma once
// The pipeline manifest (DIR/manifest.json): what every stage ran, when, with which inputs,
// and the SHA-256 of every file it produced. It is rewritten atomically after every stage, so
// an interrupted run keeps what finished, and it travels with the folder from the x86 build
// host to the Raspberry Pi, which verifies the hashes it received.

#include <array>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::pipeline {

// The stages, in the order they run.
enum class Stage { kExport, kCheck, kCalib, kCompile, kInspect, kInfer, kBench, kReport };
inline constexpr std::array<Stage, 8> kStages{Stage::kExport,  Stage::kCheck,   Stage::kCalib,
                                              Stage::kCompile, Stage::kInspect, Stage::kInfer,
                                              Stage::kBench,   Stage::kReport};

std::string_view stage_name(Stage stage);
// "export" … "report". Errors: kInvalidArgument listing the names.
Result<Stage> parse_stage(std::string_view name);
// "calib,bench" → {kCalib, kBench}. Errors: as parse_stage.
Result<std::vector<Stage>> parse_stage_list(std::string_view comma_separated);

// ran: the stage's command ran and succeeded; skipped: a previous identical run was reused;
// not_run: it could not run here (no Dataflow Compiler, no HEF) and that is not a failure;
// failed: it ran and failed, and the pipeline stopped.
enum class StageStatus { kRan, kSkipped, kNotRun, kFailed };
std::string_view to_string(StageStatus status);

// One stage's entry. Paths in `command`, `inputs` and `outputs` are relative to the pipeline
// folder when they lie inside it, so the folder can be moved.
struct StageRecord {
  Stage stage = Stage::kExport;
  StageStatus status = StageStatus::kNotRun;
  std::string why;                   // for skipped, not_run, failed
  std::vector<std::string> command;  // argv, "hdeploy" first; empty when nothing ran
  std::string started;               // UTC, ISO 8601
  double seconds = 0;
  std::string cache_key;                      // SHA-256 hex; empty when nothing ran
  std::map<std::string, std::string> inputs;  // path → SHA-256
  std::map<std::string, std::string> outputs;
  nlohmann::json summary = nlohmann::json::object();   // the stage's numbers
  nlohmann::json versions = nlohmann::json::object();  // tools that made the outputs
};

struct Manifest {
  static constexpr std::string_view kFormat = "hdeploy-pipeline";
  static constexpr int kVersion = 1;
  std::string hdeploy_version;
  std::string hdeploy_commit;
  std::string spec_name;
  std::string spec_path;
  std::string spec_sha256;
  nlohmann::json options = nlohmann::json::object();
  std::vector<StageRecord> stages;  // in stage order, only stages that have a record

  const StageRecord* find(Stage stage) const;
  // Replaces the stage's record, or inserts it in stage order.
  void set(StageRecord record);
};

nlohmann::json to_json(const Manifest& manifest);
// Errors: kInvalidFormat naming `source` and the bad key.
Result<Manifest> manifest_from_json(const nlohmann::json& j, const std::filesystem::path& source);
// Errors: kNotFound, kInvalidFormat, kIo.
Result<Manifest> read_manifest(const std::filesystem::path& path);
Status write_manifest(const std::filesystem::path& path, const Manifest& manifest);

// SHA-256 of files, remembered for one pipeline run by (path, size, modification time), so a
// file several steps read (calib.npy: calib's output, compile's input and cache key, the skip
// check of a re-run) is read once. forget_under() drops what a stage is about to rewrite. Not
// thread-safe.
class FileHashes {
 public:
  // Errors: those of sha256_file_hex.
  Result<std::string> sha256(const std::filesystem::path& path);
  void forget_under(const std::filesystem::path& dir);
  std::size_t files_hashed() const { return files_hashed_; }

 private:
  struct Known {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type modified;
    std::string sha256;
  };
  std::map<std::filesystem::path, Known> known_;
  std::size_t files_hashed_ = 0;
};

// Checks that every output recorded for `record` exists under `dir` with its SHA-256; returns
// how many files were checked. Errors: kFailed naming the first missing or changed file.
Result<int> verify_outputs(const StageRecord& record, const std::filesystem::path& dir,
                           FileHashes& hashes);

}  // namespace hdeploy::pipeline
