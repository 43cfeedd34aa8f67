#pragma once
// Internal to the bench module: the standard normal distribution the estimators use (the
// public distribution functions are declared in hdeploy/bench/statistics.hpp).

namespace hdeploy::bench {

// P(Z > z) of the standard normal distribution.
double normal_upper_tail(double z);

// The standard normal quantile: Abramowitz & Stegun 26.2.23 (error < 4.5e-4) polished by
// Halley steps on erfc to full double precision.
double normal_quantile(double p);

}  // namespace hdeploy::bench
