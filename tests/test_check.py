"""hdeploy check: structure, Hailo lint, CPU-backend parity with PyTorch, and its error paths."""
import json
import shutil

import numpy as np
import onnx
import pytest

from conftest import run_hdeploy
from onnx_models import small_model


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_exported_models_pass(exported, name):
    model = exported[name] / "model.onnx"
    proc = run_hdeploy("check", model, "--json", check=0)
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert report["structure"]["ok"] is True
    assert report["structure"]["opset"] == 13
    assert report["inputs"][0]["shape"] == [1, 3, 224, 224]
    assert report["outputs"][0]["shape"] == [1, 1000]
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    assert report["suggested_end_node"]
    assert report["cpu_backend"]["ok"] is True
    parity = report["parity"]
    assert parity["ran"] and parity["pass"]
    assert parity["max_abs_diff"] <= 1e-4
    assert parity["topk_identical"] and parity["top1_agree"]
    assert parity["cosine_similarity"] > 0.99999
    assert parity["reference_std"] > 0.1  # the export set BatchNorm statistics
    if name == "mobilenet_v2":
        # ReLU6 exports as Clip with bound inputs: rewritten in memory where OpenCV needs it
        # (4.6, Debian 12); 4.10 (Debian 13) imports the model as exported.
        rewritten = report["cpu_backend"]["rewritten_for_opencv"]
        assert (report["cpu_backend"]["clips_rewritten"] > 0) == rewritten

    text = run_hdeploy("check", model, check=0).stdout
    assert "parity       PASS" in text
    assert text.rstrip().endswith("result: PASS")


def copy_export(src, dst):
    shutil.copytree(src, dst)
    return dst / "model.onnx"


def test_parity_fails_on_a_wrong_reference(exported, tmp_path):
    model = copy_export(exported["resnet18"], tmp_path / "m")
    out = np.load(tmp_path / "m" / "reference" / "output.npy")
    top = int(np.argmax(out))
    out[0, top] -= 10.0  # the CPU result no longer matches, and the top-1 moves
    np.save(tmp_path / "m" / "reference" / "output.npy", out)
    proc = run_hdeploy("check", model, "--json", check=1)
    parity = json.loads(proc.stdout)["parity"]
    assert parity["ran"] and not parity["pass"]
    assert parity["max_abs_diff"] > 9.0
    assert "check failed" in proc.stderr


def test_threshold_flag_is_honoured(exported):
    model = exported["resnet18"] / "model.onnx"
    report = json.loads(run_hdeploy("check", model, "--json", check=0).stdout)
    diff = report["parity"]["max_abs_diff"]
    assert diff > 0  # OpenCV and PyTorch round differently
    proc = run_hdeploy("check", model, "--json", "--max-abs-diff", f"{diff / 2:.3g}", check=1)
    assert json.loads(proc.stdout)["parity"]["pass"] is False


def test_reference_without_spread_is_refused(exported, tmp_path):
    model = copy_export(exported["resnet18"], tmp_path / "m")
    np.save(tmp_path / "m" / "reference" / "output.npy", np.full((1, 1000), 1e-9, np.float32))
    proc = run_hdeploy("check", model, check=1)
    assert "no spread" in proc.stdout


def test_no_reference_is_reported_not_faked(exported, tmp_path):
    shutil.copy(exported["resnet18"] / "model.onnx", tmp_path / "model.onnx")
    proc = run_hdeploy("check", tmp_path / "model.onnx", "--json", check=0)
    parity = json.loads(proc.stdout)["parity"]
    assert parity["ran"] is False and "not run" in parity["reason"]
    assert run_hdeploy("check", tmp_path / "model.onnx", "--reference", tmp_path / "nope",
                       check=1).stderr.count("\n") == 1


def one_error_line(proc, *needles):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_model_files(tmp_path, exported):
    one_error_line(run_hdeploy("check", tmp_path / "missing.onnx", check=1), "missing.onnx")
    one_error_line(run_hdeploy("check", tmp_path, check=1), str(tmp_path), "directory")
    (tmp_path / "notes.onnx").write_text("this is not a model\n")
    one_error_line(run_hdeploy("check", tmp_path / "notes.onnx", check=1), "notes.onnx")
    data = (exported["resnet18"] / "model.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    one_error_line(run_hdeploy("check", tmp_path / "cut.onnx", check=1), "cut.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    one_error_line(run_hdeploy("check", tmp_path / "empty.onnx", check=1), "empty.onnx")


def test_wrong_input_shape_fails_clearly(tmp_path):
    model = small_model(tmp_path / "four.onnx", [1, 4, 16, 16])
    proc = run_hdeploy("check", model, "--json", check=1)
    report = json.loads(proc.stdout)
    assert any(f["severity"] == "error" for f in report["findings"])
    assert report["cpu_backend"]["ok"] is False
    assert "1x3x" in report["cpu_backend"]["error"] or "3" in report["cpu_backend"]["error"]


def test_unsupported_op_is_named(tmp_path):
    model = small_model(tmp_path / "nz.onnx", [1, 3, 16, 16], op="NonZero")
    proc = run_hdeploy("check", model, "--json", check=1)
    report = json.loads(proc.stdout)
    assert "NonZero" in report["cpu_backend"]["error"]
    assert any("NonZero" in f["message"] for f in report["findings"])


def test_dynamic_batch_and_old_opset_are_lint_errors(tmp_path):
    model = small_model(tmp_path / "dyn.onnx", ["N", 3, 16, 16])
    codes = {f["code"] for f in json.loads(run_hdeploy("check", model, "--json").stdout)["findings"]
             if f["severity"] == "error"}
    assert codes, "a dynamic batch dimension must be an error"
    m = onnx.load(small_model(tmp_path / "old.onnx", [1, 3, 16, 16]))
    m.opset_import[0].version = 10
    onnx.save(m, tmp_path / "old.onnx")
    proc = run_hdeploy("check", tmp_path / "old.onnx", "--json", check=1)
    assert any("opset" in f["message"].lower() for f in json.loads(proc.stdout)["findings"])
