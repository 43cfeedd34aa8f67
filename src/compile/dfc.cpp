#include "hdeploy/compile/dfc.hpp"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "hdeploy/core/process.hpp"

namespace hdeploy::compile {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::vector<std::string> split_path(const std::string& path_env) {
  std::vector<std::string> dirs;
  std::string::size_type start = 0;
  while (start <= path_env.size()) {
    const auto end = path_env.find(':', start);
    const std::string dir =
        path_env.substr(start, end == std::string::npos ? std::string::npos : end - start);
    dirs.push_back(dir.empty() ? "." : dir);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return dirs;
}

// "X.Y" of "X.Y.Z..." (empty if it does not start with two numbers).
std::string major_minor(std::string_view version) {
  static const std::regex kMajorMinor(R"(^\s*v?(\d+)\.(\d+))");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(version.begin(), version.end(), m, kMajorMinor)) return {};
  return m[1].str() + "." + m[2].str();
}

std::optional<std::string> first_match(std::string_view text, const std::regex& re) {
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_search(text.begin(), text.end(), m, re)) return m[1].str();
  return std::nullopt;
}

}  // namespace

const char* to_string(DfcFrontend frontend) {
  return frontend == DfcFrontend::kCli ? "cli" : "python";
}

const char* to_string(StageStatus status) {
  switch (status) {
    case StageStatus::kOk:
      return "ok";
    case StageStatus::kFailed:
      return "failed";
    case StageStatus::kNotRun:
      return "not_run";
  }
  return "not_run";
}

Result<DfcTool> find_dfc(const DfcSearch& search) {
  std::vector<std::string> looked;
  if (!search.cli.empty()) {
    const fs::path cli(search.cli);
    if (cli.has_parent_path() && is_executable_file(cli)) {
      return DfcTool{DfcFrontend::kCli, fs::absolute(cli), {}, {}, {}};
    }
    if (!cli.has_parent_path()) {
      for (const auto& dir : split_path(search.path_env)) {
        if (is_executable_file(fs::path(dir) / cli)) {
          return DfcTool{DfcFrontend::kCli, fs::absolute(fs::path(dir) / cli), {}, {}, {}};
        }
      }
    }
    return fail(ErrorCode::kNotFound,
                "the Dataflow Compiler CLI given with --dfc ({}) is not an executable file",
                search.cli);
  }
  if (!search.python.empty()) {
    fs::path python(search.python);
    bool found = python.has_parent_path() && is_executable_file(python);
    if (!python.has_parent_path()) {
      for (const auto& dir : split_path(search.path_env)) {
        if (is_executable_file(fs::path(dir) / python)) {
          python = fs::path(dir) / python;
          found = true;
          break;
        }
      }
    }
    if (!found) {
      return fail(ErrorCode::kNotFound,
                  "the Python given with --dfc-python ({}) is not an executable file",
                  search.python);
    }
    std::error_code ec;
    if (!fs::is_regular_file(search.driver_script, ec)) {
      return fail(ErrorCode::kNotFound,
                  "hdeploy's DFC driver {} is missing (reinstall hdeploy or set HDEPLOY_DATA_DIR)",
                  search.driver_script.string());
    }
    return DfcTool{DfcFrontend::kPython, fs::absolute(python), search.driver_script, {}, {}};
  }
  for (const auto& dir : split_path(search.path_env)) {
    const fs::path candidate = fs::path(dir) / "hailo";
    if (is_executable_file(candidate)) {
      return DfcTool{DfcFrontend::kCli, fs::absolute(candidate), {}, {}, {}};
    }
  }
  return fail(ErrorCode::kNotFound,
              "no Dataflow Compiler found: looked for the `hailo` command in every PATH folder "
              "({}), and neither --dfc PATH (the `hailo` CLI) nor --dfc-python PYTHON (a Python "
              "that imports hailo_sdk_client) was given",
              search.path_env.empty() ? "PATH is empty" : search.path_env);
}

std::optional<std::string> parse_dfc_version(std::string_view text) {
  static const std::regex kNamed(R"(Dataflow Compiler\s+v?(\d+\.\d+\.\d+))", std::regex::icase);
  if (auto v = first_match(text, kNamed)) return v;
  // Otherwise a lone version on its own (what `hdeploy_dfc.py version` prints).
  static const std::regex kAny(R"((\d+\.\d+\.\d+))");
  std::vector<std::string> found;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (line.find("HailoRT") != std::string::npos) continue;
    if (auto v = first_match(line, kAny)) found.push_back(*v);
  }
  if (found.size() == 1) return found.front();
  return std::nullopt;
}

std::optional<std::string> parse_hailort_version_line(std::string_view text) {
  static const std::regex kHailoRt(R"(HailoRT\s+v?(\d+\.\d+\.\d+))");
  return first_match(text, kHailoRt);
}

Status probe_dfc_version(DfcTool& tool, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv;
  if (tool.frontend == DfcFrontend::kCli) {
    argv = {tool.executable.string(), "--version"};
  } else {
    argv = {tool.executable.string(), tool.driver_script.string(), "version"};
  }
  std::string all;
  ProcessOptions options;
  options.timeout = timeout;
  options.on_stderr_line = [&all](const std::string& line) { all += line + "\n"; };
  options.on_stdout_line = options.on_stderr_line;
  HDEPLOY_ASSIGN_OR_RETURN(ProcessOutcome outcome, run_process(argv, options));
  std::string last;
  std::istringstream lines(all);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  const auto version = parse_dfc_version(all);
  if (!outcome.succeeded() || !version) {
    return fail(ErrorCode::kFailed, "`{}` did not report a Dataflow Compiler version ({}{})",
                fmt::format("{}", fmt::join(argv, " ")),
                outcome.succeeded() ? "no version in its output"
                                    : fmt::format("exit {}", outcome.exit_status),
                last.empty() ? "" : ": " + last);
  }
  tool.version = version;
  tool.hailort_version = parse_hailort_version_line(all);
  return {};
}

std::string dfc_install_help() {
  return "The Dataflow Compiler runs only on x86-64 Linux. Install it from the Hailo Developer "
         "Zone: either the wheel hailo_dataflow_compiler-<ver>-py3-none-linux_x86_64.whl into a "
         "Python venv (python3 -m venv VENV && VENV/bin/pip install <wheel>), then pass --dfc "
         "VENV/bin/hailo or --dfc-python VENV/bin/python; or run Hailo's AI Software Suite "
         "docker container, which has `hailo` on PATH";
}

std::optional<std::string> hailort_for_dfc(std::string_view dfc_version) {
  // Model Zoo release notes (hailo-ai/hailo_model_zoo docs/CHANGELOG): v2.14 DFC 3.30 + HailoRT
  // 4.20, v2.15 3.31 + 4.21, v2.16 3.32 + 4.22, v2.17 3.33 + 4.23.
  static const std::pair<const char*, const char*> kPairs[] = {
      {"3.30", "4.20"}, {"3.31", "4.21"}, {"3.32", "4.22"}, {"3.33", "4.23"}};
  const std::string mm = major_minor(dfc_version);
  for (const auto& [dfc, rt] : kPairs) {
    if (mm == dfc) return std::string(rt);
  }
  return std::nullopt;
}

Pairing check_pairing(const std::optional<std::string>& dfc_version,
                      const std::optional<std::string>& target_hailort) {
  Pairing p;
  p.target_hailort = target_hailort;
  if (!target_hailort) {
    p.message = "not checked: pass --hailort VERSION (the HailoRT on the Pi: hailortcli --version)";
    return p;
  }
  if (!dfc_version) {
    p.message = "not checked: the DFC version is unknown";
    return p;
  }
  const auto paired = hailort_for_dfc(*dfc_version);
  if (!paired) {
    p.message = fmt::format(
        "not checked: DFC {} is not in hdeploy's pairing table (3.30-3.33 ↔ HailoRT 4.20-4.23)",
        *dfc_version);
    return p;
  }
  p.ok = major_minor(*target_hailort) == *paired;
  p.message = *p.ok ? fmt::format("DFC {} pairs with HailoRT {}", *dfc_version, *target_hailort)
                    : fmt::format(
                          "DFC {} pairs with HailoRT {}.x, but the target runs HailoRT "
                          "{}: install the DFC that pairs with it, or that HailoRT",
                          *dfc_version, *paired, *target_hailort);
  return p;
}

CompilePlan make_plan(const DfcTool& tool, const PlanInputs& in) {
  CompilePlan plan;
  plan.model_script = in.out_dir / "model.alls";
  plan.hef_dir = in.out_dir / "dfc-out";
  plan.final_hef = in.out_dir / "model.hef";
  plan.logs_dir = in.out_dir / "logs";
  const fs::path har = in.out_dir / (in.net_name + ".har");
  const fs::path optimized = in.out_dir / (in.net_name + "_optimized.har");
  const std::string exe = tool.executable.string();
  if (tool.frontend == DfcFrontend::kCli) {
    plan.stages.push_back(
        {"parse",
         {exe, "parser", "onnx", in.onnx.string(), "--net-name", in.net_name, "--hw-arch",
          in.hw_arch, "--har-path", har.string(), "--start-node-names", in.start_node,
          "--end-node-names", in.end_node, "-y"},
         har,
         {}});
    plan.stages.push_back({"optimize",
                           {exe, "optimize", har.string(), "--hw-arch", in.hw_arch,
                            "--calib-set-path", in.calib.string(), "--model-script",
                            plan.model_script.string(), "--output-har-path", optimized.string()},
                           optimized,
                           {}});
    plan.stages.push_back({"compile",
                           {exe, "compiler", optimized.string(), "--hw-arch", in.hw_arch,
                            "--output-dir", plan.hef_dir.string()},
                           {},
                           plan.hef_dir});
  } else {
    const std::string driver = tool.driver_script.string();
    plan.stages.push_back(
        {"parse",
         {exe, driver, "parse", "--onnx", in.onnx.string(), "--net-name", in.net_name, "--hw-arch",
          in.hw_arch, "--har", har.string(), "--start-node", in.start_node, "--end-node",
          in.end_node, "--input-shape", fmt::format("1,3,{},{}", in.input_height, in.input_width)},
         har,
         {}});
    plan.stages.push_back(
        {"optimize",
         {exe, driver, "optimize", "--har", har.string(), "--calib", in.calib.string(),
          "--model-script", plan.model_script.string(), "--output-har", optimized.string()},
         optimized,
         {}});
    plan.stages.push_back({"compile",
                           {exe, driver, "compile", "--har", optimized.string(), "--hef",
                            (plan.hef_dir / (in.net_name + ".hef")).string()},
                           {},
                           plan.hef_dir});
  }
  return plan;
}

std::string shell_quote(std::string_view arg) {
  static const std::string_view kSafe =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_";
  if (!arg.empty() && arg.find_first_not_of(kSafe) == std::string_view::npos) {
    return std::string(arg);
  }
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string commands_script(const CompilePlan& plan, std::string_view header_comment) {
  std::string text = "#!/bin/sh\n";
  std::istringstream header{std::string(header_comment)};
  for (std::string line; std::getline(header, line);) text += "# " + line + "\n";
  text += "set -e\n";
  for (const auto& stage : plan.stages) {
    if (!stage.output_dir.empty())
      text += "mkdir -p " + shell_quote(stage.output_dir.string()) + "\n";
    text += "# " + stage.name + "\n";
    std::string line;
    for (const auto& a : stage.argv)
      line += fmt::format("{}{}", line.empty() ? "" : " ", shell_quote(a));
    text += line + "\n";
  }
  return text;
}

std::vector<std::string> last_lines(const fs::path& file, std::size_t count) {
  std::ifstream in(file);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > count) lines.pop_front();
  }
  return {lines.begin(), lines.end()};
}

Result<StageResult> run_stage(const DfcStage& stage, const fs::path& log,
                              const fs::path& working_directory, const StageProgress& progress) {
  StageResult result;
  result.name = stage.name;
  result.log = log;
  std::error_code ec;
  fs::create_directories(log.parent_path(), ec);
  if (!stage.output_dir.empty()) {
    // The compile stage's HEF is whatever .hef appears here: start from an empty folder.
    fs::remove_all(stage.output_dir, ec);
    fs::create_directories(stage.output_dir, ec);
    if (ec) {
      return fail(ErrorCode::kIo, "cannot create {}: {}", stage.output_dir.string(), ec.message());
    }
  }
  if (!stage.output.empty()) fs::remove(stage.output, ec);  // a stale HAR must not count
  std::FILE* out = std::fopen(log.c_str(), "w");
  if (out == nullptr) {
    return fail(ErrorCode::kIo, "cannot write the log {}: {}", log.string(), std::strerror(errno));
  }
  std::string command;
  for (const auto& a : stage.argv) {
    command += fmt::format("{}{}", command.empty() ? "" : " ", shell_quote(a));
  }
  std::fprintf(out, "$ %s\n", command.c_str());
  std::fflush(out);

  const auto say = [&](const std::string& line) {
    if (progress.info) progress.info(line);
  };
  say(fmt::format("{}: started (log: {})", stage.name, log.string()));
  const auto start = Clock::now();

  // The child runs on a worker thread so that this one can print a heartbeat while it is quiet.
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::optional<Result<ProcessOutcome>> outcome;
  std::thread worker([&] {
    ProcessOptions options;
    options.working_directory = working_directory;
    options.on_stdout_line = [out](const std::string& line) {
      std::fprintf(out, "%s\n", line.c_str());
      std::fflush(out);
    };
    options.on_stderr_line = options.on_stdout_line;
    auto r = run_process(stage.argv, options);
    std::lock_guard lock(mutex);
    outcome.emplace(std::move(r));
    done = true;
    done_cv.notify_all();
  });
  {
    std::unique_lock lock(mutex);
    while (!done_cv.wait_for(lock, progress.heartbeat, [&] { return done; })) {
      const auto secs = std::chrono::duration<double>(Clock::now() - start).count();
      lock.unlock();
      say(fmt::format("{}: still running ({:.0f} s; log: {})", stage.name, secs, log.string()));
      lock.lock();
    }
  }
  worker.join();
  std::fclose(out);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.seconds = seconds;

  if (!*outcome) {
    result.status = StageStatus::kFailed;
    result.problem = outcome->error().message;
  } else if ((*outcome)->interrupted) {
    result.status = StageStatus::kFailed;
    result.interrupted = true;
    result.problem = "interrupted (Ctrl-C): the DFC was stopped";
  } else if ((*outcome)->term_signal != 0) {
    result.status = StageStatus::kFailed;
    result.problem = fmt::format("killed by signal {}", (*outcome)->term_signal);
  } else if ((*outcome)->exit_status != 0) {
    result.status = StageStatus::kFailed;
    result.problem = fmt::format("exited with status {}", (*outcome)->exit_status);
  } else if (!stage.output.empty() && !fs::is_regular_file(stage.output, ec)) {
    result.status = StageStatus::kFailed;
    result.problem = fmt::format("exited 0 but did not write {}", stage.output.string());
  } else if (!stage.output_dir.empty()) {
    std::vector<fs::path> hefs;
    for (const auto& entry : fs::directory_iterator(stage.output_dir, ec)) {
      if (entry.path().extension() == ".hef" && entry.is_regular_file()) {
        hefs.push_back(entry.path());
      }
    }
    std::sort(hefs.begin(), hefs.end());
    if (hefs.empty()) {
      result.status = StageStatus::kFailed;
      result.problem = fmt::format("exited 0 but wrote no .hef into {}", stage.output_dir.string());
    } else if (hefs.size() > 1) {
      result.status = StageStatus::kFailed;
      result.problem = fmt::format("wrote {} .hef files into {}; expected one", hefs.size(),
                                   stage.output_dir.string());
    } else {
      result.status = StageStatus::kOk;
      result.produced = hefs.front();
    }
  } else {
    result.status = StageStatus::kOk;
    result.produced = stage.output;
  }
  if (result.status == StageStatus::kFailed) {
    result.last_log_lines = last_lines(log, 20);
    say(fmt::format("{}: FAILED after {:.1f} s: {}", stage.name, seconds, result.problem));
  } else {
    say(fmt::format("{}: done in {:.1f} s", stage.name, seconds));
  }
  return result;
}

}  // namespace hdeploy::compile
