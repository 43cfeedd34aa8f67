// hdeploy check MODEL.onnx: structure (libonnx checker, shape inference), Hailo readiness, and
// parity of the CPU backend with PyTorch's reference output.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "command.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/npy.hpp"
#include "hdeploy/onnx/lint.hpp"
#include "hdeploy/onnx/model.hpp"
#include "hdeploy/onnx/opencv_rewrite.hpp"
#include "hdeploy/runtime/classification.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"

namespace hdeploy::cli {

using onnx::lint_for_hailo;
using onnx::LintReport;
using onnx::OnnxModel;
using onnx::OnnxValueInfo;
using onnx::opencv_needs_rewrite;
using onnx::rewrite_for_opencv;
using onnx::Severity;
using runtime::Backend;
using runtime::CpuBackendOptions;
using runtime::create_cpu_backend;
using runtime::FrameBuffers;
using runtime::top_k;

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// Reference logits with less spread than this make every comparison pass trivially.
constexpr double kMinReferenceStd = 1e-3;

struct ParityResult {
  bool ran = false;
  std::string reason;  // why it did not run, or why it failed
  bool pass = false;
  double max_abs_diff = 0;
  double mean_abs_diff = 0;
  double max_rel_diff = 0;  // max |a-b| / max |b|
  double rel_l2 = 0;        // ||a-b|| / ||b||
  double cosine = 0;
  double reference_std = 0;
  bool top1_agree = false;
  bool top5_identical = false;
  std::vector<int> top5_reference;
  std::vector<int> top5_cpu;
};

std::vector<int> top_indices(std::span<const float> v, std::size_t k) {
  std::vector<int> out;
  for (const auto& c : top_k(v, k)) out.push_back(c.index);
  return out;
}

json to_json(const OnnxValueInfo& v) {
  return {{"name", v.name}, {"type", v.elem_type}, {"shape", v.dims}};
}

class CheckCommand : public Command {
 public:
  explicit CheckCommand(CLI::App& root) {
    app_ = root.add_subcommand(
        "check",
        "Validate an ONNX model: libonnx checker and shape inference, Hailo-readiness lint, "
        "and parity of the CPU backend with the PyTorch reference written by export");
    app_->add_option("MODEL", model_path_, "ONNX model file (.onnx)")->required();
    app_->add_option("--reference", reference_dir_,
                     "folder with input.npy and output.npy from PyTorch "
                     "[default: reference/ beside the model, if present]");
    app_->add_option("--max-abs-diff", max_abs_diff_,
                     "parity passes when the largest |cpu - pytorch| logit difference is at most "
                     "this (logit units)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app_->add_option("--top-k", top_k_, "parity also requires the top-k classes to be identical")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app_->add_option("--threads", threads_, "OpenCV threads for the CPU backend (0: all cores)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app_->add_flag("--json", json_, "print one JSON object instead of text");
  }

  Status run() override {
    HDEPLOY_ASSIGN_OR_RETURN(OnnxModel model, OnnxModel::load(model_path_));
    json report;
    report["file"] = model_path_.string();
    int errors = 0;

    // 1. Structure.
    const Status checked = model.check();
    const Status shapes = model.infer_shapes();
    errors += !checked + !shapes;
    report["structure"] = {
        {"ok", checked && shapes},
        {"checker", checked ? "passed" : checked.error().message},
        {"shape_inference", shapes ? "passed" : shapes.error().message},
        {"ir_version", model.ir_version()},
        {"opset", model.opset()},
        {"producer", model.producer()},
    };
    json inputs = json::array();
    json outputs = json::array();
    for (const auto& v : model.inputs()) inputs.push_back(to_json(v));
    for (const auto& v : model.outputs()) outputs.push_back(to_json(v));
    report["inputs"] = inputs;
    report["outputs"] = outputs;
    json ops = json::object();
    for (const auto& [op, count] : model.op_counts()) ops[op] = count;
    report["op_counts"] = ops;

    // 2. Hailo readiness.
    const LintReport lint = lint_for_hailo(model);
    json findings = json::array();
    for (const auto& f : lint.findings) {
      findings.push_back({{"severity", to_string(f.severity)},
                          {"code", f.code},
                          {"message", f.message},
                          {"fix", f.fix}});
      errors += f.severity == Severity::kError;
    }
    report["findings"] = findings;
    report["suggested_end_node"] = lint.suggested_end_node;

    // 3. The CPU backend loads it (through the in-memory rewrite) and matches PyTorch.
    json cpu;
    std::unique_ptr<Backend> backend;
    if (auto rewrite = rewrite_for_opencv(model, opencv_needs_rewrite()); rewrite) {
      cpu["rewritten_for_opencv"] = opencv_needs_rewrite();
      cpu["clips_rewritten"] = rewrite->clips_rewritten;
      cpu["identities_removed"] = rewrite->identities_removed;
    }
    CpuBackendOptions options;
    options.threads = threads_;
    if (auto created = create_cpu_backend(model_path_, options); created) {
      backend = std::move(created).value();
      cpu["ok"] = true;
      cpu["description"] = backend->description();
    } else {
      ++errors;
      cpu["ok"] = false;
      cpu["error"] = created.error().message;
    }
    report["cpu_backend"] = cpu;

    HDEPLOY_ASSIGN_OR_RETURN(ParityResult parity, check_parity(backend.get()));
    if (parity.ran && !parity.pass) ++errors;
    report["parity"] = parity_json(parity);
    report["ok"] = errors == 0;
    report["errors"] = errors;

    if (json_) {
      print_json(report, 2);
    } else {
      print_text(report, lint);
    }
    if (errors > 0) {
      return fail(ErrorCode::kFailed, "{}: check failed with {} error{} (see above)",
                  model_path_.string(), errors, errors == 1 ? "" : "s");
    }
    return {};
  }

 private:
  // Errors only for a reference the user named that cannot be used; a missing default
  // reference is reported as "not run".
  Result<ParityResult> check_parity(Backend* backend) {
    ParityResult r;
    fs::path dir = reference_dir_;
    std::error_code ec;
    if (dir.empty()) {
      dir = model_path_.parent_path() / "reference";
      if (!fs::is_directory(dir, ec)) {
        r.reason = "not run: no reference/ folder beside the model (pass --reference DIR)";
        return r;
      }
    } else if (!fs::is_directory(dir, ec)) {
      return fail(ErrorCode::kNotFound, "{}: reference folder not found", dir.string());
    }
    if (backend == nullptr) {
      r.reason = "not run: the CPU backend could not load the model";
      return r;
    }
    HDEPLOY_ASSIGN_OR_RETURN(NpyArray input, read_npy(dir / "input.npy"));
    HDEPLOY_ASSIGN_OR_RETURN(NpyArray output, read_npy(dir / "output.npy"));
    const TensorSpec& in_spec = backend->inputs().at(0);
    const TensorSpec& out_spec = backend->outputs().at(0);
    if (input.dtype != DType::kFloat32 || input.data.size() != in_spec.byte_size()) {
      return fail(ErrorCode::kInvalidFormat,
                  "{}: shape {} {} does not match the model input {}; re-export the reference",
                  (dir / "input.npy").string(), to_string(input.dtype),
                  shape_to_string(input.shape), in_spec.describe());
    }
    if (output.dtype != DType::kFloat32 || output.data.size() != out_spec.byte_size()) {
      return fail(ErrorCode::kInvalidFormat,
                  "{}: shape {} {} does not match the model output {}; re-export the reference",
                  (dir / "output.npy").string(), to_string(output.dtype),
                  shape_to_string(output.shape), out_spec.describe());
    }
    const auto ref = output.as_float();
    const double mean = std::accumulate(ref.begin(), ref.end(), 0.0) / ref.size();
    double var = 0;
    for (float v : ref) var += (v - mean) * (v - mean);
    r.reference_std = std::sqrt(var / ref.size());
    if (r.reference_std < kMinReferenceStd) {
      r.ran = true;
      r.reason = fmt::format(
          "reference logits have no spread (std {:.3g} < {:.0e}): any comparison would pass "
          "trivially; re-export with hdeploy export (it sets BatchNorm statistics) or use "
          "trained weights",
          r.reference_std, kMinReferenceStd);
      return r;
    }

    std::vector<float> got(out_spec.element_count());
    FrameBuffers frame;
    frame.inputs.push_back(input.data);
    frame.outputs.push_back({reinterpret_cast<std::uint8_t*>(got.data()), out_spec.byte_size()});
    HDEPLOY_TRY(backend->infer(frame));

    double sum_abs = 0, diff2 = 0, ref2 = 0, got2 = 0, dot = 0, max_ref = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
      const double d = std::abs(static_cast<double>(got[i]) - ref[i]);
      r.max_abs_diff = std::max(r.max_abs_diff, d);
      sum_abs += d;
      diff2 += d * d;
      ref2 += static_cast<double>(ref[i]) * ref[i];
      got2 += static_cast<double>(got[i]) * got[i];
      dot += static_cast<double>(ref[i]) * got[i];
      max_ref = std::max(max_ref, std::abs(static_cast<double>(ref[i])));
    }
    r.ran = true;
    r.mean_abs_diff = sum_abs / ref.size();
    r.max_rel_diff = max_ref > 0 ? r.max_abs_diff / max_ref : 0;
    r.rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : 0;
    r.cosine = (ref2 > 0 && got2 > 0) ? dot / std::sqrt(ref2 * got2) : 0;
    const std::size_t k = std::min<std::size_t>(top_k_, ref.size());
    r.top5_reference = top_indices(ref, k);
    r.top5_cpu = top_indices(got, k);
    r.top1_agree = r.top5_reference.front() == r.top5_cpu.front();
    r.top5_identical = r.top5_reference == r.top5_cpu;
    r.pass = r.max_abs_diff <= max_abs_diff_ && r.top5_identical;
    if (!r.pass) {
      r.reason = r.max_abs_diff > max_abs_diff_ ? fmt::format("max_abs_diff {:.3g} exceeds {:.3g}",
                                                              r.max_abs_diff, max_abs_diff_)
                                                : fmt::format("top-{} differs", k);
    }
    return r;
  }

  json parity_json(const ParityResult& r) const {
    json j = {{"ran", r.ran}, {"pass", r.pass}};
    if (!r.reason.empty()) j["reason"] = r.reason;
    if (r.ran) j["reference_std"] = r.reference_std;
    if (r.ran && !r.top5_cpu.empty()) {
      j.update({{"max_abs_diff", r.max_abs_diff},
                {"max_abs_diff_limit", max_abs_diff_},
                {"mean_abs_diff", r.mean_abs_diff},
                {"max_rel_diff", r.max_rel_diff},
                {"rel_l2", r.rel_l2},
                {"cosine_similarity", r.cosine},
                {"top1_agree", r.top1_agree},
                {"topk", top_k_},
                {"topk_identical", r.top5_identical},
                {"topk_reference", r.top5_reference},
                {"topk_cpu", r.top5_cpu}});
    }
    return j;
  }

  void print_text(const json& report, const LintReport& lint) const {
    const auto& s = report["structure"];
    fmt::print("check {}\n", model_path_.string());
    fmt::print("  structure    {}  ir_version {}, opset {}, producer {}\n",
               s["ok"].get<bool>() ? "ok  " : "FAIL", s["ir_version"].get<std::int64_t>(),
               s["opset"].get<std::int64_t>(), s["producer"].get<std::string>());
    if (!s["ok"].get<bool>()) {
      fmt::print("               checker: {}\n               shape inference: {}\n",
                 s["checker"].get<std::string>(), s["shape_inference"].get<std::string>());
    }
    for (const auto& v : report["inputs"]) {
      fmt::print("  input        {} {} {}\n", v["name"].get<std::string>(),
                 v["type"].get<std::string>(),
                 shape_to_string(v["shape"].get<std::vector<std::int64_t>>()));
    }
    for (const auto& v : report["outputs"]) {
      fmt::print("  output       {} {} {}\n", v["name"].get<std::string>(),
                 v["type"].get<std::string>(),
                 shape_to_string(v["shape"].get<std::vector<std::int64_t>>()));
    }
    int lint_errors = 0, lint_warnings = 0;
    for (const auto& f : lint.findings) {
      lint_errors += f.severity == Severity::kError;
      lint_warnings += f.severity == Severity::kWarning;
    }
    fmt::print("  hailo lint   {}  {} error{}, {} warning{}\n", lint_errors ? "FAIL" : "ok  ",
               lint_errors, lint_errors == 1 ? "" : "s", lint_warnings,
               lint_warnings == 1 ? "" : "s");
    for (const auto& f : lint.findings) {
      fmt::print("    {:<7} [{}] {}\n", to_string(f.severity), f.code, f.message);
      if (!f.fix.empty()) fmt::print("            fix: {}\n", f.fix);
    }
    const auto& cpu = report["cpu_backend"];
    if (cpu["ok"].get<bool>()) {
      fmt::print("  cpu backend  ok    {} ({} Clip rewritten, {} Identity removed in memory)\n",
                 cpu["description"].get<std::string>(), cpu.value("clips_rewritten", 0),
                 cpu.value("identities_removed", 0));
    } else {
      fmt::print("  cpu backend  FAIL  {}\n", cpu["error"].get<std::string>());
    }
    const auto& p = report["parity"];
    if (!p["ran"].get<bool>()) {
      fmt::print("  parity       --    {}\n", p["reason"].get<std::string>());
    } else if (!p.contains("max_abs_diff")) {
      fmt::print("  parity       FAIL  {}\n", p["reason"].get<std::string>());
    } else {
      fmt::print(
          "  parity       {}  max_abs_diff {:.3g} (limit {:.3g}), mean_abs_diff {:.3g}, "
          "max_rel_diff {:.3g}, rel_l2 {:.3g}, cosine {:.7f}, top-1 {}, top-{} {} "
          "(reference logit std {:.3g})\n",
          p["pass"].get<bool>() ? "PASS" : "FAIL", p["max_abs_diff"].get<double>(), max_abs_diff_,
          p["mean_abs_diff"].get<double>(), p["max_rel_diff"].get<double>(),
          p["rel_l2"].get<double>(), p["cosine_similarity"].get<double>(),
          p["top1_agree"].get<bool>() ? "agrees" : "DIFFERS", top_k_,
          p["topk_identical"].get<bool>() ? "identical" : "DIFFERS",
          p["reference_std"].get<double>());
    }
    fmt::print("result: {}\n", report["ok"].get<bool>() ? "PASS" : "FAIL");
  }

  fs::path model_path_;
  fs::path reference_dir_;
  double max_abs_diff_ = 1e-4;
  int top_k_ = 5;
  int threads_ = 0;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_check_command(CLI::App& root, const CliContext& /*ctx*/) {
  return std::make_unique<CheckCommand>(root);
}

}  // namespace hdeploy::cli
