// The probability distributions behind the statistics: log Γ and the incomplete beta, the
// standard normal and Student t quantiles, and the binomial order statistics of percentiles
// (LoadGen's minimum sample count, confidence ranks). Functions of n, p and confidence only.

#include "distributions.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <numeric>
#include <vector>

#include "hdeploy/bench/statistics.hpp"

namespace hdeploy::bench {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// The tail of Stirling's series: log Γ(x) - ((x - 1/2) log x - x + log(2 pi) / 2), x >= 10.
double stirling_correction(double x) {
  const double inv = 1.0 / x;
  const double inv2 = inv * inv;
  // Bernoulli terms B2k / (2k (2k - 1) x^(2k - 1)) for k = 1..7; the next is below 1e-16.
  const double series =
      inv * (1.0 / 12.0 +
             inv2 * (-1.0 / 360.0 +
                     inv2 * (1.0 / 1260.0 +
                             inv2 * (-1.0 / 1680.0 +
                                     inv2 * (1.0 / 1188.0 +
                                             inv2 * (-691.0 / 360360.0 + inv2 * (1.0 / 156.0)))))));
  return series;
}

// log Γ(x) for x > 0: Stirling's series from x >= 10, reached by Γ(x + 1) = x Γ(x). Not
// std::lgamma, which writes the global `signgam` and so is not thread-safe.
double log_gamma(double x) {
  double product = 1.0;
  while (x < 10.0) {
    product *= x;
    x += 1.0;
  }
  const double half_log_two_pi = 0.91893853320467274178;  // log(2 pi) / 2
  return (x - 0.5) * std::log(x) - x + half_log_two_pi + stirling_correction(x) - std::log(product);
}

// log Γ(x) - log Γ(x + b) without the cancellation of two huge log Γ for large x (a t
// distribution with a million degrees of freedom needs log Γ(5e5) - log Γ(5e5 + 1/2)).
double log_gamma_ratio(double x, double b) {
  if (x < 10.0) return log_gamma(x) - log_gamma(x + b);
  return -(x + b - 0.5) * std::log1p(b / x) - b * std::log(x) + b + stirling_correction(x) -
         stirling_correction(x + b);
}

double log_beta(double a, double b) {
  return log_gamma(std::min(a, b)) + log_gamma_ratio(std::max(a, b), std::min(a, b));
}

// The continued fraction of the incomplete beta function (Numerical Recipes' betacf, modified
// Lentz); converges fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 100000;
  constexpr double kEpsilon = 3e-16;  // a step within about one ulp of 1
  constexpr double kTiny = 1e-300;
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double md = m;
    const double m2 = 2.0 * md;
    double aa = md * (b - md) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + md) * (qab + md) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return h;
}

// The regularized incomplete beta I_x(a, b) and its complement 1 - I_x(a, b), each with
// relative accuracy (the smaller one is computed directly). y = 1 - x is passed in so callers
// that know it exactly (t² / (dof + t²)) do not lose it to cancellation.
struct BetaSplit {
  double lower = 0.0;  // I_x(a, b)
  double upper = 0.0;  // 1 - I_x(a, b)
};
BetaSplit regularized_beta(double a, double b, double x, double y) {
  if (x <= 0.0) return {0.0, 1.0};
  if (y <= 0.0) return {1.0, 0.0};
  // log x from y when x is near 1 (and the other way round): with a huge a, a log x needs it.
  const double log_x = y < 0.5 ? std::log1p(-y) : std::log(x);
  const double log_y = x < 0.5 ? std::log1p(-x) : std::log(y);
  const double log_front = a * log_x + b * log_y - log_beta(a, b);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    const double lower = std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
    return {lower, 1.0 - lower};
  }
  const double upper = std::exp(log_front) * beta_continued_fraction(b, a, y) / b;
  return {1.0 - upper, upper};
}

// Student's t distribution with dof degrees of freedom, for t >= 0.
class StudentT {
 public:
  explicit StudentT(double dof)
      : dof_(dof),
        a_(0.5 * dof),
        log_beta_(log_beta(0.5 * dof, 0.5)),
        log_density_scale_(-log_gamma_ratio(0.5 * dof, 0.5) -
                           0.5 * std::log(dof * std::numbers::pi)) {}

  double log_density_scale() const { return log_density_scale_; }

  // log of the density at t = exp(log_t), through r = dof / t² so that no t² overflows.
  double log_density(double log_t) const {
    const double log_r = std::log(dof_) - 2.0 * log_t;
    // log(1 + t²/dof) = log(1 + 1/r)
    return log_density_scale_ - 0.5 * (dof_ + 1.0) * log1p_exp(-log_r);
  }
  double density(double t) const {
    return std::exp(log_density_scale_ - 0.5 * (dof_ + 1.0) * std::log1p(t * t / dof_));
  }

  // P(0 < T <= t) for t >= 0, relatively accurate for small t.
  double central(double t) const {
    const double t2 = t * t;
    if (t2 == 0.0) return 0.0;
    if (std::isinf(t2)) return 0.5;
    const BetaSplit split = regularized_beta(a_, 0.5, dof_ / (dof_ + t2), t2 / (dof_ + t2));
    return 0.5 * split.upper;
  }

  // log P(T > t) for t = exp(log_t) > 0, relatively accurate far into the tail.
  double log_upper_tail(double log_t) const {
    const double log_r = std::log(dof_) - 2.0 * log_t;  // r = dof / t²
    const double log_x = -log1p_exp(-log_r);            // x = dof / (dof + t²) = 1 / (1 + 1/r)
    const double log_y = -log1p_exp(log_r);             // y = t² / (dof + t²) = 1 / (1 + r)
    const double x = std::exp(log_x);
    if (x < (a_ + 1.0) / (a_ + 2.5)) {
      return std::log(0.5) + a_ * log_x + 0.5 * log_y - log_beta_ +
             std::log(beta_continued_fraction(a_, 0.5, x)) - std::log(a_);
    }
    const BetaSplit split = regularized_beta(a_, 0.5, x, std::exp(log_y));
    return std::log(0.5 * split.lower);
  }

 private:
  // log(1 + e^v) without overflow or cancellation.
  static double log1p_exp(double v) {
    return v > 0.0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
  }

  double dof_;
  double a_;
  double log_beta_;
  double log_density_scale_;
};

// Solves f(x) = 0 for an increasing f on [lo, hi] (f(lo) <= 0 <= f(hi)) by Newton steps that
// fall back to bisection when they leave the bracket (Numerical Recipes' rtsafe).
// Stops when a step is below `tolerance` * |x| (relative) or `tolerance` (absolute).
enum class Tolerance { kRelative, kAbsolute };
template <typename F, typename DF>
double solve_increasing(F f, DF df, double lo, double hi, double x, double tolerance,
                        Tolerance kind) {
  for (int i = 0; i < 300; ++i) {
    const double fx = f(x);
    if (fx == 0.0) return x;
    if (fx < 0.0) {
      lo = x;
    } else {
      hi = x;
    }
    const double slope = df(x);
    double next = x - fx / slope;
    if (!(slope > 0.0) || !(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const double scale = kind == Tolerance::kRelative ? std::fabs(next) : 1.0;
    if (std::fabs(next - x) <= tolerance * scale) return next;
    x = next;
  }
  return x;
}

// From this many degrees of freedom on, the t quantile is the normal one corrected by the
// Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5; the first omitted term is below
// 1e-16 of t there), because the incomplete beta loses digits to cancellation with huge a.
constexpr double kCornishFisherDof = 1e5;
double cornish_fisher_t(double z, double dof) {
  const double z2 = z * z;
  const double g1 = z * (z2 + 1.0) / 4.0;
  const double g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
  const double g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
  const double g4 =
      z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
  const double inv = 1.0 / dof;
  return z + inv * (g1 + inv * (g2 + inv * (g3 + inv * g4)));
}

// The t with P(T > t) = tail for 0 < tail <= 0.5.
double student_t_upper_quantile(double tail, double dof) {
  const StudentT dist(dof);
  if (tail >= 0.25) {
    // Near the centre: solve P(0 < T <= t) = 0.5 - tail (exact in double), concave in t.
    const double target = 0.5 - tail;
    if (target == 0.0) return 0.0;
    double hi = 1.0;
    while (dist.central(hi) < target) hi *= 2.0;
    const auto f = [&](double t) { return dist.central(t) - target; };
    const auto df = [&](double t) { return dist.density(t); };
    const double start = std::min(target / dist.density(0.0), hi);
    return solve_increasing(f, df, 0.0, hi, start, 1e-15, Tolerance::kRelative);
  }
  // In the tail: solve log P(T > t) = log(tail) in u = log t, where it is nearly linear.
  const double log_tail = std::log(tail);
  const auto f = [&](double u) { return log_tail - dist.log_upper_tail(u); };  // increasing
  const auto df = [&](double u) {
    return std::exp(u + dist.log_density(u) - dist.log_upper_tail(u));
  };
  // Start from the Cornish-Fisher expansion or the power-law tail, whichever is further out.
  const double z = -normal_quantile(tail);  // not of 1 - tail, which may round to 1
  const double z3 = z * z * z;
  const double cornish_fisher =
      z + (z3 + z) / (4.0 * dof) + (5.0 * z3 * z * z + 16.0 * z3 + 3.0 * z) / (96.0 * dof * dof);
  // For large t the density is scale dof^((dof + 1) / 2) t^(-dof - 1), so
  // P(T > t) ~ scale dof^((dof - 1) / 2) t^(-dof).
  const double log_power_tail =
      (dist.log_density_scale() + 0.5 * (dof - 1.0) * std::log(dof) - log_tail) / dof;
  double u = std::max(std::log(std::max(cornish_fisher, 0.5)), log_power_tail);
  double lo = u;
  double hi = u;
  while (f(lo) > 0.0) lo -= 1.0;
  while (f(hi) < 0.0) hi += 1.0;
  u = std::clamp(u, lo, hi);
  return std::exp(solve_increasing(f, df, lo, hi, u, 1e-15, Tolerance::kAbsolute));
}

}  // namespace

double normal_upper_tail(double z) { return 0.5 * std::erfc(z / std::numbers::sqrt2); }

double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) {
    if (p == 0.0) return -std::numeric_limits<double>::infinity();
    if (p == 1.0) return std::numeric_limits<double>::infinity();
    return kNan;
  }
  const bool upper_half = p > 0.5;
  const double tail = upper_half ? 1.0 - p : p;  // exact for p > 0.5 (Sterbenz)
  const double t = std::sqrt(-2.0 * std::log(tail));
  double z = t - (2.515517 + t * (0.802853 + t * 0.010328)) /
                     (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  // z solves P(Z > z) = tail; refine on that equation, where erfc keeps relative accuracy.
  for (int i = 0; i < 4; ++i) {
    const double error = normal_upper_tail(z) - tail;
    const double density = std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
    if (density <= 0.0) break;
    const double u = error / density;  // Newton step for the decreasing upper tail
    z += u / (1.0 + 0.5 * z * u);      // Halley's correction
  }
  return upper_half ? z : -z;
}

std::size_t min_samples_for_percentile(double p) {
  // LoadGen (mlcommons/inference loadgen/results.cc, PerformanceSummary::EarlyStopping) needs
  // h_min + 1 queries, h_min = MinPassingQueriesFinder(t = 1, p, d = 0, c = 0.99): the least h
  // with BetaRegularized(p, h, 1 + t) < 1 - c, i.e. P(at most t = 1 of h + 1 queries over
  // the latency bound) < 0.01 when each is over with probability 1 - p. With n = h + 1:
  // P(Binomial(n, 1 - p) <= 1) = p^n + n p^(n-1) (1 - p), decreasing in n.
  constexpr double kLogOneMinusConfidence = -4.6051701859880914;  // log(1 - 0.99)
  if (!(p < 100.0)) return std::numeric_limits<std::size_t>::max();
  if (p <= 0.0) return 2;
  const double q_over = (100.0 - p) / 100.0;  // probability of a sample above the percentile
  const double log_p = std::log1p(-q_over);
  const auto log_pass_odds = [&](double n) {
    return (n - 1.0) * log_p + std::log(1.0 - q_over + n * q_over);
  };
  std::size_t lo = 2;  // LoadGen's h starts at 1
  std::size_t hi = 4;
  while (!(log_pass_odds(static_cast<double>(hi)) < kLogOneMinusConfidence)) {
    lo = hi;
    hi *= 2;
    if (hi > (std::size_t{1} << 60)) return std::numeric_limits<std::size_t>::max();
  }
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (log_pass_odds(static_cast<double>(mid)) < kLogOneMinusConfidence) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

OrderStatisticInterval percentile_confidence_ranks(std::size_t n, double p, double confidence) {
  OrderStatisticInterval out;
  const double q = p / 100.0;
  if (n == 0 || !(q > 0.0 && q < 1.0) || !(confidence > 0.0 && confidence < 1.0)) return out;
  const auto nd = static_cast<double>(n);
  out.lower = 0;
  out.upper = n - 1;
  // [0, n-1] misses when all n samples are above (prob (1-q)^n) or all below (q^n).
  const double full =
      n == 1 ? 0.0
             : std::max(0.0, 1.0 - std::exp(nd * std::log1p(-q)) - std::exp(nd * std::log(q)));
  out.achieved_confidence = full;
  if (full < confidence) return out;

  // B = the number of samples below the percentile ~ Binomial(n, q). 0-based ranks [l, u]
  // cover it with probability P(l < B <= u) = 1 - P(B <= l) - P(B > u). The pmf is computed
  // relative to its mode by the ratio recurrence over the window where it exceeds 1e-22 of
  // the mode (outside that, less than 1e-20 of the mass: about ±10 sd), then normalized.
  constexpr double kNegligible = 1e-22;
  const std::size_t mode = std::min(n, static_cast<std::size_t>(std::floor((nd + 1.0) * q)));
  const double odds = q / (1.0 - q);
  const auto step_up = [&](std::size_t k) {  // pmf(k + 1) / pmf(k)
    return (nd - static_cast<double>(k)) / static_cast<double>(k + 1) * odds;
  };
  const auto step_down = [&](std::size_t k) {  // pmf(k - 1) / pmf(k)
    return static_cast<double>(k) / (nd - static_cast<double>(k) + 1.0) / odds;
  };
  std::size_t lo = mode;
  for (double w = 1.0; lo > 0;) {
    w *= step_down(lo);
    if (w < kNegligible) break;
    --lo;
  }
  std::size_t hi = mode;
  for (double w = 1.0; hi < n;) {
    w *= step_up(hi);
    if (w < kNegligible) break;
    ++hi;
  }
  std::vector<double> pmf(hi - lo + 1);
  pmf[mode - lo] = 1.0;
  for (std::size_t k = mode; k > lo; --k) pmf[k - 1 - lo] = pmf[k - lo] * step_down(k);
  for (std::size_t k = mode; k < hi; ++k) pmf[k + 1 - lo] = pmf[k - lo] * step_up(k);
  const double total = std::accumulate(pmf.begin(), pmf.end(), 0.0);
  // at_most[i] = P(B <= lo + i), above[i] = P(B > lo + i), each summed from its own small end.
  std::vector<double> at_most(pmf.size());
  std::vector<double> above(pmf.size());
  double running = 0.0;
  for (std::size_t i = 0; i < pmf.size(); ++i) {
    running += pmf[i] / total;
    at_most[i] = running;
  }
  running = 0.0;
  for (std::size_t i = pmf.size(); i-- > 0;) {
    above[i] = running;
    running += pmf[i] / total;
  }
  const auto prob_at_most = [&](std::size_t k) { return k < lo ? 0.0 : at_most[k - lo]; };
  const auto prob_above = [&](std::size_t k) { return k >= hi ? 0.0 : above[k - lo]; };

  // For each lower rank the least upper rank that reaches the confidence; both only grow.
  const double allowed_miss = 1.0 - confidence;
  const std::size_t l_first = lo > 0 ? lo - 1 : 0;
  const std::size_t u_last = std::min(hi, n - 1);
  bool found = false;
  std::size_t best_width = 0;
  double best_asymmetry = 0.0;
  double best_coverage = 0.0;
  std::size_t u = l_first + 1;
  for (std::size_t l = l_first; l < u_last; ++l) {
    const double below_miss = prob_at_most(l);
    if (below_miss > allowed_miss) break;
    u = std::max(u, l + 1);
    while (u <= u_last && below_miss + prob_above(u) > allowed_miss) ++u;
    if (u > u_last) break;
    const double above_miss = prob_above(u);
    const std::size_t width = u - l;
    const double asymmetry = std::fabs(below_miss - above_miss);
    const double coverage = 1.0 - (below_miss + above_miss);
    // Ties within rounding (mirror images for p50) keep the lower interval.
    constexpr double kSame = 1e-12;
    const bool better =
        !found || width < best_width ||
        (width == best_width &&
         (asymmetry < best_asymmetry - kSame ||
          (asymmetry <= best_asymmetry + kSame && coverage > best_coverage + kSame)));
    if (better) {
      found = true;
      best_width = width;
      best_asymmetry = asymmetry;
      best_coverage = coverage;
      out.lower = l;
      out.upper = u;
    }
  }
  out.exists = true;
  out.achieved_confidence = found ? best_coverage : full;
  return out;
}

double student_t_quantile(double p, double dof) {
  if (!(p > 0.0 && p < 1.0) || !(dof > 0.0)) return kNan;
  if (p == 0.5) return 0.0;
  if (dof >= kCornishFisherDof) return cornish_fisher_t(normal_quantile(p), dof);
  const double tail = p > 0.5 ? 1.0 - p : p;  // exact for p > 0.5 (Sterbenz)
  const double t = student_t_upper_quantile(tail, dof);
  return p > 0.5 ? t : -t;
}

}  // namespace hdeploy::bench
