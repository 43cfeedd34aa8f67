// PLACEHOLDER: replaced by the real implementation
#include "command.hpp"
namespace hdeploy::cli {
namespace {
class PlaceholderCommand : public Command {
 public:
  explicit PlaceholderCommand(CLI::App& root) { app_ = root.add_subcommand("export", "not implemented yet"); }
  Status run() override { return fail(ErrorCode::kUnsupported, "not implemented yet"); }
};
}  // namespace
std::unique_ptr<Command> make_export_command(CLI::App& root, const CliContext&) {
  return std::make_unique<PlaceholderCommand>(root);
}
}  // namespace hdeploy::cli
