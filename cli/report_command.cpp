// placeholder: being written
#include "command.hpp"

namespace hdeploy::cli {
namespace {
class ReportCommand : public Command {
 public:
  explicit ReportCommand(CLI::App& root) {
    app_ = root.add_subcommand("report", "(being written)");
  }
  Status run() override { return fail(ErrorCode::kUnsupported, "report: not built yet"); }
};
}  // namespace
std::unique_ptr<Command> make_report_command(CLI::App& root, const CliContext&) {
  return std::make_unique<ReportCommand>(root);
}
}  // namespace hdeploy::cli
