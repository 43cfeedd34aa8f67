"""End-to-end tests of `hdeploy doctor`: a fake Raspberry Pi 5 (/etc, /proc, /sys, /dev and
/var/lib/dpkg under --root), a fake `vcgencmd` first on PATH, and the fake hailo plugin
(build/test-plugins/good, HDEPLOY_FAKE_DEVICE, HDEPLOY_FAKE_FIRMWARE) standing for HailoRT and
the device. Each failure users meet gives its line and fix, and the exit status follows."""
import json
import os
import shutil
import stat

from conftest import hdeploy_binary, one_error_line, run_hdeploy
from hef_files import made_hef


def put(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fake_pi(root, *, link="8.0 GT/s PCIe", forced="4096", driver="9.9.9", holder=False,
            held=True):
    """A Raspberry Pi 5 on trixie, 16 KiB pages, Hailo-8L on PCIe, driver `driver` loaded."""
    put(root / "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\n'
        'VERSION_ID="13"\nVERSION_CODENAME=trixie\n')
    put(root / "proc/sys/kernel/arch", "aarch64\n")
    put(root / "proc/sys/kernel/osrelease", "6.12.47+rpt-rpi-2712\n")
    put(root / "proc/self/smaps", "00400000-00401000 r-xp 0 0 0 /x\nKernelPageSize:  16 kB\n")
    put(root / "proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.1\0")
    put(root / "sys/module/hailo_pci/version", driver + "\n")
    put(root / "sys/module/hailo_pci/parameters/force_desc_page_size", forced + "\n")
    (root / "sys/class/hailo_chardev/hailo0").mkdir(parents=True)
    put(root / "dev/hailo0", "")
    device = root / "sys/bus/pci/devices/0001:01:00.0"
    put(device / "vendor", "0x1e60\n")
    put(device / "device", "0x2864\n")
    put(device / "current_link_speed", link + "\n")
    put(device / "current_link_width", "1\n")
    status = "hold" if held else "install"
    put(root / "var/lib/dpkg/status",
        f"Package: hailort\nStatus: {status} ok installed\nVersion: 9.9.9\n\n"
        f"Package: hailo-all\nStatus: {status} ok installed\nVersion: 5.1.1\n")
    for cpu in range(4):
        put(root / f"sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor", "performance\n")
    put(root / "sys/class/thermal/thermal_zone0/temp", "55300\n")
    put(root / "sys/class/thermal/thermal_zone0/type", "cpu-thermal\n")
    if holder:
        put(root / "proc/4242/comm", "python3\n")
        (root / "proc/4242/fd").mkdir(parents=True)
        os.symlink("/dev/hailo0", root / "proc/4242/fd/9")
    return root


def fake_vcgencmd(folder, answer="throttled=0x0"):
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "vcgencmd"
    script.write_text(f"#!/bin/sh\n[ \"$1\" = get_throttled ] && echo {answer}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def doctor(tmp_path, *args, firmware="9.9.9", device=True, throttled="throttled=0x0",
           check=None):
    bin_dir = fake_vcgencmd(tmp_path / "bin", throttled)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}",
           "HDEPLOY_PLUGIN_PATH": str(hdeploy_binary().parent / "test-plugins" / "good"),
           "HDEPLOY_FAKE_DEVICE": "1" if device else "0",
           "HDEPLOY_FAKE_FIRMWARE": firmware}
    return run_hdeploy("doctor", "--root", tmp_path / "root", "--python", "/bin/false", *args,
                       env=env, check=check)


def checks(proc):
    return {c["id"]: c for c in json.loads(proc.stdout)["checks"]}


def test_healthy_pi_passes(hdeploy_bin, tmp_path):
    fake_pi(tmp_path / "root")
    proc = doctor(tmp_path, check=0)
    lines = proc.stdout.splitlines()
    assert lines[0] == "ok    OS: Debian GNU/Linux 13 (trixie), aarch64"
    assert "ok    Raspberry Pi: Raspberry Pi 5 Model B Rev 1.1" in lines
    assert "ok    PCIe link: 0001:01:00.0 (device 0x2864): PCIe Gen 3 x1 (8.0 GT/s PCIe)" in lines
    assert ("ok    Hailo device: HAILO8L, firmware 9.9.9 (fake-0000:01:00.0 HAILO8L, firmware "
            "9.9.9)") in lines
    assert any(line.startswith("ok    HailoRT = driver = firmware: all 9.9.9") for line in lines)
    assert ("ok    Driver descriptor page size: kernel pages are 16384 bytes (16 KiB); hailo_pci "
            "force_desc_page_size=4096") in lines
    assert "ok    Throttling (vcgencmd get_throttled): 0x0: none" in lines
    assert "ok    Temperature: 55.3 °C (cpu-thermal)" in lines
    # --python /bin/false: a warning, never a failure.
    assert any(line.startswith("warn  Python with torch (export):") for line in lines)
    assert lines[-1].endswith("0 failed: nothing stops hdeploy here")
    got = json.loads(doctor(tmp_path, "--json", check=0).stdout)
    assert got["ok"] is True and got["counts"]["fail"] == 0
    assert [c["id"] for c in got["checks"]] == [
        "os", "raspberry_pi", "kernel", "hailort", "driver", "pcie", "device", "device_in_use",
        "versions", "page_size", "governor", "throttling", "temperature", "python", "dfc"]
    assert checks(doctor(tmp_path, "--json"))["dfc"]["detail"].startswith("not used on aarch64")


def test_each_problem_gives_its_fix(hdeploy_bin, tmp_path):
    fake_pi(tmp_path / "root", link="5.0 GT/s PCIe", forced="0", driver="4.20.0", holder=True,
            held=False)
    proc = doctor(tmp_path, "--json", firmware="4.20.0", throttled="throttled=0x50005", check=1)
    one_error_line(proc, "checks failed")
    c = checks(proc)
    assert c["pcie"]["level"] == "warn"
    assert c["pcie"]["fix"] == "add `dtparam=pciex1_gen=3` to /boot/firmware/config.txt and reboot"
    assert c["page_size"]["level"] == "fail"
    assert "force_desc_page_size=4096" in c["page_size"]["fix"]
    assert c["versions"]["level"] == "fail"
    assert "HailoRT library 9.9.9, driver 4.20.0, firmware 4.20.0 differ" in c["versions"]["detail"]
    assert "sudo apt-mark hold hailo-all hailort" in c["versions"]["fix"]
    assert c["device_in_use"]["level"] == "fail"
    assert c["device_in_use"]["detail"] == "process 4242 (python3) has /dev/hailo0 open"
    assert c["throttling"]["level"] == "fail" and "27 W" in c["throttling"]["fix"]
    # Text: one line per check, the fix on the same line.
    text = doctor(tmp_path, firmware="4.20.0", check=1).stdout
    assert any(line.startswith("fail  HailoRT = driver = firmware:") and " — fix: " in line
               for line in text.splitlines())


def test_no_device_and_no_plugin(hdeploy_bin, tmp_path):
    root = fake_pi(tmp_path / "root")
    # The device is on PCIe but the driver is not loaded.
    for gone in ("sys/module", "sys/class/hailo_chardev", "dev/hailo0"):
        path = root / gone
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    proc = doctor(tmp_path, "--json", device=False, check=1)
    c = checks(proc)
    assert c["driver"]["level"] == "fail"
    assert c["driver"]["fix"] == "sudo apt install dkms && sudo apt install hailo-all && sudo reboot"
    assert c["device"]["level"] == "fail"


def test_hef_against_the_device(hdeploy_bin, tmp_path):
    fake_pi(tmp_path / "root")
    proc = doctor(tmp_path, "--json", "--hef", made_hef("hailo8-classifier"), check=1)
    hef = checks(proc)["hef"]
    assert hef["level"] == "fail" and "--hw-arch hailo8l" in hef["fix"]
    assert hef["title"] == "HEF hailo8-classifier.hef"
    proc = doctor(tmp_path, "--json", "--hef", made_hef("hailo8l-classifier"))
    assert checks(proc)["hef"]["level"] == "ok", checks(proc)["hef"]
    # Judged against a named device instead of the one found.
    proc = doctor(tmp_path, "--json", "--hef", made_hef("hailo8-classifier"), "--device",
                  "hailo8")
    assert checks(proc)["hef"]["level"] == "ok", checks(proc)["hef"]


def test_this_machine_runs(hdeploy_bin):
    """On the machine itself (no --root): every check is answered, and the exit status is
    the verdict's."""
    proc = run_hdeploy("doctor", "--json", "--no-probe")
    got = json.loads(proc.stdout)
    assert proc.returncode == (0 if got["ok"] else 1)
    assert len(got["checks"]) == 15
    assert all(c["level"] in ("ok", "warn", "fail") and c["detail"] for c in got["checks"])


def test_errors(hdeploy_bin, tmp_path):
    one_error_line(run_hdeploy("doctor", "--root", tmp_path / "nope", check=2), "nope",
                   "not a folder")
    one_error_line(run_hdeploy("doctor", "--hef", tmp_path / "missing.hef", check=1),
                   "missing.hef")
    proc = run_hdeploy("doctor", "--device", "hailo9", "--root", tmp_path, check=2)
    one_error_line(proc, "hailo9")
    run_hdeploy("doctor", "--bogus", check=2)


def test_help(hdeploy_bin):
    out = run_hdeploy("doctor", "--help", check=0).stdout
    for flag in ("--hef", "--device", "--python", "--no-probe", "--root", "--json"):
        assert flag in out
    assert "Exit 0 when nothing fails, 1 otherwise" in " ".join(out.split())
