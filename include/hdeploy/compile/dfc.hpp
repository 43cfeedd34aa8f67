#pragma once
// Finding and driving Hailo's Dataflow Compiler (DFC): its `hailo` command line or its Python
// API (through python/hdeploy_dfc.py), as a plan of three child processes, parse → optimize →
// compile, each with the file it must leave behind. Nothing here needs the DFC to be present.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::compile {

enum class DfcFrontend { kCli, kPython };
const char* to_string(DfcFrontend frontend);  // "cli", "python"

// A DFC that was found.
struct DfcTool {
  DfcFrontend frontend = DfcFrontend::kCli;
  std::filesystem::path executable;            // the `hailo` CLI, or the Python interpreter
  std::filesystem::path driver_script;         // python/hdeploy_dfc.py (Python frontend only)
  std::optional<std::string> version;          // DFC version, "3.33.0"; empty until probed
  std::optional<std::string> hailort_version;  // what `hailo --version` reports, if anything
};

// Where to look. `cli` (--dfc) wins over `python` (--dfc-python), which wins over PATH.
struct DfcSearch {
  std::string cli;                      // --dfc PATH, or empty
  std::string python;                   // --dfc-python PYTHON, or empty
  std::filesystem::path driver_script;  // hdeploy's python/hdeploy_dfc.py
  std::string path_env;                 // $PATH to search for `hailo`
};

// Finds the DFC. Errors: kNotFound with a message listing everything that was looked for (the
// --dfc file, `hailo` in each PATH folder, the --dfc-python interpreter and the driver script).
Result<DfcTool> find_dfc(const DfcSearch& search);

// Fills tool.version (and hailort_version) by running `hailo --version` or `PYTHON
// hdeploy_dfc.py version`. Errors: kFailed when the tool does not answer with a version (the
// Python frontend: when hailo_sdk_client does not import), with the tool's last output line.
Status probe_dfc_version(DfcTool& tool,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The DFC version in `hailo --version` output ("Hailo Dataflow Compiler v3.33.0" lines, else a
// lone X.Y.Z); empty when none. The HailoRT version likewise from "HailoRT v4.23.0".
std::optional<std::string> parse_dfc_version(std::string_view text);
std::optional<std::string> parse_hailort_version_line(std::string_view text);

// What the user must do without a DFC: the wheel into a venv (--dfc / --dfc-python), or the AI
// Software Suite container; x86-64 Linux only.
std::string dfc_install_help();

// DFC ↔ HailoRT pairs (Model Zoo release notes: v2.14 3.30/4.20, v2.15 3.31/4.21, v2.16
// 3.32/4.22, v2.17 3.33/4.23). The HailoRT minor for a DFC version, or empty if unknown.
std::optional<std::string> hailort_for_dfc(std::string_view dfc_version);

struct Pairing {
  std::optional<std::string> target_hailort;
  std::optional<bool> ok;  // empty: not checked
  std::string message;
};
// Judges a DFC version against the HailoRT the HEF will run on (major.minor must pair).
Pairing check_pairing(const std::optional<std::string>& dfc_version,
                      const std::optional<std::string>& target_hailort);

// What one compile needs; every path as it should appear on the command lines.
struct PlanInputs {
  std::filesystem::path onnx;
  std::filesystem::path calib;
  std::filesystem::path out_dir;
  std::string hw_arch;
  std::string start_node;
  std::string end_node;
  std::string net_name = "model";  // fixes the HAR's network (and the HEF's) name
  int input_height = 224;
  int input_width = 224;
};

struct DfcStage {
  std::string name;                  // "parse", "optimize", "compile"
  std::vector<std::string> argv;     // argv[0] is the tool
  std::filesystem::path output;      // parse/optimize: the HAR it must write
  std::filesystem::path output_dir;  // compile: the folder that must receive one .hef
};

struct CompilePlan {
  std::vector<DfcStage> stages;
  std::filesystem::path model_script;  // DIR/model.alls
  std::filesystem::path hef_dir;       // DIR/dfc-out
  std::filesystem::path final_hef;     // DIR/model.hef
  std::filesystem::path logs_dir;      // DIR/logs
};

// The three stages for `tool` (its executable and frontend; version not needed):
//   CLI:    hailo parser onnx ONNX --net-name model --hw-arch A --har-path DIR/model.har
//             --start-node-names IN --end-node-names END -y
//           hailo optimize DIR/model.har --hw-arch A --calib-set-path CALIB
//             --model-script DIR/model.alls --output-har-path DIR/model_optimized.har
//           hailo compiler DIR/model_optimized.har --hw-arch A --output-dir DIR/dfc-out
//   Python: PYTHON hdeploy_dfc.py parse|optimize|compile with the same files.
// Flags as Hailo's own tools and public build scripts use them (HAILO.md; e.g.
// hailo_model_zoo's ClientRunner calls and `hailo parser onnx ... --end-node-names ... -y`).
CompilePlan make_plan(const DfcTool& tool, const PlanInputs& inputs);

// A POSIX-shell word for `arg` ('...' quoting only when needed).
std::string shell_quote(std::string_view arg);
// A runnable script of the plan's commands (set -e, one line per stage), for the x86 host.
std::string commands_script(const CompilePlan& plan, std::string_view header_comment);

enum class StageStatus { kOk, kFailed, kNotRun };
const char* to_string(StageStatus status);  // "ok", "failed", "not_run"

struct StageResult {
  std::string name;
  StageStatus status = StageStatus::kNotRun;
  std::optional<double> seconds;
  std::filesystem::path log;                // empty when not run
  std::filesystem::path produced;           // the output it left (compile: the .hef found)
  std::string problem;                      // why it failed (exit status, missing output...)
  std::vector<std::string> last_log_lines;  // up to 20, when it failed
  bool interrupted = false;
};

// Progress reporting while a stage runs (on the calling thread).
struct StageProgress {
  std::function<void(const std::string& line)> info;
  std::chrono::seconds heartbeat{10};  // at most this often while the stage is quiet or not
};

// Runs one stage: stdout and stderr into `log` (created, truncated), progress lines (start,
// heartbeat, end with seconds), then checks its output exists (compile: exactly the .hef files
// it wrote into output_dir, which is emptied first). Never returns an error for a failing tool:
// the StageResult says what happened; errors only for hdeploy's own I/O (kIo).
Result<StageResult> run_stage(const DfcStage& stage, const std::filesystem::path& log,
                              const std::filesystem::path& working_directory,
                              const StageProgress& progress);

// The last `count` lines of a text file (empty when it cannot be read).
std::vector<std::string> last_lines(const std::filesystem::path& file, std::size_t count);

}  // namespace hdeploy::compile
