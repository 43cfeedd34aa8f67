"""The HEF files the end-to-end tests use.

made_hef(name): a file written by the tests' own HEF writer (build/src/testing/make_test_hef,
src/testing/hef_writer.hpp), made once per session, so the tests run on any clone:
  hailo8-classifier   Hailo-8 "skillcheck_mobilenet_v2_224", NHWC(224x224x3) in, NC(11) out,
                      DFC 3.32.0, header v2 (the shape of ../shared/hef/dbd_autoSkillCheck_model.hef)
  hailo8l-classifier  the same for Hailo-8L
  mnist               Hailo-8 "MNIST_CNN", NHCW(32x32x1) in, FCR(4x4x16) out, DFC 3.27.0, v0
  truncated           hailo8l-classifier without its last 4096 bytes
  header-v1           hailo8-classifier in header version 1 (CRC32), DFC 3.27.0
  header-v3           hailo8l-classifier in header version 3 (HailoRT 4.21+), DFC 3.33.0
  hailo15h            a Hailo-15H classifier (HailoRT 5.x)

shared_hef(name): a real compiled file from ../shared/hef, the extra corpus. Tests that use it
are reported as skipped (never passed) when the folder is absent, as on a user's clone.
"""
import atexit
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# HDEPLOY_SHARED_HEF_DIR points elsewhere (or at nothing, to run as a user's clone does).
SHARED_HEF_DIR = pathlib.Path(
    os.environ.get("HDEPLOY_SHARED_HEF_DIR", ROOT.parent / "shared" / "hef")).resolve()

_made_dir = None


def _make_test_hef() -> pathlib.Path:
    binary = os.environ.get("HDEPLOY_MAKE_TEST_HEF")
    if binary:
        return pathlib.Path(binary)
    hdeploy = pathlib.Path(os.environ.get("HDEPLOY_BIN", ROOT / "build" / "hdeploy")).resolve()
    return hdeploy.parent / "src" / "testing" / "make_test_hef"


def made_hef(name: str) -> pathlib.Path:
    """The path of the named test HEF, written on first use into a session folder."""
    global _made_dir
    if _made_dir is None:
        binary = _make_test_hef()
        if not binary.is_file():
            raise RuntimeError(f"{binary} does not exist: build the tests first (scripts/setup)")
        _made_dir = pathlib.Path(tempfile.mkdtemp(prefix="hdeploy-test-hefs-"))
        atexit.register(shutil.rmtree, _made_dir, True)
        subprocess.run([str(binary), str(_made_dir)], check=True, timeout=60)
    path = _made_dir / f"{name}.hef"
    if not path.is_file():
        raise ValueError(f"no test HEF named {name!r} (see tests/hef_files.py)")
    return path


def shared_hef(name: str) -> pathlib.Path:
    """A real HEF from ../shared/hef; skips the calling test when it is not there."""
    path = SHARED_HEF_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is not here: the real HEF corpus (../shared/hef) is absent")
    return path

