// The success table: five rows, each with its number or the reason it could not be had here.
// Built only from the manifest, so a partial run (--until, a failed stage) gets a table too.

#include <fmt/format.h>

#include "hdeploy/pipeline/pipeline.hpp"

namespace hdeploy::pipeline {
namespace {
using nlohmann::json;

const json& get(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string text(const json& j, std::string_view key, const std::string& fallback = "") {
  const json& v = get(j, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

bool succeeded(const StageRecord* r) {
  return r != nullptr && (r->status == StageStatus::kRan || r->status == StageStatus::kSkipped);
}

// Why a row has no number: the stage has no record, failed, or could not run.
SuccessRow missing(std::string item, const StageRecord* r, Stage stage) {
  if (r == nullptr) {
    return {std::move(item), "not run",
            fmt::format("not run: the {} stage has not run in this folder", stage_name(stage))};
  }
  if (r->status == StageStatus::kFailed) {
    return {std::move(item), "no", fmt::format("{} failed: {}", stage_name(stage), r->why)};
  }
  return {std::move(item), "not run", "not run: " + r->why};
}

SuccessRow export_row(const Manifest& m) {
  const std::string item = "ONNX export validated";
  const StageRecord* exp = m.find(Stage::kExport);
  if (!succeeded(exp)) return missing(item, exp, Stage::kExport);
  const StageRecord* check = m.find(Stage::kCheck);
  if (!succeeded(check)) return missing(item, check, Stage::kCheck);
  const json& s = check->summary;
  if (get(s, "ok") != json(true)) return {item, "no", "check reported errors (logs/check.json)"};
  if (get(s, "parity_ran") == json(true) && get(s, "max_abs_diff").is_number()) {
    return {item, "yes",
            fmt::format("max abs diff {:.2g} vs PyTorch, top-1 {}; ONNX checker and Hailo lint "
                        "passed",
                        get(s, "max_abs_diff").get<double>(),
                        get(s, "top1_agree") == json(true) ? "agrees" : "DIFFERS")};
  }
  return {item, "yes",
          fmt::format("ONNX checker and Hailo lint passed; parity {}",
                      text(s, "parity_reason", "not run"))};
}

SuccessRow hef_row(const Manifest& m) {
  const std::string item = "HEF produced";
  const StageRecord* compile = m.find(Stage::kCompile);
  if (compile == nullptr || compile->status == StageStatus::kFailed) {
    return missing(item, compile, Stage::kCompile);
  }
  const json& s = compile->summary;
  const std::string status = text(s, "status");
  const StageRecord* inspect = m.find(Stage::kInspect);
  const json& is = inspect != nullptr ? inspect->summary : json();
  if (status == "given") {
    std::string detail = fmt::format("{} from --hef, not compiled here", text(s, "hef"));
    if (succeeded(inspect)) {
      detail += fmt::format("; {}, compiler {} (inspect)", text(is, "arch", "?"),
                            text(is, "compiler_version", "?"));
    }
    return {item, "given", detail};
  }
  if (status == "compiled") {
    std::string arch = text(s, "arch", text(is, "arch", "?"));
    return {item, "yes",
            fmt::format("{} {} DFC {}", text(s, "hef", "compile/model.hef"), arch,
                        text(s, "dfc_version", "?"))};
  }
  const std::string why = text(s, "why", compile->why);
  return {item, "not run", "not run: " + why};
}

SuccessRow hailo_row(const Manifest& m, bool have_hailort) {
  const std::string item = "inference on Hailo";
  const StageRecord* infer = m.find(Stage::kInfer);
  if (!succeeded(infer)) return missing(item, infer, Stage::kInfer);
  const json& s = infer->summary;
  const std::string backend = text(s, "backend", "?");
  std::string top1;
  const json& results = get(s, "top1");
  if (results.is_array() && !results.empty()) {
    top1 = fmt::format("; {} images, top-1 of {}: {}", results.size(), text(results[0], "image"),
                       text(results[0], "label", "?"));
  }
  if (backend == "hailo") {
    return {item, "yes", fmt::format("{}{}", text(s, "backend_description", "hailo"), top1)};
  }
  const std::string why = m.options.value("backend", "auto") == "sim"
                              ? "--backend sim was asked for"
                          : !have_hailort ? "no HailoRT here (the hailo plugin did not load)"
                                          : "no Hailo device answered";
  return {item, "no",
          fmt::format("{}; inference ran on the {} ({}){}", why, backend,
                      text(s, "label", text(s, "backend_description")), top1)};
}

std::string ms(const json& v) {
  return v.is_number() ? fmt::format("{:.2f} ms", v.get<double>()) : "not measured";
}

SuccessRow fps_row(const Manifest& m) {
  const std::string item = "FPS and latency measured";
  const StageRecord* bench = m.find(Stage::kBench);
  if (!succeeded(bench)) return missing(item, bench, Stage::kBench);
  const json& s = bench->summary;
  if (!get(s, "fps").is_number()) {
    return {item, "no", "not measured: " + text(s, "fps_why", "bench recorded no throughput")};
  }
  const std::string backend = text(s, "backend", "?");
  const std::string where = backend == "hailo" ? "hailo" : backend + ", not hardware";
  return {item, "yes",
          fmt::format("{}: {:.1f} FPS, p50 {}, p99 {} ({} scenario, {})", where,
                      get(s, "fps").get<double>(), ms(get(s, "p50_ms")), ms(get(s, "p99_ms")),
                      text(s, "scenario", "?"), text(s, "record", "bench/run/run.json"))};
}

SuccessRow cpu_row(const Manifest& m) {
  const std::string item = "CPU utilisation recorded";
  const StageRecord* bench = m.find(Stage::kBench);
  if (!succeeded(bench)) return missing(item, bench, Stage::kBench);
  const json& cpu = get(bench->summary, "cpu_percent_of_all_cores");
  if (!cpu.is_number()) return {item, "no", "not measured: bench recorded no process CPU time"};
  const StageRecord* report = m.find(Stage::kReport);
  const std::string where =
      succeeded(report) ? "per-thread in report/report.md" : "per-thread in bench/run/run.json";
  const json& cores = get(bench->summary, "cores");
  return {
      item, "yes",
      fmt::format("{:.1f}% of all cores{}, {}", cpu.get<double>(),
                  cores.is_number() ? fmt::format(" ({} cores)", cores.get<int>()) : "", where)};
}

}  // namespace

std::vector<SuccessRow> success_table(const Manifest& manifest, bool have_hailort) {
  return {export_row(manifest), hef_row(manifest), hailo_row(manifest, have_hailort),
          fps_row(manifest), cpu_row(manifest)};
}

std::string render_success_table(const std::vector<SuccessRow>& rows,
                                 const std::vector<std::string>& notes, const std::string& title) {
  std::string out = fmt::format("# {}\n\n| | result | detail |\n|---|---|---|\n", title);
  for (const auto& r : rows) out += fmt::format("| {} | {} | {} |\n", r.item, r.result, r.detail);
  if (!notes.empty()) out += '\n';
  for (const auto& n : notes) out += fmt::format("- {}\n", n);
  return out;
}

}  // namespace hdeploy::pipeline
