"""End-to-end tests of `hdeploy report`: files written from synthetic run records
(tests/run_records.py) and from real `hdeploy bench` sim runs, comparisons and
--fail-on-regression, error paths, and report.html drawn by headless Chromium (DOM and
screenshot)."""
import csv
import html.parser
import io
import json
import pathlib
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import run_hdeploy
from hef_files import made_hef
from run_records import make_record, write_record

CHROMIUM = pathlib.Path("/usr/bin/chromium")
HAILO8_HEF = made_hef("hailo8-classifier")
REPORT_FILES = ("report.md", "report.html", "trace.csv")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """base: the baseline; same: the same distribution, another seed; slow: every stage 10%
    slower (and throttled from 2 s); partial: an interrupted run with dropped/failed frames."""
    d = tmp_path_factory.mktemp("records")
    return {
        "base": write_record(d / "base" / "run.json", seed=1),
        "same": write_record(d / "same" / "run.json", seed=2),
        "slow": write_record(d / "slow" / "run.json", seed=3, scale=1.10, throttle_at_s=2.0),
        "partial": write_record(d / "partial" / "run.json", seed=4, frames=800, complete=False,
                                dropped_every=50, failed_every=200),
    }


def copy_record(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    return dst


def error_line(proc, *needles):
    """The command's one error line (stderr has exactly one line)."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert str(needle) in lines[0], lines[0]
    return lines[0]


# ---- files ----

def test_single_record_writes_three_files_beside_it(hdeploy_bin, records, tmp_path):
    run = copy_record(records["base"], tmp_path / "base" / "run.json")
    proc = run_hdeploy("report", run, check=0)
    for name in REPORT_FILES:
        assert (run.parent / name).is_file(), name
        assert str(run.parent / name) in proc.stdout
    record = json.loads(run.read_text())
    fps = record["results"]["throughput"]["fps"]
    p50 = record["results"]["latency"]["percentiles"]["50"]["value"]
    assert f"#1 base: {fps:.2f} FPS" in proc.stdout
    assert f"p50 {p50:.3f} ms" in proc.stdout
    assert not list(run.parent.glob("*.tmp-*"))  # written under temporary names, renamed


def test_markdown_holds_the_record_numbers(hdeploy_bin, records, tmp_path):
    run_hdeploy("report", records["slow"], "--out", tmp_path, check=0)
    md = (tmp_path / "report.md").read_text()
    r = json.loads(records["slow"].read_text())
    res = r["results"]
    assert md.startswith("# hdeploy report")
    assert "=======\nSummary\n=======\n" in md
    assert f"FPS     (measured)                = {res['throughput']['fps']:.2f} (95% CI" in md
    p = res["latency"]["percentiles"]
    assert (f"Latency (end-to-end p50)          = {p['50']['value']:.3f} ms "
            f"(95% CI {p['50']['ci_low']:.3f} – {p['50']['ci_high']:.3f})") in md
    assert f"        (end-to-end p99)          = {p['99']['value']:.3f} ms" in md
    assert f"Device  (mean per frame)          = {res['stages']['device']['mean']:.3f} ms" in md
    assert "Throttling                        = YES: throttled at 2.00 s" in md
    assert "not measured: needs ≥ 6636 samples, have 2000" in md  # p99.9 of 2000 frames
    assert "| model sha256 | " + "ab" * 32 + " |" in md
    assert "| 2.00 | throttled | 0x50005: under-voltage, throttled |" in md
    assert "| 2.00 | clock_drop | cpu0 2400 -> 1500 MHz |" in md
    assert "| hd-preproc-0 | 1234 | 2.000 | 0.100 | 14.0 |" in md
    stats_row = next(line for line in md.splitlines() if line.startswith("| device |"))
    cells = [c.strip() for c in stats_row.strip("|").split("|")]
    assert cells[1] == "2000" and cells[3] == f"{res['stages']['device']['mean']:.3f}"


def test_partial_record_is_prominent(hdeploy_bin, records, tmp_path):
    run_hdeploy("report", records["partial"], "--out", tmp_path, check=0)
    md = (tmp_path / "report.md").read_text()
    alert = "> **PARTIAL RUN #1 partial: interrupted (SIGINT) after 4.2 s."
    assert alert in md
    assert md.index(alert) < md.index("Summary")
    assert "Status                            = PARTIAL: interrupted (SIGINT) after 4.2 s" in md
    page = (tmp_path / "report.html").read_text()
    assert '<div class="alert partial">PARTIAL RUN #1 partial' in page


def test_trace_csv_has_every_frame_with_blanks(hdeploy_bin, records, tmp_path):
    run_hdeploy("report", records["partial"], records["base"], "--out", tmp_path, check=0)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "trace.csv").read_text())))
    partial = json.loads(records["partial"].read_text())["frames"]
    base = json.loads(records["base"].read_text())["frames"]
    assert len(rows) == len(partial["sequence"]) + len(base["sequence"])
    first = [r for r in rows if r["run"] == "1"]
    assert {r["run_name"] for r in first} == {"partial"}
    cols = {k: np.array(partial[k]) for k in partial["fields"]}

    def ms(column):
        return np.array([float(r[column]) if r[column] != "" else np.nan for r in first])

    for name in ("scheduled", "submit", "complete", "postprocess_end"):
        want = np.where(cols[f"{name}_ns"] >= 0, cols[f"{name}_ns"] / 1e6, np.nan)
        np.testing.assert_allclose(ms(f"{name}_ms"), want, rtol=0, atol=1e-9)
    e2e = np.where(cols["postprocess_end_ns"] >= 0,
                   (cols["postprocess_end_ns"] - cols["scheduled_ns"]) / 1e6, np.nan)
    np.testing.assert_allclose(ms("end_to_end_ms"), e2e, rtol=0, atol=1e-9)
    device = np.where(cols["complete_ns"] >= 0, (cols["complete_ns"] - cols["submit_ns"]) / 1e6,
                      np.nan)
    np.testing.assert_allclose(ms("device_ms"), device, rtol=0, atol=1e-9)
    dropped = [r for r in first if int(r["flags"]) & 2]
    assert dropped, "the partial record has dropped frames"
    for r in dropped:
        assert r["scheduled_ms"] != ""
        for column in ("submit_ms", "complete_ms", "device_ms", "end_to_end_ms"):
            assert r[column] == "", (column, r)
    failed = [r for r in first if int(r["flags"]) & 4]
    assert failed and all(r["submit_ms"] != "" and r["complete_ms"] == "" for r in failed)


def test_out_folder_is_created_and_force_overwrites(hdeploy_bin, records, tmp_path):
    out = tmp_path / "new" / "folder"
    run_hdeploy("report", records["base"], "--out", out, check=0)
    assert all((out / name).is_file() for name in REPORT_FILES)
    before = (out / "report.md").read_text()
    proc = run_hdeploy("report", records["slow"], "--out", out, check=1)
    error_line(proc, "already exists", "--force")
    assert (out / "report.md").read_text() == before  # untouched
    (out / "report.md").unlink()  # one missing, two existing: still refused, nothing written
    run_hdeploy("report", records["slow"], "--out", out, check=1)
    assert not (out / "report.md").exists()
    run_hdeploy("report", records["slow"], "--out", out, "--force", check=0)
    assert "#1 slow" in (out / "report.md").read_text()
    assert not list(out.glob("*.tmp-*"))


# ---- bad inputs ----

def test_missing_record(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], tmp_path / "nope" / "run.json", "--out",
                       tmp_path, check=1)
    error_line(proc, tmp_path / "nope" / "run.json")
    assert not (tmp_path / "report.md").exists()


def test_not_json(hdeploy_bin, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("hdeploy bench was interrupted here\n{\n")
    proc = run_hdeploy("report", bad, check=1)
    error_line(proc, bad, "not JSON")


@pytest.mark.parametrize("change,needles", [
    ({"format": "hdeploy.export"}, ["not a run record", "hdeploy.export"]),
    ({"format": None}, ["not a run record"]),
    ({"version": 2}, ["version 2 is newer", "update hdeploy"]),
    ({"version": "1"}, ["version"]),
])
def test_refuses_other_formats_and_newer_versions(hdeploy_bin, tmp_path, change, needles):
    record = make_record(frames=50, warmup=0)
    record.update(change)
    path = tmp_path / "odd" / "run.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    proc = run_hdeploy("report", path, check=1)
    error_line(proc, path, *needles)


@pytest.mark.parametrize("value", ["five", "5x", "-5", "5%%", "1e9", "nan"])
def test_bad_regression_threshold_is_a_usage_error(hdeploy_bin, records, tmp_path, value):
    proc = run_hdeploy("report", records["base"], records["slow"], "--out", tmp_path,
                       f"--fail-on-regression={value}", check=2)
    error_line(proc, "--fail-on-regression")
    assert not (tmp_path / "report.md").exists()


def test_missing_chartjs(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], "--out", tmp_path, "--chartjs",
                       tmp_path / "chart.min.js", check=1)
    error_line(proc, "install libjs-chart.js or pass --chartjs")
    assert not (tmp_path / "report.html").exists()


def test_chartjs_override_is_inlined(hdeploy_bin, records, tmp_path):
    js = tmp_path / "chart.min.js"
    js.write_text("/*! my Chart build */ window.Chart = function () {};")
    run_hdeploy("report", records["base"], "--out", tmp_path / "out", "--chartjs", js, check=0)
    assert "/*! my Chart build */" in (tmp_path / "out" / "report.html").read_text()


# ---- comparisons ----

def comparison(report, candidate_index):
    return next(c for c in report["comparisons"] if c["candidate"]["index"] == candidate_index)


def test_planted_slowdown_fails_with_fail_on_regression(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], records["slow"], "--out", tmp_path,
                       "--fail-on-regression", "5%", check=1)
    assert all((tmp_path / name).is_file() for name in REPORT_FILES)  # written first
    regressions = [line for line in proc.stderr.splitlines() if "regression:" in line]
    assert any("median end-to-end latency +" in line for line in regressions), proc.stderr
    assert any("throughput -" in line for line in regressions), proc.stderr
    assert all("#2 slow vs #1 base" in line for line in regressions)
    assert "regressions beyond 5% against the baseline base" in proc.stderr
    assert "REGRESSION (worse by > 5%)" in proc.stdout
    md = (tmp_path / "report.md").read_text()
    assert "> **REGRESSION: median end-to-end latency +" in md


def test_planted_slowdown_numbers(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], records["slow"], "--out", tmp_path, "--json",
                       "--fail-on-regression", "5", check=1)
    report = json.loads(proc.stdout)
    c = comparison(report, 2)
    assert c["regression"] is True
    median, p99, fps = c["changes"]
    assert median["metric"] == "median end-to-end latency"
    assert 8.0 < median["change_percent"] < 12.0
    assert median["significant"] and median["regression"] and median["p_value"] < 1e-6
    assert median["ci_low"] > 0
    # The shift agrees with the Hodges-Lehmann estimate computed here from the frames.
    a = e2e_latencies(records["base"])
    b = e2e_latencies(records["slow"])
    assert median["baseline"] == pytest.approx(np.median(a), rel=1e-9)
    hl = np.median(np.subtract.outer(b[::4], a[::4]))
    assert median["change"] == pytest.approx(hl, rel=0.05)
    assert p99["significant"] and p99["regression"]
    assert p99["baseline"] == pytest.approx(np.percentile(a, 99), rel=1e-9)
    assert fps["unit"] == "FPS" and fps["change"] < 0 and fps["regression"]
    assert fps["baseline_ci"][0] < fps["baseline"] < fps["baseline_ci"][1]
    assert report["fail_on_regression"] is True and report["threshold_percent"] == 5
    assert len(report["regressions"]) == 3


def e2e_latencies(path):
    frames = json.loads(path.read_text())["frames"]
    flags = np.array(frames["flags"])
    end = np.array(frames["postprocess_end_ns"])
    keep = ((flags & 7) == 0) & (end >= 0)
    return (end[keep] - np.array(frames["scheduled_ns"])[keep]) / 1e6


def test_same_distribution_is_no_regression(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], records["same"], "--out", tmp_path, "--json",
                       "--fail-on-regression", "5", check=0)
    c = comparison(json.loads(proc.stdout), 2)
    assert c["regression"] is False
    assert abs(c["changes"][0]["change_percent"]) < 2.0
    assert not any(ch.get("regression") for ch in c["changes"])


def test_regressions_reported_but_exit_0_without_the_flag(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], records["same"], records["slow"], "--out",
                       tmp_path, check=0)
    assert "#2 same vs #1 base: median end-to-end latency" in proc.stdout
    assert "#3 slow vs #1 base: median end-to-end latency" in proc.stdout
    assert proc.stdout.count("REGRESSION") == 3  # the three metrics of #3
    assert "regression:" not in proc.stderr


def test_threshold_above_the_change(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], records["slow"], "--out", tmp_path, "--json",
                       "--fail-on-regression", "20%", check=0)
    c = comparison(json.loads(proc.stdout), 2)
    assert c["changes"][0]["significant"] and not c["regression"]


def test_json_output(hdeploy_bin, records, tmp_path):
    proc = run_hdeploy("report", records["base"], records["same"], "--out", tmp_path, "--json",
                       check=0)
    report = json.loads(proc.stdout)
    assert report["files"] == {"markdown": str(tmp_path / "report.md"),
                               "html": str(tmp_path / "report.html"),
                               "trace_csv": str(tmp_path / "trace.csv")}
    assert [r["name"] for r in report["runs"]] == ["base", "same"]
    base = report["runs"][0]
    record = json.loads(records["base"].read_text())
    assert base["fps"] == pytest.approx(record["results"]["throughput"]["fps"])
    assert base["p99_ms"] == pytest.approx(record["results"]["latency"]["percentiles"]["99"]["value"])
    assert base["measured_frames"] == 2000 and base["complete"] is True
    assert report["fail_on_regression"] is False and report["threshold_percent"] == 5
    c = report["comparisons"][0]
    for key in ("change", "ci_low", "ci_high", "p_value", "significant", "regression",
                "confidence", "change_percent"):
        assert key in c["changes"][0], key


# ---- report.html ----

def test_html_is_self_contained(hdeploy_bin, records, tmp_path):
    run_hdeploy("report", records["base"], records["slow"], "--out", tmp_path, check=0)
    page = (tmp_path / "report.html").read_text()
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page and "@font-face" not in page
    chartjs = pathlib.Path("/usr/share/javascript/chart.js/chart.min.js")
    assert chartjs.is_file(), "install libjs-chart.js (scripts/packages.txt)"
    assert "Chart.js v" in page and "www.chartjs.org" in page  # inlined, credited
    assert page.count("<canvas") == 7  # histogram, CDF, stages + 2 per run


class Dom(html.parser.HTMLParser):
    """What the tests need from a --dump-dom: canvases, the #errors text, body attributes."""

    def __init__(self):
        super().__init__()
        self.canvases, self.body, self.errors, self._in_errors = [], {}, "", False
        self.title, self._in_title = "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "canvas":
            self.canvases.append(attrs)
        elif tag == "body":
            self.body = attrs
        elif tag == "pre" and attrs.get("id") == "errors":
            self._in_errors = True
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_errors = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_errors:
            self.errors += data
        if self._in_title:
            self.title += data


def chromium(tmp_path, *args, width=1280, height=4000):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install chromium (scripts/setup installs it from "
                    "scripts/packages.txt); the HTML report cannot be checked without it")
    cmd = [str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}",
           f"--window-size={width},{height}", "--virtual-time-budget=10000", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-3000:]}"
    return proc


def dump_dom(tmp_path, page, **kw):
    dom = Dom()
    dom.feed(chromium(tmp_path, "--dump-dom", page.as_uri(), **kw).stdout)
    return dom


@pytest.fixture(scope="module")
def hostile_report(records, tmp_path_factory):
    """Three runs, one partial, one throttled, one with hostile strings, one large."""
    d = tmp_path_factory.mktemp("hostile")
    evil = '</script><script>document.title="pwned"</script><img src=x onerror="alert(1)">'
    record = make_record(seed=5, frames=30000, warmup=500, model_path=evil, throttle_at_s=30.0)
    record["system"]["events"][0]["detail"] = evil
    record["context"]["host"] = evil
    record["system"]["samples"][0]["temperatures_c"][evil] = 41.0
    hostile = d / "evil<img src=x onerror=alert(3)>" / "run.json"  # the run's name
    hostile.parent.mkdir()
    hostile.write_text(json.dumps(record))
    out = d / "report"
    run_hdeploy("report", records["base"], records["partial"], records["slow"], hostile,
                "--out", out, check=0)
    return out / "report.html"


def test_html_draws_every_chart_without_errors(hostile_report, tmp_path):
    page = hostile_report.read_text()
    assert '<script>document.title="pwned"' not in page
    assert "<img src=x" not in page
    assert page.count("</script>") == 4  # only the page's own
    dom = dump_dom(tmp_path, hostile_report)
    assert dom.errors.strip() == "", dom.errors
    assert dom.title == "hdeploy report — #1 base"  # no injected script ran
    assert dom.body.get("data-charts") == "done", dom.body
    ids = [c.get("id") for c in dom.canvases]
    assert ids[:3] == ["chart-hist", "chart-cdf", "chart-stages"]
    assert len(ids) == 3 + 2 * 4, ids
    for canvas in dom.canvases:
        assert canvas.get("data-drawn") == "1", canvas


def test_html_data_is_thinned_for_big_runs(hostile_report):
    page = hostile_report.read_text()
    start = page.index('<script type="application/json" id="report-data">')
    data = json.loads(page[page.index(">", start) + 1:page.index("</script>", start)])
    assert len(data["runs"]) == 4
    for series in data["cdf"]:
        assert len(series) <= 2000
    assert len(data["cdf"][3]) >= 1500  # 30000 frames, thinned
    for t in data["timelines"]:
        for key in ("fps", "cpu"):
            assert len(t[key]) <= 2000
    assert any(e["kind"] == "throttled" for e in data["timelines"][2]["events"])
    assert len(page) < 2_000_000


def test_html_screenshot_shows_charts(hdeploy_bin, records, tmp_path):
    run_hdeploy("report", records["base"], records["slow"], "--out", tmp_path / "r", check=0)
    page = tmp_path / "r" / "report.html"
    dom = dump_dom(tmp_path, page)
    rects = {c["id"]: [int(v) for v in c["data-rect"].split(",")] for c in dom.canvases}
    height = max(top + h for _, top, _, h in rects.values()) + 40
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", page.as_uri(), height=height)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, height)
    palette_blue = np.array([0x1f, 0x77, 0xb4])
    for cid, (left, top, w, h) in rects.items():
        area = np.asarray(image.crop((left, top, left + w, top + h)))
        pixels = area.reshape(-1, 3)
        colours = np.unique(pixels, axis=0)
        not_white = np.mean(np.any(pixels < 245, axis=1))
        assert len(colours) > 20, (cid, len(colours))
        assert not_white > 0.01, (cid, not_white)
        # Every chart draws the first run's series in the palette's first colour (or a tint).
        near_blue = np.mean(np.all(np.abs(pixels.astype(int) - palette_blue) < 60, axis=1))
        if cid != "chart-sys-1":
            assert near_blue > 0.0005, (cid, near_blue)


# ---- records made by hdeploy bench ----

def bench_sim(tmp_path, name, latency_ms):
    out = tmp_path / name
    run_hdeploy("bench", HAILO8_HEF, "--backend", "sim", "--device", "hailo8", "--scenario",
                "latency", "--sim-fps", "1000", "--sim-latency-ms", latency_ms, "--duration",
                "2s", "--min-frames", "700", "--warmup", "0.2s", "--out", out, check=0,
                timeout=300)
    return out / "run.json"


def test_bench_records_planted_slowdown_and_same_config(hdeploy_bin, tmp_path):
    a = bench_sim(tmp_path, "a", "4")
    b = bench_sim(tmp_path, "b", "4")
    slow = bench_sim(tmp_path, "slow", "4.4")  # the device 10% slower
    proc = run_hdeploy("report", a, slow, "--out", tmp_path / "r1", "--json",
                       "--fail-on-regression", "5%", check=1)
    c = comparison(json.loads(proc.stdout), 2)
    median = c["changes"][0]
    assert median["regression"], c
    assert 6.0 < median["change_percent"] < 12.0, median
    assert "regression:" in proc.stderr
    proc = run_hdeploy("report", a, b, "--out", tmp_path / "r2", "--json",
                       "--fail-on-regression", "5%", check=0)
    c = comparison(json.loads(proc.stdout), 2)
    assert not c["regression"], c
    dom = dump_dom(tmp_path, tmp_path / "r2" / "report.html")
    assert dom.errors.strip() == "", dom.errors
    assert dom.canvases and all(c.get("data-drawn") == "1" for c in dom.canvases)


def test_help(hdeploy_bin):
    proc = run_hdeploy("report", "--help", check=0)
    for flag in ("--out", "--fail-on-regression", "--force", "--json", "--chartjs",
                 "chart.min.js", "5%"):
        assert flag in proc.stdout, flag
    run_hdeploy("report", check=2)
