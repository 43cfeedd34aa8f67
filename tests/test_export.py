"""End-to-end tests of `hdeploy export` (PyTorch -> ONNX + reference), run against the binary.

Run with Debian's Python (it has torch, torchvision, onnx):
    HDEPLOY_BIN=build/hdeploy /usr/bin/python3 -m pytest tests/test_export.py -q
Full exports take 5-20 s each on two cores; this file runs 8 of them plus the session fixture's
2, and a few that fail early.
"""
import json
import os
import pathlib
import stat

import numpy as np
import onnx
import pytest
import torch
import torchvision

from conftest import run_hdeploy, sha256, shows_default

SHAPES = {"resnet18": ([1, 3, 224, 224], [1, 1000]),
          "mobilenet_v2": ([1, 3, 224, 224], [1, 1000])}
REQUIRED = ["model.onnx", "labels.txt", "reference/image.png", "reference/input.npy",
            "reference/output.npy"]


def dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in value_info.type.tensor_type.shape.dim]


def assert_nothing_left(out):
    """No output folder and no temporary sibling (DIR.tmp-*, DIR.old-*) after a failure."""
    out = pathlib.Path(out)
    assert not out.exists(), f"{out} was left behind"
    if out.parent.is_dir():
        leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(out.name + ".")]
        assert not leftovers, f"temporary folders left behind: {leftovers}"


def error_lines(stderr):
    return [line for line in stderr.splitlines() if "error:" in line]


def assert_one_clear_error(proc, *needles):
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = error_lines(proc.stderr)
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def fake_python(directory, name="python3"):
    """An executable that behaves like a Python without torch."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\n"
                    "exit 1\n")
    path.chmod(0o755)
    return path


# --------------------------------------------------------------------------------------------
# The session exports (resnet18, mobilenet_v2, --weights none, seed 0)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_export_writes_a_hailo_ready_onnx(exported, name):
    out = exported[name]
    for rel in REQUIRED + ["export.json"]:
        assert (out / rel).is_file(), rel
    model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(model)
    assert model.ir_version <= 9
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [13]
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    want_in, want_out = SHAPES[name]
    assert [i.name for i in inputs] == ["input"]
    assert dims(inputs[0]) == want_in  # static: no dynamic batch
    assert [o.name for o in model.graph.output] == ["logits"]
    assert dims(model.graph.output[0]) == want_out
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert convs
    for node in convs:
        assert any(a.name == "kernel_shape" for a in node.attribute), node.name
    assert model.graph.node[-1].op_type == "Gemm"  # the classifier: Hailo's end node


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_export_record_and_reference(exported, name):
    out = exported[name]
    record = json.loads((out / "export.json").read_text())
    assert set(record["files"]) == set(REQUIRED)
    for rel, digest in record["files"].items():
        assert sha256(out / rel) == digest, rel
    assert record["model"] == name
    assert record["opset"] == 13 and record["ir_version"] <= 9 and record["seed"] == 0
    assert record["weights"]["kind"] == "none"
    assert record["versions"]["torch"] == torch.__version__
    assert record["versions"]["torchvision"] == torchvision.__version__
    assert record["versions"]["onnx"] == onnx.__version__
    assert os.path.isabs(record["python"]["executable"])
    assert record["input"] == {"name": "input", "shape": [1, 3, 224, 224], "dtype": "float32",
                               "layout": "NCHW"}
    assert record["output"]["name"] == "logits" and record["output"]["shape"] == [1, 1000]
    # sorted keys
    text = (out / "export.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"

    x = np.load(out / "reference/input.npy")
    y = np.load(out / "reference/output.npy")
    assert x.dtype == np.float32 and x.shape == (1, 3, 224, 224)
    assert y.dtype == np.float32 and y.shape == (1, 1000)
    assert np.isfinite(y).all()
    assert y.std() > 0.1, f"logits spread {y.std()}: parity checks would pass trivially"
    assert record["reference"]["logits_std"] == pytest.approx(float(y.std()), rel=1e-5)

    from PIL import Image
    with Image.open(out / "reference/image.png") as im:
        assert im.size == (320, 240) and im.mode == "RGB"
        image = im.convert("RGB")
    # input.npy is torchvision's own preprocessing of image.png, as the spec says
    from torchvision import transforms as T
    expected = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                          T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])(image)
    np.testing.assert_allclose(x[0], expected.numpy(), atol=1e-6)
    assert x.std() > 0.3  # a real image, not a flat one

    labels = (out / "labels.txt").read_text().splitlines()
    assert len(labels) == 1000 and labels[0] == "tench"
    # nothing temporary left next to the export
    assert [p.name for p in out.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []


def test_export_onnx_matches_pytorch_graph_inputs(exported):
    """The ONNX initializers are the PyTorch weights: the Gemm's bias/weight have 1000 rows."""
    model = onnx.load(str(exported["resnet18"] / "model.onnx"))
    shapes = {i.name: list(i.dims) for i in model.graph.initializer}
    assert [1000, 512] in shapes.values()


# --------------------------------------------------------------------------------------------
# Determinism, seeds, JSON output, --force


def test_same_seed_is_deterministic_and_json_summary(exported, tmp_path):
    out = tmp_path / "again"
    proc = run_hdeploy("export", "resnet18", "--weights", "none", "--seed", "0", "--out", out,
                       "--json", check=0)
    summary = json.loads(proc.stdout)
    assert summary["out_dir"] == str(out)
    assert summary["python"]["executable"]
    assert summary["versions"]["torch"] == torch.__version__
    for rel, digest in summary["files"].items():
        assert sha256(out / rel) == digest
    for rel in ("reference/input.npy", "reference/output.npy", "reference/image.png",
                "labels.txt"):
        assert (out / rel).read_bytes() == (exported["resnet18"] / rel).read_bytes(), rel
    # progress on stderr, in order
    stderr = proc.stderr
    positions = [stderr.find(s) for s in ("building resnet18", "setting BatchNorm statistics",
                                          "exporting ONNX (opset 13)", "computing reference")]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), stderr
    assert "torch " + torch.__version__ in stderr


def test_existing_output_needs_force_and_other_seed_differs(exported, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = run_hdeploy("export", "resnet18", "--seed", "1", "--out", out)
    assert proc.returncode == 1, proc.stderr
    assert "--force" in proc.stderr
    assert "building" not in proc.stderr  # refused before torch started
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]

    run_hdeploy("export", "resnet18", "--seed", "1", "--out", out, "--force", check=0)
    assert not (out / "keep.txt").exists()
    assert (out / "model.onnx").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]  # no .tmp-/.old- left
    a = np.load(out / "reference/output.npy")
    b = np.load(exported["resnet18"] / "reference/output.npy")
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert json.loads((out / "export.json").read_text())["seed"] == 1


def test_existing_model_onnx_is_refused(tmp_path):
    out = tmp_path / "onlyonnx"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"old")
    proc = run_hdeploy("export", "resnet18", "--out", out)
    assert proc.returncode == 1 and "--force" in proc.stderr, proc.stderr
    assert (out / "model.onnx").read_bytes() == b"old"


# --------------------------------------------------------------------------------------------
# Opsets, interpreter discovery


@pytest.mark.parametrize("opset", [11, 17])
def test_opset_in_range_exports(tmp_path, opset):
    # The first python3 on PATH has no torch: discovery must skip it and find Debian's.
    fake_dir = tmp_path / "fakebin"
    fake_python(fake_dir)
    env = {"PATH": f"{fake_dir}:{os.environ.get('PATH', '')}", "HDEPLOY_PYTHON": ""}
    out = tmp_path / f"opset{opset}"
    proc = run_hdeploy("export", "resnet18", "--opset", opset, "--out", out, env=env, check=0)
    assert f"skipping python3 on PATH ({fake_dir / 'python3'})" in proc.stderr, proc.stderr
    model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(model)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [opset]
    assert model.ir_version <= 9
    record = json.loads((out / "export.json").read_text())
    assert record["opset"] == opset
    assert record["python"]["executable"] != str(fake_dir / "python3")
    assert record["python"]["executable"] in proc.stderr


@pytest.mark.parametrize("opset", [10, 18])
def test_opset_out_of_range_is_a_usage_error(tmp_path, opset):
    out = tmp_path / "bad"
    proc = run_hdeploy("export", "resnet18", "--opset", opset, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert "--opset" in proc.stderr and "11-17" in proc.stderr
    assert_nothing_left(out)


def test_python_without_torch_is_a_clear_error(tmp_path):
    fake = fake_python(tmp_path / "bin")
    out = tmp_path / "out"
    proc = run_hdeploy("export", "resnet18", "--python", fake, "--out", out)
    line = assert_one_clear_error(proc, str(fake), "No module named 'torch'", "python3-torch")
    assert "--python" in line
    assert_nothing_left(out)
    # the same through $HDEPLOY_PYTHON
    proc = run_hdeploy("export", "resnet18", "--out", out, env={"HDEPLOY_PYTHON": str(fake)})
    assert_one_clear_error(proc, "HDEPLOY_PYTHON", str(fake))
    assert_nothing_left(out)


def test_missing_python_is_a_clear_error(tmp_path):
    out = tmp_path / "out"
    proc = run_hdeploy("export", "resnet18", "--python", tmp_path / "nope" / "python3",
                       "--out", out)
    assert_one_clear_error(proc, "not found")
    assert_nothing_left(out)


# --------------------------------------------------------------------------------------------
# Weights


def seeded_model_with_bn_stats(builder, num_classes, seed, size):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, builder)(weights=None, num_classes=num_classes)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, size[0], size[1]))
    return model.eval()


def test_user_spec_with_weights_file(tmp_path):
    """A user's spec (10 classes, own labels, exact resize, 160x160) and a state_dict file."""
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    labels = [f"class_{i}" for i in range(10)]
    (spec_dir / "labels10.txt").write_text("\n".join(labels) + "\n")
    spec = spec_dir / "tiny10.toml"
    spec.write_text("""
[model]
name = "tiny10"
torchvision = "resnet18"
num_classes = 10
labels = "labels10.txt"

[input]
size = [160, 160]

[preprocess]
resize_mode = "exact"
resize = [180, 200]
center_crop = [160, 160]
mean = [0.5, 0.5, 0.5]
std = [0.25, 0.25, 0.25]
""")
    model = seeded_model_with_bn_stats("resnet18", 10, seed=7, size=(160, 160))
    weights = tmp_path / "tiny10.pth"
    torch.save(model.state_dict(), weights)

    out = tmp_path / "tiny10-export"
    # run from elsewhere: the labels path resolves against the spec file, not the cwd
    run_hdeploy("export", spec, "--weights", weights, "--out", out, cwd="/", check=0)
    x = np.load(out / "reference/input.npy")
    y = np.load(out / "reference/output.npy")
    assert x.shape == (1, 3, 160, 160) and y.shape == (1, 10)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    assert (out / "labels.txt").read_text().splitlines() == labels

    record = json.loads((out / "export.json").read_text())
    assert record["weights"] == {"kind": "path", "path": str(weights), "sha256": sha256(weights)}
    assert record["model"] == "tiny10" and record["num_classes"] == 10
    assert record["spec_path"] == str(spec)
    m = onnx.load(str(out / "model.onnx"))
    assert dims(m.graph.input[0]) == [1, 3, 160, 160]
    assert dims(m.graph.output[0]) == [1, 10]


def test_weights_with_wrong_keys(tmp_path):
    weights = tmp_path / "wrong.pth"
    torch.save({"foo.weight": torch.zeros(3), "conv1.weight": torch.zeros(64, 3, 7, 7)}, weights)
    # missing parent folders are created for the temporary folder, and removed on failure
    out = tmp_path / "a" / "b" / "out"
    proc = run_hdeploy("export", "resnet18", "--weights", weights, "--out", out)
    assert_one_clear_error(proc, str(weights), "missing keys", "unexpected keys", "foo.weight")
    assert "building resnet18" in proc.stderr  # it failed in the script, after the folder
    assert_nothing_left(out)
    assert not (tmp_path / "a").exists()


def test_missing_weights_file(tmp_path):
    out = tmp_path / "out"
    proc = run_hdeploy("export", "resnet18", "--weights", tmp_path / "absent.pth", "--out", out)
    assert proc.returncode == 1 and "absent.pth" in proc.stderr, proc.stderr
    assert_nothing_left(out)


def test_pretrained_offline_is_one_clear_line(tmp_path):
    torch_home = tmp_path / "torch_home"
    torch_home.mkdir()
    dead_proxy = "http://127.0.0.1:9"  # nothing listens on the discard port: offline for sure
    env = {"TORCH_HOME": str(torch_home), "http_proxy": dead_proxy, "https_proxy": dead_proxy,
           "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "no_proxy": "", "NO_PROXY": ""}
    out = tmp_path / "out"
    proc = run_hdeploy("export", "resnet18", "--weights", "pretrained", "--out", out, env=env)
    assert_one_clear_error(proc, "cannot download pretrained weights for resnet18",
                           "--weights PATH")
    assert_nothing_left(out)


# --------------------------------------------------------------------------------------------
# Specs and output folders


def test_unknown_model(tmp_path):
    out = tmp_path / "out"
    proc = run_hdeploy("export", "no_such_model", "--out", out)
    assert proc.returncode != 0
    assert "no_such_model" in proc.stderr and "resnet18" in proc.stderr, proc.stderr
    assert_nothing_left(out)


def test_labels_count_must_match(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('[model]\nname = "bad"\ntorchvision = "resnet18"\nnum_classes = 10\n')
    out = tmp_path / "out"
    proc = run_hdeploy("export", spec, "--out", out)  # labels default to ImageNet's 1000
    assert proc.returncode == 1 and "num_classes" in proc.stderr, proc.stderr
    assert_nothing_left(out)


def root_can_write_anywhere():
    return os.geteuid() == 0


@pytest.mark.parametrize("how", ["parent_is_a_file", "read_only_folder"])
def test_unwritable_output(tmp_path, how):
    if how == "parent_is_a_file":
        blocker = tmp_path / "regular_file"
        blocker.write_text("x")
        out = blocker / "sub" / "out"
    else:
        if root_can_write_anywhere():
            pytest.skip("running as root: chmod 0o500 does not stop root's writes (the "
                        "parent_is_a_file case covers unwritable output as root)")
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        out = locked / "out"
    try:
        proc = run_hdeploy("export", "resnet18", "--out", out)
        assert proc.returncode == 1, proc.stderr
        assert "cannot be written" in proc.stderr, proc.stderr
        assert "building" not in proc.stderr  # checked before torch started
        assert not out.exists()
        if how == "read_only_folder":
            assert list(out.parent.iterdir()) == []
    finally:
        if how == "read_only_folder":
            (tmp_path / "locked").chmod(0o755)


def test_help_shows_defaults():
    proc = run_hdeploy("export", "--help", check=0)
    for needle in ("--weights", "--opset", "11-17", "--seed", "--python", "--force", "--json",
                   "--out"):
        assert needle in proc.stdout, needle
    for default in ("none", "13"):
        assert shows_default(proc.stdout, default), default



def test_force_never_replaces_the_working_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "precious.txt").write_text("keep")
    proc = run_hdeploy("export", "resnet18", "--out", tmp_path, "--force", cwd=work)
    assert proc.returncode == 2 and "--force would delete it" in proc.stderr, proc.stderr
    assert (work / "precious.txt").read_text() == "keep"
