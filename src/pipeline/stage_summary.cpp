// The pipeline's per-stage summaries: the few numbers of each command's --json that the
// manifest and the success table keep.

#include "hdeploy/bench/run_record.hpp"
#include "hdeploy/pipeline/pipeline.hpp"
#include "pipeline_internal.hpp"

namespace hdeploy::pipeline {
namespace fs = std::filesystem;
using detail::at_or_null;
using detail::manifest_path;
using detail::str_or;
using nlohmann::json;

namespace {

// A path from a stage's JSON, relative to the pipeline folder when inside it.
json rel_path(const json& v, const fs::path& dir) {
  return v.is_string() ? json(manifest_path(v.get<std::string>(), dir)) : json(nullptr);
}

}  // namespace

json summarize_stage(Stage stage, const json& j, const fs::path& dir) {
  json s = json::object();
  switch (stage) {
    case Stage::kExport:
      s = {{"opset", at_or_null(j, "opset")},
           {"ir_version", at_or_null(j, "ir_version")},
           {"weights", at_or_null(at_or_null(j, "weights"), "kind")},
           {"logits_std", at_or_null(j, "logits_std")},
           {"onnx", "export/model.onnx"}};
      break;
    case Stage::kCheck: {
      const json& p = at_or_null(j, "parity");
      s = {{"ok", at_or_null(j, "ok")},
           {"structure_ok", at_or_null(at_or_null(j, "structure"), "ok")},
           {"parity_ran", at_or_null(p, "ran")},
           {"parity_pass", at_or_null(p, "pass")},
           {"parity_reason", at_or_null(p, "reason")},
           {"max_abs_diff", at_or_null(p, "max_abs_diff")},
           {"top1_agree", at_or_null(p, "top1_agree")},
           {"topk_identical", at_or_null(p, "topk_identical")}};
      break;
    }
    case Stage::kCalib:
      s = {{"npy", rel_path(at_or_null(j, "npy"), dir)},
           {"shape", at_or_null(j, "shape")},
           {"count_requested", at_or_null(j, "count_requested")},
           {"count_used", at_or_null(j, "count_used")},
           {"skipped", at_or_null(j, "skipped").is_array() ? at_or_null(j, "skipped").size() : 0},
           {"warnings", at_or_null(j, "warnings")}};
      break;
    case Stage::kCompile: {
      const json& check = at_or_null(j, "hef_check");
      s = {{"status", at_or_null(j, "status")},
           {"why", at_or_null(j, "why")},
           {"hef", rel_path(at_or_null(j, "hef"), dir)},
           {"arch", at_or_null(check, "arch")},
           {"hef_ok", at_or_null(check, "ok")},
           {"dfc_version", at_or_null(at_or_null(j, "dfc"), "version")},
           {"optimization_level", at_or_null(j, "optimization_level")},
           {"gpu", at_or_null(j, "gpu")},
           {"pairing", at_or_null(j, "pairing")},
           {"warnings", at_or_null(j, "warnings")}};
      break;
    }
    case Stage::kInspect: {
      const json& compatible = at_or_null(j, "compatible");
      s = {{"arch", at_or_null(j, "arch")},
           {"compiler_version", at_or_null(j, "compiler_version")},
           {"compatible", at_or_null(compatible, "ok")},
           {"device", at_or_null(compatible, "device")},
           {"runtime", at_or_null(compatible, "runtime")},
           {"reasons", at_or_null(compatible, "reasons")}};
      break;
    }
    case Stage::kInfer: {
      json top1 = json::array();
      for (const auto& r : at_or_null(j, "results")) {
        const json& top = at_or_null(r, "top_k");
        json entry = {{"image", fs::path(str_or(r, "image")).filename().string()}};
        if (top.is_array() && !top.empty()) {
          entry["label"] = at_or_null(top[0], "label");
          entry["probability"] = at_or_null(top[0], "probability");
        } else {
          entry["error"] = at_or_null(r, "error");
        }
        top1.push_back(std::move(entry));
      }
      s = {{"backend", at_or_null(j, "backend")},
           {"backend_description", at_or_null(j, "backend_description")},
           {"top1", top1}};
      break;
    }
    case Stage::kBench: {
      // Bench's --json is its run record (without frames): read it as the record type.
      auto record = bench::parse_run_record(j, "bench --json");
      if (!record) {
        s = {{"error", record.error().message}, {"record", "bench/run/run.json"}};
        break;
      }
      const bench::RunResults& results = record->results;
      auto percentile = [&results](double p) -> json {
        if (!results.latency) return nullptr;
        const bench::PercentileResult* e = results.latency->find(p);
        return e != nullptr && e->value ? json(*e->value) : json(nullptr);
      };
      auto optional = [](const auto& v) -> json { return v ? json(*v) : json(nullptr); };
      s = {{"backend", optional(record->context.backend)},
           {"backend_description", optional(record->context.backend_description)},
           {"scenario", optional(record->config.scenario)},
           {"frames", optional(results.frames)},
           {"fps", optional(results.throughput.fps)},
           {"fps_why", optional(results.throughput.why)},
           {"p50_ms", percentile(50.0)},
           {"p99_ms", percentile(99.0)},
           {"latency_why", results.latency && !results.latency->why.empty()
                               ? json(results.latency->why)
                               : json(nullptr)},
           {"cpu_percent_of_all_cores",
            record->system ? json(record->system->cpu_percent_of_all_cores) : json(nullptr)},
           {"cores", record->system ? json(record->system->cores) : json(nullptr)},
           {"record", "bench/run/run.json"}};
      break;
    }
    case Stage::kReport: {
      json files = json::object();
      for (const auto& [k, v] : at_or_null(j, "files").items()) files[k] = rel_path(v, dir);
      s = {{"files", files}};
      break;
    }
  }
  return s;
}

}  // namespace hdeploy::pipeline
