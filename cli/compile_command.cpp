// `hdeploy compile`: placeholder until the command lands.
#include "command.hpp"

namespace hdeploy::cli {
namespace {

class CompileCommand : public Command {
 public:
  explicit CompileCommand(CLI::App& root) { app_ = root.add_subcommand("compile", "not built yet"); }
  Status run() override { return fail(ErrorCode::kUnsupported, "compile: not built yet"); }
};

}  // namespace

std::unique_ptr<Command> make_compile_command(CLI::App& root, const CliContext& /*ctx*/) {
  return std::make_unique<CompileCommand>(root);
}

}  // namespace hdeploy::cli
