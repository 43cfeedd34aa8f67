"""The CLI frame: help, version, usage errors (exit 2)."""
from conftest import run_hdeploy, shows_default

COMMANDS = ["export", "check", "preprocess", "infer"]


def test_help_lists_every_command(hdeploy_bin):
    proc = run_hdeploy("--help", check=0)
    for command in COMMANDS:
        assert command in proc.stdout


def test_version(hdeploy_bin):
    proc = run_hdeploy("--version", check=0)
    assert proc.stdout.startswith("hdeploy ")


def test_each_command_help_shows_defaults(hdeploy_bin):
    for command in COMMANDS:
        proc = run_hdeploy(command, "--help", check=0)
        assert "--json" in proc.stdout, command
    assert shows_default(run_hdeploy("infer", "--help", check=0).stdout, "5")  # --top-k
    assert shows_default(run_hdeploy("check", "--help", check=0).stdout, "0.0001")  # --max-abs-diff


def test_usage_errors_exit_2(hdeploy_bin):
    assert run_hdeploy().returncode == 2  # no subcommand
    assert run_hdeploy("frobnicate").returncode == 2
    assert run_hdeploy("check").returncode == 2  # missing MODEL
    proc = run_hdeploy("check", "x.onnx", "--no-such-flag")
    assert proc.returncode == 2
    assert "--no-such-flag" in proc.stderr
    assert run_hdeploy("infer", "m.onnx", "img.jpg", "--top-k", "0").returncode == 2
