#pragma once
// `hdeploy pipeline`: export → check → calib → compile → inspect → infer → bench → report for
// one model spec in one folder. Each stage is a child `hdeploy <stage> ... --json` run through
// a StageExecutor (injected, so the stage logic is tested without running anything); the
// manifest records the command, inputs and outputs of each; a stage whose command and input
// hashes are unchanged is skipped; the run ends with the success table.

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hdeploy/core/process.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/pipeline/manifest.hpp"

namespace hdeploy::pipeline {

// Runs `hdeploy ARGS...` for one stage. Implementations pass each stderr line to
// `on_stderr_line` as it arrives. Errors only when the child cannot be started; a child that
// fails is a ProcessOutcome with its exit status.
class StageExecutor {
 public:
  virtual ~StageExecutor() = default;
  virtual Result<ProcessOutcome> run(
      Stage stage, const std::vector<std::string>& args,
      const std::function<void(const std::string&)>& on_stderr_line) = 0;
};

// The real executor: the hdeploy binary at `exe` as a child process (run_process, so Ctrl-C
// under an InterruptGuard stops the child).
class ProcessStageExecutor : public StageExecutor {
 public:
  explicit ProcessStageExecutor(std::filesystem::path exe) : exe_(std::move(exe)) {}
  Result<ProcessOutcome> run(
      Stage stage, const std::vector<std::string>& args,
      const std::function<void(const std::string&)>& on_stderr_line) override;

 private:
  std::filesystem::path exe_;
};

struct PipelineOptions {
  std::string spec_arg;             // as passed to the stages: a shipped name or a path
  std::filesystem::path spec_path;  // resolved, absolute
  std::string spec_name;
  std::string hw_arch = "hailo8l";   // the spec's [hailo] hw_arch
  std::filesystem::path out_dir;     // absolute
  std::filesystem::path images_dir;  // empty: synthetic images in DIR/images
  std::filesystem::path hef;         // --hef: used instead of compiling
  std::optional<Stage> from;
  std::optional<Stage> until;
  std::string weights = "none";  // none | pretrained | an absolute path
  std::string python;
  std::string dfc;
  std::string dfc_python;
  std::string hailort;
  int calib_count = 1024;
  int seed = 0;
  std::string backend = "auto";  // auto | hailo | sim
  std::string bench_duration = "10s";
  std::set<Stage> rerun;
  bool force = false;
  bool have_hailort = false;  // this build has the hailo backend
  int synthetic_images = 32;
  int infer_images = 4;
  std::string hdeploy_version;
  std::string hdeploy_commit;
  // Where the Dataflow Compiler is looked for ($PATH): part of compile's cache key, so a DFC
  // installed since the last run is picked up.
  std::string dfc_search_path;
};

// One row of the success table: result is "yes", "no", "given" or "not run".
struct SuccessRow {
  std::string item;
  std::string result;
  std::string detail;
  bool operator==(const SuccessRow&) const = default;
};

struct PipelineOutcome {
  Manifest manifest;
  std::vector<SuccessRow> table;
  std::vector<std::string> notes;     // printed under the table (synthetic images, labels)
  std::optional<Stage> failed_stage;  // set when a stage failed; the pipeline stopped there
  std::string failure;                // one line: what failed and where to look
  bool interrupted = false;
  int verified_files = 0;  // --from: files of earlier stages checked against the manifest
};

using LogLine = std::function<void(const std::string&)>;

// Checks the options (kInvalidArgument: --from after --until, bad duration or count) and the
// folder (kAlreadyExists: a non-empty folder without a pipeline manifest and no --force;
// kFailed: --from and an earlier stage's output is missing or changed, naming the file),
// then runs the stages. A stage that fails is not an error of this call: it is reported in
// the outcome, after the manifest and DIR/success.md were written.
Result<PipelineOutcome> run_pipeline(const PipelineOptions& options, StageExecutor& executor,
                                     const LogLine& log);

// The stage's numbers, taken from its --json output (the keys each command prints).
nlohmann::json summarize_stage(Stage stage, const nlohmann::json& stage_json,
                               const std::filesystem::path& out_dir);

// The five rows, from what the manifest records (works for partial runs and failures).
std::vector<SuccessRow> success_table(const Manifest& manifest, bool have_hailort);
// A Markdown table with a title and the notes below it.
std::string render_success_table(const std::vector<SuccessRow>& rows,
                                 const std::vector<std::string>& notes, const std::string& title);

// "10s", "500ms", "2m" → seconds. Errors: kInvalidArgument.
Result<double> parse_duration_seconds(std::string_view text);

}  // namespace hdeploy::pipeline
