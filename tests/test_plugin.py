"""The hailo backend as a plugin: found, missing, HailoRT missing, wrong version, HailoRT's
environment set before it loads, and infer and bench sending the same quantized bytes.

The plugins here are the small fakes the build makes (build/test-plugins/<variant>/
libhdeploy_hailo.so, src/testing/fake_plugin.cpp): the "good" one is a device only with
HDEPLOY_FAKE_DEVICE=1, whose input is uint8 NHWC 224x224x3 with the qp (scale 1.2, zero
point 3), and which appends the FNV-1a hash of every input frame to $HDEPLOY_FAKE_RECORD.
"""

import numpy as np
import pytest
from PIL import Image
from torchvision import transforms

from conftest import hdeploy_binary, one_error_line, run_hdeploy
from hef_files import made_hef


def plugins(variant):
    folder = hdeploy_binary().parent / "test-plugins" / variant
    if variant != "absent":
        assert (folder / "libhdeploy_hailo.so").is_file(), f"{folder}: build the fake plugins"
    return folder


def env_for(variant, device=False, **extra):
    env = {"HDEPLOY_PLUGIN_PATH": str(plugins(variant)),
           "HDEPLOY_FAKE_DEVICE": "1" if device else "0"}
    env.update(extra)
    return env


@pytest.fixture
def clean_env(monkeypatch):
    """The user's own HailoRT variables are not set unless a test sets them."""
    monkeypatch.delenv("HAILORT_LOGGER_PATH", raising=False)
    monkeypatch.delenv("HAILORT_CONSOLE_LOGGER_LEVEL", raising=False)


@pytest.fixture
def image(tmp_path):
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(300, 400, 3), dtype=np.uint8)
    path = tmp_path / "img.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def hef(tmp_path):
    # The fake device does not read its model; infer and bench need a .hef path that exists.
    path = tmp_path / "model.hef"
    path.write_bytes(b"\x01HEF not a real one")
    return path


def test_version_lists_backends_with_the_plugins_hailort(hdeploy_bin, clean_env):
    out = run_hdeploy("--version", check=0, env=env_for("good")).stdout
    assert out.startswith("hdeploy ")
    assert "cpu    available: OpenCV" in out
    assert "sim    available" in out
    hailo = [line for line in out.splitlines() if line.strip().startswith("hailo")]
    assert len(hailo) == 1 and "available: HailoRT 9.9.9" in hailo[0], out
    assert str(plugins("good")) in hailo[0]


def test_version_says_why_hailo_is_not_available(hdeploy_bin, clean_env):
    out = run_hdeploy("--version", check=0, env=env_for("absent")).stdout
    hailo = [line for line in out.splitlines() if line.strip().startswith("hailo")][0]
    assert "not available" in hailo and "HailoRT" in hailo and "apt install hailo-all" in hailo


def test_hailo_without_the_plugin_is_one_line_naming_hailort(hdeploy_bin, hef, image, clean_env):
    proc = run_hdeploy("infer", hef, image, "--backend", "hailo", "--model", "resnet18",
                       env=env_for("absent"))
    assert proc.returncode == 1, proc.stderr
    one_error_line(proc, "needs HailoRT", "libhdeploy_hailo.so", "apt install hailo-all")


def test_hailo_with_hailort_missing_names_the_library(hdeploy_bin, hef, image, clean_env):
    proc = run_hdeploy("infer", hef, image, "--backend", "hailo", "--model", "resnet18",
                       env=env_for("needs_vendor"))
    assert proc.returncode == 1, proc.stderr
    one_error_line(proc, "libhdeploy_fake_vendor.so", "HailoRT", "not installed here")
    # With the "vendor library" where the loader finds it, the same plugin loads.
    vendor = hdeploy_binary().parent / "test-plugins" / "vendor"
    out = run_hdeploy("--version", check=0,
                      env=env_for("needs_vendor", LD_LIBRARY_PATH=str(vendor))).stdout
    assert "available: HailoRT 9.9.9" in out


@pytest.mark.parametrize("variant,needle", [
    ("old_api", "plugin API version 0"),
    ("other_hdeploy", "was built for hdeploy 0.0.1-other"),
    ("not_a_plugin", "is not an hdeploy plugin"),
])
def test_a_plugin_of_another_version_is_refused_in_one_line(hdeploy_bin, hef, image, clean_env,
                                                            variant, needle):
    proc = run_hdeploy("infer", hef, image, "--backend", "hailo", "--model", "resnet18",
                       env=env_for(variant))
    assert proc.returncode == 1, proc.stderr
    one_error_line(proc, needle)


def test_hailort_environment_is_set_before_the_plugin_loads(hdeploy_bin, hef, image, tmp_path,
                                                           clean_env):
    # The fake reports the variables as its load-time initializers saw them.
    proc = run_hdeploy("infer", hef, image, "--backend", "hailo", "--model", "resnet18",
                       env=env_for("good"), cwd=tmp_path)
    assert proc.returncode == 1
    one_error_line(proc, "HAILORT_LOGGER_PATH=NONE, HAILORT_CONSOLE_LOGGER_LEVEL=critical")
    assert not (tmp_path / "hailort.log").exists()
    # The user's own values win; --verbose sets nothing.
    proc = run_hdeploy("infer", hef, image, "--backend", "hailo", "--model", "resnet18",
                       env=env_for("good", HAILORT_LOGGER_PATH=str(tmp_path)))
    one_error_line(proc, f"HAILORT_LOGGER_PATH={tmp_path}, HAILORT_CONSOLE_LOGGER_LEVEL=critical")
    proc = run_hdeploy("--verbose", "infer", hef, image, "--backend", "hailo", "--model",
                       "resnet18", env=env_for("good"))
    one_error_line(proc, "HAILORT_LOGGER_PATH=unset, HAILORT_CONSOLE_LOGGER_LEVEL=unset")


def test_cpu_and_sim_never_load_the_plugin(hdeploy_bin, tmp_path, clean_env):
    # A plugin folder whose file cannot be loaded at all: only a load would notice.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "libhdeploy_hailo.so").write_bytes(b"not an ELF file")
    env = {"HDEPLOY_PLUGIN_PATH": str(broken)}
    hef = made_hef("hailo8-classifier")
    proc = run_hdeploy("bench", hef, "--backend", "sim", "--device", "hailo8", "--duration",
                       "0.2s", "--warmup", "0s", "--out", tmp_path / "run", check=0, env=env)
    assert "plugin" not in proc.stderr, proc.stderr
    out = run_hdeploy("--version", check=0, env=env).stdout
    assert "cannot be loaded as a plugin" in out


def fnv1a(data: bytes) -> str:
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def expected_device_bytes(path):
    """resnet18's preprocessing (torchvision, bit-exact in hdeploy), then HailoRT's host
    quantization with the fake's input qp: clip, then round half to even, in float32."""
    pixels = np.asarray(transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])(
        Image.open(path).convert("RGB")), dtype=np.uint8)
    scale, zp = np.float32(1.2), np.float32(3.0)
    lo, hi = (np.float32(0) - zp) * scale, (np.float32(255) - zp) * scale
    v = np.clip(pixels.astype(np.float32), lo, hi)
    q = np.rint(v / scale + zp)
    return np.clip(q, 0, 255).astype(np.uint8).tobytes()


def test_infer_and_bench_send_the_same_quantized_bytes(hdeploy_bin, hef, image, tmp_path,
                                                       clean_env):
    expected = fnv1a(expected_device_bytes(image))
    record = tmp_path / "frames.txt"
    env = env_for("good", device=True, HDEPLOY_FAKE_RECORD=str(record))
    run_hdeploy("infer", hef, image, "--backend", "hailo", "--model", "resnet18", check=0,
                env=env)
    assert record.read_text().split() == [expected]
    record.unlink()
    images = tmp_path / "images"
    images.mkdir()
    (images / "img.png").write_bytes(image.read_bytes())
    run_hdeploy("bench", hef, "--backend", "hailo", "--model", "resnet18", "--images", images,
                "--scenario", "latency", "--duration", "1s", "--warmup", "0s",
                "--out", tmp_path / "run", check=0, env=env)
    hashes = record.read_text().split()
    assert len(hashes) >= 10, hashes[:3]
    assert set(hashes) == {expected}


def test_auto_runs_on_the_plugin_device_when_one_answers(hdeploy_bin, hef, image, clean_env):
    proc = run_hdeploy("infer", hef, image, "--model", "resnet18", "--json", check=0,
                       env=env_for("good", device=True))
    assert "a Hailo device answered" in proc.stderr
    assert '"backend": "hailo"' in proc.stdout
