"""`imgqa gui` checks Qt's xcb libraries before Qt starts (issue 11, item 10): a fresh Linux
without libxcb-icccm4 & co. gets the exact install command instead of Qt's abort."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgqa.cli.qt_platform import QT_XCB_LIBRARIES, check_qt_platform_libraries, linux_family

SRC = Path(__file__).resolve().parents[2] / "src"
DEBIAN = 'PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nID_LIKE=debian\n'
FEDORA = 'NAME="Fedora Linux"\nID=fedora\n'
ARCH = "ID=arch\n"
ABSENT = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"}


def _without(absent):
    calls: list[str] = []

    def loads(soname: str) -> bool:
        calls.append(soname)
        return soname not in absent
    return loads, calls


def _check(env, os_release=DEBIAN, absent=ABSENT, platform="linux"):
    loads, calls = _without(absent)
    return check_qt_platform_libraries(env, platform, loads, os_release), calls


def test_missing_libraries_give_the_apt_command_on_debian():
    res, _ = _check({"DISPLAY": ":0"})
    assert not res.ok and set(res.missing) == ABSENT
    assert "  sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in \
        res.message.splitlines()
    assert "dnf" not in res.message and "libxcb-icccm.so.4" in res.message


def test_missing_libraries_give_the_dnf_command_on_fedora():
    res, _ = _check({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, FEDORA)
    assert "  sudo dnf install xcb-util-cursor xcb-util-keysyms xcb-util-wm" in \
        res.message.splitlines()
    assert "apt-get" not in res.message


def test_unknown_linux_gets_both_commands():
    res, _ = _check({"DISPLAY": ":0"}, ARCH)
    assert "sudo apt-get install" in res.message and "sudo dnf install" in res.message
    assert linux_family("") == ""


@pytest.mark.parametrize("env, platform", [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),           # tests, --screenshot
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),             # Qt picks its wayland plugin
    ({"IMGQA_SKIP_QT_CHECK": "1", "DISPLAY": ":0"}, "linux"),
    ({"DISPLAY": ":0"}, "darwin"),
    ({}, "win32"),
])
def test_no_check_where_qt_does_not_use_xcb(env, platform):
    res, calls = _check(env, platform=platform)
    assert res.ok and not calls


def test_all_present_is_ok():
    res, calls = _check({"DISPLAY": ":0"}, absent=set())
    assert res.ok and res.message == "" and set(calls) == set(QT_XCB_LIBRARIES)


def _qxcb_needs() -> set[str]:
    qt = None
    try:
        import PySide6
        qt = Path(PySide6.__file__).parent / "Qt"
    except ImportError:
        pass
    libs = [qt / "plugins" / "platforms" / "libqxcb.so", *(qt / "lib").glob("libQt6XcbQpa.so*")]\
        if qt else []
    libs = [p for p in libs if p.is_file()]
    if not libs or not shutil.which("ldd"):
        pytest.skip("no Qt xcb plugin or no ldd here")
    needed: set[str] = set()
    for lib in libs:
        out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
        needed |= set(re.findall(r"^\s*(\S+\.so\.\d+)\s+=>", out, re.M))
    return needed


def test_the_table_covers_the_x11_libraries_of_the_installed_qt():
    # Keeps the list honest as PySide6 moves on: every X11/xcb/xkb library the installed Qt
    # xcb plugin links to must be checked (and mapped to both package managers).
    x11 = {s for s in _qxcb_needs() if re.match(r"lib(xcb|X11|xkbcommon)", s)}
    assert x11 and x11 <= set(QT_XCB_LIBRARIES), x11 - set(QT_XCB_LIBRARIES)


def test_imgqa_gui_prints_the_command_instead_of_the_qt_abort(tmp_path):
    if sys.platform != "linux":
        pytest.skip("Linux only")
    env = {**os.environ, "PYTHONPATH": str(SRC), "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":97",
           "IMGQA_DATA_DIR": str(tmp_path)}
    env.pop("IMGQA_SKIP_QT_CHECK", None)
    if check_qt_platform_libraries(env).ok:
        pytest.skip("this machine has every library Qt's xcb plugin needs")
    proc = subprocess.run([sys.executable, "-m", "imgqa.cli.main", "gui"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "sudo apt-get install" in proc.stderr or "sudo dnf install" in proc.stderr
    assert "could not load the Qt platform plugin" not in proc.stderr.lower()
    assert "Traceback" not in proc.stderr
