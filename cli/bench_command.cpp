// placeholder: being written
#include "command.hpp"

namespace hdeploy::cli {
namespace {
class BenchCommand : public Command {
 public:
  explicit BenchCommand(CLI::App& root) { app_ = root.add_subcommand("bench", "(being written)"); }
  Status run() override { return fail(ErrorCode::kUnsupported, "bench: not built yet"); }
};
}  // namespace
std::unique_ptr<Command> make_bench_command(CLI::App& root, const CliContext&) {
  return std::make_unique<BenchCommand>(root);
}
}  // namespace hdeploy::cli
