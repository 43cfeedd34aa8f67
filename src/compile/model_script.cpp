#include "hdeploy/compile/model_script.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "hdeploy/core/process.hpp"

namespace hdeploy::compile {

Result<GpuMode> parse_gpu_mode(std::string_view text) {
  if (text == "auto") return GpuMode::kAuto;
  if (text == "yes") return GpuMode::kYes;
  if (text == "no") return GpuMode::kNo;
  return fail(ErrorCode::kInvalidArgument, "--gpu is '{}'; use auto, yes or no", text);
}

GpuDetection detect_gpu(GpuMode mode, const std::string& nvidia_smi) {
  if (mode == GpuMode::kYes) return {true, "--gpu yes"};
  if (mode == GpuMode::kNo) return {false, "--gpu no"};
  auto outcome = run_process({nvidia_smi, "-L"}, {.timeout = std::chrono::seconds(20)});
  if (!outcome) return {false, fmt::format("{} not found: no NVIDIA GPU visible", nvidia_smi)};
  if (!outcome->succeeded()) {
    return {false, fmt::format("{} -L failed (exit {}): no GPU visible", nvidia_smi,
                               outcome->exit_status)};
  }
  std::istringstream lines(outcome->stdout_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("GPU ", 0) == 0) {
      return {true, fmt::format("{} -L listed: {}", nvidia_smi, line)};
    }
  }
  return {false, fmt::format("{} -L listed no GPU", nvidia_smi)};
}

std::string format_alls_number(double value) {
  const double rounded = std::round(value * 1e6) / 1e6;
  std::string text = fmt::format("{}", rounded == 0.0 ? 0.0 : rounded);  // no "-0"
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

double to_0_255(float unit_value) {
  // fmt prints the shortest decimal that reads back as this float: 0.485F → "0.485".
  const std::string decimal = fmt::format("{}", unit_value);
  return std::strtod(decimal.c_str(), nullptr) * 255.0;
}

ModelScript render_model_script(const ModelSpec& spec, const GpuDetection& gpu) {
  ModelScript script;
  script.compression_level = spec.hailo.compression_level;
  if (gpu.visible || spec.hailo.optimization_level == 0) {
    script.optimization_level = spec.hailo.optimization_level;
    script.level_reason = fmt::format("the spec's optimization_level ({})",
                                      gpu.visible ? gpu.how : "no GPU needed at level 0");
  } else {
    script.optimization_level = 0;
    script.level_reason = fmt::format("forced to 0 (spec: {}): no GPU visible to the DFC ({})",
                                      spec.hailo.optimization_level, gpu.how);
    script.warnings.push_back(fmt::format(
        "optimization_level {} needs a GPU the DFC can use; none is visible ({}), so the model "
        "script uses optimization_level=0 (lower accuracy after quantization); compile on a "
        "host with an NVIDIA GPU or pass --gpu yes if the DFC sees one",
        spec.hailo.optimization_level, gpu.how));
  }
  const auto& p = spec.preprocess;
  std::string mean, std;
  for (std::size_t c = 0; c < 3; ++c) {
    mean += fmt::format("{}{}", c ? ", " : "", format_alls_number(to_0_255(p.mean[c])));
    std += fmt::format("{}{}", c ? ", " : "", format_alls_number(to_0_255(p.std[c])));
  }
  std::string text;
  text += fmt::format("normalization1 = normalization([{}], [{}])\n", mean, std);
  text += fmt::format("model_optimization_flavor(optimization_level={}, compression_level={})\n",
                      script.optimization_level, script.compression_level);
  if (!spec.hailo.model_script.empty()) {
    for (const auto& line : spec.hailo.model_script) text += line + "\n";
  }
  script.text = std::move(text);
  return script;
}

}  // namespace hdeploy::compile
