// hdeploy: PyTorch → ONNX → Hailo .hef → measured deployment on a Raspberry Pi 5 + Hailo-8L.
// The only place that turns errors into exit codes: 0 ok, 1 failure, 2 usage.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <vector>

#include "command.hpp"

#ifndef HDEPLOY_VERSION
#define HDEPLOY_VERSION "0.0.0"
#endif
#ifndef HDEPLOY_SOURCE_DATA_DIR
#define HDEPLOY_SOURCE_DATA_DIR ""
#endif

namespace fs = std::filesystem;

namespace hdeploy::cli {

void log_info(const std::string& line) { std::fprintf(stderr, "hdeploy: %s\n", line.c_str()); }
void log_warning(const std::string& line) {
  std::fprintf(stderr, "hdeploy: warning: %s\n", line.c_str());
}

namespace {

fs::path find_data_dir(const fs::path& exe) {
  if (const char* env = std::getenv("HDEPLOY_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const fs::path exe_dir = exe.parent_path();
  for (const fs::path& candidate :
       {exe_dir / ".." / "share" / "hdeploy", exe_dir / "..", fs::path(HDEPLOY_SOURCE_DATA_DIR)}) {
    if (!candidate.empty() && fs::is_directory(candidate / "models", ec) &&
        fs::is_directory(candidate / "python", ec)) {
      return fs::weakly_canonical(candidate, ec);
    }
  }
  return HDEPLOY_SOURCE_DATA_DIR;
}

// kInvalidArgument still maps to 2 until every command returns kUsage for its usage errors.
int exit_code(ErrorCode code) {
  return code == ErrorCode::kUsage || code == ErrorCode::kInvalidArgument ? 2 : 1;
}

}  // namespace
}  // namespace hdeploy::cli

int main(int argc, char** argv) {
  using namespace hdeploy::cli;
  std::error_code ec;
  CliContext ctx;
  ctx.exe_path = fs::read_symlink("/proc/self/exe", ec);
  if (ec) ctx.exe_path = fs::absolute(argv[0], ec);
  ctx.data_dir = find_data_dir(ctx.exe_path);
  ctx.argv.assign(argv, argv + argc);

  CLI::App app{
      "hdeploy: take an image classifier from PyTorch to a measured deployment on a Raspberry "
      "Pi 5 with a Hailo-8L.\nStages: export → check → (calib → compile) → infer → bench → "
      "report."};
  app.set_version_flag("--version", "hdeploy " HDEPLOY_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(make_export_command(app, ctx));
  commands.push_back(make_check_command(app, ctx));
  commands.push_back(make_preprocess_command(app, ctx));
  commands.push_back(make_infer_command(app, ctx));
  commands.push_back(make_inspect_command(app, ctx));
  commands.push_back(make_bench_command(app, ctx));
  commands.push_back(make_report_command(app, ctx));
  commands.push_back(make_calib_command(app, ctx));
  commands.push_back(make_compile_command(app, ctx));
  commands.push_back(make_pipeline_command(app, ctx));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error: message, exit 2.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (auto& command : commands) {
    if (command->app()->parsed()) {
      hdeploy::Status status = command->run();
      if (!status) {
        std::cerr << "hdeploy " << command->app()->get_name()
                  << ": error: " << status.error().message << '\n';
        return exit_code(status.error().code);
      }
      return 0;
    }
  }
  return 2;
}
