"""The exit-code table of docs/exit-codes.md, row by row, against the built binary.

The table lives in the docs; this test reads it, so the docs and the binary cannot disagree.
Failures (exit 1) print exactly one "error" line; usage errors (exit 2) write nothing.
"""
import pathlib
import re
import shlex

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, one_error_line, run_hdeploy

DOC = ROOT / "docs" / "exit-codes.md"


def table_rows():
    rows = []
    in_table = False
    for line in DOC.read_text().splitlines():
        if line.startswith("| command | arguments | exit |"):
            in_table = True
            continue
        if in_table and line.startswith("|---"):
            continue
        if in_table and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            command, args, code, why = cells
            rows.append((command, args.strip("`"), int(code), why))
        elif in_table:
            break
    return rows


ROWS = table_rows()


def test_the_table_covers_every_command():
    commands = {r[0] for r in ROWS}
    for command in ("export", "check", "preprocess", "infer", "inspect", "bench", "report",
                    "calib", "compile", "pipeline"):
        assert command in commands, f"{DOC}: no row for {command}"
        codes = {r[2] for r in ROWS if r[0] == command}
        assert {1, 2} <= codes, f"{DOC}: {command} needs a usage (2) and a failure (1) row"


def expand(args, tmp):
    def replace(match):
        token = match.group(1)
        if token == "tmp":
            return str(tmp)
        if token == "missing":
            return str(tmp / "missing")
        if token == "image":
            path = tmp / "img.png"
            if not path.exists():
                Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(path)
            return str(path)
        if token == "images":
            folder = tmp / "images"
            folder.mkdir(exist_ok=True)
            Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(folder / "a.png")
            return str(folder)
        if token.startswith("junk."):
            path = tmp / token
            path.write_text("these bytes are no model, image or record\n")
            return str(path)
        raise AssertionError(f"{DOC}: unknown placeholder {{{token}}}")
    return shlex.split(re.sub(r"\{([a-z.]+)\}", replace, args))


@pytest.mark.parametrize("command,args,code,why", ROWS,
                         ids=[f"{r[0]}-{r[2]}-{r[3]}" for r in ROWS])
def test_exit_code(tmp_path, command, args, code, why):
    argv = ([] if command == "(none)" else [command]) + expand(args, tmp_path)
    proc = run_hdeploy(*argv, timeout=120, cwd=tmp_path)
    assert proc.returncode == code, (
        f"hdeploy {' '.join(argv)} ({why}): exit {proc.returncode}, the table says {code}\n"
        f"stderr:\n{proc.stderr}")
    if code == 1:
        one_error_line(proc)
        assert "internal error" not in proc.stderr
    if code == 2 and command != "(none)":
        assert proc.stdout == "" or "--help" in proc.stderr or "Usage" in proc.stdout
    # Nothing half-written: a failed command leaves no output in {tmp} but what the test made.
    if code != 0:
        made = {p.name for p in tmp_path.iterdir()}
        assert made <= {"img.png", "images", "junk.hef", "junk.onnx", "junk.json"}, made
