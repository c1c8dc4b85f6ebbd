"""Check, before Qt starts, that a Linux desktop has the system libraries of Qt's xcb plugin.

PySide6's wheels bring Qt itself but not the X11/xcb libraries its ``xcb`` platform plugin links
to. When one is missing, Qt aborts with "could not load the Qt platform plugin "xcb"" and a core
dump, which tells a user nothing about what to install. This module finds the missing libraries
by loading each by its soname (what the dynamic linker would do for Qt) and says the exact
package-manager command. No Qt import here: it runs before Qt is loaded.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["QT_XCB_LIBRARIES", "QtLibraryCheck", "check_qt_platform_libraries",
           "install_command", "linux_family"]

# soname → (Debian/Ubuntu package, Fedora/RHEL package). The sonames are the direct
# dependencies of Qt 6's libqxcb.so and libQt6XcbQpa.so as PySide6 6.x ships them (ldd); the
# package names follow Qt's "Qt for X11 Requirements" page and the distributions' archives.
QT_XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
}

SKIP_ENV = "IMGQA_SKIP_QT_CHECK"  # "1": start Qt without the check (a library list gone stale)


@dataclass(frozen=True)
class QtLibraryCheck:
    """Outcome of the check: ``missing`` sonames (empty when all load or the check does not
    apply) and the message to print."""

    missing: tuple[str, ...]
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def linux_family(os_release: str | None = None) -> str:
    """``"debian"``, ``"fedora"`` or ``""`` from /etc/os-release's ID and ID_LIKE."""
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
    ids: set[str] = set()
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("ID", "ID_LIKE"):
            ids.update(value.strip().strip('"').lower().split())
    if ids & {"debian", "ubuntu"}:
        return "debian"
    if ids & {"fedora", "rhel", "centos", "rocky", "almalinux"}:
        return "fedora"
    return ""


def install_command(missing: tuple[str, ...] | list[str], family: str) -> list[str]:
    """The command line(s) that install the packages providing ``missing`` sonames; both the
    apt and the dnf line when the distribution is not recognised."""
    lines = []
    tools = (("debian", "sudo apt-get install", 0), ("fedora", "sudo dnf install", 1))
    for fam, tool, col in tools:
        if family in ("", fam):
            pkgs = sorted(dict.fromkeys(QT_XCB_LIBRARIES[s][col] for s in missing))
            lines.append(f"{tool} {' '.join(pkgs)}")
    return lines


def check_qt_platform_libraries(environ: Mapping[str, str] | None = None,
                                platform: str | None = None,
                                loads: Callable[[str], bool] = _loads,
                                os_release: str | None = None) -> QtLibraryCheck:
    """Find the xcb libraries Qt would fail to load on this machine.

    Applies only on Linux when Qt would use its ``xcb`` plugin: ``QT_QPA_PLATFORM`` unset (and
    not a Wayland-only session, where Qt picks its wayland plugin) or starting with ``xcb``.
    ``offscreen`` and the others need none of these libraries.

    Returns
    -------
    QtLibraryCheck
        ``missing`` sonames and a message naming them with the install command.
    """
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if not plat.startswith("linux") or env.get(SKIP_ENV) == "1":
        return QtLibraryCheck(())
    qpa = env.get("QT_QPA_PLATFORM", "").strip().lower()
    if qpa and not qpa.startswith("xcb"):
        return QtLibraryCheck(())
    if not qpa and env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY"):
        return QtLibraryCheck(())
    missing = tuple(s for s in QT_XCB_LIBRARIES if not loads(s))
    if not missing:
        return QtLibraryCheck(())
    commands = install_command(missing, linux_family(os_release))
    how = ("Install them with:" if len(commands) == 1
           else "Install them with the command for your Linux (Debian/Ubuntu, Fedora/RHEL):")
    message = "\n".join([
        "imgqa: the desktop application cannot start: this Linux lacks system libraries that "
        "Qt needs to open windows on the X11 display:",
        "  " + ", ".join(missing),
        how,
        *(f"  {c}" for c in commands),
        "then run the command again. (Without a screen, use the command line, or "
        "QT_QPA_PLATFORM=offscreen with --screenshot.)",
    ])
    return QtLibraryCheck(missing, message)
