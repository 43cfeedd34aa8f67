#pragma once
// The Dataflow Compiler's model script (.alls) for a model spec: on-chip normalisation in 0-255
// space, the optimisation flavour (level 0 when the DFC sees no GPU), and the spec's own lines.

#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/result.hpp"

namespace hdeploy::compile {

// Whether the DFC will find a GPU: `auto` asks `nvidia-smi -L`, `yes`/`no` are the user's word.
enum class GpuMode { kAuto, kYes, kNo };
// Errors: kInvalidArgument for anything but auto, yes, no.
Result<GpuMode> parse_gpu_mode(std::string_view text);

struct GpuDetection {
  bool visible = false;
  std::string how;  // "nvidia-smi -L listed: GPU 0: ...", "nvidia-smi not found", "--gpu no"
};

// kAuto runs `nvidia_smi -L` (a missing program or an empty listing means no GPU); the others
// only record the override.
GpuDetection detect_gpu(GpuMode mode, const std::string& nvidia_smi = "nvidia-smi");

// A 0-255 value as the script prints it: rounded to 6 decimals, the shortest decimal that reads
// back the same, always with a decimal point ("123.675", "255.0").
std::string format_alls_number(double value);

// mean/std (0-1 units, as the spec stores them) in 0-255 space, per channel. The float is first
// read as the decimal it was written as (0.485F → 0.485) so that 0.485 * 255 prints 123.675.
double to_0_255(float unit_value);

struct ModelScript {
  std::string text;  // the .alls, ending in a newline
  int optimization_level = 0;
  int compression_level = 0;
  std::string level_reason;           // why this optimisation level
  std::vector<std::string> warnings;  // e.g. level forced to 0 without a GPU
};

// Renders the .alls: `normalization1 = normalization([..], [..])`,
// `model_optimization_flavor(optimization_level=L, compression_level=C)` and the spec's [hailo]
// model_script lines. Commands only, no comments: no published model script has them, so the
// DFC's parser is not trusted with them; what made the file is recorded in manifest.json and
// commands.sh instead. Pure: no I/O.
ModelScript render_model_script(const ModelSpec& spec, const GpuDetection& gpu);

}  // namespace hdeploy::compile
