"""The README's examples run as written (issue 11, item 10): its Python API block and every
command of its CLI tour, from a fresh user data folder with the demo phantoms of phantoms/."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from imgqa.cli.main import main
from imgqa.cli.qt_platform import QT_XCB_LIBRARIES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _blocks(section: str, lang: str) -> list[str]:
    """The fenced ``lang`` code blocks of one ``## section`` of the README."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {section}")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end > 0 else None]
    return re.findall(rf"```{lang}\n(.*?)```", body, re.S)


def _commands(block: str) -> list[list[str]]:
    joined = block.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        argv = shlex.split(line, comments=True)
        if argv:
            out.append(argv)
    return out


@pytest.fixture
def demo_cwd(tmp_path, monkeypatch):
    """A working folder where ``phantoms/`` is the repository's demo set; the autouse fixture
    already points the user data folder (default database) at a temporary one."""
    if not any((ROOT / "phantoms").rglob("*.dcm")):
        pytest.skip("the demo phantoms are not in phantoms/")
    (tmp_path / "phantoms").symlink_to(ROOT / "phantoms", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_api_example_runs(demo_cwd, capsys):
    (block,) = _blocks("Python API", "python")
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    out = capsys.readouterr().out.splitlines()
    assert abs(float(out[0])) < 5  # water: 0 ± 5 HU
    assert "ct.water" in out[1] and "ct.catphan" in out[1]


def test_cli_tour_runs_command_by_command(demo_cwd, capsys):
    (block,) = _blocks("A short CLI tour", "bash")
    commands = _commands(block)
    assert len(commands) >= 14
    outputs = {}
    for argv in commands:
        assert argv[0] == "imgqa", argv
        code = main(argv[1:])
        captured = capsys.readouterr()
        assert code == 0, (argv, captured.err)
        outputs[" ".join(argv[1:3])] = captured.out
    # The tour's equipment ids are those the comment promises for the demo set.
    rows = [line.split() for line in outputs["equipment list"].splitlines()[2:] if line.strip()]
    listed = {r[0]: next(w for w in r if w in ("CT", "MR", "NM", "DX", "PT")) for r in rows}
    assert listed == {"1": "CT", "2": "MR", "3": "NM", "4": "DX", "5": "PT"}
    assert "ct.water" in outputs["history 1"]
    assert (demo_cwd / "qa-2026.pdf").stat().st_size > 0
    assert any((demo_cwd / "my-phantoms").rglob("*.dcm"))


def test_linux_package_lists_match_the_start_up_check():
    text = README.read_text(encoding="utf-8")
    apt = set(_commands(_blocks("Two commands", "bash")[1])[0][3:])
    assert apt == {deb for deb, _ in QT_XCB_LIBRARIES.values()} - {
        "libxcb1", "libxcb-render0", "libxcb-shm0", "libxcb-sync1", "libxcb-util1",
        "libxkbcommon0", "libx11-6"}  # pulled in by the others on every Debian/Ubuntu
    dnf = re.search(r"`sudo dnf install ([^`]+)`", text).group(1).split()
    assert set(dnf) <= {fed for _, fed in QT_XCB_LIBRARIES.values()}
