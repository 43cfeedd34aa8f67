"""End-to-end tests of `hdeploy compile` without the Dataflow Compiler: a stand-in `hailo`
executable (tests/standin/hailo) and a stand-in hailo_sdk_client package play the DFC, so that
the orchestration, logs, failures, missing outputs and HEF verification are all exercised."""
import json
import os
import pathlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import ROOT, run_hdeploy, sha256
from hef_files import made_hef

STANDIN = ROOT / "tests" / "standin"
HAILO8_HEF = made_hef("hailo8-classifier")  # Hailo-8, 224x224x3 in, 11 classes out, DFC 3.32.0
SPEC = ROOT / "models" / "mobilenet_v2.toml"
BASE_PATH = "/usr/bin:/bin"


def classifier(path, classes=11, size=224, dynamic=False):
    """input 1x3xSxS → GlobalAveragePool → Flatten → Gemm 'fc' → logits 1xC (opset 13)."""
    w = helper.make_tensor("fc.weight", TensorProto.FLOAT, [classes, 3],
                           np.linspace(-1, 1, classes * 3, dtype=np.float32).tolist())
    b = helper.make_tensor("fc.bias", TensorProto.FLOAT, [classes], [0.0] * classes)
    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["pooled"], name="gap"),
             helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
             helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                              transB=1)]
    batch = "batch" if dynamic else 1
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                   [batch, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, classes])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def calib(path, n=8, size=224, dtype=np.float32, layout="nhwc"):
    shape = (n, size, size, 3) if layout == "nhwc" else (n, 3, size, size)
    rng = np.random.default_rng(0)
    np.save(path, (rng.random(shape) * 255).astype(dtype))
    return path


@pytest.fixture
def work(tmp_path):
    """ONNX (11 classes, 224), calib.npy, and the env with the stand-in `hailo` on PATH."""
    onnx_path = classifier(tmp_path / "model.onnx")
    calib_path = calib(tmp_path / "calib.npy")
    record = tmp_path / "hailo-calls.jsonl"
    env = {"PATH": f"{STANDIN}:{BASE_PATH}", "HAILO_STANDIN_RECORD": str(record),
           "HAILO_STANDIN_HEF": str(HAILO8_HEF)}
    return {"dir": tmp_path, "onnx": onnx_path, "calib": calib_path, "record": record,
            "env": env, "out": tmp_path / "out"}


def compile_(work, *extra, check=None, env_extra=None, out=None, json_out=True):
    env = dict(work["env"])
    env.update(env_extra or {})
    args = ["compile", work["onnx"], "--model", SPEC, "--calib", work["calib"],
            "--out", out or work["out"], "--gpu", "no", *extra]
    if json_out:
        args.append("--json")
    proc = run_hdeploy(*args, check=check, env=env)
    result = json.loads(proc.stdout) if json_out and proc.stdout.strip() else None
    return proc, result


def calls(work):
    if not work["record"].exists():
        return []
    return [json.loads(line) for line in work["record"].read_text().splitlines()]


def error_lines(proc):
    return [line for line in proc.stderr.splitlines() if ": error: " in line]


def test_success_with_the_standin_cli(work):
    proc, r = compile_(work, "--hw-arch", "hailo8", "--hailort", "4.22.0", check=0)
    out = work["out"]
    assert r["status"] == "compiled" and r["why"] is None
    assert pathlib.Path(r["hef"]) == out / "model.hef"
    assert (out / "model.hef").read_bytes() == HAILO8_HEF.read_bytes()
    assert r["hef_check"] == {"ok": True, "arch": "HAILO8", "compiler_version": "3.32.0",
                              "input": [224, 224, 3], "output_classes": 11, "problems": []}
    assert r["dfc"]["frontend"] == "cli" and r["dfc"]["version"] == "3.32.0"
    assert r["dfc"]["executable"] == str(STANDIN / "hailo")
    assert r["pairing"] == {"target_hailort": "4.22.0", "ok": True,
                            "message": "DFC 3.32.0 pairs with HailoRT 4.22.0"}
    assert r["optimization_level"] == 0 and r["gpu"] == {"visible": False, "how": "--gpu no"}
    assert [s["name"] for s in r["stages"]] == ["parse", "optimize", "compile"]
    for stage in r["stages"]:
        assert stage["status"] == "ok" and stage["seconds"] >= 0
        log = pathlib.Path(stage["log"])
        assert log == out / "logs" / f"{stage['name']}.log"
        text = log.read_text()
        assert "progress line 29" in text and "a warning on stderr" in text
    # Progress on stderr: a line per stage start and end.
    for name in ("parse", "optimize", "compile"):
        assert f"{name}: started" in proc.stderr and f"{name}: done in" in proc.stderr
    # The stand-in saw the plan: version probe, then the three stages.
    argvs = [c["argv"] for c in calls(work)]
    assert argvs[0] == ["--version"]
    parse, optimize, compiler = argvs[1:]
    assert parse == ["parser", "onnx", str(work["onnx"]), "--net-name", "model", "--hw-arch",
                     "hailo8", "--har-path", str(out / "model.har"), "--start-node-names",
                     "input", "--end-node-names", "fc", "-y"]
    assert optimize == ["optimize", str(out / "model.har"), "--hw-arch", "hailo8",
                        "--calib-set-path", str(work["calib"]), "--model-script",
                        str(out / "model.alls"), "--output-har-path",
                        str(out / "model_optimized.har")]
    assert compiler == ["compiler", str(out / "model_optimized.har"), "--hw-arch", "hailo8",
                        "--output-dir", str(out / "dfc-out")]
    assert all(c["cwd"] == str(out) for c in calls(work)[1:])
    assert r["commands"] == [[str(STANDIN / "hailo"), *a] for a in argvs[1:]]
    # The model script and the manifest.
    alls = (out / "model.alls").read_text()
    assert ("normalization1 = normalization([123.675, 116.28, 103.53], "
            "[58.395, 57.12, 57.375])\n") in alls
    assert "model_optimization_flavor(optimization_level=0, compression_level=2)\n" in alls
    m = json.loads((out / "manifest.json").read_text())
    assert pathlib.Path(r["manifest"]) == out / "manifest.json"
    assert m["format"] == "hdeploy-compile" and m["version"] == 1 and m["status"] == "compiled"
    assert m["sha256"] == {"onnx": sha256(work["onnx"]), "calib": sha256(work["calib"]),
                           "model_alls": sha256(out / "model.alls"),
                           "model_hef": sha256(out / "model.hef")}
    assert m["hw_arch"] == "hailo8" and m["onnx"]["end_node"] == "fc"
    assert m["onnx"]["start_node"] == "input"
    assert m["dfc"]["version"] == "3.32.0" and m["hailort_reported_by_dfc"] == "4.22.0"
    assert m["hdeploy_version"] and m["command_line"][1] == "compile"
    assert "optimization_level" in m["optimization"] and "no GPU" in m["optimization"]["why"]
    # commands.sh is runnable as written: with the stand-in on PATH it redoes the compile.
    script = (out / "commands.sh").read_text()
    assert script.startswith("#!/bin/sh\n") and "set -e" in script
    assert f"--calib-set-path {work['calib']}" in script


def test_text_output_and_warnings(work):
    proc, _ = compile_(work, "--hw-arch", "hailo8", "--hailort", "4.20.0", check=0,
                       json_out=False)
    assert "compile compiled" in proc.stdout and "model.hef" in proc.stdout
    # 8 calibration images (< 1024), no GPU, and DFC 3.32 does not pair with HailoRT 4.20.
    assert "warning: " in proc.stderr and "8 images" in proc.stderr
    assert "optimization_level=0" in proc.stderr
    assert "DFC 3.32.0 pairs with HailoRT 4.22.x, but the target runs HailoRT 4.20.0" in proc.stderr


@pytest.mark.parametrize("stage,name,later", [("parser", "parse", ["optimize", "compile"]),
                                               ("optimize", "optimize", ["compile"]),
                                               ("compiler", "compile", [])])
def test_each_stage_failing_stops_there(work, stage, name, later):
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1,
                       env_extra={"HAILO_STANDIN_FAIL": stage, "HAILO_STANDIN_EXIT": "7"})
    assert r["status"] == "failed" and name in r["why"]
    statuses = {s["name"]: s["status"] for s in r["stages"]}
    assert statuses[name] == "failed"
    for other in later:
        assert statuses[other] == "not_run"
    lines = error_lines(proc)
    assert len(lines) == 1
    assert f"DFC stage '{name}' failed: exited with status 7" in lines[0]
    assert str(work["out"] / "logs" / f"{name}.log") in lines[0]
    # Its last log lines follow the error line.
    assert f"[error] {stage} failed: stand-in failure requested" in proc.stderr
    assert f"{stage} progress line 29" in proc.stderr
    ran = [c["argv"][0] for c in calls(work)[1:]]
    assert ran == {"parse": ["parser"], "optimize": ["parser", "optimize"],
                   "compile": ["parser", "optimize", "compiler"]}[name]
    assert not (work["out"] / "model.hef").exists()
    m = json.loads((work["out"] / "manifest.json").read_text())
    assert m["status"] == "failed" and m["sha256"]["model_hef"] is None


@pytest.mark.parametrize("stage,name,missing", [("parser", "parse", "model.har"),
                                                 ("optimize", "optimize", "model_optimized.har"),
                                                 ("compiler", "compile", "dfc-out")])
def test_stage_without_its_output_fails_naming_it(work, stage, name, missing):
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1,
                       env_extra={"HAILO_STANDIN_NO_OUTPUT": stage})
    assert r["status"] == "failed"
    lines = error_lines(proc)
    assert len(lines) == 1 and f"DFC stage '{name}'" in lines[0]
    assert str(work["out"] / missing) in lines[0]
    assert "exited 0 but" in lines[0]


def test_wrong_arch_hef_fails(work):
    proc, r = compile_(work, "--hw-arch", "hailo8l", check=1)
    assert r["status"] == "failed"
    assert r["hef_check"]["ok"] is False and r["hef_check"]["arch"] == "HAILO8"
    line = error_lines(proc)[0]
    assert "compiled for HAILO8 but --hw-arch hailo8l needs HAILO8L" in line
    assert str(work["out"] / "model.hef") in line


def test_class_count_mismatch_names_both_counts(work):
    classifier(work["onnx"], classes=1000)
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1)
    assert r["status"] == "failed" and r["hef_check"]["output_classes"] == 11
    line = error_lines(proc)[0]
    assert "the HEF outputs 11 classes but the ONNX model outputs 1000" in line


def test_hef_from_env_and_input_size_mismatch(work):
    # A different HEF (MNIST: 32x32x1 in) stands for a compile of the wrong model.
    env = {"HAILO_STANDIN_HEF": str(made_hef("mnist"))}
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1, env_extra=env)
    assert r["status"] == "failed"
    assert any("the HEF's input is" in p for p in r["hef_check"]["problems"])


def test_no_dfc_prepares_everything_and_says_how(work):
    env = {"PATH": BASE_PATH}
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1, env_extra=env)
    assert r["status"] == "not_run" and "hailo" in r["why"]
    assert BASE_PATH not in r["why"]  # the short reason (tables); the error lists the folders
    assert r["dfc"] is None and all(s["status"] == "not_run" for s in r["stages"])
    lines = error_lines(proc)
    assert len(lines) == 1
    for needle in ("`hailo`", BASE_PATH, "--dfc PATH", "--dfc-python PYTHON", "x86-64 Linux",
                   "hailo_dataflow_compiler-<ver>-py3-none-linux_x86_64.whl",
                   "Software Suite", str(work["out"]), "model.alls", "commands.sh",
                   str(work["calib"])):
        assert needle in lines[0], needle
    out = work["out"]
    assert (out / "model.alls").is_file() and (out / "commands.sh").is_file()
    script = (out / "commands.sh").read_text()
    assert "hailo parser onnx" in script and "hailo optimize" in script
    assert "hailo compiler" in script
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "not_run"
    assert r["commands"][0][:3] == ["hailo", "parser", "onnx"]


def test_dry_run_writes_nothing_and_prints_commands(work):
    proc = run_hdeploy("compile", work["onnx"], "--model", SPEC, "--calib", work["calib"],
                       "--out", work["out"], "--hw-arch", "hailo8", "--gpu", "yes", "--dry-run",
                       check=0, env=work["env"])
    assert not work["out"].exists()
    assert calls(work) == []  # not even a version probe
    hailo = str(STANDIN / "hailo")
    assert f"{hailo} parser onnx {work['onnx']} --net-name model --hw-arch hailo8" in proc.stdout
    assert f"{hailo} optimize " in proc.stdout and f"{hailo} compiler " in proc.stdout
    assert "normalization1 = normalization([123.675, 116.28, 103.53]" in proc.stdout
    assert "optimization_level=2, compression_level=2" in proc.stdout
    _, r = compile_(work, "--hw-arch", "hailo8", "--dry-run", check=0)
    assert r["status"] == "dry_run" and r["manifest"] is None and len(r["commands"]) == 3
    assert not work["out"].exists()


def test_existing_compile_needs_force(work):
    compile_(work, "--hw-arch", "hailo8", check=0)
    first = calls(work)
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1)
    assert r["status"] == "failed" and "--force" in r["why"]
    assert "--force" in error_lines(proc)[0] and str(work["out"]) in error_lines(proc)[0]
    assert calls(work) == first  # nothing ran
    _, r = compile_(work, "--hw-arch", "hailo8", "--force", check=0)
    assert r["status"] == "compiled"


def test_usage_errors_exit_2(work):
    proc = run_hdeploy("compile", work["onnx"], "--model", SPEC, "--calib", work["calib"],
                       "--hw-arch", "hailo9", check=2, env=work["env"])
    assert "hailo9" in proc.stderr
    proc = run_hdeploy("compile", work["onnx"], "--model", SPEC, "--calib", work["calib"],
                       "--gpu", "maybe", check=2, env=work["env"])
    proc = run_hdeploy("compile", work["onnx"], "--model", SPEC, check=2, env=work["env"])
    assert "--calib" in proc.stderr
    proc, r = compile_(work, "--hw-arch", "hailo8", "--hailort", "four", check=2)
    assert r["status"] == "failed" and "--hailort" in r["why"]


def test_onnx_that_fails_lint_is_refused(work):
    classifier(work["onnx"], dynamic=True)
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1)
    assert r["status"] == "failed"
    line = error_lines(proc)[0]
    assert "dynamic-shape" in line and "hdeploy check" in line and str(work["onnx"]) in line
    assert calls(work) == [] and not work["out"].exists()


def test_missing_onnx_and_calib(work):
    missing = dict(work, onnx=work["dir"] / "nope.onnx", out=work["dir"] / "o2")
    proc, _ = compile_(missing, check=1, json_out=False)
    assert "nope.onnx" in error_lines(proc)[0]
    missing = dict(work, calib=work["dir"] / "nope.npy", out=work["dir"] / "o3")
    proc, _ = compile_(missing, "--hw-arch", "hailo8", check=1, json_out=False)
    assert "nope.npy" in error_lines(proc)[0]


@pytest.mark.parametrize("kind,needle", [("nchw", "(8, 3, 224, 224)"),
                                         ("size", "(N, 224, 224, 3)"),
                                         ("uint8", "'|u1'")])
def test_calib_with_the_wrong_shape_or_dtype(work, kind, needle):
    if kind == "nchw":
        calib(work["calib"], layout="nchw")
    elif kind == "size":
        calib(work["calib"], size=160)
    else:
        calib(work["calib"], dtype=np.uint8)
    proc, r = compile_(work, "--hw-arch", "hailo8", check=1)
    line = error_lines(proc)[0]
    assert needle in line and str(work["calib"]) in line and "hdeploy calib" in line
    assert calls(work) == []


def test_python_frontend_with_the_standin_sdk(work):
    env = {"PATH": BASE_PATH, "HAILO_STANDIN_VERSION": "3.33.0"}
    proc, r = compile_(work, "--hw-arch", "hailo8", "--dfc-python", STANDIN / "dfc-python",
                       "--hailort", "4.23.0", check=0, env_extra=env)
    assert r["status"] == "compiled"
    assert r["dfc"] == {"frontend": "python", "executable": str(STANDIN / "dfc-python"),
                        "version": "3.33.0"}
    assert r["pairing"]["ok"] is True
    assert (work["out"] / "model.hef").read_bytes() == HAILO8_HEF.read_bytes()
    driver = str(ROOT / "python" / "hdeploy_dfc.py")
    assert [c[1:3] for c in r["commands"]] == [[driver, "parse"], [driver, "optimize"],
                                               [driver, "compile"]]
    recorded = calls(work)
    translate = next(c for c in recorded if c["call"] == "translate_onnx_model")
    assert translate["end_node_names"] == ["fc"] and translate["start_node_names"] == ["input"]
    assert translate["net_input_shapes"] == {"input": [1, 3, 224, 224]}
    assert next(c for c in recorded if c["call"] == "ClientRunner")["hw_arch"] == "hailo8"
    script = next(c for c in recorded if c["call"] == "load_model_script")["text"]
    assert script == (work["out"] / "model.alls").read_text()
    assert next(c for c in recorded if c["call"] == "optimize")["shape"] == [8, 224, 224, 3]


def test_python_frontend_stage_failure_and_missing_sdk(work):
    env = {"PATH": BASE_PATH, "HAILO_STANDIN_FAIL": "optimize"}
    proc, r = compile_(work, "--hw-arch", "hailo8", "--dfc-python", STANDIN / "dfc-python",
                       check=1, env_extra=env)
    assert {s["name"]: s["status"] for s in r["stages"]} == {
        "parse": "ok", "optimize": "failed", "compile": "not_run"}
    assert "stand-in optimize failure requested" in proc.stderr
    # A Python without hailo_sdk_client: not run, and says so.
    proc, r = compile_(work, "--hw-arch", "hailo8", "--dfc-python", "/usr/bin/python3",
                       "--force", check=1, env_extra={"PATH": BASE_PATH})
    assert r["status"] == "not_run"
    assert "hailo_sdk_client" in error_lines(proc)[0]


def test_spec_from_export_json_and_default_out(work, tmp_path):
    # No --model: the spec named in export.json beside the ONNX; no --out: compiled/<name>.
    (work["dir"] / "export.json").write_text(json.dumps({"model": "mobilenet_v2"}))
    proc = run_hdeploy("compile", work["onnx"], "--calib", work["calib"], "--hw-arch", "hailo8",
                       "--gpu", "no", "--json", check=0, env=work["env"], cwd=tmp_path)
    r = json.loads(proc.stdout)
    assert r["status"] == "compiled" and r["out_dir"] == "compiled/mobilenet_v2"
    assert (tmp_path / "compiled" / "mobilenet_v2" / "model.hef").is_file()


def test_heartbeat_while_a_stage_is_quiet(work):
    proc, r = compile_(work, "--hw-arch", "hailo8", "--heartbeat", "1", check=0,
                       env_extra={"HAILO_STANDIN_SLEEP": "2.5"})
    assert r["status"] == "compiled"
    for name in ("parse", "optimize", "compile"):
        beats = [l for l in proc.stderr.splitlines() if f"{name}: still running" in l]
        assert 2 <= len(beats) <= 3, proc.stderr


def test_ctrl_c_stops_the_dfc_and_says_so(work):
    import signal
    import subprocess
    import time
    from conftest import hdeploy_binary
    env = dict(os.environ, **work["env"], HAILO_STANDIN_SLEEP="60")
    child = subprocess.Popen(
        [str(hdeploy_binary()), "compile", str(work["onnx"]), "--model", str(SPEC), "--calib",
         str(work["calib"]), "--out", str(work["out"]), "--hw-arch", "hailo8", "--gpu", "no"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 30
    while not (work["out"] / "logs" / "parse.log").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    started = time.time()
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=30)
    assert time.time() - started < 10  # did not wait for the 60 s stage
    assert child.returncode == 1
    assert "DFC stage 'parse' was interrupted (Ctrl-C)" in stderr
    m = json.loads((work["out"] / "manifest.json").read_text())
    assert m["status"] == "failed"
    assert [s["status"] for s in m["stages"]] == ["failed", "not_run", "not_run"]
