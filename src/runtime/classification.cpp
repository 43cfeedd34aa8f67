#include "hdeploy/runtime/classification.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hdeploy/core/file.hpp"

namespace hdeploy::runtime {

std::vector<float> softmax(std::span<const float> logits) {
  std::vector<float> probabilities(logits.size());
  if (logits.empty()) return probabilities;
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> exps(logits.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    exps[i] = std::exp(static_cast<double>(logits[i]) - max);
    sum += exps[i];
  }
  for (std::size_t i = 0; i < logits.size(); ++i) {
    probabilities[i] = static_cast<float>(exps[i] / sum);
  }
  return probabilities;
}

std::vector<ClassScore> top_k(std::span<const float> logits, std::size_t k,
                              const std::vector<std::string>& labels) {
  k = std::min(k, logits.size());
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  // Highest first; equal logits keep the lower index first.
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](int a, int b) {
                      const float la = logits[static_cast<std::size_t>(a)];
                      const float lb = logits[static_cast<std::size_t>(b)];
                      return la != lb ? la > lb : a < b;
                    });
  const auto probabilities = softmax(logits);
  std::vector<ClassScore> result;
  result.reserve(k);
  for (std::size_t i = 0; i < k; ++i) {
    const auto index = static_cast<std::size_t>(order[i]);
    ClassScore score;
    score.index = order[i];
    score.logit = logits[index];
    score.probability = probabilities[index];
    if (index < labels.size()) score.label = labels[index];
    result.push_back(std::move(score));
  }
  return result;
}

Result<std::vector<std::string>> load_labels(const std::filesystem::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(const std::string text, read_text_file(path));
  std::vector<std::string> labels;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(std::move(line));
    start = end + 1;
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  if (labels.empty()) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: no labels (the file is empty); expected one "
                "class name per line",
                path.string());
  }
  return labels;
}

}  // namespace hdeploy::runtime
