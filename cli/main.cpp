// hdeploy: PyTorch → ONNX → Hailo .hef → measured deployment on a Raspberry Pi 5 + Hailo-8L.
// The only place that turns errors into exit codes (docs/exit-codes.md): 0 ok, 1 failure,
// 2 usage (kUsage, which only the CLI returns, and CLI11's parse errors).

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <vector>

#include "command.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/runtime/plugin_loader.hpp"
#include "hdeploy/runtime/registry.hpp"
#include "hdeploy/version.hpp"
#include "hdeploy_git_commit.hpp"

#ifndef HDEPLOY_SOURCE_DATA_DIR
#define HDEPLOY_SOURCE_DATA_DIR ""
#endif

namespace fs = std::filesystem;

namespace hdeploy::cli {

using runtime::BackendAvailability;
using runtime::list_backends;
using runtime::set_plugin_verbose;

void log_info(const std::string& line) { std::fprintf(stderr, "hdeploy: %s\n", line.c_str()); }
void log_warning(const std::string& line) {
  std::fprintf(stderr, "hdeploy: warning: %s\n", line.c_str());
}
void print_json(const nlohmann::json& value, int indent) {
  bool escaped = false;
  std::cout << json_text(value, indent, &escaped) << '\n';
  if (escaped) log_warning(kEscapedNote);
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

// `hdeploy --version`: the version and commit, then each backend and whether it can run here
// (the hailo line loads the plugin to ask its HailoRT version; no device is opened).
std::string version_text() {
  std::string text = "hdeploy " HDEPLOY_VERSION " (" HDEPLOY_GIT_COMMIT ")\nbackends:";
  for (const BackendAvailability& b : list_backends()) {
    text += fmt::format("\n  {:<6} {}: {}", b.name, b.available ? "available" : "not available",
                        b.detail);
  }
  return text;
}

int exit_code(ErrorCode code) { return code == ErrorCode::kUsage ? 2 : 1; }

int run(int argc, char** argv) {
  std::error_code ec;
  CliContext ctx;
  ctx.exe_path = fs::read_symlink("/proc/self/exe", ec);
  if (ec) ctx.exe_path = fs::absolute(argv[0], ec);
  ctx.data_dir = find_data_dir(ctx.exe_path);
  ctx.argv.assign(argv, argv + argc);

  // --verbose anywhere on the line lets HailoRT's own log and console lines through; it must
  // be known before anything loads the hailo plugin (even --version does).
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--verbose") set_plugin_verbose(true);
  }

  CLI::App app{
      "hdeploy: take an image classifier from PyTorch to a measured deployment on a Raspberry "
      "Pi 5 with a Hailo-8L.\nStages: export → check → (calib → compile) → infer → bench → "
      "report."};
  app.set_version_flag("--version", version_text,
                       "print the version and the backends available here");
  bool verbose = false;  // read before parsing (above); declared so --help lists it
  app.add_flag("--verbose", verbose,
               "let HailoRT write its own log (hailort.log) and console lines; without it hdeploy "
               "sets HAILORT_LOGGER_PATH=NONE and HAILORT_CONSOLE_LOGGER_LEVEL=critical unless "
               "you set them");
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
  commands.push_back(make_doctor_command(app, ctx));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error: message, exit 2.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (auto& command : commands) {
    if (command->app()->parsed()) {
      const std::string name = command->app()->get_name();
      try {
        hdeploy::Status status = command->run();
        if (!status) {
          std::cerr << "hdeploy " << name << ": error: " << status.error().message << '\n';
          return exit_code(status.error().code);
        }
        return 0;
      } catch (const std::exception& e) {
        std::cerr << "hdeploy " << name << ": internal error: " << e.what()
                  << " (a bug in hdeploy: please report it with the command line)\n";
        return 1;
      }
    }
  }
  return 2;
}

}  // namespace
}  // namespace hdeploy::cli

int main(int argc, char** argv) {
  try {
    return hdeploy::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hdeploy: internal error: " << e.what()
              << " (a bug in hdeploy: please report it with the command line)\n";
  } catch (...) {
    std::cerr << "hdeploy: internal error: an unknown exception (a bug in hdeploy: please report "
                 "it with the command line)\n";
  }
  return 1;
}
