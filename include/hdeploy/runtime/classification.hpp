#pragma once
// Host-side post-processing of a classifier's output: softmax and top-k with labels.

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::runtime {

struct ClassScore {
  int index = 0;
  float logit = 0.0F;
  float probability = 0.0F;
  std::string label;  // empty when no labels are known
};

// Numerically stable softmax (subtracts the maximum), in float64 accumulation.
std::vector<float> softmax(std::span<const float> logits);

// The k highest logits, highest first; ties keep the lower index first (as torch.topk on CPU
// for distinct values). Probabilities from softmax over all logits.
std::vector<ClassScore> top_k(std::span<const float> logits, std::size_t k,
                              const std::vector<std::string>& labels = {});

// One label per line (a trailing \r is stripped); blank trailing lines ignored. Errors:
// read_file's, kInvalidFormat naming the file when it holds no labels.
Result<std::vector<std::string>> load_labels(const std::filesystem::path& path);

}  // namespace hdeploy::runtime
