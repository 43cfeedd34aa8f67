"""hdeploy infer on the CPU: agrees with PyTorch's top-5 through torchvision's transforms."""
import json

import pytest
import torch
from PIL import Image

import torch_models
from conftest import run_hdeploy
from onnx_models import small_model

# (width, height): larger and smaller than 256, odd aspect ratios.
SIZES = [(640, 480), (200, 300), (1000, 333), (257, 255)]


@pytest.fixture(scope="module")
def trained_like(tmp_path_factory):
    """resnet18 and mobilenet_v2 with seeded weights saved by the test, exported with them."""
    base = tmp_path_factory.mktemp("infer")
    out = {}
    for builder in ("resnet18", "mobilenet_v2"):
        model = torch_models.seeded_model(builder, seed=7)
        weights = base / f"{builder}.pth"
        torch.save(model.state_dict(), weights)
        run_hdeploy("export", builder, "--weights", weights, "--out", base / builder, check=0)
        out[builder] = (model, base / builder / "model.onnx")
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    base = tmp_path_factory.mktemp("images")
    paths = []
    for i, (w, h) in enumerate(SIZES):
        path = base / f"img{i}_{w}x{h}.{'jpg' if i % 2 else 'png'}"
        img = torch_models.synthetic_image(100 + i, w, h)
        img.save(path, quality=92) if path.suffix == ".jpg" else img.save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("builder", ["resnet18", "mobilenet_v2"])
def test_top5_matches_pytorch(trained_like, images, builder):
    model, onnx_path = trained_like[builder]
    proc = run_hdeploy("infer", onnx_path, *images, "--json", "--top-k", "5", check=0)
    report = json.loads(proc.stdout)
    assert report["backend"] == "cpu"
    assert len(report["results"]) == len(images)
    labels = (onnx_path.parent / "labels.txt").read_text().splitlines()
    for path, result in zip(images, report["results"]):
        expected = torch_models.logits(model, Image.open(path).convert("RGB"))
        got = [c["index"] for c in result["top_k"]]
        torch_models.assert_same_topk(expected, got)
        probs = torch.softmax(torch.from_numpy(expected), 0).numpy()
        for c in result["top_k"]:
            assert abs(c["probability"] - probs[c["index"]]) < 1e-4
            assert abs(c["logit"] - expected[c["index"]]) < 1e-3
            assert c["label"] == labels[c["index"]]
        assert result["preprocess_ms"] > 0 and result["inference_ms"] > 0


def test_text_output_names_labels(trained_like, images):
    _, onnx_path = trained_like["resnet18"]
    proc = run_hdeploy("infer", onnx_path, images[0], "--top-k", "3", check=0)
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith(str(images[0]))
    assert "ms" in lines[0]
    assert len(lines) == 4 and lines[1].lstrip().startswith("1.")
    assert "%" in lines[1]


def test_user_labels_and_spec_flags(trained_like, images, tmp_path):
    _, onnx_path = trained_like["resnet18"]
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"thing{i}\n" for i in range(1000)))
    proc = run_hdeploy("infer", onnx_path, images[0], "--labels", labels, "--model", "resnet18",
                       "--json", check=0)
    top = json.loads(proc.stdout)["results"][0]["top_k"][0]
    assert top["label"] == f"thing{top['index']}"
    short = tmp_path / "short.txt"
    short.write_text("a\nb\n")
    proc = run_hdeploy("infer", onnx_path, images[0], "--labels", short, check=1)
    assert "short.txt" in proc.stderr


def one_error_line(proc, *needles):
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line]
    assert errors, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_bad_images(trained_like, images, tmp_path):
    _, onnx_path = trained_like["resnet18"]
    (tmp_path / "empty.jpg").write_bytes(b"")
    one_error_line(run_hdeploy("infer", onnx_path, tmp_path / "empty.jpg", check=1), "empty.jpg")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    one_error_line(run_hdeploy("infer", onnx_path, tmp_path / "junk.png", check=1), "junk.png")
    one_error_line(run_hdeploy("infer", onnx_path, tmp_path / "nope.jpg", check=1), "nope.jpg")
    one_error_line(run_hdeploy("infer", onnx_path, tmp_path, check=1), str(tmp_path))
    # Decompression-bomb guard, and the flag that raises it.
    big = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000), (10, 20, 30)).save(big)
    one_error_line(run_hdeploy("infer", onnx_path, big, "--max-pixels", "1000000", check=1),
                   "big.png", "--max-pixels")
    run_hdeploy("infer", onnx_path, big, "--max-pixels", "7000000", check=0)
    # One bad image among good ones: the good ones are still classified, the exit is 1.
    proc = run_hdeploy("infer", onnx_path, images[0], tmp_path / "empty.jpg", "--json", check=1)
    results = json.loads(proc.stdout)["results"]
    assert "top_k" in results[0] and "error" in results[1]


def test_bad_models_and_specs(trained_like, images, tmp_path):
    _, onnx_path = trained_like["resnet18"]
    one_error_line(run_hdeploy("infer", tmp_path / "missing.onnx", images[0], "--model",
                               "resnet18", check=1), "missing.onnx")
    one_error_line(run_hdeploy("infer", onnx_path, images[0], "--model", "resnet999", check=1),
                   "resnet999", "resnet18")
    (tmp_path / "model.onnx").write_bytes(onnx_path.read_bytes())  # no export.json beside it
    one_error_line(run_hdeploy("infer", tmp_path / "model.onnx", images[0], check=2), "--model")
    (tmp_path / "m.hef").write_bytes(b"\x01HEF")
    one_error_line(run_hdeploy("infer", tmp_path / "m.hef", images[0], check=1), "m.hef")
    (tmp_path / "junk.onnx").write_bytes(b"garbage" * 10)
    one_error_line(run_hdeploy("infer", tmp_path / "junk.onnx", images[0], "--model", "resnet18",
                               check=1), "junk.onnx")


def test_models_the_cpu_cannot_run(images, tmp_path):
    four = small_model(tmp_path / "four.onnx", [1, 4, 16, 16])
    one_error_line(run_hdeploy("infer", four, images[0], "--model", "resnet18", check=1),
                   "four.onnx", "1x3xHxW")
    nonzero = small_model(tmp_path / "nz.onnx", [1, 3, 16, 16], op="NonZero")
    one_error_line(run_hdeploy("infer", nonzero, images[0], "--model", "resnet18", check=1),
                   "nz.onnx", "NonZero")
    # A valid classifier whose input size is not the spec's: named, with the flag to fix it.
    small = small_model(tmp_path / "small.onnx", [1, 3, 16, 16], op="Flatten",
                        output_shape=[1, 4 * 14 * 14])
    one_error_line(run_hdeploy("infer", small, images[0], "--model", "resnet18", check=1),
                   "small.onnx", "1x3x16x16", "--model")
