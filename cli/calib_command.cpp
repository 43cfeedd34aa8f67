// `hdeploy calib`: placeholder until the command lands.
#include "command.hpp"

namespace hdeploy::cli {
namespace {

class CalibCommand : public Command {
 public:
  explicit CalibCommand(CLI::App& root) { app_ = root.add_subcommand("calib", "not built yet"); }
  Status run() override { return fail(ErrorCode::kUnsupported, "calib: not built yet"); }
};

}  // namespace

std::unique_ptr<Command> make_calib_command(CLI::App& root, const CliContext& /*ctx*/) {
  return std::make_unique<CalibCommand>(root);
}

}  // namespace hdeploy::cli
