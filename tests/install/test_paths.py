"""Installed copies (wheel, PyInstaller bundle) find their demo phantoms in the user data folder.

Before issue 18 the demo folder was ``Path(imgqa.__file__).parents[2] / "phantoms"`` whatever the
layout: for a wheel that is ``lib/python3.11/phantoms``, for the bundle ``dist/imgqa/phantoms``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import imgqa
from imgqa import paths
from imgqa.phantoms import demo_sets


def _package(root: Path, *parts: str) -> Path:
    init = root.joinpath(*parts, "imgqa", "__init__.py")
    init.parent.mkdir(parents=True)
    init.write_text("")
    return init


def _stray_phantoms(folder: Path) -> None:
    (folder / "phantoms").mkdir(parents=True)
    (folder / "phantoms" / "stray.dcm").write_bytes(b"not ours")


def test_source_checkout_is_recognised_by_its_layout(tmp_path):
    init = _package(tmp_path, "src")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'imgqa'\n")
    assert paths.source_checkout(init) == tmp_path.resolve()


def test_src_layout_without_pyproject_is_not_a_checkout(tmp_path):
    assert paths.source_checkout(_package(tmp_path, "src")) is None


def test_the_running_tests_come_from_this_checkout():
    root = paths.source_checkout()
    assert root is not None and (root / "src" / "imgqa" / "__init__.py").is_file()


def test_wheel_install_ignores_a_phantoms_folder_beside_site_packages(tmp_path, monkeypatch):
    from imgqa.gui import demo

    init = _package(tmp_path, "lib", "python3.11", "site-packages")
    _stray_phantoms(tmp_path / "lib" / "python3.11")  # where parents[2] used to point
    monkeypatch.setattr(imgqa, "__file__", str(init))
    assert paths.source_checkout() is None
    assert demo.repository_phantoms() is None
    assert demo.demo_folder(generate=False) is None  # nothing generated yet


def test_frozen_bundle_is_never_a_checkout(tmp_path, monkeypatch):
    from imgqa.gui import demo

    init = _package(tmp_path, "src")
    (tmp_path / "pyproject.toml").write_text("")
    _stray_phantoms(tmp_path)
    monkeypatch.setattr(imgqa, "__file__", str(init))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert demo.repository_phantoms() is None


def test_installed_copy_generates_the_demo_set_in_the_user_data_folder(tmp_path, monkeypatch):
    from imgqa.gui import demo

    monkeypatch.setattr(imgqa, "__file__", str(_package(tmp_path / "install", "site-packages")))
    folder = demo.demo_folder(generate=True)
    assert folder == paths.data_dir() / "demo-phantoms"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(
        demo_sets())
    assert not any((tmp_path / "install").rglob("*.dcm"))  # nothing beside the package
    assert demo.demo_folder(generate=False) == folder  # second start: reused, not rewritten


def test_data_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGQA_DATA_DIR", str(tmp_path / "elsewhere"))
    assert paths.data_dir() == tmp_path / "elsewhere"
    assert paths.demo_phantoms_dir() == tmp_path / "elsewhere" / "demo-phantoms"
