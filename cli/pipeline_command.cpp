// `hdeploy pipeline`: placeholder until the command lands.
#include "command.hpp"

namespace hdeploy::cli {
namespace {

class PipelineCommand : public Command {
 public:
  explicit PipelineCommand(CLI::App& root) { app_ = root.add_subcommand("pipeline", "not built yet"); }
  Status run() override { return fail(ErrorCode::kUnsupported, "pipeline: not built yet"); }
};

}  // namespace

std::unique_ptr<Command> make_pipeline_command(CLI::App& root, const CliContext& /*ctx*/) {
  return std::make_unique<PipelineCommand>(root);
}

}  // namespace hdeploy::cli
