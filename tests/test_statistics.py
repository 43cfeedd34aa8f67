"""hdeploy's benchmark statistics (src/bench/distributions.cpp, estimators.cpp) vs scipy.

Runs the test tool bench_stats_tool (JSON requests on stdin, results on stdout) from
$HDEPLOY_BUILD_DIR/src/bench (HDEPLOY_BUILD_DIR defaults to build/) on fixed sample sets drawn
with numpy seeds, and compares with numpy 1.24 / scipy 1.10 (Debian's /usr/bin/python3).
"""
import functools
import json
import math
import os
import pathlib
import subprocess

import numpy as np
import pytest
from scipy import stats

ROOT = pathlib.Path(__file__).resolve().parent.parent


def build_dir() -> pathlib.Path:
    given = os.environ.get("HDEPLOY_BUILD_DIR")
    if not given:
        return ROOT / "build"
    path = pathlib.Path(given)
    if path.is_absolute() or path.exists():
        return path.resolve()
    return ROOT / path


TOOL = build_dir() / "src" / "bench" / "bench_stats_tool"


def run_tool(requests, check=0):
    """Sends `requests` (one object or a list) to the tool; returns the CompletedProcess."""
    payload = requests if isinstance(requests, str) else json.dumps(requests)
    proc = subprocess.run([str(TOOL)], input=payload, capture_output=True, text=True,
                          timeout=300)
    if check is not None:
        assert proc.returncode == check, (
            f"bench_stats_tool exited {proc.returncode}, expected {check}\n"
            f"stderr:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def tool():
    if not TOOL.is_file():
        pytest.fail(f"{TOOL} does not exist: build it (ninja -C {TOOL.parents[2]} "
                    f"bench_stats_tool) or set HDEPLOY_BUILD_DIR to the build folder")

    def ask(requests):
        return json.loads(run_tool(requests).stdout)

    return ask


def sample_sets():
    """Fixed sample sets: sizes around LoadGen's minimums, ties, heavy tails."""
    rng = np.random.default_rng(20240611)
    return {
        "one": np.array([3.25]),
        "two": np.array([2.0, 1.0]),
        "seven": rng.normal(10.0, 2.0, 7),
        "ties_100": rng.integers(0, 5, 100).astype(float),
        "lognormal_663": rng.lognormal(0.0, 0.6, 663),
        "exponential_1000": rng.exponential(2.0, 1000),
        "ties_5000": np.round(rng.gamma(2.0, 1.5, 5000), 1),
        "lognormal_6636": rng.lognormal(1.0, 0.2, 6636),
        "uniform_100000": rng.uniform(1.0, 2.0, 100_000),
        "negative_mean_300": rng.normal(-1.0, 0.5, 300),
    }


SAMPLE_SETS = sample_sets()
PERCENTILES = [50.0, 90.0, 95.0, 99.0, 99.9]


@functools.lru_cache(maxsize=None)
def loadgen_min_samples(p):
    """LoadGen's early-stopping minimum h_min + 1 (loadgen/results.cc, t = 1, c = 0.99):
    the least n with P(Binomial(n, 1 - p/100) <= 1) < 0.01."""
    n = np.arange(2, 100_000)
    return int(n[np.argmax(stats.binom.cdf(1, n, 1.0 - p / 100.0) < 0.01)])


def test_loadgen_minimums(tool):
    got = tool([{"op": "ranks", "n": 0, "p": p} for p in PERCENTILES])
    minimums = [r["min_samples"] for r in got]
    assert minimums == [11, 64, 130, 662, 6636]
    assert minimums == [loadgen_min_samples(p) for p in PERCENTILES]


@pytest.mark.parametrize("name", SAMPLE_SETS)
def test_percentiles_match_numpy(tool, name):
    x = SAMPLE_SETS[name]
    ps = [0.0, 0.1, 1.0, 5.0, 25.0, 33.3, 50.0, 62.5, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0]
    got = tool({"op": "percentile", "samples": x.tolist(), "percentiles": ps})
    np.testing.assert_array_equal(got["values"], np.percentile(x, ps))


@pytest.mark.parametrize("name", SAMPLE_SETS)
def test_summary_matches_numpy(tool, name):
    x = SAMPLE_SETS[name]
    n = x.size
    confidence = 0.95
    got = tool({"op": "summarize", "samples": x.tolist(), "percentiles": PERCENTILES,
                "confidence": confidence})
    assert got["count"] == n
    assert got["min"] == x.min() and got["max"] == x.max()
    assert got["mean"] == pytest.approx(np.mean(x), rel=1e-14, abs=1e-15)
    stddev = np.std(x, ddof=1) if n > 1 else 0.0
    assert got["stddev"] == pytest.approx(stddev, rel=1e-12, abs=1e-15)
    assert got["cv_percent"] == pytest.approx(100.0 * stddev / np.mean(x), rel=1e-12, abs=1e-13)
    assert got["confidence"] == confidence

    ranks = tool([{"op": "ranks", "n": n, "p": p, "confidence": confidence} for p in PERCENTILES])
    ordered = np.sort(x)
    for estimate, p, r in zip(got["percentiles"], PERCENTILES, ranks):
        assert estimate["percentile"] == p
        assert estimate["min_samples"] == loadgen_min_samples(p)
        supported = n >= estimate["min_samples"] and r["exists"]
        assert estimate["supported"] == supported, (p, estimate)
        if supported:
            assert estimate["value"] == np.percentile(x, p)
            assert estimate["ci_low"] == ordered[r["lower"]]
            assert estimate["ci_high"] == ordered[r["upper"]]
            assert estimate["ci_low"] <= estimate["value"] <= estimate["ci_high"]
            assert estimate["why"] is None
        else:
            assert estimate["value"] is None and estimate["ci_low"] is None
            assert estimate["why"] == f"not measured: needs ≥ {estimate['min_samples']} samples, have {n}"


def test_summary_of_nothing(tool):
    got = tool({"op": "summarize", "samples": []})
    assert got["count"] == 0
    assert [e["percentile"] for e in got["percentiles"]] == PERCENTILES
    for estimate in got["percentiles"]:
        assert not estimate["supported"]
        assert estimate["why"] == "not measured: no samples"


def test_summary_without_an_interval(tool):
    # 662 samples support p99, but no pair of order statistics covers it with 99.9 %.
    x = SAMPLE_SETS["lognormal_6636"][:662]
    got = tool({"op": "summarize", "samples": x.tolist(), "percentiles": [99.0],
                "confidence": 0.999})
    (estimate,) = got["percentiles"]
    assert not estimate["supported"]
    assert estimate["why"] == ("not measured: no interval reaches 99.9% confidence with 662 "
                               "samples")


def binomial_coverage(n, q, lower, upper):
    """P(X(lower) <= true q-quantile <= X(upper)) for 0-based ranks: P(lower < B <= upper)."""
    return stats.binom.cdf(upper, n, q) - stats.binom.cdf(lower, n, q)


def narrowest_width(n, q, confidence, slack):
    """The least upper - lower over all rank pairs covering at least confidence - slack."""
    k = np.arange(n + 1)
    cdf = stats.binom.cdf(k, n, q)
    lower = np.arange(n - 1)
    upper = np.searchsorted(cdf, cdf[lower] + confidence - slack, side="left")
    ok = upper <= n - 1
    return int((upper[ok] - lower[ok]).min())


RANK_CASES = [(n, p, c) for n in (1, 2, 5, 6, 10, 37, 64, 130, 300, 662, 1000, 6636, 20_000)
              for p in (50.0, 90.0, 95.0, 99.0, 99.9) for c in (0.9, 0.95, 0.99)]


def test_ranks_against_binomial(tool):
    got = tool([{"op": "ranks", "n": n, "p": p, "confidence": c} for n, p, c in RANK_CASES])
    for (n, p, c), r in zip(RANK_CASES, got):
        q = p / 100.0
        full = binomial_coverage(n, q, 0, n - 1) if n > 0 else 0.0
        if full < c - 1e-12:
            assert not r["exists"], (n, p, c, r)
            assert r["achieved_confidence"] == pytest.approx(full, abs=1e-12)
            continue
        assert r["exists"], (n, p, c, r)
        lower, upper = r["lower"], r["upper"]
        assert 0 <= lower < upper <= n - 1
        coverage = binomial_coverage(n, q, lower, upper)
        assert r["achieved_confidence"] == pytest.approx(coverage, abs=1e-10), (n, p, c, r)
        assert coverage >= c - 1e-12, (n, p, c, r)
        width = upper - lower
        assert narrowest_width(n, q, c, 1e-12) <= width <= narrowest_width(n, q, c, -1e-12), \
            (n, p, c, r)


@pytest.mark.parametrize("n", [100_000, 1_000_000])
def test_ranks_for_large_n(tool, n):
    got = tool([{"op": "ranks", "n": n, "p": p} for p in PERCENTILES])
    for p, r in zip(PERCENTILES, got):
        q = p / 100.0
        lower, upper = r["lower"], r["upper"]
        coverage = binomial_coverage(n, q, lower, upper)
        assert coverage >= 0.95 - 1e-12 and r["achieved_confidence"] == pytest.approx(
            coverage, abs=1e-9)
        # Narrowest: dropping either end falls below the confidence.
        assert binomial_coverage(n, q, lower + 1, upper) < 0.95
        assert binomial_coverage(n, q, lower, upper - 1) < 0.95
        # Nearly symmetric in probability: the two tails differ by less than one end's mass.
        below = stats.binom.cdf(lower, n, q)
        above = stats.binom.sf(upper, n, q)
        assert abs(below - above) <= max(stats.binom.pmf(lower, n, q),
                                         stats.binom.pmf(upper, n, q)) + 1e-12


T_PROBABILITIES = [1e-12, 1e-6, 0.001, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.3, 0.45, 0.499,
                   0.501, 0.55, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999,
                   0.9995, 1 - 1e-6, 1 - 1e-12]


def test_t_quantiles_match_scipy(tool):
    dofs = list(range(1, 1001)) + [0.5, 1.5, 2.5, 1e4, 1e6]
    cases = [(p, dof) for dof in dofs for p in T_PROBABILITIES]
    got = np.array([r["t"] for r in tool([{"op": "t_quantile", "p": p, "dof": dof}
                                           for p, dof in cases])])
    p = np.array([c[0] for c in cases])
    dof = np.array([c[1] for c in cases])
    # scipy's t.ppf itself is good to about 1e-8; its CDF is good to about 1e-15.
    np.testing.assert_allclose(got, stats.t.ppf(p, dof), rtol=1e-7, atol=0)
    tail = np.minimum(p, 1.0 - p)
    np.testing.assert_allclose(stats.t.sf(np.abs(got), dof), tail, rtol=1e-10, atol=0)


def test_t_quantiles_closed_forms(tool):
    ps = [0.001, 0.2, 0.6, 0.975, 0.9999]
    got = tool([{"op": "t_quantile", "p": p, "dof": dof} for dof in (1, 2) for p in ps])
    cauchy = [1 / math.tan(math.pi * (1 - p)) if p > 0.5 else -1 / math.tan(math.pi * p)
              for p in ps]
    dof2 = [(2 * p - 1) / math.sqrt(2 * p * (1 - p)) for p in ps]
    np.testing.assert_allclose([r["t"] for r in got], cauchy + dof2, rtol=1e-13)


def shift_pairs():
    rng = np.random.default_rng(7)
    pairs = {
        "tiny": (np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])),
        "one_each": (np.array([1.0]), np.array([2.0])),
        "equal": (np.full(20, 3.0), np.full(30, 3.0)),
        "same_distribution": (rng.exponential(1.0, 40), rng.exponential(1.0, 50)),
        "shifted": (rng.lognormal(0.0, 0.3, 300), rng.lognormal(0.0, 0.3, 250) + 0.05),
        "ties": (rng.integers(0, 8, 500).astype(float), rng.integers(1, 9, 450).astype(float)),
        "slower_b": (rng.gamma(3.0, 1.0, 1200), rng.gamma(3.0, 1.0, 1500) * 1.02),
        "unbalanced": (rng.normal(5.0, 1.0, 12), rng.normal(5.5, 1.0, 2000)),
    }
    return pairs


SHIFT_PAIRS = shift_pairs()


def tie_term(values):
    _, counts = np.unique(values, return_counts=True)
    counts = counts.astype(float)
    return float((counts ** 3 - counts).sum())


def moses_interval(a, b, confidence):
    """Re-implementation of the documented interval: [D(k), D(N + 1 - k)] of the sorted
    differences b - a, k = floor(N/2 + 1/2 - z s_U), s_U tie corrected."""
    d = np.sort(np.subtract.outer(b, a).ravel())
    big_n = d.size
    n1, n2 = float(b.size), float(a.size)
    n = n1 + n2
    s = math.sqrt(n1 * n2 / 12.0 * ((n + 1.0) - tie_term(np.concatenate([a, b])) / (n * (n - 1.0))))
    z = stats.norm.ppf((1.0 + confidence) / 2.0)
    k = math.floor(big_n / 2.0 + 0.5 - z * s)
    k = min(max(k, 1), (big_n + 1) // 2)
    return d[k - 1], d[big_n - k]


@pytest.mark.parametrize("name", SHIFT_PAIRS)
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_shift_matches_numpy_and_scipy(tool, name, confidence):
    a, b = SHIFT_PAIRS[name]
    got = tool({"op": "shift", "a": a.tolist(), "b": b.tolist(), "confidence": confidence})
    assert got["n_a"] == a.size and got["n_b"] == b.size and not got["thinned"]
    assert got["shift"] == np.median(np.subtract.outer(b, a))
    ci_low, ci_high = moses_interval(a, b, confidence)
    assert (got["ci_low"], got["ci_high"]) == (ci_low, ci_high)
    assert got["ci_low"] <= got["shift"] <= got["ci_high"]
    mwu = stats.mannwhitneyu(b, a, alternative="two-sided", method="asymptotic",
                             use_continuity=True)
    assert got["u_statistic"] == mwu.statistic
    assert got["p_value"] == pytest.approx(mwu.pvalue, rel=1e-9, abs=1e-15)


def test_shift_of_nothing(tool):
    got = tool({"op": "shift", "a": [], "b": [1.0, 2.0]})
    assert (got["shift"], got["ci_low"], got["ci_high"], got["p_value"]) == (0.0, 0.0, 0.0, 1.0)
    assert (got["n_a"], got["n_b"]) == (0, 2)


def thin(sorted_values, count):
    n = sorted_values.size
    return sorted_values[(2 * np.arange(count) + 1) * n // (2 * count)]


def test_shift_thins_large_samples(tool):
    rng = np.random.default_rng(11)
    a = rng.lognormal(0.0, 0.4, 2500)
    b = rng.lognormal(0.0, 0.4, 3100) + 0.02
    got = tool({"op": "shift", "a": a.tolist(), "b": b.tolist()})
    assert got["thinned"] and (got["n_a"], got["n_b"]) == (2500, 3100)
    ta, tb = thin(np.sort(a), 2000), thin(np.sort(b), 2000)
    assert got["shift"] == np.median(np.subtract.outer(tb, ta))
    assert (got["ci_low"], got["ci_high"]) == moses_interval(ta, tb, 0.95)
    # The test uses all samples.
    mwu = stats.mannwhitneyu(b, a, alternative="two-sided", method="asymptotic")
    assert got["u_statistic"] == mwu.statistic
    assert got["p_value"] == pytest.approx(mwu.pvalue, rel=1e-9, abs=1e-15)
    # Thinning keeps the estimate close to the full one and the interval no narrower.
    full = np.subtract.outer(b, a).ravel()
    full_ci = moses_interval(a, b, 0.95)
    assert abs(got["shift"] - np.median(full)) < 0.1 * (full_ci[1] - full_ci[0])
    assert got["ci_high"] - got["ci_low"] >= 0.99 * (full_ci[1] - full_ci[0])


def test_shift_thins_unbalanced_samples(tool):
    rng = np.random.default_rng(12)
    a = rng.exponential(1.0, 50)
    b = rng.exponential(1.0, 100_000)
    got = tool({"op": "shift", "a": a.tolist(), "b": b.tolist()})
    assert got["thinned"]
    tb = thin(np.sort(b), 4_000_000 // 50)
    assert got["shift"] == np.median(np.subtract.outer(tb, a))


def batch_means(times, start, end, batches, confidence):
    """numpy re-implementation of the documented batch-means interval."""
    inside = times[(times >= start) & (times <= end)]
    batch_s = (end - start) / batches
    index = np.minimum(np.floor((inside - start) / batch_s), batches - 1).astype(int)
    rates = np.bincount(index, minlength=batches) / batch_s
    mean = rates.mean()
    half = stats.t.ppf((1.0 + confidence) / 2.0, batches - 1) * rates.std(ddof=1) / math.sqrt(batches)
    return inside.size / (end - start), mean - half, mean + half


def poisson_times(rate, duration, seed):
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate, int(rate * duration * 1.5) + 100)
    times = np.cumsum(gaps)
    return times[times < duration]


@pytest.mark.parametrize("batches,confidence", [(20, 0.95), (5, 0.99), (2, 0.9), (50, 0.95)])
def test_throughput_matches_numpy(tool, batches, confidence):
    times = poisson_times(850.0, 12.0, seed=batches)
    start, end = 1.0, float(times[-10])  # a window inside the run, its end on a completion
    rng = np.random.default_rng(3)
    shuffled = rng.permutation(times)  # the order of completions does not matter
    got = tool({"op": "throughput", "times": shuffled.tolist(), "start": start, "end": end,
                "batches": batches, "confidence": confidence})
    fps, ci_low, ci_high = batch_means(times, start, end, batches, confidence)
    assert got["ci_valid"] and got["why"] is None
    assert got["batches"] == batches and got["batch_s"] == (end - start) / batches
    assert got["fps"] == pytest.approx(fps, rel=1e-15)
    # scipy's t.ppf is good to about 1e-8, so the half width is compared to that.
    assert (got["ci_low"] + got["ci_high"]) / 2 == pytest.approx((ci_low + ci_high) / 2,
                                                                rel=1e-13)
    assert got["ci_high"] - got["ci_low"] == pytest.approx(ci_high - ci_low, rel=1e-7)


def test_throughput_without_an_interval(tool):
    got = tool([{"op": "throughput", "times": [0.5, 1.5, 2.5], "start": 0.0, "end": 3.0,
                 "batches": 2},
                {"op": "throughput", "times": [0.5, 1.5], "start": 0.0, "end": 2.0,
                 "batches": 1},
                {"op": "throughput", "times": [0.5], "start": 1.0, "end": 1.0}])
    assert [r["ci_valid"] for r in got] == [False, False, False]
    assert got[0]["fps"] == 1.0
    assert got[0]["why"] == "not measured: needs ≥ 4 completions for 2 batches, have 3"
    assert got[1]["fps"] == 1.0
    assert got[1]["why"] == "not measured: needs ≥ 2 batches, have 1"
    assert got[2]["why"] == "not measured: empty window"


@pytest.mark.parametrize("p", [50.0, 90.0, 99.0])
def test_percentile_shift(tool, p):
    rng = np.random.default_rng(int(p))
    a = rng.lognormal(0.0, 0.5, 3000)
    b = rng.lognormal(0.1, 0.5, 2000)
    confidence = 0.95
    got = tool({"op": "percentile_shift", "a": a.tolist(), "b": b.tolist(), "p": p,
                "confidence": confidence})
    each = math.sqrt(confidence)
    ra, rb = tool([{"op": "ranks", "n": x.size, "p": p, "confidence": each} for x in (a, b)])
    sa, sb = np.sort(a), np.sort(b)
    assert got["supported"]
    assert got["shift"] == np.percentile(b, p) - np.percentile(a, p)
    assert got["ci_low"] == sb[rb["lower"]] - sa[ra["upper"]]
    assert got["ci_high"] == sb[rb["upper"]] - sa[ra["lower"]]
    assert got["confidence"] == confidence


def test_percentile_shift_unsupported(tool):
    got = tool({"op": "percentile_shift", "a": list(range(1000)), "b": list(range(100)),
                "p": 99.0})
    assert got == {"supported": False}


@pytest.mark.parametrize("stdin", [
    "",
    "{not json",
    "42",
    '{"samples": [1]}',
    '{"op": "median", "samples": [1]}',
    '{"op": "summarize"}',
    '{"op": "summarize", "samples": [1, "2"]}',
    '{"op": "summarize", "samples": [1], "sample": [2]}',
    '{"op": "summarize", "samples": [1], "percentiles": [100]}',
    '{"op": "summarize", "samples": [1], "confidence": 1}',
    '{"op": "ranks", "n": -3, "p": 50}',
    '{"op": "ranks", "n": 2.5, "p": 50}',
    '{"op": "t_quantile", "p": 1.0, "dof": 3}',
    '{"op": "t_quantile", "p": 0.9, "dof": 0}',
    '{"op": "throughput", "times": [1], "start": 0}',
    '{"op": "shift", "a": [1], "b": 2}',
    '[{"op": "t_quantile", "p": 0.9, "dof": 3}, {"op": "nope"}]',
])
def test_bad_input_exits_2(stdin):
    if not TOOL.is_file():
        pytest.fail(f"{TOOL} does not exist: build the bench_stats_tool target first")
    proc = run_tool(stdin, check=2)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench_stats_tool: error: "), proc.stderr
