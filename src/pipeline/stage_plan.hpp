#pragma once
// What each pipeline stage runs: its hdeploy command, the inputs whose content decides whether
// it must run again, and the folders it writes.

#include <filesystem>
#include <string>
#include <vector>

#include "hdeploy/pipeline/pipeline.hpp"

namespace hdeploy::pipeline::detail {

struct StagePlan {
  std::vector<std::string> args;  // absolute paths; the manifest records them relative
  std::vector<std::filesystem::path> inputs;
  std::vector<std::string> output_dirs;  // relative to the pipeline folder
  std::string not_run_why;               // set: the stage cannot run here; nothing is executed
  std::string key_extra;
  std::string label;  // where it runs, e.g. "sim, not hardware: contract from the spec"
};

// What plan_stage needs to know about the run so far.
struct PlanContext {
  const PipelineOptions& options;
  std::filesystem::path dir;         // the pipeline folder
  std::filesystem::path images_dir;  // given or synthetic
  const std::vector<std::filesystem::path>& images;
  std::string given_hef;  // --hef, relative to dir
  std::string hef;        // the HEF later stages use, relative to dir, or ""
  std::string hef_why;    // why there is none
};

StagePlan plan_stage(Stage stage, const PlanContext& context);

// The command as the manifest records it: "hdeploy" and the arguments, paths relative.
std::vector<std::string> recorded_command(const StagePlan& plan, const std::filesystem::path& dir);

}  // namespace hdeploy::pipeline::detail
