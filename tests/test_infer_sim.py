"""hdeploy infer through the sim backend (an emulated Hailo device) and its errors."""
import json

import pytest

import torch_models
from conftest import one_error_line, run_hdeploy
from hef_files import made_hef

HAILO8_HEF = made_hef("hailo8-classifier")
TRUNCATED_HEF = made_hef("truncated")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim_images")
    paths = []
    for i, (w, h) in enumerate([(320, 240), (240, 320), (500, 300)]):
        path = base / f"img{i}.png"
        torch_models.synthetic_image(300 + i, w, h).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_sim_agrees_with_cpu(exported, images, name):
    onnx = exported[name] / "model.onnx"
    cpu = json.loads(run_hdeploy("infer", onnx, *images, "--backend", "cpu", "--json",
                                 check=0).stdout)
    proc = run_hdeploy("infer", onnx, *images, "--backend", "sim", "--json", check=0)
    sim = json.loads(proc.stdout)
    assert sim["backend"] == "sim"
    assert "emulated Hailo device" in sim["backend_description"]
    assert "TIMING-ONLY" not in sim["backend_description"]
    assert "sim: contract from model spec" in proc.stderr
    assert len(sim["results"]) == len(images)
    scale = sim["output_quantization"]["scale"]
    assert scale > 0
    for c, s in zip(cpu["results"], sim["results"]):
        assert s["top_k"][0]["index"] == c["top_k"][0]["index"]
        assert s["top1_agrees_with_cpu"] is True
        err = s["quantization_error_max_abs"]
        assert err > 0
        # The output qp covers the reference logits' range with 256 levels: the error is about
        # half a step, far below the range (more only for logits outside that range).
        logit_range = 255 * scale
        assert err < 0.05 * logit_range, (err, logit_range)
        assert s["device_ms"] > 0 and s["inference_ms"] >= s["device_ms"]
        assert s["preprocess_ms"] > 0


def test_sim_text_output(exported, images):
    onnx = exported["resnet18"] / "model.onnx"
    proc = run_hdeploy("infer", onnx, images[0], "--backend", "sim", "--top-k", "2",
                       "--sim-fps", "500", "--sim-latency-ms", "3", "--sim-queue", "2", check=0)
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith(str(images[0])) and "device" in lines[0]
    assert lines[1].lstrip().startswith("1.")
    assert "quantization error vs cpu" in lines[-1]
    assert "500 FPS" in proc.stderr and "3.000 ms" in proc.stderr
    assert "overridden by the request" in proc.stderr


def test_auto_on_onnx_says_cpu(exported, images):
    onnx = exported["resnet18"] / "model.onnx"
    proc = run_hdeploy("infer", onnx, images[0], "--json", check=0)
    assert json.loads(proc.stdout)["backend"] == "cpu"
    assert "auto: " in proc.stderr and "on the cpu backend" in proc.stderr


def test_hef_for_other_arch_refused(images):
    proc = run_hdeploy("infer", HAILO8_HEF, images[0], "--backend", "sim", check=1)
    one_error_line(proc, HAILO8_HEF, "HAILO8", "Hailo-8L", "--hw-arch hailo8l")


def test_hef_without_onnx_is_timing_only_and_refused(images):
    proc = run_hdeploy("infer", HAILO8_HEF, images[0], "--backend", "sim", "--device", "hailo8",
                       check=1)
    one_error_line(proc, HAILO8_HEF, "timing only", "ONNX model (.onnx)")


def test_auto_on_hef_says_sim(images):
    proc = run_hdeploy("infer", HAILO8_HEF, images[0], "--device", "hailo8", check=1)
    assert "auto: no Hailo device" in proc.stderr and "on the sim" in proc.stderr
    one_error_line(proc, "timing only")


def test_truncated_hef_refused(images):
    # A file that is not a usable HEF is a failure (exit 1), as every bad input file is.
    proc = run_hdeploy("infer", TRUNCATED_HEF, images[0], "--backend", "sim", check=1)
    one_error_line(proc, TRUNCATED_HEF, "cannot read the HEF")


def test_hailo_backend_needs_a_hef_and_hailort(exported, images, tmp_path):
    onnx = exported["resnet18"] / "model.onnx"
    proc = run_hdeploy("infer", onnx, images[0], "--backend", "hailo", check=2)
    one_error_line(proc, onnx, "the hailo backend runs a compiled .hef")
    # No hailo plugin where hdeploy looks: one line naming HailoRT and how to install it.
    proc = run_hdeploy("infer", HAILO8_HEF, images[0], "--backend", "hailo", check=1,
                       env={"HDEPLOY_PLUGIN_PATH": str(tmp_path)})
    one_error_line(proc, "needs HailoRT", "apt install hailo-all")


@pytest.mark.parametrize("flag,value", [("--sim-fps", "0"), ("--sim-fps=-5", None),
                                        ("--sim-latency-ms", "0"), ("--sim-queue", "0")])
def test_bad_sim_flags_are_usage_errors(exported, images, flag, value):
    onnx = exported["resnet18"] / "model.onnx"
    args = [flag] if value is None else [flag, value]
    proc = run_hdeploy("infer", onnx, images[0], "--backend", "sim", *args, check=2)
    assert flag.split("=")[0] in proc.stderr


def test_cpu_backend_refuses_hef(images):
    proc = run_hdeploy("infer", HAILO8_HEF, images[0], "--backend", "cpu", check=2)
    one_error_line(proc, HAILO8_HEF, "the cpu backend runs ONNX models", "on the sim")


def test_hef_contract_and_timing_with_mismatched_onnx(exported, images):
    """The HEF gives the contract and timing; an ONNX with other outputs is refused."""
    onnx = exported["mobilenet_v2"] / "model.onnx"
    proc = run_hdeploy("infer", HAILO8_HEF, images[0], "--backend", "sim", "--device", "hailo8",
                       "--onnx", onnx, check=1)
    assert f"contract from {HAILO8_HEF.name}" in proc.stderr
    assert "2445 FPS, 4.579 ms latency" in proc.stderr  # the compiler's estimates
    one_error_line(proc, "1x11", "1x1000")
