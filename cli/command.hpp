#pragma once
// One class per subcommand (cli/<name>_command.cpp). Each declares its options on its own
// CLI::App in its factory and does its work in run(); only main.cpp maps errors to exit codes.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::cli {

// Where the binary finds what ships with it.
struct CliContext {
  std::filesystem::path exe_path;
  // models/ (shipped specs) and python/ (the exporter): $HDEPLOY_DATA_DIR, then
  // <exe>/../share/hdeploy (installed), then the source tree the binary was built from.
  std::filesystem::path data_dir;
  // The command line as given (records keep it).
  std::vector<std::string> argv;
  std::filesystem::path models_dir() const { return data_dir / "models"; }
  std::filesystem::path python_dir() const { return data_dir / "python"; }
};

class Command {
 public:
  virtual ~Command() = default;
  virtual Status run() = 0;
  CLI::App* app() const { return app_; }

 protected:
  CLI::App* app_ = nullptr;
};

std::unique_ptr<Command> make_export_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_check_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_preprocess_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_infer_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_inspect_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_bench_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_report_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_calib_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_compile_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_pipeline_command(CLI::App& root, const CliContext& ctx);
std::unique_ptr<Command> make_doctor_command(CLI::App& root, const CliContext& ctx);

// Logging to stderr; results go to stdout.
void log_info(const std::string& line);
void log_warning(const std::string& line);
// A library error that is, at this command line, the user's mistake (a flag value or an argument
// combination): the same message, exit 2.
inline Error as_usage(const Error& e) { return Error{ErrorCode::kUsage, e.message}; }

// A command's JSON result on stdout (json_text: never throws); a name that is not UTF-8 is
// written escaped, and a warning on stderr says so.
void print_json(const nlohmann::json& value, int indent = -1);

}  // namespace hdeploy::cli
