"""End-to-end tests of `hdeploy pipeline`: the built binary runs every stage as a child of itself.

Export costs ~20 s under torch, so the heavy runs are few and shared (module fixtures); the
cheap checks (a second run that skips, --until/--from on copies, error paths) reuse them.
"""
import json
import os
import shutil

import pytest
from PIL import Image

from conftest import ROOT, run_hdeploy, sha256
from hef_files import made_hef

STANDIN_DIR = ROOT / "tests" / "standin"
GIVEN_HEF = made_hef("hailo8-classifier")
ROWS = ["ONNX export validated", "HEF produced", "inference on Hailo", "FPS and latency measured",
        "CPU utilisation recorded"]


def table(result_json):
    return {row["item"]: row for row in result_json["success_table"]}


def stage_status(result_json):
    return {s["stage"]: s["status"] for s in result_json["stages"]}


def write_images(folder, count=6):
    """A few varied real files (PIL): JPEG and PNG, two aspect ratios."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        size = (320, 240) if i % 2 else (240, 300)
        image = Image.new("RGB", size, (40 * i % 256, 90, 200 - 20 * i))
        for x in range(0, size[0], 16):
            for y in range(size[1]):
                image.putpixel((x, y), (255, 255 - 30 * i % 256, 0))
        image.save(folder / (f"img{i}.jpg" if i % 3 else f"img{i}.png"))
    return folder


def pipeline(*args, check=None, env=None):
    return run_hdeploy("pipeline", *args, "--bench-duration", "2s", check=check, env=env,
                       timeout=900)


@pytest.fixture(scope="module")
def resnet_run(tmp_path_factory):
    """resnet18 through every stage, with a folder of real images."""
    base = tmp_path_factory.mktemp("pipeline-resnet18")
    images = write_images(base / "images")
    out = base / "run"
    proc = pipeline("resnet18", "--out", out, "--images", images, "--json", check=0)
    return out, images, json.loads(proc.stdout), proc


def assert_manifest_hashes(out):
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "hdeploy-pipeline" and manifest["version"] == 1
    checked = 0
    for stage in manifest["stages"]:
        for rel, digest in stage["outputs"].items():
            assert sha256(out / rel) == digest, rel
            checked += 1
    assert checked >= 10
    return manifest


def test_resnet18_end_to_end(resnet_run):
    out, _, result, proc = resnet_run
    assert stage_status(result) == {
        "export": "ran", "check": "ran", "calib": "ran", "compile": "not_run",
        "inspect": "not_run", "infer": "ran", "bench": "ran", "report": "ran"}
    rows = table(result)
    assert list(rows) == ROWS
    assert rows["ONNX export validated"]["result"] == "yes"
    assert "vs PyTorch, top-1 agrees" in rows["ONNX export validated"]["detail"]
    assert rows["HEF produced"]["result"] == "not run"
    assert rows["HEF produced"]["detail"].startswith("not run: ")
    assert "Dataflow Compiler" in rows["HEF produced"]["detail"]
    assert rows["inference on Hailo"]["result"] == "no"
    assert "inference ran on the sim" in rows["inference on Hailo"]["detail"]
    fps = rows["FPS and latency measured"]
    assert fps["result"] == "yes" and fps["detail"].startswith("sim, not hardware: ")
    assert float(fps["detail"].split(": ")[1].split(" FPS")[0]) > 0
    assert " p50 " in fps["detail"] and " p99 " in fps["detail"]
    cpu = rows["CPU utilisation recorded"]
    assert cpu["result"] == "yes" and "% of all cores" in cpu["detail"]

    manifest = assert_manifest_hashes(out)
    assert manifest["spec"]["sha256"] == sha256(ROOT / "models" / "resnet18.toml")
    stages = {s["stage"]: s for s in manifest["stages"]}
    assert stages["check"]["command"] == ["hdeploy", "check", "export/model.onnx", "--json"]
    assert stages["export"]["versions"]["torch"]
    assert stages["compile"]["why"] and stages["inspect"]["why"].startswith("no HEF")
    assert stages["calib"]["inputs"][str(resnet_run[1] / "img0.png")] == sha256(
        resnet_run[1] / "img0.png")
    for f in ("report/report.md", "report/report.html", "bench/run/run.json",
              "calib/calib.npy", "export/model.onnx", "success.md", "logs/bench.log"):
        assert (out / f).is_file(), f
    assert "| HEF produced | not run |" in (out / "success.md").read_text()
    # Child stderr is forwarded, prefixed with the stage.
    assert "bench: " in proc.stderr and "[8/8] report: ran" in proc.stderr
    assert "bench: bench:" not in proc.stderr and "hdeploy: bench: hdeploy:" not in proc.stderr
    # The short reason: not the PATH folders the compile error lists.
    assert os.environ["PATH"] not in rows["HEF produced"]["detail"]


def test_second_run_skips_every_stage_and_prints_the_table(resnet_run):
    out, images, first, _ = resnet_run
    proc = pipeline("resnet18", "--out", out, "--images", images, check=0)
    for stage in ("export", "check", "calib", "compile", "infer", "bench", "report"):
        assert f"{stage}: skipped: inputs unchanged (key " in proc.stderr, stage
    assert "inspect: not run: no HEF" in proc.stderr
    assert "| ONNX export validated | yes | max abs diff" in proc.stdout
    assert "| HEF produced | not run | not run: " in proc.stdout
    assert (out / "success.md").read_text() in proc.stdout


def test_until_compile_then_from_inspect_verifies_hashes(resnet_run, tmp_path):
    out, images, _, _ = resnet_run
    host = tmp_path / "host"
    shutil.copytree(out, host)
    proc = pipeline("resnet18", "--out", host, "--images", images, "--until", "compile", "--json",
                    check=0)
    assert set(stage_status(json.loads(proc.stdout)).values()) <= {"skipped", "not_run"}
    pi = tmp_path / "pi"
    shutil.copytree(host, pi)
    proc = pipeline("resnet18", "--out", pi, "--images", images, "--from", "inspect", "--json",
                    check=0)
    result = json.loads(proc.stdout)
    assert result["verified_files"] >= 8
    assert f"verified {result['verified_files']} files received" in proc.stderr
    assert table(result)["HEF produced"]["result"] == "not run"

    (pi / "calib" / "calib.npy").write_bytes(b"tampered")
    proc = pipeline("resnet18", "--out", pi, "--images", images, "--from", "inspect", check=1)
    err = proc.stderr.strip().splitlines()[-1]
    assert "calib/calib.npy: changed" in err and "copy the pipeline folder again" in err


def test_changed_image_reruns_only_what_depends_on_it(resnet_run, tmp_path):
    out, images, _, _ = resnet_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    original = (images / "img1.jpg").read_bytes()
    image = Image.open(images / "img1.jpg").convert("RGB")
    image.putpixel((5, 5), (0, 0, 0))
    try:
        image.save(images / "img1.jpg", quality=70)
        proc = pipeline("resnet18", "--out", copy, "--images", images, "--json", check=0)
    finally:
        (images / "img1.jpg").write_bytes(original)
    status = stage_status(json.loads(proc.stdout))
    assert status["export"] == "skipped" and status["check"] == "skipped"
    assert status["calib"] == "ran" and status["infer"] == "ran"
    assert status["bench"] == "ran" and status["report"] == "ran"
    assert status["compile"] == "not_run"  # calib.npy changed: it looked for the DFC again


def test_mobilenet_v2_synthetic_images(tmp_path):
    # The spec given as a path, as the issue's `hdeploy pipeline models/mobilenet_v2.toml`.
    out = tmp_path / "mobilenet"
    proc = pipeline(ROOT / "models" / "mobilenet_v2.toml", "--out", out, "--json", check=0)
    result = json.loads(proc.stdout)
    rows = table(result)
    assert list(rows) == ROWS
    assert rows["ONNX export validated"]["result"] == "yes"
    assert "vs PyTorch, top-1 agrees" in rows["ONNX export validated"]["detail"]
    assert rows["HEF produced"]["result"] == "not run"
    assert rows["inference on Hailo"]["result"] == "no"
    assert rows["FPS and latency measured"]["result"] == "yes"
    assert rows["FPS and latency measured"]["detail"].startswith("sim, not hardware: ")
    assert rows["CPU utilisation recorded"]["result"] == "yes"
    assert stage_status(result)["report"] == "ran"
    assert "synthetic images" in proc.stderr
    assert any("32 synthetic images" in n for n in result["notes"])
    synthetic = sorted((out / "images").iterdir())
    assert len(synthetic) == 32
    assert {p.suffix for p in synthetic} == {".jpg", ".png"}
    assert len({Image.open(p).size for p in synthetic}) >= 8
    assert_manifest_hashes(out)
    assert "synthetic images" in (out / "success.md").read_text()


@pytest.fixture(scope="module")
def hailo8_spec(tmp_path_factory):
    """A Hailo-8 spec with the 11 classes of the given HEF (dbd_autoSkillCheck, MobileNetV2)."""
    base = tmp_path_factory.mktemp("hailo8-spec")
    text = (ROOT / "models" / "mobilenet_v2.toml").read_text()
    text = text.replace('name = "mobilenet_v2"', 'name = "skillcheck"')
    text = text.replace("num_classes = 1000", "num_classes = 11")
    text = text.replace('labels = "torchvision:imagenet"', 'labels = "labels.txt"')
    text = text.replace('hw_arch = "hailo8l"', 'hw_arch = "hailo8"')
    (base / "skillcheck.toml").write_text(text)
    (base / "labels.txt").write_text("".join(f"class{i}\n" for i in range(11)))
    return base / "skillcheck.toml"


@pytest.fixture(scope="module")
def hef_run(hailo8_spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline-hef") / "run"
    proc = pipeline(hailo8_spec, "--out", out, "--hef", GIVEN_HEF, "--json", check=0)
    return out, json.loads(proc.stdout), proc


def test_given_hef_is_used_by_inspect_infer_bench(hef_run):
    out, result, proc = hef_run
    status = stage_status(result)
    assert status["compile"] == "not_run" and status["inspect"] == "ran"
    assert status["infer"] == "ran" and status["bench"] == "ran"
    rows = table(result)
    assert rows["HEF produced"]["result"] == "given"
    assert "HAILO8" in rows["HEF produced"]["detail"]
    copied = out / "hef" / GIVEN_HEF.name
    manifest = assert_manifest_hashes(out)
    compile_stage = next(s for s in manifest["stages"] if s["stage"] == "compile")
    assert compile_stage["why"].startswith("--hef given")
    assert compile_stage["outputs"][f"hef/{GIVEN_HEF.name}"] == sha256(GIVEN_HEF) == sha256(copied)
    inspect = next(s for s in manifest["stages"] if s["stage"] == "inspect")
    assert inspect["command"][:4] == ["hdeploy", "inspect", f"hef/{GIVEN_HEF.name}", "--device"]
    assert inspect["summary"]["arch"] == "HAILO8"
    assert "contract and timing from hef/" in rows["FPS and latency measured"]["detail"] or \
        rows["FPS and latency measured"]["detail"].startswith("sim, not hardware")


def test_standin_dfc_produces_a_hef(hef_run, hailo8_spec, tmp_path):
    out, _, _ = hef_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    record = tmp_path / "argv.jsonl"
    env = {"PATH": f"{STANDIN_DIR}:{os.environ['PATH']}", "HAILO_STANDIN_RECORD": str(record),
           "HAILO_STANDIN_HEF": str(GIVEN_HEF)}
    proc = pipeline(hailo8_spec, "--out", run, "--from", "compile", "--json", check=0, env=env)
    result = json.loads(proc.stdout)
    assert stage_status(result)["compile"] == "ran", proc.stderr
    rows = table(result)
    assert rows["HEF produced"]["result"] == "yes"
    assert rows["HEF produced"]["detail"].startswith("compile/model.hef HAILO8 DFC ")
    calls = [json.loads(line)["argv"] for line in record.read_text().splitlines()]
    assert [c[0] for c in calls if c[0] != "--version"][:3] == ["parser", "optimize", "compiler"]
    assert stage_status(result)["inspect"] == "ran"


# --- error paths (cheap: nothing is exported) ---------------------------------------------

def test_unknown_spec_is_refused(tmp_path):
    proc = run_hdeploy("pipeline", "no_such_model", "--out", tmp_path / "x", check=1)
    assert "no_such_model" in proc.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args, message", [
    (["--from", "compil"], "--from: unknown stage 'compil'"),
    (["--from", "bench", "--until", "check"], "--from bench comes after --until check"),
    (["--rerun", "calib,nope"], "--rerun: unknown stage 'nope'"),
    (["--bench-duration", "10h"], "--bench-duration"),
    (["--backend", "cpu"], "--backend"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
    proc = run_hdeploy("pipeline", "resnet18", "--out", tmp_path / "x", *args, check=2)
    assert message in proc.stderr
    assert not (tmp_path / "x").exists()


def test_foreign_folder_is_refused_without_force(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    proc = run_hdeploy("pipeline", "resnet18", "--out", tmp_path / "mine", check=1)
    line = proc.stderr.strip().splitlines()[-1]
    assert str(tmp_path / "mine") in line and "--force" in line
    assert sorted(os.listdir(tmp_path / "mine")) == ["notes.txt"]


def test_from_without_manifest_is_refused(tmp_path):
    proc = run_hdeploy("pipeline", "resnet18", "--out", tmp_path / "empty", "--from", "inspect",
                       check=1)
    assert "no manifest.json" in proc.stderr and "copy the whole pipeline folder" in proc.stderr


def test_help_lists_defaults():
    proc = run_hdeploy("pipeline", "--help", check=0)
    for text in ("--from", "--until", "--hef", "--images", "--bench-duration", "10s", "1024",
                 "hdeploy-pipeline/<model name>"):
        assert text in proc.stdout
