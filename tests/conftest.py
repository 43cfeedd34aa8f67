"""Shared fixtures for hdeploy's end-to-end tests: they run the built binary.

Run with the Python that imports torch (Debian's /usr/bin/python3): scripts/test does.
HDEPLOY_BIN overrides the binary (default: build/hdeploy).
"""
import hashlib
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def hdeploy_binary() -> pathlib.Path:
    return pathlib.Path(os.environ.get("HDEPLOY_BIN", ROOT / "build" / "hdeploy")).resolve()


@pytest.fixture(scope="session")
def hdeploy_bin() -> pathlib.Path:
    binary = hdeploy_binary()
    if not binary.is_file():
        pytest.fail(f"{binary} does not exist: build first (scripts/setup)")
    return binary


def run_hdeploy(*args, check=None, timeout=600, cwd=None, env=None):
    """Runs build/hdeploy with `args`; returns the CompletedProcess (text mode).

    check=None: no assertion; check=N: assert that the exit code is N.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([str(hdeploy_binary()), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=full_env)
    if check is not None:
        assert proc.returncode == check, (
            f"hdeploy {' '.join(map(str, args))} exited {proc.returncode}, expected {check}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Exports resnet18 and mobilenet_v2 once per session (weights=None, seed 0).

    Returns {name: export dir} with model.onnx, reference/, labels.txt, export.json.
    """
    base = tmp_path_factory.mktemp("exported")
    out = {}
    for name in ("resnet18", "mobilenet_v2"):
        run_hdeploy("export", name, "--weights", "none", "--out", base / name, check=0)
        out[name] = base / name
    return out


def sha256(path):
    """Hex SHA-256 of a file, to compare with what hdeploy records."""
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def one_error_line(proc, *needles):
    """The single stderr line that says "error", holding every needle; returns it."""
    lines = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert str(needle) in lines[0], lines[0]
    return lines[0]


def shows_default(help_text, value):
    """True when --help shows `value` as a default: CLI11 2.1 (Debian 12) writes "=5", CLI11 2.4
    (Debian 13) "[5]"."""
    return f"={value}" in help_text or f"[{value}]" in help_text
