"""End-to-end tests of `hdeploy inspect`: HEF text and JSON for files made by the tests' HEF
writer (every header version and checksum, truncated, corrupted) and, when ../shared/hef is
here, against what HailoRT 4.20 reports for real compiled files (../shared/hef/expected);
compatibility verdicts, ONNX summaries, and the error paths."""
import json

import pytest

from conftest import run_hdeploy
from hef_files import SHARED_HEF_DIR, made_hef, shared_hef

HEF_DIR = SHARED_HEF_DIR
EXPECTED = sorted((HEF_DIR / "expected").glob("*.json"))

# What `hailortcli parse-hef` prints for hailo8-classifier (src/testing/hef_writer.cpp).
CLASSIFIER_DESCRIPTION = """Architecture HEF was compiled for: {arch}
Network group name: skillcheck_mobilenet_v2_224, Single Context
    Network name: skillcheck_mobilenet_v2_224/skillcheck_mobilenet_v2_224
        Stream infos:
            Input  skillcheck_mobilenet_v2_224/input_layer1 UINT8, NHWC(224x224x3)
            Output skillcheck_mobilenet_v2_224/fc1 UINT8, NC(11)
        VStream infos:
            Input  skillcheck_mobilenet_v2_224/input_layer1 UINT8, NHWC(224x224x3)
            Output skillcheck_mobilenet_v2_224/fc1 UINT8, NC(11)
"""


@pytest.mark.parametrize("name,version,checksum,arch,compiler", [
    ("mnist", 0, "MD5", "HAILO8", "3.27.0"),
    ("header-v1", 1, "CRC32", "HAILO8", "3.27.0"),
    ("hailo8-classifier", 2, "XXH3-64", "HAILO8", "3.32.0"),
    ("hailo8l-classifier", 2, "XXH3-64", "HAILO8L", "3.32.0"),
    ("header-v3", 3, "XXH3-64", "HAILO8L", "3.33.0")])
def test_every_header_version(hdeploy_bin, name, version, checksum, arch, compiler):
    hef = made_hef(name)
    proc = run_hdeploy("inspect", hef, "--device", "hailo8", "--runtime", "4.23.0", check=0)
    if name != "mnist":
        assert proc.stdout.startswith(CLASSIFIER_DESCRIPTION.format(arch=arch)), proc.stdout
    assert f"Compiler version: {compiler}" in proc.stdout
    assert f"HEF header version {version}, {checksum} checksum ok" in proc.stdout
    got = json.loads(run_hdeploy("inspect", hef, "--json", check=0).stdout)
    assert got["header_version"] == version and got["arch"] == arch
    assert got["checksum_ok"] is True and got["header"]["checksum"] == checksum
    assert got["header"]["declared_file_size"] == got["header"]["actual_file_size"] == \
        hef.stat().st_size
    assert got["compiler_version"] == compiler


def test_made_classifier_json(hdeploy_bin):
    got = json.loads(run_hdeploy("inspect", made_hef("hailo8-classifier"), "--json", "--runtime",
                                 "4.20.0", "--device", "hailo8", check=0).stdout)
    (group,) = got["network_groups"]
    assert group["name"] == "skillcheck_mobilenet_v2_224" and group["multi_context"] is False
    assert group["bottleneck_fps"] == pytest.approx(2444.8532782426396, rel=1e-12)
    assert group["latency"] == pytest.approx(0.004578675, rel=1e-12)
    (inp,) = group["inputs"]
    assert (inp["type"], inp["order"], inp["shape"], inp["frame_size"]) == \
        ("UINT8", "NHWC", [224, 224, 3], 224 * 224 * 3)
    (out,) = group["outputs"]
    assert (out["order"], out["frame_size"], out["qp_zp"]) == ("NC", 11, 110.0)
    assert out["qp_scale"] == pytest.approx(0.05, rel=1e-7)
    assert got["compatible"]["ok"] is True
    assert got["description"] == CLASSIFIER_DESCRIPTION.format(arch="HAILO8")


def test_mnist_device_and_host_orders(hdeploy_bin):
    proc = run_hdeploy("inspect", made_hef("mnist"), "--device", "hailo8", check=0)
    assert "Input  MNIST_CNN/input_layer1 UINT8, NHCW(32x32x1)" in proc.stdout  # stream
    assert "Input  MNIST_CNN/input_layer1 UINT8, NHWC(32x32x1)" in proc.stdout  # vstream
    assert "Output MNIST_CNN/maxpool3 UINT8, FCR(4x4x16)" in proc.stdout


def load(path):
    return json.loads(path.read_text())


READABLE = [p for p in EXPECTED if load(p)["status"] == 0]  # HailoRT 4.20 read these


@pytest.mark.parametrize("expected", EXPECTED, ids=[p.stem for p in EXPECTED])
def test_text_starts_with_parse_hef_output(hdeploy_bin, expected):
    want = load(expected)
    proc = run_hdeploy("inspect", HEF_DIR / want["file"], "--device", "hailo8")
    if want["status"] != 0:
        assert proc.returncode == 1
        assert "error" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(want["description"])
    assert "Compatibility: will run on hailo8 with HailoRT 4.20.0" in proc.stdout


@pytest.mark.parametrize("expected", READABLE, ids=[p.stem for p in READABLE])
def test_json_matches_hailort(hdeploy_bin, expected):
    want = load(expected)
    proc = run_hdeploy("inspect", HEF_DIR / want["file"], "--json", "--runtime", "4.20.0",
                       "--device", "hailo8l", check=0)
    got = json.loads(proc.stdout)
    for key in ("file", "header_version", "arch", "compiler_version", "checksum_ok",
                "network_groups", "description", "compatible"):
        assert key in got, key
    assert got["arch"] == want["arch"]
    assert got["checksum_ok"] is True
    assert got["description"] == want["description"]
    assert len(got["network_groups"]) == len(want["network_groups"])
    for g, w in zip(got["network_groups"], want["network_groups"]):
        assert g["name"] == w["name"]
        assert g["multi_context"] == w["multi_context"]
        assert g["contexts"] == 1
        assert g["bottleneck_fps"] == pytest.approx(w["bottleneck_fps"], rel=1e-9)
        for direction in ("inputs", "outputs"):
            assert len(g[direction]) == len(w[direction])
            for v, wv in zip(g[direction], w[direction]):
                for key in ("name", "type", "order", "shape", "frame_size", "qp_zp"):
                    assert v[key] == wv[key], (v["name"], key)
                assert v["qp_scale"] == pytest.approx(wv["qp_scale"], rel=1e-7)
    compatible = got["compatible"]
    assert compatible["runtime"] == "4.20.0" and compatible["device"] == "hailo8l"
    assert compatible["ok"] is False  # every expected file is a Hailo-8 build
    assert ("will not run on Hailo-8L: compiled for HAILO8 — recompile with --hw-arch hailo8l"
            in compatible["reasons"])


def test_hailo8_hef_on_hailo8l_verdict(hdeploy_bin):
    hef = made_hef("hailo8-classifier")
    proc = run_hdeploy("inspect", hef, check=0)
    assert "will not run on Hailo-8L: compiled for HAILO8 — recompile with --hw-arch hailo8l" \
        in proc.stdout
    run_hdeploy("inspect", hef, "--require-compatible", check=1)
    run_hdeploy("inspect", hef, "--device", "hailo8", "--require-compatible", check=0)
    run_hdeploy("inspect", made_hef("hailo8l-classifier"), "--device", "hailo8",
                "--require-compatible", check=0)


def test_header_v3_verdict(hdeploy_bin):
    hef = made_hef("header-v3")
    proc = run_hdeploy("inspect", hef, "--runtime", "4.20.0", "--device", "hailo8l", check=0)
    assert "header version 3 needs HailoRT ≥ 4.21 (this target has 4.20.0)" in proc.stdout
    run_hdeploy("inspect", hef, "--runtime", "4.20.0", "--require-compatible", check=1)
    run_hdeploy("inspect", hef, "--runtime", "4.23.0", "--require-compatible", check=0)


def test_hailo15h_needs_the_5x_line(hdeploy_bin):
    hef = made_hef("hailo15h")
    got = json.loads(run_hdeploy("inspect", hef, "--json", "--device", "hailo8", check=0).stdout)
    assert got["arch"] == "HAILO15H" and got["compatible"]["ok"] is False
    ok = json.loads(run_hdeploy("inspect", hef, "--json", "--runtime", "5.1.0", "--device",
                                "hailo15h", check=0).stdout)
    assert ok["compatible"]["ok"] is True, ok["compatible"]


def test_real_header_v3_file(hdeploy_bin):
    hef = shared_hef("edge-privacy-camera_scrfd_2.5g.hef")
    proc = run_hdeploy("inspect", hef, "--runtime", "4.20.0", "--device", "hailo8l", check=0)
    assert "header version 3 needs HailoRT ≥ 4.21 (this target has 4.20.0)" in proc.stdout
    assert "Network group name: scrfd_2_5g, Single Context" in proc.stdout
    got = json.loads(run_hdeploy("inspect", hef, "--json", check=0).stdout)
    assert got["header_version"] == 3
    outputs = [o["name"].split("/")[1] for o in got["network_groups"][0]["outputs"]]
    assert outputs == ["conv43", "conv42", "conv44", "conv50", "conv49", "conv51", "conv56",
                       "conv55", "conv57"]
    ok = json.loads(run_hdeploy("inspect", hef, "--json", "--runtime", "5.1.0", "--device",
                                "hailo15h", check=0).stdout)
    assert ok["compatible"]["ok"] is True, ok["compatible"]


def check_truncated(hef, version, arch):
    proc = run_hdeploy("inspect", hef, check=1)
    assert f"HEF header version {version}" in proc.stdout
    assert f"Architecture HEF was compiled for: {arch}" in proc.stdout
    assert "bytes missing" in proc.stdout
    assert "truncated HEF" in proc.stderr
    proc = run_hdeploy("inspect", hef, "--json", check=1)
    got = json.loads(proc.stdout)
    assert got["header_version"] == version
    assert got["arch"] == arch
    assert got["compatible"]["ok"] is False
    assert "truncated" in got["error"]
    return got


def test_truncated_reports_then_fails(hdeploy_bin):
    got = check_truncated(made_hef("truncated"), 2, "HAILO8L")
    assert got["header"]["missing_bytes"] == 4096


@pytest.mark.parametrize("name,version,arch", [("darrr05_New1.hef", 2, "HAILO8L"),
                                               ("darrr05_yolov8n2try.hef", 0, "HAILO8L")])
def test_real_truncated_files(hdeploy_bin, name, version, arch):
    got = check_truncated(shared_hef(name), version, arch)
    assert got["header"]["missing_bytes"] > 0


@pytest.mark.parametrize("name,checksum", [("mnist", "MD5"), ("header-v1", "CRC32"),
                                           ("hailo8-classifier", "XXH3-64"),
                                           ("header-v3", "XXH3-64")])
def test_corrupted_copy(hdeploy_bin, tmp_path, name, checksum):
    data = bytearray(made_hef(name).read_bytes())
    data[len(data) // 2] ^= 0x40
    bad = tmp_path / "bad.hef"
    bad.write_bytes(bytes(data))
    proc = run_hdeploy("inspect", bad, check=1)
    assert f"{checksum} checksum mismatch" in proc.stderr


def test_real_corrupted_copy(hdeploy_bin, tmp_path):
    data = bytearray(shared_hef("hailo-rpi5-examples_arcface_mobilefacenet.hef").read_bytes())
    data[len(data) // 2] ^= 0x40
    bad = tmp_path / "bad.hef"
    bad.write_bytes(bytes(data))
    proc = run_hdeploy("inspect", bad, check=1)
    assert "CRC32 checksum mismatch" in proc.stderr


def test_missing_file(hdeploy_bin, tmp_path):
    proc = run_hdeploy("inspect", tmp_path / "nope.hef", check=1)
    assert "nope.hef" in proc.stderr


def test_directory(hdeploy_bin, tmp_path):
    proc = run_hdeploy("inspect", tmp_path, check=1)
    assert "error" in proc.stderr


def test_not_a_hef(hdeploy_bin, tmp_path):
    fake = tmp_path / "model.hef"
    fake.write_text("this is not a compiled model\n")
    proc = run_hdeploy("inspect", fake, check=1)
    assert "not a HEF file" in proc.stderr
    other = tmp_path / "model.bin"
    other.write_bytes(b"\x00\x01\x02garbage")
    proc = run_hdeploy("inspect", other, check=1)
    assert "neither a HEF" in proc.stderr


def test_empty_file(hdeploy_bin, tmp_path):
    empty = tmp_path / "empty.hef"
    empty.write_bytes(b"")
    proc = run_hdeploy("inspect", empty, check=1)
    assert "not a HEF file" in proc.stderr


def test_usage_errors(hdeploy_bin):
    hef = made_hef("hailo8-classifier")
    assert "not a HailoRT version" in run_hdeploy("inspect", hef, "--runtime", "four",
                                                  check=2).stderr
    assert "not a Hailo device" in run_hdeploy("inspect", hef, "--device", "hailo9",
                                               check=2).stderr
    run_hdeploy("inspect", check=2)


def test_help(hdeploy_bin):
    proc = run_hdeploy("inspect", "--help", check=0)
    for flag in ("--json", "--runtime", "--device", "4.20.0", "hailo8l"):
        assert flag in proc.stdout


def _tiny_onnx(path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Relu", ["r"], ["s"]),
             helper.make_node("Sigmoid", ["s"], ["y"])]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_onnx(hdeploy_bin, tmp_path):
    model = tmp_path / "tiny.onnx"
    _tiny_onnx(model)
    proc = run_hdeploy("inspect", model, check=0)
    assert "ir_version 8, opset 13" in proc.stdout
    assert "Input  x float32(1x3x4x4)" in proc.stdout
    assert "Relu 2" in proc.stdout
    got = json.loads(run_hdeploy("inspect", model, "--json", check=0).stdout)
    assert got["format"] == "onnx"
    assert got["opset"] == 13 and got["ir_version"] == 8
    assert got["op_counts"] == {"Relu": 2, "Sigmoid": 1}
    assert got["inputs"][0]["shape"] == [1, 3, 4, 4]
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage")
    run_hdeploy("inspect", broken, check=1)
