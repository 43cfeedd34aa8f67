// The command, inputs and outputs of each pipeline stage.

#include "stage_plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pipeline_internal.hpp"

namespace hdeploy::pipeline::detail {
namespace fs = std::filesystem;

StagePlan plan_stage(Stage stage, const PlanContext& c) {
  const PipelineOptions& o_ = c.options;
  const std::string& hef_rel = c.hef;
  const std::string& hef_why = c.hef_why;
  const std::string& given_hef_ = c.given_hef;
  const std::vector<fs::path>& images_ = c.images;
  const fs::path& images_dir_ = c.images_dir;
  const auto abs = [&c](const std::string& rel) { return (c.dir / rel).string(); };
  const std::string spec_arg = o_.spec_arg;
  StagePlan p;
  const std::string onnx = abs("export/model.onnx");
  switch (stage) {
    case Stage::kExport:
      p.args = {"export", spec_arg, "--out", abs("export"), "--weights", o_.weights};
      if (!o_.python.empty()) p.args.insert(p.args.end(), {"--python", o_.python});
      p.args.insert(p.args.end(), {"--force", "--json"});
      p.inputs = {o_.spec_path};
      if (o_.weights != "none" && o_.weights != "pretrained") p.inputs.emplace_back(o_.weights);
      p.output_dirs = {"export"};
      break;
    case Stage::kCheck:
      p.args = {"check", onnx, "--json"};
      p.inputs = {onnx, abs("export/reference/input.npy"), abs("export/reference/output.npy")};
      break;
    case Stage::kCalib:
      p.args = {"calib",  images_dir_.string(),    "--model", spec_arg,
                "-o",     abs("calib/calib.npy"),  "--count", std::to_string(o_.calib_count),
                "--seed", std::to_string(o_.seed), "--force", "--json"};
      p.inputs = images_;
      p.inputs.push_back(o_.spec_path);
      p.output_dirs = {"calib"};
      break;
    case Stage::kCompile:
      if (!given_hef_.empty()) {
        p.not_run_why = fmt::format("--hef given ({})", given_hef_);
        break;
      }
      p.args = {
          "compile",   onnx,       "--model", spec_arg,      "--calib", abs("calib/calib.npy"),
          "--hw-arch", o_.hw_arch, "--out",   abs("compile")};
      if (!o_.dfc.empty()) p.args.insert(p.args.end(), {"--dfc", o_.dfc});
      if (!o_.dfc_python.empty()) p.args.insert(p.args.end(), {"--dfc-python", o_.dfc_python});
      if (!o_.hailort.empty()) p.args.insert(p.args.end(), {"--hailort", o_.hailort});
      p.args.insert(p.args.end(), {"--force", "--json"});
      p.inputs = {onnx, abs("calib/calib.npy"), o_.spec_path};
      p.output_dirs = {"compile"};
      // The Dataflow Compiler is looked for on PATH: a newly installed one must be found.
      p.key_extra = "PATH=" + o_.dfc_search_path;
      break;
    case Stage::kInspect:
      if (hef_rel.empty()) {
        p.not_run_why = hef_why;
        break;
      }
      p.args = {"inspect", abs(hef_rel), "--device", o_.hw_arch};
      if (!o_.hailort.empty()) p.args.insert(p.args.end(), {"--runtime", o_.hailort});
      p.args.emplace_back("--json");
      p.inputs = {abs(hef_rel)};
      break;
    case Stage::kInfer: {
      const std::size_t n =
          std::min<std::size_t>(images_.size(), static_cast<std::size_t>(o_.infer_images));
      if (hef_rel.empty()) {
        p.args = {"infer", onnx};
        p.label = "sim, not hardware: contract from the spec and export (no HEF)";
      } else {
        p.args = {"infer", abs(hef_rel)};
        p.label = fmt::format("{}: contract from {}", o_.backend, hef_rel);
      }
      for (std::size_t i = 0; i < n; ++i) p.args.push_back(images_[i].string());
      p.args.insert(p.args.end(), {"--model", spec_arg});
      if (hef_rel.empty()) {
        p.args.insert(p.args.end(), {"--backend", "sim"});
      } else {
        p.args.insert(p.args.end(),
                      {"--onnx", onnx, "--backend", o_.backend, "--device", o_.hw_arch});
        p.inputs.emplace_back(abs(hef_rel));
      }
      p.args.emplace_back("--json");
      p.inputs.insert(p.inputs.end(), images_.begin(), images_.begin() + static_cast<long>(n));
      p.inputs.insert(p.inputs.end(), {onnx, abs("export/labels.txt"), o_.spec_path});
      break;
    }
    case Stage::kBench: {
      const std::string model = hef_rel.empty() ? onnx : abs(hef_rel);
      p.args = {"bench",      model,
                "--backend",  hef_rel.empty() ? std::string("sim") : o_.backend,
                "--images",   images_dir_.string(),
                "--duration", o_.bench_duration,
                "--model",    spec_arg};
      if (!hef_rel.empty()) p.args.insert(p.args.end(), {"--device", o_.hw_arch});
      p.args.insert(p.args.end(), {"--out", abs("bench/run"), "--force", "--json"});
      p.inputs = images_;
      p.inputs.insert(p.inputs.end(), {model, onnx, o_.spec_path});
      p.output_dirs = {"bench"};
      p.label = hef_rel.empty()
                    ? "sim, not hardware: contract from the spec and export, default timing"
                    : fmt::format("{}: contract and timing from {}", o_.backend, hef_rel);
      break;
    }
    case Stage::kReport:
      p.args = {"report", abs("bench/run/run.json"), "--out", abs("report"), "--force", "--json"};
      p.inputs = {abs("bench/run/run.json")};
      p.output_dirs = {"report"};
      break;
  }
  return p;
}

std::vector<std::string> recorded_command(const StagePlan& plan, const fs::path& dir) {
  std::vector<std::string> command{"hdeploy"};
  for (const auto& a : plan.args) command.push_back(manifest_path(a, dir));
  return command;
}

}  // namespace hdeploy::pipeline::detail
