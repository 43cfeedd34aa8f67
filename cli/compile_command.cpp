// hdeploy compile MODEL.onnx --model SPEC --calib calib.npy: the model script, the Dataflow
// Compiler's three stages (parse → optimize → compile) as child processes with logs, and a
// verified DIR/model.hef with DIR/manifest.json. Without the DFC it prepares everything and
// says how to install it.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.hpp"
#include "hdeploy/compile/compile.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/hef/compatibility.hpp"
#include "hdeploy/version.hpp"
#include "model_setup.hpp"

namespace hdeploy::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class CompileCommand : public Command {
 public:
  CompileCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "compile",
        "Compile an ONNX classifier to a Hailo .hef with the Dataflow Compiler (DFC, x86-64 "
        "Linux only): writes DIR/model.alls and DIR/commands.sh, runs parse → optimize → "
        "compile with logs in DIR/logs, verifies the HEF and writes DIR/manifest.json");
    app_->add_option("MODEL", onnx_path_, "ONNX model (.onnx) that passes `hdeploy check`")
        ->required();
    app_->add_option("--model", spec_name_,
                     "model spec: a shipped name (resnet18) or a .toml path [default: the spec "
                     "in export.json beside the ONNX]");
    app_->add_option("--calib", calib_path_,
                     "calibration set: .npy float32 (N,H,W,3) RGB 0-255 from `hdeploy calib`")
        ->required();
    app_->add_option("--hw-arch", hw_arch_,
                     "target: hailo8l (Raspberry Pi AI Kit) or hailo8 (AI HAT+ 26 TOPS) "
                     "[default: the spec's [hailo] hw_arch]")
        ->check(CLI::IsMember({"hailo8l", "hailo8"}));
    app_->add_option("--out", out_dir_, "output folder [default: compiled/<spec name>]");
    app_->add_option("--dfc", dfc_cli_,
                     "the DFC's `hailo` command (e.g. VENV/bin/hailo) [default: `hailo` on PATH]");
    app_->add_option("--dfc-python", dfc_python_,
                     "a Python that imports hailo_sdk_client (e.g. VENV/bin/python): drive the "
                     "DFC's Python API instead of its CLI");
    app_->add_option("--gpu", gpu_text_,
                     "is a GPU visible to the DFC: auto asks `nvidia-smi -L`; without one the "
                     "optimisation level is forced to 0")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "yes", "no"}));
    app_->add_option("--hailort", hailort_,
                     "HailoRT version on the target (e.g. 4.20.0): warns when the DFC does not "
                     "pair with it [default: not checked]");
    app_->add_option("--heartbeat", heartbeat_s_,
                     "seconds between progress lines while a DFC stage runs")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    app_->add_flag("--dry-run", dry_run_,
                   "print the DFC commands and the model script; run and write nothing");
    app_->add_flag("--force", force_, "compile into a DIR that already holds a compile");
    app_->add_flag("--json", json_,
                   "print one JSON object on stdout (also when the compile fails or cannot run)");
  }

  Status run() override {
    auto result = compile();
    if (!result) {
      if (json_) print_json(compile::early_failure_json(out_dir_, result.error()), 2);
      return unexpected(std::move(result).error());
    }
    const compile::CompileOutcome& o = *result;
    if (json_) {
      print_json(compile::outcome_json(o), 2);
    } else {
      print_text(o);
    }
    if (o.error) return unexpected(*o.error);
    return {};
  }

 private:
  Result<compile::CompileOutcome> compile() {
    if (!hailort_.empty()) {
      if (auto v = hef::parse_runtime_version(hailort_); !v) {
        return fail(ErrorCode::kUsage, "--hailort '{}' is not a version like 4.20.0", hailort_);
      }
    }
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, find_model_spec(spec_name_, {onnx_path_.parent_path()},
                                                             onnx_path_, ctx_.models_dir()));
    compile::CompileRequest req;
    req.onnx = onnx_path_;
    req.calib = calib_path_;
    if (out_dir_.empty()) out_dir_ = fs::path("compiled") / spec.name;
    req.out_dir = out_dir_;
    req.hw_arch = hw_arch_.empty() ? spec.hailo.hw_arch : hw_arch_;
    req.spec = std::move(spec);
    req.dfc.cli = dfc_cli_;
    req.dfc.python = dfc_python_;
    req.dfc.driver_script = ctx_.python_dir() / "hdeploy_dfc.py";
    if (const char* path = std::getenv("PATH")) req.dfc.path_env = path;
    HDEPLOY_ASSIGN_OR_RETURN(req.gpu_mode, compile::parse_gpu_mode(gpu_text_));
    if (!hailort_.empty()) req.target_hailort = hailort_;
    req.dry_run = dry_run_;
    req.force = force_;
    req.command_line = ctx_.argv;
    req.hdeploy_version = HDEPLOY_VERSION;
    req.info = [](const std::string& line) { log_info(line); };
    req.warning = [](const std::string& line) { log_warning(line); };
    req.heartbeat = std::chrono::seconds(heartbeat_s_);
    return compile::run_compile(req);
  }

  void print_text(const compile::CompileOutcome& o) const {
    if (o.status == compile::CompileStatus::kDryRun) {
      std::cout << "# DFC commands (dry run: nothing was run or written)\n";
      for (const auto& stage : o.plan.stages) {
        std::string line;
        for (const auto& a : stage.argv)
          line += fmt::format("{}{}", line.empty() ? "" : " ", compile::shell_quote(a));
        std::cout << line << '\n';
      }
      std::cout << "\n# " << o.plan.model_script.string() << '\n' << o.script.text;
      return;
    }
    std::cout << fmt::format("compile {}: {}\n", to_string(o.status), o.out_dir.string());
    for (const auto& s : o.stages) {
      std::cout << fmt::format("  {:<9} {:<8} {}\n", s.name, to_string(s.status),
                               s.seconds ? fmt::format("{:.1f} s", *s.seconds) : "");
    }
    std::cout << fmt::format("  model script  {} (optimization_level {}: {})\n",
                             o.plan.model_script.string(), o.script.optimization_level,
                             o.script.level_reason);
    if (o.hef) std::cout << fmt::format("  hef           {}\n", o.hef->string());
    if (o.hef_check) {
      std::cout << fmt::format("  hef check     {} ({} , {}x{}x{} in, {} classes out)\n",
                               o.hef_check->ok ? "ok" : "FAILED", o.hef_check->arch,
                               o.hef_check->input[0], o.hef_check->input[1], o.hef_check->input[2],
                               o.hef_check->output_classes);
    }
    std::cout << fmt::format("  pairing       {}\n", o.pairing.message);
    if (o.manifest) std::cout << fmt::format("  manifest      {}\n", o.manifest->string());
  }

  const CliContext& ctx_;
  fs::path onnx_path_;
  std::string spec_name_;
  fs::path calib_path_;
  std::string hw_arch_;
  fs::path out_dir_;
  std::string dfc_cli_;
  std::string dfc_python_;
  std::string gpu_text_ = "auto";
  std::string hailort_;
  int heartbeat_s_ = 10;
  bool dry_run_ = false;
  bool force_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_compile_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<CompileCommand>(root, ctx);
}

}  // namespace hdeploy::cli
