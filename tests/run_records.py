"""Synthetic bench run records (docs/run-record.md, format "hdeploy.bench.run" version 1) for
the tests of `hdeploy report`: deterministic (numpy seeds), frames columns consistent with the
documented stage definitions, results computed from those frames with numpy/scipy.

    record = make_record(seed=1, frames=2000)            # latency scenario, one frame at a time
    write_record(tmp_path / "base" / "run.json", seed=1)
    write_record(tmp_path / "slow" / "run.json", seed=2, scale=1.10)  # 10% slower per frame
"""
import json
import math
import pathlib

import numpy as np
from scipy import stats

PERCENTILES = [50, 90, 95, 99, 99.9]
FIELDS = ["sequence", "flags", "source_index", "queue_depth", "scheduled_ns",
          "preprocess_start_ns", "preprocess_end_ns", "submit_ns", "complete_ns",
          "postprocess_start_ns", "postprocess_end_ns"]
WARMUP, DROPPED, FAILED, DEADLINE_MISSED = 1, 2, 4, 8


def min_samples(p):
    """MLPerf LoadGen's early-stopping minimum (as hdeploy: 10 for p50, 64 for p90, 662 for
    p99), from the tail probability (p/100)^n below 0.0013 with LoadGen's rounding."""
    return {50: 10, 90: 64, 95: 130, 99: 662, 99.9: 6636}[p]


def percentile_summary(samples, confidence=0.95):
    """SUMMARY of docs/run-record.md: numpy-linear percentiles, order-statistic intervals."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    out = {"count": int(n), "confidence": confidence, "percentiles": {}}
    if n == 0:
        out.update({"min": None, "mean": None, "max": None, "stddev": None, "cv_percent": None})
    else:
        sd = float(np.std(x, ddof=1)) if n > 1 else 0.0
        mean = float(np.mean(x))
        out.update({"min": float(x[0]), "mean": mean, "max": float(x[-1]), "stddev": sd,
                    "cv_percent": 100.0 * sd / mean if mean else 0.0})
    for p in PERCENTILES:
        key = f"{p:g}"
        need = min_samples(p)
        if n < need:
            out["percentiles"][key] = {"value": None, "supported": False, "min_samples": need,
                                       "why": f"not measured: needs ≥ {need} samples, have {n}"}
            continue
        q = p / 100.0
        # Symmetric ranks around n q whose binomial coverage reaches `confidence`.
        lo = int(stats.binom.ppf((1 - confidence) / 2, n, q))
        hi = min(n - 1, int(stats.binom.ppf(1 - (1 - confidence) / 2, n, q)))
        out["percentiles"][key] = {"value": float(np.percentile(x, p)), "ci_low": float(x[lo]),
                                   "ci_high": float(x[hi]), "min_samples": need,
                                   "supported": True}
    return out


def batch_means(completions_s, start_s, end_s, batches=20, confidence=0.95):
    window = end_s - start_s
    counts, _ = np.histogram(completions_s, bins=batches, range=(start_s, end_s))
    rates = counts / (window / batches)
    half = stats.t.ppf(0.5 + confidence / 2, batches - 1) * rates.std(ddof=1) / math.sqrt(batches)
    fps = len(completions_s) / window
    return {"fps": fps, "ci_low": float(rates.mean() - half), "ci_high": float(rates.mean() + half),
            "confidence": confidence,
            "method": f"batch means, {batches} batches of {window / batches:.3g} s", "why": None}


def make_frames(rng, frames, warmup, scale, device_ms, sigma, dropped_every, failed_every):
    """Frames one at a time (latency scenario). Returns the columns as numpy int64 arrays."""
    total = warmup + frames
    ms = 1_000_000
    gap_to_pre = np.full(total, 0.010 * ms)
    pre = rng.lognormal(math.log(0.25), 0.10, total) * scale * ms
    queue = np.full(total, 0.020 * ms)
    device = rng.lognormal(math.log(device_ms), sigma, total) * scale * ms
    host_wait = np.full(total, 0.005 * ms)
    post = rng.lognormal(math.log(0.05), 0.10, total) * scale * ms
    flags = np.zeros(total, dtype=np.int64)
    flags[:warmup] |= WARMUP
    idx = np.arange(total)
    dropped = (dropped_every > 0) & (idx >= warmup) & ((idx - warmup) % max(dropped_every, 1) == 7)
    failed = (failed_every > 0) & (idx >= warmup) & ((idx - warmup) % max(failed_every, 1) == 3)
    failed &= ~dropped
    flags[dropped] |= DROPPED
    flags[failed] |= FAILED
    # A dropped frame takes no time; a failed one ends at its submit.
    length = np.rint(gap_to_pre + pre + queue + device + host_wait + post).astype(np.int64) + 1000
    length[dropped] = 0
    scheduled = 1 * ms + np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    pre_start = scheduled + np.rint(gap_to_pre).astype(np.int64)
    pre_end = pre_start + np.rint(pre).astype(np.int64)
    submit = pre_end + np.rint(queue).astype(np.int64)
    complete = submit + np.rint(device).astype(np.int64)
    post_start = complete + np.rint(host_wait).astype(np.int64)
    post_end = post_start + np.rint(post).astype(np.int64)
    for column in (pre_start, pre_end, submit, complete, post_start, post_end):
        column[dropped] = -1
    for column in (complete, post_start, post_end):
        column[failed] = -1
    return {"sequence": idx.astype(np.int64), "flags": flags,
            "source_index": (idx % 24).astype(np.int64), "queue_depth": np.zeros(total, np.int64),
            "scheduled_ns": scheduled, "preprocess_start_ns": pre_start,
            "preprocess_end_ns": pre_end, "submit_ns": submit, "complete_ns": complete,
            "postprocess_start_ns": post_start, "postprocess_end_ns": post_end}


def make_record(*, seed=0, frames=2000, warmup=100, scale=1.0, device_ms=2.0, sigma=0.08,
                complete=True, partial_reason="interrupted (SIGINT) after 4.2 s",
                model_path="/home/pi/models/resnet18.hef", backend="hailo",
                throttle_at_s=None, dropped_every=0, failed_every=0, samples=True):
    """One run record as a dict. `scale` multiplies every per-frame stage time (a planted
    slowdown); `throttle_at_s` adds a throttling event and a clock drop from then on."""
    rng = np.random.default_rng(seed)
    cols = make_frames(rng, frames, warmup, scale, device_ms, sigma, dropped_every, failed_every)
    flags = cols["flags"]
    ok = ((flags & (WARMUP | DROPPED | FAILED)) == 0) & (cols["postprocess_end_ns"] >= 0)
    ms = 1e6

    def stage(end, start):
        good = ok & (cols[end] >= 0) & (cols[start] >= 0)
        return (cols[end][good] - cols[start][good]) / ms

    e2e = stage("postprocess_end_ns", "scheduled_ns")
    start_s = cols["scheduled_ns"][ok].min() / 1e9
    end_s = cols["postprocess_end_ns"][ok].max() / 1e9
    run_end_s = cols["postprocess_end_ns"].max() / 1e9
    throughput = batch_means(cols["postprocess_end_ns"][ok] / 1e9, start_s, end_s)
    device = stage("complete_ns", "submit_ns")
    pre = stage("preprocess_end_ns", "preprocess_start_ns")
    post = stage("postprocess_end_ns", "postprocess_start_ns")
    host = float(pre.mean() + post.mean())
    latency = percentile_summary(e2e)
    interval_ms = 250
    sample_list, events = [], []
    if samples:
        for k in range(1, int(run_end_s * 1000 / interval_ms) + 2):
            t = k * interval_ms / 1000
            throttled = throttle_at_s is not None and t >= throttle_at_s
            sample_list.append({
                "t_s": t, "process_cpu_percent": float(20 + 3 * rng.standard_normal()),
                "process_user_percent": 18.0, "process_sys_percent": 2.0,
                "core_util_percent": [float(v) for v in rng.uniform(5, 40, 4)],
                "core_freq_mhz": [1500 if throttled else 2400] * 4,
                "temperatures_c": {"cpu-thermal": round(50 + 10 * t / max(run_end_s, 1e-9), 2)},
                "throttled": "0x50005" if throttled else "0x0",
                "hailo_temp_c": round(45 + 5 * t / max(run_end_s, 1e-9), 2),
                "rss_bytes": 81234432})
        if throttle_at_s is not None:
            events.append({"t_s": throttle_at_s, "kind": "throttled",
                           "detail": "0x50005: under-voltage, throttled"})
            events.append({"t_s": throttle_at_s, "kind": "clock_drop",
                           "detail": "cpu0 2400 -> 1500 MHz"})
    duration_s = end_s - start_s
    return {
        "format": "hdeploy.bench.run",
        "version": 1,
        "context": {
            "date": "2025-01-01T12:00:00Z", "host": "raspberrypi",
            "cpu_model": "Raspberry Pi 5 Model B Rev 1.0", "cpu_count": 4,
            "governor": "ondemand", "kernel": "Linux 6.6.51+rpt-rpi-2712", "arch": "aarch64",
            "os": "Debian GNU/Linux 12 (bookworm)", "page_size": 16384,
            "memory_total_bytes": 8_455_000_000, "raspberry_pi_model": "Raspberry Pi 5 Model B",
            "hdeploy_version": "0.1.0", "hdeploy_commit": "abc1234", "build_type": "Release",
            "libraries": {"opencv": "4.6.0", "hailort": "4.20.0", "fmt": "9.1.0"},
            "backend": backend, "backend_description": "Hailo-8L (synthetic record)",
            "model": {"path": model_path, "sha256": "ab" * 32, "kind": "hef",
                      "hef_arch": "hailo8l", "compiler_version": "3.30.0"},
            "onnx": None, "onnx_why": "not used by the hailo backend",
            "power": None, "power_why": "not measured: no sensor"},
        "config": {
            "scenario": "latency", "duration_s": round(duration_s, 3), "warmup_s": 0.2,
            "warmup_frames": warmup, "min_frames_requested": 0, "min_frames": frames,
            "in_flight": 1, "preprocess_threads": 1, "input": "images",
            "images_dir": "/home/pi/images", "image_count": 24,
            "percentiles": PERCENTILES, "confidence": 0.95,
            "argv": ["hdeploy", "bench", model_path, "--scenario", "latency"]},
        "status": ({"complete": True} if complete
                   else {"complete": False, "partial_reason": partial_reason}),
        "results": {
            "frames": int(ok.sum()),
            "warmup": {"frames": warmup, "duration_s": float(cols["scheduled_ns"][warmup] / 1e9)
                       if warmup else 0.0},
            "failed_frames": int(((flags & FAILED) != 0).sum()),
            "errors": ["device timeout"] if failed_every else [],
            "duration_s": duration_s,
            "throughput": throughput,
            "latency": latency,
            "stages": {"preprocess": percentile_summary(pre),
                       "queue_wait": percentile_summary(stage("submit_ns", "preprocess_end_ns")),
                       "device": percentile_summary(device),
                       "postprocess": percentile_summary(post)},
            "stability": {"cv_percent": latency["cv_percent"],
                          "unstable": latency["cv_percent"] > 1.0,
                          "warning": (f"unstable: CV {latency['cv_percent']:.1f}% > 1%"
                                      if latency["cv_percent"] > 1.0 else None)},
            "verdict": {"bound": "device",
                        "text": f"device-bound: the device is busy {device.mean():.3f} ms of "
                                f"every {e2e.mean():.3f} ms",
                        "device_occupancy": float(device.sum() / 1000 / duration_s),
                        "host_ms_per_frame": host,
                        "device_interval_ms": float(duration_s * 1000 / ok.sum())},
            "stream": None,
            "poisson": None},
        "system": {
            "interval_ms": interval_ms, "cores": 4,
            "process": {"user_s": 3.1, "sys_s": 0.4, "cpu_percent_of_one_core": 23.3,
                        "cpu_percent_of_all_cores": 5.8, "peak_rss_bytes": 81234432},
            "threads": [{"tid": 1234, "name": "hd-preproc-0", "user_s": 2.0, "sys_s": 0.1,
                         "cpu_percent_of_one_core": 14.0},
                        {"tid": 1235, "name": "hd-complete", "user_s": 0.5, "sys_s": 0.05,
                         "cpu_percent_of_one_core": 3.6}],
            "samples": sample_list,
            "events": events,
            "throttled_during_run": throttle_at_s is not None,
            "unavailable": {}},
        "frames": {"fields": FIELDS, **{name: cols[name].tolist() for name in FIELDS}},
    }


def write_record(path, **kwargs):
    """Writes make_record(**kwargs) to `path` (folders created); returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(make_record(**kwargs)))
    return path
