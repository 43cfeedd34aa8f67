#pragma once
// `hdeploy compile` as a library call: check the inputs (ONNX passes check and lint, calib.npy
// matches the input), write the model script and the commands, run the Dataflow Compiler when it
// is here, verify its HEF, and record everything in DIR/manifest.json.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/compile/dfc.hpp"
#include "hdeploy/compile/model_script.hpp"
#include "hdeploy/compile/verify.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/onnx/lint.hpp"

namespace hdeploy::compile {

// The shape of a calibration set, from its .npy header only (the data can be gigabytes).
struct CalibInfo {
  std::int64_t count = 0, height = 0, width = 0, channels = 0;
};
// Errors: read errors (kNotFound, kIo), kInvalidFormat naming the file when it is not an .npy,
// not float32 (N,H,W,3), its H×W differs from the model's, or the file is shorter than the
// header says.
Result<CalibInfo> check_calibration_file(const std::filesystem::path& calib, const OnnxIo& io);

// The end node: the spec's [hailo] end_node unless "auto", else the last Gemm/MatMul the lint
// found. `from` says which. Errors: kInvalidArgument when the spec names a node the graph lacks,
// kUnsupported when "auto" finds no Gemm/MatMul (set end_node in the spec).
Result<std::string> choose_end_node(const ModelSpec& spec, const onnx::OnnxModel& model,
                                    const onnx::LintReport& lint, std::string& from);

// Refuses an ONNX that `hdeploy check` fails: checker, shape inference, lint errors.
// Errors: kFailed naming the file, the first problem and `hdeploy check`.
Status check_onnx_for_compile(const onnx::OnnxModel& model, const onnx::LintReport& lint);

struct CompileRequest {
  std::filesystem::path onnx;
  std::filesystem::path calib;
  std::filesystem::path out_dir;
  ModelSpec spec;
  std::string hw_arch;  // the flag's or the spec's
  DfcSearch dfc;
  GpuMode gpu_mode = GpuMode::kAuto;
  std::string nvidia_smi = "nvidia-smi";
  std::optional<std::string> target_hailort;  // --hailort
  bool dry_run = false;
  bool force = false;
  std::vector<std::string> command_line;  // recorded in the manifest
  std::string hdeploy_version;
  std::function<void(const std::string&)> info;     // progress on stderr
  std::function<void(const std::string&)> warning;  // also collected in the outcome
  std::chrono::seconds heartbeat{10};
};

enum class CompileStatus { kCompiled, kNotRun, kFailed, kDryRun };
const char* to_string(CompileStatus status);  // "compiled", "not_run", "failed", "dry_run"

struct CompileOutcome {
  CompileStatus status = CompileStatus::kFailed;
  std::string why;  // empty when compiled / dry run
  std::filesystem::path out_dir;
  std::optional<std::filesystem::path> hef;
  ModelScript script;
  CompilePlan plan;
  std::vector<StageResult> stages;
  std::optional<DfcTool> dfc;
  std::optional<HefCheck> hef_check;
  GpuDetection gpu;
  Pairing pairing;
  std::optional<std::filesystem::path> manifest;
  std::vector<std::string> warnings;
  std::string start_node, end_node, end_node_from;
  CalibInfo calib;
  OnnxIo io;
  // Set when status is not_run or failed: what the command returns (exit 1).
  std::optional<Error> error;
};

// Runs the whole compile. Errors (returned before anything is written): kInvalidArgument (bad
// hw arch, end node), kAlreadyExists (DIR has a manifest.json or model.hef; --force), the
// ONNX/calib checks'. A missing DFC, a failing stage or a wrong HEF are outcomes with `error`
// set, after model.alls, commands.sh, the logs and manifest.json are written.
Result<CompileOutcome> run_compile(const CompileRequest& request);

// The --json object (documented in docs and relied on by `pipeline`).
nlohmann::json outcome_json(const CompileOutcome& outcome);
// The same shape for an error before any work: status "failed", why = the message.
nlohmann::json early_failure_json(const std::filesystem::path& out_dir, const Error& error);

}  // namespace hdeploy::compile
