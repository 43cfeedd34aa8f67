// bench_stats_tool: hdeploy's benchmark statistics (hdeploy/bench/statistics.hpp) on samples
// given as JSON, so tests/test_statistics.py can compare them with numpy and scipy.
//
// Reads one JSON request object from stdin, or an array of them (answered by an array), and
// prints the result as one line of JSON on stdout. Requests ("confidence" defaults to 0.95):
//   {"op": "summarize", "samples": [...], "percentiles": [...], "confidence": c}
//   {"op": "percentile", "samples": [...], "percentiles": [...]}      (plain np.percentile)
//   {"op": "ranks", "n": n, "p": p, "confidence": c}
//   {"op": "t_quantile", "p": p, "dof": dof}
//   {"op": "throughput", "times": [...], "start": s, "end": s, "batches": k, "confidence": c}
//   {"op": "shift", "a": [...], "b": [...], "confidence": c}
//   {"op": "percentile_shift", "a": [...], "b": [...], "p": p, "confidence": c}
// Bad input (not JSON, unknown op or key, a missing or out-of-range value) exits 2 with one
// line on stderr.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hdeploy/bench/statistics.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/result.hpp"

namespace {

using hdeploy::ErrorCode;
using hdeploy::fail;
using hdeploy::Result;
using nlohmann::json;
namespace bench = hdeploy::bench;

Result<bool> check_keys(const json& request, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : request.items()) {
    bool known = key == "op";
    for (const char* name : allowed) known = known || key == name;
    if (!known) {
      return fail(ErrorCode::kInvalidArgument, "op '{}': unknown key '{}'",
                  request["op"].get<std::string>(), key);
    }
  }
  return true;
}

Result<double> number(const json& request, const char* key) {
  const auto it = request.find(key);
  if (it == request.end()) return fail(ErrorCode::kInvalidArgument, "missing key '{}'", key);
  if (!it->is_number()) return fail(ErrorCode::kInvalidArgument, "'{}' must be a number", key);
  const double value = it->get<double>();
  if (!std::isfinite(value)) return fail(ErrorCode::kInvalidArgument, "'{}' must be finite", key);
  return value;
}

Result<double> confidence_of(const json& request) {
  if (!request.contains("confidence")) return bench::kDefaultConfidence;
  auto confidence = number(request, "confidence");
  if (!confidence) return confidence;
  if (!(*confidence > 0.0 && *confidence < 1.0)) {
    return fail(ErrorCode::kInvalidArgument, "'confidence' must be in (0, 1), got {}", *confidence);
  }
  return confidence;
}

Result<double> percentile_of(const json& request, const char* key) {
  auto p = number(request, key);
  if (!p) return p;
  if (!(*p > 0.0 && *p < 100.0)) {
    return fail(ErrorCode::kInvalidArgument, "'{}' must be a percentile in (0, 100), got {}", key,
                *p);
  }
  return p;
}

Result<std::size_t> count(const json& request, const char* key) {
  const auto it = request.find(key);
  if (it == request.end()) return fail(ErrorCode::kInvalidArgument, "missing key '{}'", key);
  if (!it->is_number_unsigned()) {
    return fail(ErrorCode::kInvalidArgument, "'{}' must be a non-negative integer", key);
  }
  return it->get<std::size_t>();
}

Result<std::vector<double>> numbers(const json& request, const char* key) {
  const auto it = request.find(key);
  if (it == request.end()) return fail(ErrorCode::kInvalidArgument, "missing key '{}'", key);
  if (!it->is_array()) {
    return fail(ErrorCode::kInvalidArgument, "'{}' must be an array of numbers", key);
  }
  std::vector<double> values;
  values.reserve(it->size());
  for (const json& element : *it) {
    if (!element.is_number() || !std::isfinite(element.get<double>())) {
      return fail(ErrorCode::kInvalidArgument, "'{}' must hold only finite numbers", key);
    }
    values.push_back(element.get<double>());
  }
  return values;
}

Result<std::vector<double>> percentiles_of(const json& request) {
  if (!request.contains("percentiles")) {
    return std::vector<double>(bench::kDefaultPercentiles.begin(),
                               bench::kDefaultPercentiles.end());
  }
  auto percentiles = numbers(request, "percentiles");
  if (!percentiles) return percentiles;
  for (const double p : *percentiles) {
    if (!(p > 0.0 && p < 100.0)) {
      return fail(ErrorCode::kInvalidArgument, "percentiles must be in (0, 100), got {}", p);
    }
  }
  return percentiles;
}

json or_null(bool valid, double value) { return valid ? json(value) : json(nullptr); }
json why_or_null(const std::string& why) { return why.empty() ? json(nullptr) : json(why); }

Result<json> summarize(const json& request) {
  if (auto ok = check_keys(request, {"samples", "percentiles", "confidence"}); !ok) {
    return hdeploy::unexpected(ok.error());
  }
  auto samples = numbers(request, "samples");
  if (!samples) return hdeploy::unexpected(samples.error());
  auto percentiles = percentiles_of(request);
  if (!percentiles) return hdeploy::unexpected(percentiles.error());
  auto confidence = confidence_of(request);
  if (!confidence) return hdeploy::unexpected(confidence.error());
  const bench::SampleSummary summary = bench::summarize(*samples, *percentiles, *confidence);
  json estimates = json::array();
  for (const bench::PercentileEstimate& e : summary.percentiles) {
    estimates.push_back({{"percentile", e.percentile},
                         {"min_samples", e.min_samples},
                         {"supported", e.supported},
                         {"value", or_null(e.supported, e.value)},
                         {"ci_low", or_null(e.supported, e.ci_low)},
                         {"ci_high", or_null(e.supported, e.ci_high)},
                         {"why", why_or_null(e.why)}});
  }
  return json{{"count", summary.count},
              {"min", summary.min},
              {"mean", summary.mean},
              {"max", summary.max},
              {"stddev", summary.stddev},
              {"cv_percent", summary.cv_percent},
              {"confidence", summary.confidence},
              {"percentiles", std::move(estimates)}};
}

Result<json> percentile(const json& request) {
  if (auto ok = check_keys(request, {"samples", "percentiles"}); !ok) {
    return hdeploy::unexpected(ok.error());
  }
  auto samples = numbers(request, "samples");
  if (!samples) return hdeploy::unexpected(samples.error());
  if (samples->empty()) return fail(ErrorCode::kInvalidArgument, "'samples' is empty");
  auto percentiles = numbers(request, "percentiles");
  if (!percentiles) return hdeploy::unexpected(percentiles.error());
  for (const double p : *percentiles) {
    if (!(p >= 0.0 && p <= 100.0)) {
      return fail(ErrorCode::kInvalidArgument, "percentiles must be in [0, 100], got {}", p);
    }
  }
  std::vector<double> sorted = std::move(*samples);
  std::sort(sorted.begin(), sorted.end());
  json values = json::array();
  for (const double p : *percentiles) values.push_back(bench::percentile_of_sorted(sorted, p));
  return json{{"values", std::move(values)}};
}

Result<json> ranks(const json& request) {
  if (auto ok = check_keys(request, {"n", "p", "confidence"}); !ok) {
    return hdeploy::unexpected(ok.error());
  }
  auto n = count(request, "n");
  if (!n) return hdeploy::unexpected(n.error());
  auto p = percentile_of(request, "p");
  if (!p) return hdeploy::unexpected(p.error());
  auto confidence = confidence_of(request);
  if (!confidence) return hdeploy::unexpected(confidence.error());
  const bench::OrderStatisticInterval ranks =
      bench::percentile_confidence_ranks(*n, *p, *confidence);
  return json{{"exists", ranks.exists},
              {"lower", ranks.lower},
              {"upper", ranks.upper},
              {"achieved_confidence", ranks.achieved_confidence},
              {"min_samples", bench::min_samples_for_percentile(*p)}};
}

Result<json> t_quantile(const json& request) {
  if (auto ok = check_keys(request, {"p", "dof"}); !ok) return hdeploy::unexpected(ok.error());
  auto p = number(request, "p");
  if (!p) return hdeploy::unexpected(p.error());
  if (!(*p > 0.0 && *p < 1.0)) {
    return fail(ErrorCode::kInvalidArgument, "'p' must be in (0, 1), got {}", *p);
  }
  auto dof = number(request, "dof");
  if (!dof) return hdeploy::unexpected(dof.error());
  if (!(*dof > 0.0)) return fail(ErrorCode::kInvalidArgument, "'dof' must be > 0, got {}", *dof);
  return json{{"t", bench::student_t_quantile(*p, *dof)}};
}

Result<json> throughput(const json& request) {
  if (auto ok = check_keys(request, {"times", "start", "end", "batches", "confidence"}); !ok) {
    return hdeploy::unexpected(ok.error());
  }
  auto times = numbers(request, "times");
  if (!times) return hdeploy::unexpected(times.error());
  auto start = number(request, "start");
  if (!start) return hdeploy::unexpected(start.error());
  auto end = number(request, "end");
  if (!end) return hdeploy::unexpected(end.error());
  std::size_t batches = 20;
  if (request.contains("batches")) {
    auto given = count(request, "batches");
    if (!given) return hdeploy::unexpected(given.error());
    batches = *given;
  }
  auto confidence = confidence_of(request);
  if (!confidence) return hdeploy::unexpected(confidence.error());
  const bench::ThroughputEstimate estimate =
      bench::throughput_batch_means(*times, *start, *end, batches, *confidence);
  return json{{"fps", estimate.fps},
              {"ci_low", or_null(estimate.ci_valid, estimate.ci_low)},
              {"ci_high", or_null(estimate.ci_valid, estimate.ci_high)},
              {"confidence", estimate.confidence},
              {"batches", estimate.batches},
              {"batch_s", estimate.batch_s},
              {"ci_valid", estimate.ci_valid},
              {"why", why_or_null(estimate.why)}};
}

Result<json> shift(const json& request) {
  if (auto ok = check_keys(request, {"a", "b", "confidence"}); !ok) {
    return hdeploy::unexpected(ok.error());
  }
  auto a = numbers(request, "a");
  if (!a) return hdeploy::unexpected(a.error());
  auto b = numbers(request, "b");
  if (!b) return hdeploy::unexpected(b.error());
  auto confidence = confidence_of(request);
  if (!confidence) return hdeploy::unexpected(confidence.error());
  const bench::ShiftEstimate estimate = bench::hodges_lehmann_shift(*a, *b, *confidence);
  return json{{"shift", estimate.shift},     {"ci_low", estimate.ci_low},
              {"ci_high", estimate.ci_high}, {"confidence", estimate.confidence},
              {"p_value", estimate.p_value}, {"u_statistic", estimate.u_statistic},
              {"n_a", estimate.n_a},         {"n_b", estimate.n_b},
              {"thinned", estimate.thinned}};
}

Result<json> percentile_shift(const json& request) {
  if (auto ok = check_keys(request, {"a", "b", "p", "confidence"}); !ok) {
    return hdeploy::unexpected(ok.error());
  }
  auto a = numbers(request, "a");
  if (!a) return hdeploy::unexpected(a.error());
  auto b = numbers(request, "b");
  if (!b) return hdeploy::unexpected(b.error());
  auto p = percentile_of(request, "p");
  if (!p) return hdeploy::unexpected(p.error());
  auto confidence = confidence_of(request);
  if (!confidence) return hdeploy::unexpected(confidence.error());
  const auto estimate = bench::percentile_shift(*a, *b, *p, *confidence);
  if (!estimate) return json{{"supported", false}};
  return json{{"supported", true},
              {"shift", estimate->shift},
              {"ci_low", estimate->ci_low},
              {"ci_high", estimate->ci_high},
              {"confidence", estimate->confidence}};
}

Result<json> answer(const json& request) {
  if (!request.is_object()) return fail(ErrorCode::kInvalidArgument, "a request is not an object");
  const auto op = request.find("op");
  if (op == request.end() || !op->is_string()) {
    return fail(ErrorCode::kInvalidArgument, "a request has no string 'op'");
  }
  const auto name = op->get<std::string>();
  if (name == "summarize") return summarize(request);
  if (name == "percentile") return percentile(request);
  if (name == "ranks") return ranks(request);
  if (name == "t_quantile") return t_quantile(request);
  if (name == "throughput") return throughput(request);
  if (name == "shift") return shift(request);
  if (name == "percentile_shift") return percentile_shift(request);
  return fail(ErrorCode::kInvalidArgument,
              "unknown op '{}' (summarize, percentile, ranks, t_quantile, throughput, shift, "
              "percentile_shift)",
              name);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "bench_stats_tool: error: %s\n", message.c_str());
  return 2;
}

int run() {
  const std::string input{std::istreambuf_iterator<char>(std::cin),
                          std::istreambuf_iterator<char>()};
  const json request = json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return usage_error("stdin is not one valid JSON value");
  json output;
  if (request.is_array()) {
    output = json::array();
    for (std::size_t i = 0; i < request.size(); ++i) {
      auto result = answer(request[i]);
      if (!result) return usage_error(fmt::format("request {}: {}", i, result.error().message));
      output.push_back(std::move(*result));
    }
  } else {
    auto result = answer(request);
    if (!result) return usage_error(result.error().message);
    output = std::move(*result);
  }
  std::cout << hdeploy::json_text(output) << '\n';
  return 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {  // out of memory, or a bug in this tool
    std::fprintf(stderr, "bench_stats_tool: internal error: %s\n", e.what());
    return 1;
  }
}
