"""What packaging adds around the binary (docs/packaging.md), checked without a chroot: the bash
completion against the binary's own --help, `cmake --install` of the tested build (the files,
the installed binary finding its installed model specs, examples/classify built against the
installed CMake package), and scripts/package's refusals. scripts/check-package does the rest
(the .debs installed by apt in a clean Debian root)."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, hdeploy_binary, run_hdeploy
from package_inputs import write_inputs

COMPLETION = ROOT / "packaging" / "bash-completion" / "hdeploy"


def help_subcommands(help_text):
    """The subcommand names of `hdeploy --help` (CLI11 2.1 writes "Subcommands:", 2.4
    "SUBCOMMANDS:")."""
    names, inside = [], False
    for line in help_text.splitlines():
        if re.fullmatch(r"subcommands:", line.strip(), re.IGNORECASE):
            inside = True
        elif inside and re.match(r"^  \S", line):
            names.append(line.split()[0])
        elif inside and line.strip() == "":
            break
    return names


def complete(*words):
    """What the completion offers for the command line `hdeploy WORDS...` (the last word is the
    one being completed), with the tested binary as the command."""
    script = (f'source "{COMPLETION}"\n'
              'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))\n'
              '_hdeploy\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = subprocess.run(["bash", "-c", script, "complete", str(hdeploy_binary()), *words],
                          capture_output=True, text=True, timeout=60, check=True)
    return [line for line in proc.stdout.splitlines() if line]


def test_help_subcommands_reads_cli11_help():
    text = "Usage: x\n\nSubcommands:\n  export   Export a model\n  check    Validate\n\nmore\n"
    assert help_subcommands(text) == ["export", "check"]
    assert help_subcommands(text.replace("Subcommands:", "SUBCOMMANDS:")) == ["export", "check"]


def test_completion_offers_exactly_the_subcommands_of_help(hdeploy_bin):
    listed = help_subcommands(run_hdeploy("--help", check=0).stdout)
    assert len(listed) >= 10, listed
    offered = complete("")
    missing = sorted(set(listed) - set(offered))
    assert not missing, (f"hdeploy --help lists {missing}, which {COMPLETION.relative_to(ROOT)} "
                         "does not offer: add them to _hdeploy_subcommands")
    assert sorted(offered) == sorted(listed), (
        f"{COMPLETION.relative_to(ROOT)} offers {sorted(set(offered) - set(listed))}, which "
        "hdeploy --help does not list")
    assert complete("in") == ["infer", "inspect"]


def test_completion_reads_options_from_help(hdeploy_bin):
    assert complete("infer", "--to") == ["--top-k"]
    assert complete("--verbose", "infer", "--js") == ["--json"]
    assert complete("--ver") == ["--verbose", "--version"]
    assert "--scenario" in complete("bench", "--")


def test_completion_leaves_arguments_to_file_names(hdeploy_bin):
    assert complete("infer", "model") == []


# --- cmake --install of the tested build -------------------------------------------------------

def build_under_test():
    return hdeploy_binary().parent


def cache_value(build_dir, name):
    match = re.search(rf"^{name}:\w+=(.*)$", (build_dir / "CMakeCache.txt").read_text(),
                      re.MULTILINE)
    return match.group(1) if match else ""


@pytest.fixture(scope="module")
def installed(tmp_path_factory, hdeploy_bin):
    """`cmake --install` of the build under test into a temporary prefix."""
    build_dir = build_under_test()
    if not (build_dir / "CMakeCache.txt").is_file():
        pytest.skip(f"{build_dir} is not a CMake build folder")
    prefix = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", str(build_dir), "--prefix", str(prefix)],
                   capture_output=True, text=True, check=True, timeout=300)
    return prefix


def test_install_tree_holds_each_package_part(installed):
    files = {str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file()}
    libdir = cache_value(build_under_test(), "CMAKE_INSTALL_LIBDIR") or "lib"
    for expected in ["bin/hdeploy",
                     "share/hdeploy/models/resnet18.toml",
                     "share/hdeploy/models/mobilenet_v2.toml",
                     "share/hdeploy/python/hdeploy_export.py",
                     "share/bash-completion/completions/hdeploy",
                     "share/doc/hdeploy/copyright",
                     "share/doc/hdeploy/README.md",
                     "share/doc/hdeploy/packaging.md",
                     "include/hdeploy/version.hpp",
                     "include/hdeploy/runtime/cpu_backend.hpp",
                     "include/hdeploy/preprocess/preprocessor.hpp",
                     f"{libdir}/libhdeploy_core.a",
                     f"{libdir}/libhdeploy_runtime.a",
                     f"{libdir}/cmake/hdeploy/hdeployConfig.cmake",
                     f"{libdir}/cmake/hdeploy/hdeployConfigVersion.cmake",
                     f"{libdir}/cmake/hdeploy/hdeployTargets.cmake",
                     f"{libdir}/cmake/hdeploy/FindOpenCVModules.cmake"]:
        assert expected in files, f"{expected} not installed; installed: {sorted(files)}"
    # Test helpers and generated protobuf headers are not part of the library.
    assert not [f for f in files if "testing" in f or f.endswith(".pb.h")]


def test_installed_binary_reads_model_specs_from_its_prefix(installed, tmp_path):
    # A spec that exists only in the installed tree: found by name only through
    # <prefix>/share/hdeploy/models, never through the source tree.
    models = installed / "share" / "hdeploy" / "models"
    spec = (models / "resnet18.toml").read_text().replace('name = "resnet18"',
                                                          'name = "installed-only"')
    (models / "installed-only.toml").write_text(spec)
    inputs = write_inputs(tmp_path / "inputs")
    env = {k: v for k, v in os.environ.items() if k != "HDEPLOY_DATA_DIR"}
    proc = subprocess.run([str(installed / "bin" / "hdeploy"), "preprocess",
                           str(inputs["images"]["red"]), "--model", "installed-only",
                           "-o", str(tmp_path / "red.npy")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "red.npy").stat().st_size > 224 * 224 * 3 * 4


def test_example_builds_against_install_tree_and_classifies(installed, tmp_path):
    build_dir = build_under_test()
    if cache_value(build_dir, "HDEPLOY_SANITIZE"):
        pytest.skip("a sanitizer build's static libraries need the sanitizer runtime to link")
    if shutil.which("cmake") is None:
        pytest.skip("no cmake")
    example = tmp_path / "classify"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    configure = subprocess.run(
        ["cmake", "-S", str(ROOT / "examples" / "classify"), "-B", str(example), *generator,
         f"-DCMAKE_PREFIX_PATH={installed}", "-DCMAKE_COMPILE_WARNING_AS_ERROR=ON"],
        capture_output=True, text=True, timeout=300)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    built = subprocess.run(["cmake", "--build", str(example)], capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr

    inputs = write_inputs(tmp_path / "inputs")
    classify = example / "classify"
    for colour in ("red", "green", "blue"):
        proc = subprocess.run([str(classify), str(inputs["model"]), str(inputs["images"][colour]),
                               "resnet18", str(inputs["labels"])],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        ranked = [line.split() for line in proc.stdout.splitlines()[1:]]
        assert len(ranked) == 4, proc.stdout  # four classes, all within the top 5
        assert ranked[0][1] == colour, proc.stdout
        assert sum(float(r[0].rstrip("%")) for r in ranked) == pytest.approx(100.0, abs=0.05)

    missing = subprocess.run([str(classify), str(tmp_path / "none.onnx"),
                              str(inputs["images"]["red"])],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1
    assert missing.stderr.startswith("classify: error: ") and "none.onnx" in missing.stderr
    usage = subprocess.run([str(classify)], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage:" in usage.stderr


# --- scripts/package and scripts/check-package: usage -----------------------------------------

def run_script(name, *args):
    return subprocess.run([str(ROOT / "scripts" / name), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("name", ["package", "check-package"])
def test_package_scripts_help_and_usage_errors(name):
    helped = run_script(name, "--help")
    assert helped.returncode == 0 and "Usage: scripts/" + name in helped.stdout
    wrong = run_script(name, "--no-such-flag")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        f"scripts/{name}: error: unknown argument '--no-such-flag' (see scripts/{name} --help)"]


def test_package_refuses_a_build_folder_it_did_not_make(tmp_path):
    (tmp_path / "CMakeCache.txt").write_text("# another build\n")
    proc = run_script("package", "--build-dir", tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"scripts/package: error: {tmp_path} holds a build not made by scripts/package "
        f"(no {tmp_path}/.hdeploy-package-build): give another --build-dir"]
    assert (tmp_path / "CMakeCache.txt").read_text() == "# another build\n"


# --- packaging/dpkg-shlibdeps-sysroot: dpkg-shlibdeps against a target root --------------------

def test_shlibdeps_sysroot_maps_libraries_through_the_roots_dpkg_database(tmp_path):
    if shutil.which("dpkg-shlibdeps") is None or shutil.which("g++") is None:
        pytest.skip("needs dpkg-dev and g++")
    # As CPack lays a package out: the binary under the package tree, DEBIAN/ and an empty
    # debian/control beside it. This machine's root stands for the target's.
    package = tmp_path / "package"
    (package / "usr" / "bin").mkdir(parents=True)
    (package / "DEBIAN").mkdir()
    (package / "debian").mkdir()
    (package / "debian" / "control").write_text("")
    source = tmp_path / "uses_zlib.cpp"
    source.write_text("#include <zlib.h>\nint main() { return zlibVersion()[0] == 0; }\n")
    subprocess.run(["g++", str(source), "-o", str(package / "usr" / "bin" / "uses_zlib"), "-lz"],
                   check=True, timeout=120)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    wrapper = ROOT / "packaging" / "dpkg-shlibdeps-sysroot"
    env = dict(os.environ, HDEPLOY_DEB_SYSROOT="/", HDEPLOY_DEB_ARCHITECTURE=arch)
    proc = subprocess.run([str(wrapper), "--ignore-missing-info", "-O", "usr/bin/uses_zlib"],
                          cwd=package, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    depends = proc.stdout.strip()
    assert depends.startswith("shlibs:Depends="), depends
    assert "libc6 (>= " in depends and "zlib1g (>= " in depends, depends

    no_database = tmp_path / "not-a-root"
    no_database.mkdir()
    env["HDEPLOY_DEB_SYSROOT"] = str(no_database)
    proc = subprocess.run([str(wrapper), "-O", "usr/bin/uses_zlib"], cwd=package,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"dpkg-shlibdeps-sysroot: error: {no_database} has no dpkg database "
        f"({no_database}/var/lib/dpkg/info): make the root with mmdebstrap, or configure with "
        "-DHDEPLOY_DEB_SHLIBDEPS=OFF"]
