"""hdeploy preprocess against torchvision 0.14 on PIL 9.4: the same pixels, bit for bit.

Every image is generated here with PIL/numpy; the reference is torchvision's
Resize(256) + CenterCrop(224) (+ ToTensor + Normalize) on ImageOps.exif_transpose(
Image.open(f)).convert("RGB").
"""
import io
import json
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from torchvision import transforms

from conftest import run_hdeploy

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
RESIZE_CROP = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
TO_TENSOR = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def reference(path):
    with Image.open(path) as im:
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    cropped = RESIZE_CROP(rgb)
    return np.asarray(cropped)[None], TO_TENSOR(cropped).numpy()[None]


def smooth_rgb(w, h, seed=0):
    """A photo-like image: smooth gradients plus noise, so resizing really averages."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 100 * np.sin(x / (w / 7.0) + seed), 128 + 100 * np.cos(y / (h / 5.0)),
                     (x + 2 * y) % 256], axis=-1)
    return np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)


def preprocess(hdeploy_bin, image, out, layout, *extra):
    run_hdeploy("preprocess", image, "--model", "resnet18", "-o", out, "--layout", layout,
                *extra, check=0)
    return np.load(out)


def assert_matches(hdeploy_bin, tmp_path, image):
    ref_u8, ref_f32 = reference(image)
    got_u8 = preprocess(hdeploy_bin, image, tmp_path / (image.name + ".u8.npy"), "nhwc-uint8")
    assert got_u8.dtype == np.uint8 and got_u8.shape == (1, 224, 224, 3)
    assert np.array_equal(got_u8, ref_u8), (
        f"{image.name}: {np.count_nonzero(got_u8 != ref_u8)} bytes differ, "
        f"max {np.abs(got_u8.astype(int) - ref_u8).max()}")
    got_f32 = preprocess(hdeploy_bin, image, tmp_path / (image.name + ".f32.npy"), "nchw-float")
    assert got_f32.dtype == np.float32 and got_f32.shape == (1, 3, 224, 224)
    assert np.abs(got_f32 - ref_f32).max() <= 1e-6
    return got_f32, ref_f32


# ---- sizes and aspect ratios (RGB JPEG and PNG) ---------------------------------------------

SIZES = [(640, 480), (1000, 300), (257, 255), (100, 700), (223, 224), (224, 224), (256, 256),
         (300, 256), (120, 90), (50, 300), (2000, 1500), (1, 1)]


@pytest.mark.parametrize("w,h", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_rgb_jpeg_sizes(hdeploy_bin, tmp_path, w, h):
    path = tmp_path / f"rgb_{w}x{h}.jpg"
    Image.fromarray(smooth_rgb(w, h)).save(path, quality=90)
    assert_matches(hdeploy_bin, tmp_path, path)


@pytest.mark.parametrize("w,h", SIZES[:6], ids=[f"{w}x{h}" for w, h in SIZES[:6]])
def test_rgb_png_sizes(hdeploy_bin, tmp_path, w, h):
    path = tmp_path / f"rgb_{w}x{h}.png"
    Image.fromarray(smooth_rgb(w, h, seed=3)).save(path)
    assert_matches(hdeploy_bin, tmp_path, path)


def test_float_output_is_bit_identical_to_torch(hdeploy_bin, tmp_path):
    path = tmp_path / "exact.png"
    Image.fromarray(smooth_rgb(333, 251, seed=8)).save(path)
    got, ref = assert_matches(hdeploy_bin, tmp_path, path)
    assert np.array_equal(got, ref)  # stronger than the 1e-6 the issue asks for


@pytest.mark.parametrize("subsampling", [0, 1, 2])  # 4:4:4, 4:2:2, 4:2:0
def test_jpeg_subsampling_and_progressive(hdeploy_bin, tmp_path, subsampling):
    path = tmp_path / f"sub{subsampling}.jpg"
    Image.fromarray(smooth_rgb(517, 389, seed=subsampling)).save(
        path, quality=85, subsampling=subsampling, progressive=subsampling == 2)
    assert_matches(hdeploy_bin, tmp_path, path)


# ---- colour modes ---------------------------------------------------------------------------

def test_grayscale_jpeg(hdeploy_bin, tmp_path):
    path = tmp_path / "gray.jpg"
    Image.fromarray(smooth_rgb(400, 300)[..., 0]).save(path, quality=92)
    assert Image.open(path).mode == "L"
    assert_matches(hdeploy_bin, tmp_path, path)


def test_cmyk_jpeg(hdeploy_bin, tmp_path):
    path = tmp_path / "cmyk.jpg"
    rng = np.random.default_rng(5)
    cmyk = np.concatenate([smooth_rgb(350, 270, seed=1), rng.integers(0, 120, (270, 350, 1))],
                          axis=-1).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    assert_matches(hdeploy_bin, tmp_path, path)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "1"])
def test_png_modes(hdeploy_bin, tmp_path, mode):
    rgb = smooth_rgb(301, 263, seed=4)
    im = Image.fromarray(rgb)
    if mode == "RGBA" or mode == "LA":
        im.putalpha(Image.fromarray(rgb[..., 2]))
    path = tmp_path / f"mode_{mode}.png"
    im.convert(mode).save(path)
    assert Image.open(path).mode == mode
    assert_matches(hdeploy_bin, tmp_path, path)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_palette_png(hdeploy_bin, tmp_path, bits):
    im = Image.fromarray(smooth_rgb(280, 260, seed=6)).quantize(colors=2 ** bits)
    path = tmp_path / f"palette{bits}.png"
    im.save(path, bits=bits)
    assert Image.open(path).mode == "P"
    assert_matches(hdeploy_bin, tmp_path, path)


def test_palette_png_with_transparency(hdeploy_bin, tmp_path):
    im = Image.fromarray(smooth_rgb(260, 280, seed=7)).quantize(colors=16)
    path = tmp_path / "palette_trns.png"
    im.save(path, transparency=3)
    assert "transparency" in Image.open(path).info
    assert_matches(hdeploy_bin, tmp_path, path)


def png_bytes(w, h, bit_depth, color_type, raw, extra=b""):
    """A PNG written by hand (PIL cannot write 16-bit RGB or 2/4-bit grey)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + raw[i * len(raw) // h:(i + 1) * len(raw) // h] for i in range(h))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)) +
            extra + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_png_16bit_rgb(hdeploy_bin, tmp_path):
    rng = np.random.default_rng(9)
    data = (smooth_rgb(270, 290).astype(np.uint16) * 257 + rng.integers(0, 257, (290, 270, 3))
            ).astype(">u2")
    path = tmp_path / "rgb16.png"
    path.write_bytes(png_bytes(270, 290, 16, 2, data.tobytes()))
    assert_matches(hdeploy_bin, tmp_path, path)


def test_png_16bit_gray_clamps(hdeploy_bin, tmp_path):
    # Values around 0..600: PIL's mode "I" (Pillow 9, Debian 12) or "I;16" (Pillow 11, Debian 13)
    # -> RGB clamps at 255 rather than taking the high byte.
    data = (smooth_rgb(300, 260)[..., 0].astype(np.uint16) * 2 + 40).astype(">u2")
    path = tmp_path / "gray16.png"
    path.write_bytes(png_bytes(300, 260, 16, 0, data.tobytes()))
    assert Image.open(path).mode in ("I", "I;16")
    assert_matches(hdeploy_bin, tmp_path, path)


@pytest.mark.parametrize("bits", [2, 4])
def test_png_low_bit_gray(hdeploy_bin, tmp_path, bits):
    w, h = 264, 240
    values = (smooth_rgb(w, h)[..., 1] >> (8 - bits)).astype(np.uint8)
    packed = np.packbits(np.unpackbits(values[..., None], axis=-1)[..., 8 - bits:].reshape(h, -1),
                         axis=-1)
    path = tmp_path / f"gray{bits}.png"
    path.write_bytes(png_bytes(w, h, bits, 0, packed.tobytes()))
    assert_matches(hdeploy_bin, tmp_path, path)


def test_png_interlaced(hdeploy_bin, tmp_path):
    # PIL cannot write Adam7: build the seven passes with numpy.
    w, h = 259, 241
    img = smooth_rgb(w, h, seed=12)
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
              (0, 1, 1, 2)]
    stream = b""
    for x0, y0, dx, dy in passes:
        sub = img[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        stream += b"".join(b"\0" + row.tobytes() for row in sub)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    path = tmp_path / "adam7.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" +
                     chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)) +
                     chunk(b"IDAT", zlib.compress(stream)) + chunk(b"IEND", b""))
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), img)
    assert_matches(hdeploy_bin, tmp_path, path)


# ---- EXIF orientation -----------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_jpeg(hdeploy_bin, tmp_path, orientation):
    path = tmp_path / f"exif{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(smooth_rgb(500, 300, seed=orientation)).save(path, quality=90, exif=exif)
    assert Image.open(path).getexif()[0x0112] == orientation
    assert_matches(hdeploy_bin, tmp_path, path)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_png(hdeploy_bin, tmp_path, orientation):
    path = tmp_path / f"exif{orientation}.png"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(smooth_rgb(420, 300, seed=orientation)).save(path, exif=exif)
    assert Image.open(path).getexif()[0x0112] == orientation
    assert_matches(hdeploy_bin, tmp_path, path)


def test_exif_orientation_can_be_turned_off(hdeploy_bin, tmp_path):
    path = tmp_path / "exif6.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(smooth_rgb(500, 300)).save(path, quality=90, exif=exif)
    src = (pathlib_models() / "resnet18.toml").read_text()
    spec_path = tmp_path / "noexif.toml"
    spec_path.write_text(src.replace("exif_orientation = true", "exif_orientation = false"))
    out = tmp_path / "noexif.npy"
    run_hdeploy("preprocess", path, "--model", spec_path, "-o", out, "--layout", "nhwc-uint8",
                check=0)
    with Image.open(path) as im:
        ref = np.asarray(RESIZE_CROP(im.convert("RGB")))[None]
    assert np.array_equal(np.load(out), ref)


def pathlib_models():
    import pathlib
    return pathlib.Path(__file__).resolve().parent.parent / "models"


# ---- output and CLI behaviour -----------------------------------------------------------------

def test_json_summary(hdeploy_bin, tmp_path):
    path = tmp_path / "summary.jpg"
    Image.fromarray(smooth_rgb(641, 480)).save(path)
    out = tmp_path / "summary.npy"
    proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, "--json", check=0)
    info = json.loads(proc.stdout)
    assert info["layout"] == "nchw-float" and info["dtype"] == "float32"
    assert info["shape"] == [1, 3, 224, 224]
    assert info["source"] == {"width": 641, "height": 480}
    assert info["resized"] == {"width": 341, "height": 256}  # int(256 * 641 / 480) = 341
    assert info["crop"]["top"] == 16 and info["crop"]["left"] == 58  # round(58.5) = 58
    import hashlib
    assert info["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def one_error_line(proc, name):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(name) in lines[0], proc.stderr
    return lines[0]


def test_missing_file(hdeploy_bin, tmp_path):
    out = tmp_path / "o.npy"
    proc = run_hdeploy("preprocess", tmp_path / "nope.jpg", "--model", "resnet18", "-o", out,
                       check=1)
    one_error_line(proc, "nope.jpg")
    assert not out.exists()


def test_directory(hdeploy_bin, tmp_path):
    out = tmp_path / "o.npy"
    (tmp_path / "folder.jpg").mkdir()
    proc = run_hdeploy("preprocess", tmp_path / "folder.jpg", "--model", "resnet18", "-o", out,
                       check=1)
    one_error_line(proc, "folder.jpg")
    assert not out.exists()


@pytest.mark.parametrize("content", [b"", b"this is not an image\n", b"\xff\xd8\xff\xe0garbage",
                                     b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"],
                         ids=["zero-byte", "text", "corrupt-jpeg", "corrupt-png"])
def test_invalid_images(hdeploy_bin, tmp_path, content):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    out = tmp_path / "o.npy"
    proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, check=1)
    one_error_line(proc, "bad.jpg")
    assert not out.exists()


def test_truncated_jpeg_and_png(hdeploy_bin, tmp_path):
    for ext in ("jpg", "png"):
        full = tmp_path / f"full.{ext}"
        Image.fromarray(smooth_rgb(300, 300)).save(full)
        data = full.read_bytes()
        cut = tmp_path / f"cut.{ext}"
        cut.write_bytes(data[:len(data) * 2 // 3])
        with pytest.raises(OSError):  # PIL refuses it too
            Image.open(cut).load()
        out = tmp_path / f"cut_{ext}.npy"
        proc = run_hdeploy("preprocess", cut, "--model", "resnet18", "-o", out, check=1)
        one_error_line(proc, cut.name)
        assert not out.exists()


def test_max_pixels(hdeploy_bin, tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(smooth_rgb(400, 300)).save(path)
    out = tmp_path / "o.npy"
    proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out,
                       "--max-pixels", "119999", check=1)
    line = one_error_line(proc, "big.png")
    assert "120000" in line and "119999" in line and "--max-pixels" in line
    assert not out.exists()
    run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, "--max-pixels", "120000",
                check=0)
    assert out.exists()


def test_unknown_model(hdeploy_bin, tmp_path):
    path = tmp_path / "a.jpg"
    Image.fromarray(smooth_rgb(100, 100)).save(path)
    out = tmp_path / "o.npy"
    proc = run_hdeploy("preprocess", path, "--model", "no_such_model", "-o", out, check=1)
    one_error_line(proc, "no_such_model")
    assert not out.exists()


def test_existing_output_needs_force(hdeploy_bin, tmp_path):
    path = tmp_path / "a.jpg"
    Image.fromarray(smooth_rgb(300, 200)).save(path)
    out = tmp_path / "o.npy"
    out.write_bytes(b"keep me")
    proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, check=1)
    one_error_line(proc, "o.npy")
    assert "--force" in proc.stderr
    assert out.read_bytes() == b"keep me"
    run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, "--force", check=0)
    assert np.load(out).shape == (1, 3, 224, 224)


def test_existing_output_is_checked_before_decoding(hdeploy_bin, tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "o.npy"
    out.write_bytes(b"keep me")
    proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, check=1)
    assert "already exists" in proc.stderr  # not the decode error
    assert out.read_bytes() == b"keep me"


def test_unwritable_output_folder(hdeploy_bin, tmp_path):
    path = tmp_path / "a.jpg"
    Image.fromarray(smooth_rgb(300, 200)).save(path)
    blocker = tmp_path / "not_a_folder"
    blocker.write_bytes(b"")
    out = blocker / "o.npy"
    proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, check=1)
    one_error_line(proc, "o.npy")
    if os.geteuid() != 0:  # root can write anywhere: only the plain-file case applies
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", locked / "o.npy",
                           check=1)
        one_error_line(proc, "o.npy")
        assert not (locked / "o.npy").exists()


def test_usage_errors_exit_2(hdeploy_bin, tmp_path):
    path = tmp_path / "a.jpg"
    Image.fromarray(smooth_rgb(300, 200)).save(path)
    out = tmp_path / "o.npy"
    proc = run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, "--layout", "nchw",
                       check=2)
    one_error_line(proc, "--layout")
    run_hdeploy("preprocess", path, "--model", "resnet18", "-o", out, "--max-pixels", "0",
                check=2)
    run_hdeploy("preprocess", path, "--model", "resnet18", check=2)  # no -o
    assert not out.exists()


def test_help_shows_defaults(hdeploy_bin):
    proc = run_hdeploy("preprocess", "--help", check=0)
    assert "nchw-float" in proc.stdout and "89478485" in proc.stdout
