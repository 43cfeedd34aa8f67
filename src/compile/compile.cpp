#include "hdeploy/compile/compile.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <regex>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/core/sha256.hpp"
#include "hdeploy/core/utc_time.hpp"
#include "hdeploy/version.hpp"

namespace hdeploy::compile {

using onnx::lint_for_hailo;
using onnx::LintReport;
using onnx::OnnxModel;
using onnx::Severity;

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Minimal .npy header reader: magic, version, header length, then the dict text.
Result<std::string> read_npy_header(const fs::path& path, std::uint64_t& data_offset) {
  HDEPLOY_TRY(check_readable_file(path));
  std::ifstream in(path, std::ios::binary);
  char prefix[12] = {};
  in.read(prefix, sizeof prefix);
  if (in.gcount() < 10 || std::string_view(prefix, 6) != "\x93NUMPY") {
    return fail(ErrorCode::kInvalidFormat, "{}: not a NumPy .npy file (bad magic)", path.string());
  }
  const auto major = static_cast<unsigned char>(prefix[6]);
  std::uint64_t header_len = 0;
  std::uint64_t start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(prefix[8]) |
                 (static_cast<std::uint64_t>(static_cast<unsigned char>(prefix[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    for (int i = 0; i < 4; ++i) {
      header_len |= static_cast<std::uint64_t>(static_cast<unsigned char>(prefix[8 + i]))
                    << (8 * i);
    }
    start = 12;
  } else {
    return fail(ErrorCode::kInvalidFormat, "{}: unknown .npy format version {}", path.string(),
                major);
  }
  if (header_len > (1U << 20)) {
    return fail(ErrorCode::kInvalidFormat, "{}: .npy header too large", path.string());
  }
  std::string header(header_len, '\0');
  in.seekg(static_cast<std::streamoff>(start));
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (static_cast<std::uint64_t>(in.gcount()) != header_len) {
    return fail(ErrorCode::kInvalidFormat, "{}: truncated .npy header", path.string());
  }
  data_offset = start + header_len;
  return header;
}

json path_or_null(const std::optional<fs::path>& p) {
  return p ? json(p->string()) : json(nullptr);
}

json hash_or_null(const fs::path& p) {
  std::error_code ec;
  if (p.empty() || !fs::is_regular_file(p, ec)) return nullptr;
  auto h = sha256_file_hex(p);
  return h ? json(*h) : json(nullptr);
}

}  // namespace

const char* to_string(CompileStatus status) {
  switch (status) {
    case CompileStatus::kCompiled:
      return "compiled";
    case CompileStatus::kNotRun:
      return "not_run";
    case CompileStatus::kFailed:
      return "failed";
    case CompileStatus::kDryRun:
      return "dry_run";
  }
  return "failed";
}

Result<CalibInfo> check_calibration_file(const fs::path& calib, const OnnxIo& io) {
  std::uint64_t data_offset = 0;
  HDEPLOY_ASSIGN_OR_RETURN(std::string header, read_npy_header(calib, data_offset));
  static const std::regex kDescr(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex kFortran(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex kShape(R"('shape'\s*:\s*\(([^)]*)\))");
  std::smatch m;
  std::string descr, shape_text;
  bool fortran = false;
  if (std::regex_search(header, m, kDescr)) descr = m[1];
  if (std::regex_search(header, m, kFortran)) fortran = m[1] == "True";
  if (std::regex_search(header, m, kShape)) shape_text = m[1];
  std::vector<std::int64_t> shape;
  static const std::regex kInt(R"(\d+)");
  for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), kInt);
       it != std::sregex_iterator(); ++it) {
    shape.push_back(std::strtoll(it->str().c_str(), nullptr, 10));
  }
  const std::string what = fmt::format(
      "float32 (N, {}, {}, 3): NHWC RGB 0-255 made with `hdeploy calib IMAGES --model SPEC`",
      io.height, io.width);
  if (descr != "<f4" || fortran) {
    return fail(ErrorCode::kInvalidFormat, "{}: dtype '{}'{}; the calibration set must be {}",
                calib.string(), descr, fortran ? " in Fortran order" : "", what);
  }
  if (shape.size() != 4 || shape[3] != 3 || shape[1] != io.height || shape[2] != io.width ||
      shape[0] < 1) {
    std::string s;
    for (auto d : shape) s += fmt::format("{}{}", s.empty() ? "" : ", ", d);
    return fail(ErrorCode::kInvalidFormat, "{}: shape ({}) does not match the model; it must be {}",
                calib.string(), s, what);
  }
  const std::uint64_t expected =
      data_offset + static_cast<std::uint64_t>(shape[0] * shape[1] * shape[2] * shape[3]) * 4U;
  std::error_code ec;
  const auto size = fs::file_size(calib, ec);
  if (ec || size < expected) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: truncated: {} bytes, the header declares {}; write it again", calib.string(),
                ec ? 0 : size, expected);
  }
  return CalibInfo{shape[0], shape[1], shape[2], shape[3]};
}

Status check_onnx_for_compile(const OnnxModel& model, const LintReport& lint) {
  if (auto s = model.check(); !s) {
    return fail(ErrorCode::kFailed,
                "{}: fails the ONNX checker ({}); run `hdeploy check {}` and export it again",
                model.name(), s.error().message, model.name());
  }
  if (auto s = model.infer_shapes(); !s) {
    return fail(ErrorCode::kFailed, "{}: fails shape inference ({}); run `hdeploy check {}`",
                model.name(), s.error().message, model.name());
  }
  for (const auto& f : lint.findings) {
    if (f.severity == Severity::kError) {
      return fail(ErrorCode::kFailed,
                  "{}: not ready for the Dataflow Compiler: [{}] {}; {} (run `hdeploy check {}` "
                  "for every finding)",
                  model.name(), f.code, f.message, f.fix, model.name());
    }
  }
  return {};
}

Result<std::string> choose_end_node(const ModelSpec& spec, const OnnxModel& model,
                                    const LintReport& lint, std::string& from) {
  if (spec.hailo.end_node != "auto" && !spec.hailo.end_node.empty()) {
    for (const auto& node : model.nodes()) {
      if (node.name == spec.hailo.end_node) {
        from = "the spec's [hailo] end_node";
        return spec.hailo.end_node;
      }
    }
    return fail(ErrorCode::kInvalidArgument,
                "{}: [hailo] end_node '{}' is not a node of {}; name an existing node or use "
                "\"auto\" (the last Gemm/MatMul)",
                spec.source.empty() ? spec.name : spec.source.string(), spec.hailo.end_node,
                model.name());
  }
  if (lint.suggested_end_node.empty()) {
    return fail(ErrorCode::kUnsupported,
                "{}: has no Gemm/MatMul to end the Hailo graph at; set [hailo] end_node in the "
                "model spec",
                model.name());
  }
  from = "auto: the last Gemm/MatMul";
  return lint.suggested_end_node;
}

json outcome_json(const CompileOutcome& o) {
  json commands = json::array();
  for (const auto& s : o.plan.stages) commands.push_back(s.argv);
  json stages = json::array();
  for (const auto& s : o.stages) {
    stages.push_back({{"name", s.name},
                      {"status", to_string(s.status)},
                      {"seconds", s.seconds ? json(*s.seconds) : json(nullptr)},
                      {"log", s.log.empty() ? json(nullptr) : json(s.log.string())}});
  }
  json dfc = nullptr;
  if (o.dfc) {
    dfc = {{"frontend", to_string(o.dfc->frontend)},
           {"executable", o.dfc->executable.string()},
           {"version", o.dfc->version ? json(*o.dfc->version) : json(nullptr)}};
  }
  json hef_check = nullptr;
  if (o.hef_check) {
    hef_check = {{"ok", o.hef_check->ok},
                 {"arch", o.hef_check->arch},
                 {"compiler_version", o.hef_check->compiler_version},
                 {"input", o.hef_check->input},
                 {"output_classes", o.hef_check->output_classes},
                 {"problems", o.hef_check->problems}};
  }
  return {
      {"status", to_string(o.status)},
      {"why", o.why.empty() ? json(nullptr) : json(o.why)},
      {"out_dir", o.out_dir.string()},
      {"hef", path_or_null(o.hef)},
      {"model_script", o.plan.model_script.string()},
      {"commands", commands},
      {"stages", stages},
      {"dfc", dfc},
      {"hef_check", hef_check},
      {"optimization_level", o.script.optimization_level},
      {"gpu", {{"visible", o.gpu.visible}, {"how", o.gpu.how}}},
      {"pairing",
       {{"target_hailort",
         o.pairing.target_hailort ? json(*o.pairing.target_hailort) : json(nullptr)},
        {"ok", o.pairing.ok ? json(*o.pairing.ok) : json(nullptr)},
        {"message", o.pairing.message}}},
      {"manifest", path_or_null(o.manifest)},
      {"warnings", o.warnings},
  };
}

json early_failure_json(const fs::path& out_dir, const Error& error) {
  return {{"status", "failed"},
          {"why", error.message},
          {"out_dir", out_dir.string()},
          {"hef", nullptr},
          {"model_script", (out_dir / "model.alls").string()},
          {"commands", json::array()},
          {"stages", json::array()},
          {"dfc", nullptr},
          {"hef_check", nullptr},
          {"optimization_level", nullptr},
          {"gpu", nullptr},
          {"pairing", nullptr},
          {"manifest", nullptr},
          {"warnings", json::array()}};
}

namespace {

Status write_manifest(const CompileRequest& req, CompileOutcome& o) {
  const fs::path path = o.out_dir / "manifest.json";
  json m;
  m["format"] = "hdeploy-compile";
  m["version"] = 1;
  m["created"] = utc_now_iso8601();
  m["hdeploy_version"] = req.hdeploy_version;
  m["command_line"] = req.command_line;
  m["model"] = req.spec.name;
  m["spec"] = req.spec.source.string();
  m["hw_arch"] = req.hw_arch;
  m["onnx"] = {{"path", req.onnx.string()},
               {"start_node", o.start_node},
               {"end_node", o.end_node},
               {"end_node_from", o.end_node_from},
               {"input", {o.io.height, o.io.width, o.io.channels}},
               {"classes", o.io.classes}};
  m["calibration"] = {{"path", req.calib.string()},
                      {"shape", {o.calib.count, o.calib.height, o.calib.width, o.calib.channels}}};
  m["optimization"] = {{"optimization_level", o.script.optimization_level},
                       {"compression_level", o.script.compression_level},
                       {"why", o.script.level_reason}};
  m["hailort_reported_by_dfc"] =
      o.dfc && o.dfc->hailort_version ? json(*o.dfc->hailort_version) : json(nullptr);
  m["sha256"] = {{"onnx", hash_or_null(req.onnx)},
                 {"calib", hash_or_null(req.calib)},
                 {"model_alls", hash_or_null(o.plan.model_script)},
                 {"model_hef", o.hef ? hash_or_null(*o.hef) : json(nullptr)}};
  json stages = json::array();
  for (const auto& s : o.stages) {
    json st = {{"name", s.name},
               {"status", to_string(s.status)},
               {"seconds", s.seconds ? json(*s.seconds) : json(nullptr)},
               {"log", s.log.empty() ? json(nullptr) : json(s.log.string())},
               {"problem", s.problem.empty() ? json(nullptr) : json(s.problem)}};
    stages.push_back(st);
  }
  o.manifest = path;
  json result = outcome_json(o);
  for (auto it = result.begin(); it != result.end(); ++it) {
    if (!m.contains(it.key())) m[it.key()] = it.value();
  }
  m["stages"] = stages;
  return write_text_file_atomic(path, json_text(m, 2) + "\n", Overwrite::kAllow);
}

void warn(const CompileRequest& req, CompileOutcome& o, const std::string& message) {
  o.warnings.push_back(message);
  if (req.warning) req.warning(message);
}

void info(const CompileRequest& req, const std::string& message) {
  if (req.info) req.info(message);
}

}  // namespace

Result<CompileOutcome> run_compile(const CompileRequest& req) {
  CompileOutcome o;
  o.out_dir = req.out_dir;
  HDEPLOY_TRY(hef_arch_for(req.hw_arch));

  // 1. Inputs, before anything is written.
  HDEPLOY_ASSIGN_OR_RETURN(OnnxModel model, OnnxModel::load(req.onnx));
  const LintReport lint = lint_for_hailo(model);
  HDEPLOY_TRY(check_onnx_for_compile(model, lint));
  HDEPLOY_ASSIGN_OR_RETURN(o.io, onnx_io(model));
  if (o.io.classes != req.spec.num_classes) {
    warn(req, o,
         fmt::format("{} outputs {} classes but the spec says num_classes = {}", req.onnx.string(),
                     o.io.classes, req.spec.num_classes));
  }
  HDEPLOY_ASSIGN_OR_RETURN(o.end_node, choose_end_node(req.spec, model, lint, o.end_node_from));
  o.start_node = o.io.input_name;
  HDEPLOY_ASSIGN_OR_RETURN(o.calib, check_calibration_file(req.calib, o.io));
  if (o.calib.count < 1024) {
    warn(req, o,
         fmt::format("{} holds {} images; the DFC recommends at least 1024 for calibration "
                     "(fewer can cost accuracy)",
                     req.calib.string(), o.calib.count));
  }
  if (!req.dry_run) {
    const auto overwrite = req.force ? Overwrite::kAllow : Overwrite::kRefuse;
    for (const char* name : {"manifest.json", "model.hef"}) {
      if (auto s = check_writable_output(req.out_dir / name, overwrite); !s) {
        if (s.error().code == ErrorCode::kAlreadyExists) {
          return fail(ErrorCode::kAlreadyExists,
                      "{} already holds a compile ({} exists); pass --force to compile again "
                      "into it, or choose another --out",
                      req.out_dir.string(), name);
        }
        return unexpected(std::move(s).error());
      }
    }
  }

  // 2. The model script.
  o.gpu = detect_gpu(req.gpu_mode, req.nvidia_smi);
  o.script = render_model_script(req.spec, o.gpu);
  for (const auto& w : o.script.warnings) warn(req, o, w);

  // 3. The DFC and the plan (with `hailo` as a stand-in when none was found, so that the
  // commands are still printed and written for the x86 host).
  auto found = find_dfc(req.dfc);
  DfcTool tool = found ? *found : DfcTool{DfcFrontend::kCli, "hailo", {}, {}, {}};
  PlanInputs plan_inputs;
  plan_inputs.onnx = fs::absolute(req.onnx);
  plan_inputs.calib = fs::absolute(req.calib);
  plan_inputs.out_dir = fs::absolute(req.out_dir);
  plan_inputs.hw_arch = req.hw_arch;
  plan_inputs.start_node = o.start_node;
  plan_inputs.end_node = o.end_node;
  plan_inputs.input_height = static_cast<int>(o.io.height);
  plan_inputs.input_width = static_cast<int>(o.io.width);
  o.plan = make_plan(tool, plan_inputs);
  for (const auto& s : o.plan.stages) {
    StageResult r;
    r.name = s.name;
    o.stages.push_back(std::move(r));
  }
  if (found) o.dfc = tool;
  o.pairing = check_pairing(std::nullopt, req.target_hailort);
  if (req.dry_run) {
    o.status = CompileStatus::kDryRun;
    return o;
  }

  // 4. What is written in every case: the script and the commands.
  HDEPLOY_TRY(write_text_file_atomic(o.plan.model_script, o.script.text, Overwrite::kAllow));
  const std::string header = fmt::format(
      "Dataflow Compiler commands for '{}' ({}), written by hdeploy {}.\nRun on an x86-64 Linux "
      "host with the DFC installed; the HEF lands in {}.",
      req.spec.name, req.hw_arch, req.hdeploy_version, o.plan.hef_dir.string());
  HDEPLOY_TRY(write_text_file_atomic(req.out_dir / "commands.sh", commands_script(o.plan, header),
                                     Overwrite::kAllow));
  info(req, fmt::format("model script: {}", o.plan.model_script.string()));

  const auto finish_not_run = [&](const std::string& why, const std::string& message) {
    o.status = CompileStatus::kNotRun;
    o.why = why;
    o.error = make_error(ErrorCode::kNotFound, "{}", message);
    if (auto s = write_manifest(req, o); !s) o.error = s.error();
    return o;
  };
  if (!found) {
    // `why` is the short form (tables, manifests); the error carries every place looked in.
    const bool searched_path_only = req.dfc.cli.empty() && req.dfc.python.empty();
    const std::string why =
        searched_path_only
            ? "no Dataflow Compiler found (no `hailo` on PATH, no --dfc or --dfc-python given)"
            : found.error().message;
    return finish_not_run(
        why, fmt::format("{}. {}. The model script and the commands are ready in {} "
                         "(model.alls, commands.sh; calibration set {}): run commands.sh there, "
                         "or this command again with the DFC",
                         found.error().message, dfc_install_help(), req.out_dir.string(),
                         req.calib.string()));
  }
  if (auto s = probe_dfc_version(*o.dfc); !s) {
    if (o.dfc->frontend == DfcFrontend::kPython) {
      const std::string why = s.error().message;
      return finish_not_run(
          why, fmt::format("{}: --dfc-python must name a Python that imports hailo_sdk_client. "
                           "{}. The model script and the commands are ready in {}",
                           why, dfc_install_help(), req.out_dir.string()));
    }
    warn(req, o, s.error().message);
  }
  info(req,
       fmt::format("Dataflow Compiler: {} ({} frontend, version {})", o.dfc->executable.string(),
                   to_string(o.dfc->frontend), o.dfc->version.value_or("unknown")));
  o.pairing = check_pairing(o.dfc->version, req.target_hailort);
  if (o.pairing.ok == false) warn(req, o, o.pairing.message);

  // 5. The stages, stopping at the first failure.
  {
    InterruptGuard interrupts;
    StageProgress progress{req.info, req.heartbeat};
    for (std::size_t i = 0; i < o.plan.stages.size(); ++i) {
      const auto& stage = o.plan.stages[i];
      info(req, fmt::format("[{}/{}] {}", i + 1, o.plan.stages.size(), stage.name));
      HDEPLOY_ASSIGN_OR_RETURN(
          o.stages[i],
          run_stage(stage, o.plan.logs_dir / (stage.name + ".log"), req.out_dir, progress));
      const StageResult& r = o.stages[i];
      if (r.status != StageStatus::kOk) {
        o.status = CompileStatus::kFailed;
        o.why = fmt::format("stage {} failed: {}", stage.name, r.problem);
        std::string tail;
        for (const auto& line : r.last_log_lines) tail += "\n  | " + line;
        o.error = make_error(
            ErrorCode::kFailed, "DFC stage '{}' {}{}; full log: {}{}", stage.name,
            r.interrupted ? "was interrupted (Ctrl-C)" : "failed: ", r.interrupted ? "" : r.problem,
            r.log.string(), tail.empty() ? "" : "; last log lines:" + tail);
        if (auto s = write_manifest(req, o); !s) o.error = s.error();
        return o;
      }
    }
  }

  // 6. The HEF: into DIR/model.hef, then checked against the request.
  std::error_code ec;
  const fs::path produced = o.stages.back().produced;
  fs::rename(produced, o.plan.final_hef, ec);
  if (ec) {
    fs::copy_file(produced, o.plan.final_hef, fs::copy_options::overwrite_existing, ec);
  }
  if (ec) {
    return fail(ErrorCode::kIo, "cannot move {} to {}: {}", produced.string(),
                o.plan.final_hef.string(), ec.message());
  }
  o.hef = o.plan.final_hef;
  auto check = verify_hef_file(o.plan.final_hef, req.hw_arch, o.io);
  if (!check) {
    o.status = CompileStatus::kFailed;
    o.why = check.error().message;
    o.error = make_error(ErrorCode::kFailed, "the DFC's HEF {} cannot be read: {}",
                         o.plan.final_hef.string(), check.error().message);
  } else {
    o.hef_check = *check;
    if (!check->ok) {
      o.status = CompileStatus::kFailed;
      std::string problems;
      for (const auto& p : check->problems) {
        problems += fmt::format("{}{}", problems.empty() ? "" : "; ", p);
      }
      o.why = "the HEF does not match the request: " + problems;
      o.error = make_error(ErrorCode::kFailed, "{}: {}", o.plan.final_hef.string(), o.why);
    } else {
      o.status = CompileStatus::kCompiled;
      info(req,
           fmt::format("HEF {}: {}, input {}x{}x{}, {} classes, compiler {}",
                       o.plan.final_hef.string(), check->arch, check->input[0], check->input[1],
                       check->input[2], check->output_classes, check->compiler_version));
    }
  }
  if (auto s = write_manifest(req, o); !s) {
    o.status = CompileStatus::kFailed;
    o.error = s.error();
  }
  return o;
}

}  // namespace hdeploy::compile
