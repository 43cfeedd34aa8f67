"""End-to-end tests of `hdeploy calib`: the calibration set equals torchvision's Resize(256) +
CenterCrop(224) of each image bit for bit (as uint8 values in float32 NHWC), in the order a
Python re-implementation of the seeded shuffle predicts, with a manifest whose hashes are the
files', and every error path. All images are generated here."""
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from PIL import Image, ImageOps
from torchvision import transforms

from conftest import ROOT, hdeploy_binary, one_error_line, run_hdeploy, sha256

RESIZE_CROP = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
JSON_KEYS = {"npy", "manifest", "shape", "count_requested", "count_used", "skipped", "seed",
             "npy_sha256", "warnings", "seconds"}

# ---- the seeded order, written again from the definitions (std::mt19937_64) ----------------
MASK64 = (1 << 64) - 1


class Mt19937_64:
    """std::mt19937_64 as the C++ standard specifies it (checked: 10000th output below)."""

    def __init__(self, seed):
        self.mt = [seed & MASK64]
        for i in range(1, 312):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64)
        self.index = 312

    def __call__(self):
        if self.index >= 312:
            mt = self.mt
            for i in range(312):
                x = (mt[i] & ~((1 << 31) - 1) & MASK64) | (mt[(i + 1) % 312] & ((1 << 31) - 1))
                mt[i] = mt[(i + 156) % 312] ^ (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def uniform_below(rng, bound):
    threshold = ((1 << 64) - bound) % bound
    while True:
        x = rng()
        if x >= threshold:
            return x % bound


def seeded_order(relative_paths, seed):
    """Sorted byte-wise, then Fisher-Yates from the back with unbiased bounded draws."""
    items = sorted(relative_paths, key=lambda p: p.encode())
    rng = Mt19937_64(seed)
    for i in range(len(items), 1, -1):
        j = uniform_below(rng, i)
        items[i - 1], items[j] = items[j], items[i - 1]
    return items


def test_reference_engine_matches_the_standard():
    rng = Mt19937_64(5489)
    for _ in range(9999):
        rng()
    assert rng() == 9981545732273789042
    # The same permutation the C++ unit test pins (calibration_test.cpp).
    assert "".join(seeded_order([str(i) for i in range(10)], 0)) == "7208396154"


# ---- images ---------------------------------------------------------------------------------

def smooth_rgb(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 100 * np.sin(x / (w / 7.0) + seed), 128 + 100 * np.cos(y / (h / 5.0)),
                     (x + 2 * y + 30 * seed) % 256], axis=-1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


IMAGES = [("a_wide.jpg", 640, 360), ("b_tall.JPG", 300, 500), ("c_small.png", 120, 90),
          ("d_square.png", 256, 256), ("e_big.jpeg", 1200, 900), ("f_odd.jpg", 257, 255),
          ("classes/g_sub.png", 400, 300), ("classes/h_sub.jpg", 224, 224)]


@pytest.fixture
def image_dir(tmp_path):
    """Eight readable images (JPEG and PNG, varied sizes, one grayscale, one in a subfolder),
    one corrupt JPEG and a text file that is not an image."""
    d = tmp_path / "images"
    (d / "classes").mkdir(parents=True)
    for i, (name, w, h) in enumerate(IMAGES):
        pixels = smooth_rgb(w, h, i)
        image = Image.fromarray(pixels)
        if name == "f_odd.jpg":
            image = image.convert("L")
        if name.lower().endswith((".jpg", ".jpeg")):
            image.save(d / name, quality=90)
        else:
            image.save(d / name)
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (d / "readme.txt").write_text("not an image\n")
    return d


def reference(path):
    with Image.open(path) as im:
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    return np.asarray(RESIZE_CROP(rgb))


def calib(image_dir, out, *extra, check=0, model="resnet18", json_out=True):
    args = ["calib", image_dir, "--model", model, "-o", out, *extra]
    if json_out:
        args.append("--json")
    proc = run_hdeploy(*args, check=check)
    return proc, (json.loads(proc.stdout) if check == 0 and json_out else None)


# ---- the set --------------------------------------------------------------------------------

def test_rows_equal_torchvision_in_the_seeded_order(image_dir, tmp_path):
    out = tmp_path / "calib.npy"
    proc, result = calib(image_dir, out, "--count", "100", "--seed", "3")
    assert set(result) == JSON_KEYS
    assert result["shape"] == [8, 224, 224, 3]
    assert result["count_requested"] == 100 and result["count_used"] == 8
    assert result["seed"] == 3
    assert result["npy"] == str(out)
    assert result["manifest"] == str(tmp_path / "calib.manifest.json")
    assert result["seconds"] > 0

    array = np.load(out)
    assert array.dtype == np.float32 and array.shape == (8, 224, 224, 3)
    assert array.min() >= 0 and array.max() <= 255
    assert np.array_equal(array, np.round(array))  # uint8 pixel values, not normalised

    manifest = json.loads((tmp_path / "calib.manifest.json").read_text())
    used = [entry["path"] for entry in manifest["images"]]
    candidates = [name for name, _, _ in IMAGES] + ["corrupt.jpg"]
    assert used == [p for p in seeded_order(candidates, 3) if p != "corrupt.jpg"]
    for i, relative in enumerate(used):
        expected = reference(image_dir / relative)
        got = array[i].astype(np.uint8)
        assert np.array_equal(got, expected), (
            f"row {i} ({relative}): {np.count_nonzero(got != expected)} values differ")
        assert np.array_equal(array[i], expected.astype(np.float32))


def test_order_is_deterministic_per_seed(image_dir, tmp_path):
    _, first = calib(image_dir, tmp_path / "a.npy", "--seed", "0", "--threads", "1")
    _, again = calib(image_dir, tmp_path / "b.npy", "--seed", "0", "--threads", "4")
    _, other = calib(image_dir, tmp_path / "c.npy", "--seed", "1")
    assert first["npy_sha256"] == again["npy_sha256"]
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    assert other["npy_sha256"] != first["npy_sha256"]
    order = [e["path"] for e in json.loads((tmp_path / "a.manifest.json").read_text())["images"]]
    order1 = [e["path"] for e in json.loads((tmp_path / "c.manifest.json").read_text())["images"]]
    assert sorted(order) == sorted(order1) and order != order1


def test_count_smaller_than_available(image_dir, tmp_path):
    out = tmp_path / "small.npy"
    proc, result = calib(image_dir, out, "--count", "3", "--seed", "9")
    assert result["shape"] == [3, 224, 224, 3] and result["count_used"] == 3
    assert np.load(out).shape == (3, 224, 224, 3)
    manifest = json.loads((tmp_path / "small.manifest.json").read_text())
    candidates = [name for name, _, _ in IMAGES] + ["corrupt.jpg"]
    order = seeded_order(candidates, 9)
    taken = [p for p in order if p != "corrupt.jpg"][:3]
    assert [e["path"] for e in manifest["images"]] == taken
    # Only the under-1024 warning: as many images as asked for.
    assert len(result["warnings"]) == 1 and "1024" in result["warnings"][0]
    # The corrupt image is reported only when it came before the third image taken.
    reached_corrupt = order.index("corrupt.jpg") < order.index(taken[-1])
    assert (len(result["skipped"]) == 1) == reached_corrupt


def test_corrupt_image_is_listed_and_warned_about(image_dir, tmp_path):
    proc, result = calib(image_dir, tmp_path / "calib.npy")
    assert [s["path"] for s in result["skipped"]] == [str(image_dir / "corrupt.jpg")]
    assert result["skipped"][0]["reason"]
    assert any("warning: skipped" in line and "corrupt.jpg" in line
               for line in proc.stderr.splitlines()), proc.stderr
    # Under 1024 images and fewer than the default --count 1024: both said, on stderr too.
    assert len(result["warnings"]) == 2
    assert any("1024" in w and "accuracy" in w for w in result["warnings"])
    assert any("1024 images requested" in w for w in result["warnings"])
    for warning in result["warnings"]:
        assert warning in proc.stderr
    manifest = json.loads((tmp_path / "calib.manifest.json").read_text())
    assert manifest["skipped"] == [{"path": "corrupt.jpg", "reason": result["skipped"][0]["reason"]}]
    assert "readme.txt" not in json.dumps(manifest)


def test_manifest_records_hashes_and_preprocessing(image_dir, tmp_path):
    out = tmp_path / "sets" / "calib.npy"  # the folder is created
    _, result = calib(image_dir, out, "--seed", "5")
    manifest = json.loads((tmp_path / "sets" / "calib.manifest.json").read_text())
    assert manifest["format"] == "hdeploy-calibration" and manifest["version"] == 1
    assert manifest["hdeploy_version"]
    assert manifest["model"]["name"] == "resnet18"
    assert manifest["model"]["spec"].endswith("resnet18.toml")
    pre = manifest["preprocessing"]
    assert pre["resize"]["shorter_side"] == 256 and pre["center_crop"] == [224, 224]
    assert "on chip" in pre["normalization"]
    assert manifest["layout"] == "NHWC" and manifest["dtype"] == "float32"
    assert manifest["range"] == [0, 255] and manifest["shape"] == [8, 224, 224, 3]
    assert manifest["seed"] == 5
    assert manifest["count_requested"] == 1024 and manifest["count_used"] == 8
    assert manifest["candidates"] == 9
    for entry in manifest["images"]:
        assert entry["sha256"] == sha256(image_dir / entry["path"]), entry["path"]
        with Image.open(image_dir / entry["path"]) as im:
            assert [entry["width"], entry["height"]] == list(im.size)
    assert manifest["npy"] == {"file": "calib.npy", "sha256": sha256(out)}
    assert result["npy_sha256"] == sha256(out)


def test_text_output(image_dir, tmp_path):
    out = tmp_path / "calib.npy"
    proc, _ = calib(image_dir, out, "--count", "2", json_out=False)
    assert str(out) in proc.stdout and "2 images" in proc.stdout
    assert "2x224x224x3" in proc.stdout and sha256(out) in proc.stdout
    assert str(tmp_path / "calib.manifest.json") in proc.stdout


def test_force_overwrites_and_existing_output_is_refused(image_dir, tmp_path):
    out = tmp_path / "calib.npy"
    out.write_bytes(b"keep")
    proc, _ = calib(image_dir, out, check=1)
    one_error_line(proc, str(out), "--force")
    assert out.read_bytes() == b"keep"
    assert not (tmp_path / "calib.manifest.json").exists()
    _, result = calib(image_dir, out, "--force")
    assert np.load(out).shape == (8, 224, 224, 3)
    # An existing manifest alone also stops it.
    other = tmp_path / "other.npy"
    (tmp_path / "other.manifest.json").write_text("old")
    proc, _ = calib(image_dir, other, check=1)
    one_error_line(proc, "other.manifest.json", "--force")
    assert not other.exists() and (tmp_path / "other.manifest.json").read_text() == "old"


# ---- errors ---------------------------------------------------------------------------------

def test_missing_folder(tmp_path):
    proc, _ = calib(tmp_path / "nope", tmp_path / "c.npy", check=1)
    one_error_line(proc, "nope", "folder")
    assert list(tmp_path.iterdir()) == []


def test_folder_is_a_file(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"x")
    proc, _ = calib(tmp_path / "x.jpg", tmp_path / "c.npy", check=1)
    one_error_line(proc, "x.jpg", "not a folder")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    proc, _ = calib(tmp_path / "empty", tmp_path / "c.npy", check=1)
    one_error_line(proc, str(tmp_path / "empty"), ".jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_only_corrupt_images(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "one.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (d / "two.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    proc, _ = calib(d, tmp_path / "c.npy", check=1)
    one_error_line(proc, str(d), "none of the 2 images")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


@pytest.mark.parametrize("args", [["--count", "0"], ["--count", "-1"], ["--count", "many"],
                                  ["--max-pixels", "0"], ["--max-pixels", "-5"],
                                  ["--threads", "-2"], ["--seed", "-1"]])
def test_bad_numbers_are_usage_errors(image_dir, tmp_path, args):
    proc, _ = calib(image_dir, tmp_path / "c.npy", *args, check=2)
    assert args[0] in proc.stderr
    assert not (tmp_path / "c.npy").exists()


def test_missing_required_options(image_dir, tmp_path):
    proc = run_hdeploy("calib", image_dir, "--model", "resnet18", check=2)
    assert "--out" in proc.stderr
    proc = run_hdeploy("calib", image_dir, "-o", tmp_path / "c.npy", check=2)
    assert "--model" in proc.stderr


def test_unknown_spec(image_dir, tmp_path):
    proc, _ = calib(image_dir, tmp_path / "c.npy", model="resnet999", check=1)
    one_error_line(proc, "resnet999")
    assert not (tmp_path / "c.npy").exists()


def test_mobilenet_spec_and_spec_path(image_dir, tmp_path):
    _, result = calib(image_dir, tmp_path / "m.npy", "--count", "2",
                      model=ROOT / "models" / "mobilenet_v2.toml")
    assert result["shape"] == [2, 224, 224, 3]
    manifest = json.loads((tmp_path / "m.manifest.json").read_text())
    assert manifest["model"]["name"] == "mobilenet_v2"
    assert manifest["model"]["spec"] == str(ROOT / "models" / "mobilenet_v2.toml")


def test_help_shows_defaults(image_dir):
    proc = run_hdeploy("calib", "--help", check=0)
    for needle in ("--count", "1024", "--seed", "--threads", "subfolders", "--force", "--json"):
        assert needle in proc.stdout, needle


def test_interrupt_leaves_nothing(tmp_path):
    """SIGINT while images are being decoded: exit 1, no .npy, no manifest, no temp file."""
    d = tmp_path / "big"
    d.mkdir()
    Image.fromarray(smooth_rgb(3000, 2000, 1)).save(d / "img000.jpg", quality=95)
    for i in range(1, 60):
        shutil.copy(d / "img000.jpg", d / f"img{i:03d}.jpg")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen([str(hdeploy_binary()), "calib", str(d), "--model", "resnet18",
                             "-o", str(out_dir / "calib.npy"), "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(out_dir.iterdir()) and time.monotonic() < deadline:  # the temp file
        time.sleep(0.02)
    assert any(out_dir.iterdir()), "calib never started writing"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    assert "interrupted" in stderr
    assert list(out_dir.iterdir()) == []


def test_a_file_name_that_is_not_utf8_is_written_escaped(tmp_path):
    # Linux names are bytes: b"bad\xff.png" is no UTF-8 string. calib uses it, writes the
    # .npy and a manifest that parses, names it with \xff, and says so.
    d = tmp_path / "images"
    d.mkdir()
    Image.fromarray(smooth_rgb(300, 260, 1)).save(d / "good.png")
    with open(os.path.join(os.fsencode(str(d)), b"bad\xff.png"), "wb") as f:
        Image.fromarray(smooth_rgb(320, 240, 2)).save(f, format="PNG")
    out = tmp_path / "calib.npy"
    proc, result = calib(d, out)
    assert np.load(out).shape == (2, 224, 224, 3)
    manifest = json.loads((tmp_path / "calib.manifest.json").read_text())
    names = sorted(entry["path"] for entry in manifest["images"])
    assert names == ["bad\\xff.png", "good.png"], names
    assert "not UTF-8" in proc.stderr and "\\xNN" in proc.stderr, proc.stderr
    assert result["count_used"] == 2
