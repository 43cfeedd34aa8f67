// hdeploy pipeline SPEC: export → check → calib → compile → inspect → infer → bench → report in
// one folder, each stage a child `hdeploy <stage> --json` recorded in DIR/manifest.json, ending
// with the success table (stdout and DIR/success.md). The stage logic lives in src/pipeline.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "command.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/pipeline/pipeline.hpp"
#include "hdeploy/runtime/registry.hpp"
#include "hdeploy/version.hpp"
#include "hdeploy_git_commit.hpp"

namespace hdeploy::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using pipeline::Stage;

constexpr const char* kStageNames = "export, check, calib, compile, inspect, infer, bench, report";

fs::path absolute_path(const std::string& p) { return fs::absolute(p).lexically_normal(); }

class PipelineCommand : public Command {
 public:
  PipelineCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "pipeline",
        "Run export → check → calib → compile → inspect → infer → bench → report for one model "
        "in one folder, skipping stages whose inputs are unchanged, and print the success table");
    app_->add_option("MODEL", spec_,
                     "model spec: a shipped name (resnet18, mobilenet_v2) or a .toml path")
        ->required();
    app_->add_option("--out", out_,
                     "pipeline folder: every artifact, manifest.json, success.md "
                     "[default: hdeploy-pipeline/<model name>]");
    app_->add_option("--images", images_,
                     "folder of JPEG/PNG images for calibration, inference and bench [default: "
                     "32 synthetic images generated in DIR/images]");
    app_->add_option("--hef", hef_,
                     "use this compiled model instead of compiling (copied to DIR/hef/); the "
                     "compile stage is marked not run");
    app_->add_option("--from", from_,
                     std::string("first stage to run: ") + kStageNames +
                         "; earlier stages' files are verified against the "
                         "manifest [default: export]");
    app_->add_option("--until", until_,
                     "last stage to run (e.g. compile on the x86 build host) [default: report]");
    app_->add_option("--weights", weights_,
                     "export weights: none (seeded random init), PATH (a state_dict .pth) or "
                     "pretrained (torchvision's, downloaded)")
        ->capture_default_str();
    app_->add_option("--python", python_,
                     "Python interpreter with torch for export [default: as hdeploy export]");
    app_->add_option("--dfc", dfc_,
                     "Dataflow Compiler `hailo` executable [default: `hailo` on PATH]");
    app_->add_option("--dfc-python", dfc_python_,
                     "Python interpreter with the Dataflow Compiler wheel (its Python API)");
    app_->add_option("--hailort", hailort_,
                     "HailoRT version of the target, for compile pairing and inspect "
                     "[default: the installed HailoRT, else 4.20.0]");
    app_->add_option("--calib-count", calib_count_, "calibration images to use (at most)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app_->add_option("--seed", seed_, "seed for calibration order and synthetic images")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app_->add_option("--backend", backend_,
                     "infer and bench with a HEF: auto (hailo when this build has HailoRT and a "
                     "device answers, else sim), hailo or sim; without a HEF always sim")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "hailo", "sim"}));
    app_->add_option("--bench-duration", bench_duration_, "bench measured time (s, ms or m)")
        ->capture_default_str();
    app_->add_option("--rerun", rerun_,
                     std::string("stages to run even if their inputs are unchanged, "
                                 "comma-separated: ") +
                         kStageNames);
    app_->add_flag("--force", force_,
                   "rerun every stage, and use a non-empty --out that holds no pipeline");
    app_->add_flag("--json", json_,
                   "print one JSON object (the table as an array) instead of text");
  }

  Status run() override {
    pipeline::PipelineOptions o;
    if (!from_.empty()) {
      HDEPLOY_ASSIGN_OR_RETURN(o.from, stage_option("--from", from_));
    }
    if (!until_.empty()) {
      HDEPLOY_ASSIGN_OR_RETURN(o.until, stage_option("--until", until_));
    }
    if (o.from && o.until && *o.from > *o.until) {
      return fail(ErrorCode::kUsage,
                  "--from {} comes after --until {}; the stages run in the order export check "
                  "calib compile inspect infer bench report",
                  from_, until_);
    }
    if (!rerun_.empty()) {
      auto stages = pipeline::parse_stage_list(rerun_);
      if (!stages) {
        return fail(ErrorCode::kUsage, "--rerun: {}", stages.error().message);
      }
      o.rerun.insert(stages->begin(), stages->end());
    }
    if (auto d = pipeline::parse_duration_seconds(bench_duration_); !d) {
      return fail(ErrorCode::kUsage, "--bench-duration: {}", d.error().message);
    }

    HDEPLOY_ASSIGN_OR_RETURN(fs::path spec_path, resolve_model_spec(spec_, ctx_.models_dir()));
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, load_model_spec(spec_path));
    std::error_code ec;
    // A shipped name stays a name in the recorded commands, so they run on any machine.
    o.spec_arg = fs::exists(spec_, ec) ? absolute_path(spec_).string() : spec_;
    o.spec_path = absolute_path(spec_path.string());
    o.spec_name = spec.name;
    o.hw_arch = spec.hailo.hw_arch;
    o.out_dir = absolute_path(out_.empty() ? "hdeploy-pipeline/" + spec.name : out_);
    if (!o.out_dir.has_filename()) o.out_dir = o.out_dir.parent_path();
    if (!images_.empty()) o.images_dir = absolute_path(images_);
    if (!hef_.empty()) o.hef = absolute_path(hef_);
    o.weights = (weights_ == "none" || weights_ == "pretrained") ? weights_
                                                                 : absolute_path(weights_).string();
    o.python = python_;
    o.dfc = dfc_.find('/') != std::string::npos ? absolute_path(dfc_).string() : dfc_;
    o.dfc_python = dfc_python_;
    o.hailort = hailort_;
    o.calib_count = calib_count_;
    o.seed = seed_;
    o.backend = backend_;
    o.bench_duration = bench_duration_;
    o.force = force_;
    // Whether the hailo plugin loads here (HailoRT installed); no device is opened.
    o.have_hailort = o.backend != "sim" && runtime::hailort_version().has_value();
    o.hdeploy_version = HDEPLOY_VERSION;
    o.hdeploy_commit = HDEPLOY_GIT_COMMIT;
    const char* path_env = std::getenv("PATH");
    o.dfc_search_path = path_env != nullptr ? path_env : "";

    pipeline::ProcessStageExecutor executor(ctx_.exe_path);
    InterruptGuard interrupts;
    HDEPLOY_ASSIGN_OR_RETURN(
        pipeline::PipelineOutcome outcome,
        pipeline::run_pipeline(o, executor, [](const std::string& line) { log_info(line); }));

    print(o, outcome);
    if (outcome.interrupted) {
      return fail(ErrorCode::kFailed, "interrupted; what finished is recorded in {}",
                  (o.out_dir / "manifest.json").string());
    }
    if (outcome.failed_stage) return fail(ErrorCode::kFailed, "{}", outcome.failure);
    return {};
  }

 private:
  static Result<Stage> stage_option(const std::string& flag, const std::string& value) {
    auto stage = pipeline::parse_stage(value);
    if (!stage) return fail(ErrorCode::kUsage, "{}: {}", flag, stage.error().message);
    return *stage;
  }

  void print(const pipeline::PipelineOptions& o, const pipeline::PipelineOutcome& outcome) const {
    if (json_) {
      json stages = json::array();
      for (const auto& r : outcome.manifest.stages) {
        stages.push_back({{"stage", pipeline::stage_name(r.stage)},
                          {"status", pipeline::to_string(r.status)},
                          {"why", r.why.empty() ? json(nullptr) : json(r.why)},
                          {"seconds", r.seconds},
                          {"summary", r.summary}});
      }
      json table = json::array();
      for (const auto& row : outcome.table) {
        table.push_back({{"item", row.item}, {"result", row.result}, {"detail", row.detail}});
      }
      const json j = {
          {"out_dir", o.out_dir.string()},
          {"manifest", (o.out_dir / "manifest.json").string()},
          {"success_md", (o.out_dir / "success.md").string()},
          {"spec", o.spec_name},
          {"stages", stages},
          {"success_table", table},
          {"notes", outcome.notes},
          {"verified_files", outcome.verified_files},
          {"failed_stage", outcome.failed_stage ? json(pipeline::stage_name(*outcome.failed_stage))
                                                : json(nullptr)},
          {"failure", outcome.failure.empty() ? json(nullptr) : json(outcome.failure)},
      };
      print_json(j, 2);
      return;
    }
    std::cout << pipeline::render_success_table(
        outcome.table, outcome.notes,
        fmt::format("hdeploy pipeline {}: success table ({})", o.spec_name, o.out_dir.string()));
    std::cout << fmt::format("\nmanifest: {}\n", (o.out_dir / "manifest.json").string());
  }

  const CliContext& ctx_;
  std::string spec_;
  std::string out_;
  std::string images_;
  std::string hef_;
  std::string from_;
  std::string until_;
  std::string weights_ = "none";
  std::string python_;
  std::string dfc_;
  std::string dfc_python_;
  std::string hailort_;
  int calib_count_ = 1024;
  int seed_ = 0;
  std::string backend_ = "auto";
  std::string bench_duration_ = "10s";
  std::string rerun_;
  bool force_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_pipeline_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<PipelineCommand>(root, ctx);
}

}  // namespace hdeploy::cli
