"""Issue 19, findings 5 and 6: inputs that used to hang the loader, exhaust memory, slow it down
quadratically, or be handled silently or misleadingly.

Every test here reproduced its problem before the fix (a hang is caught by a subprocess time-out
so that a regression fails instead of stopping the suite; memory is measured, never timed).
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest

import imgqa
from imgqa.errors import MissingSpacingError, PixelDecodeError, UnsafeArchiveError
from imgqa.io import archive as zip_safety
from imgqa.io import dicom
from imgqa.phantoms.writer import write_series

SRC = str(Path(imgqa.__file__).resolve().parents[1])


def _run(code: str, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter importing this checkout of imgqa."""
    env = dict(os.environ, PYTHONPATH=SRC, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _ct(folder: Path, n: int = 1, **kw) -> list[Path]:
    stack = np.stack([np.full((16, 16), 40.0 + k) for k in range(n)])
    args = dict(modality="CT", description="x", pixel_spacing_mm=0.5, rescale_intercept=-1024)
    args.update(kw)
    return write_series(stack, folder, **args)


# ---------------------------------------------------------------- finding 5: FIFOs -------------
_LOAD_AND_REPORT = """
import json, sys, imgqa
s = imgqa.load(sys.argv[1:])
print(json.dumps({"series": len(s), "problems": [p.to_dict() for p in s.problems],
                  "skipped": s.skipped}))
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_fifo_named_dcm_alone_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "x.dcm"
    os.mkfifo(fifo)
    # Nobody ever writes to the pipe: opening it for reading blocks forever unless skipped.
    out = _run(_LOAD_AND_REPORT, str(fifo), timeout=60)
    report = json.loads(out.stdout)
    assert report["series"] == 0
    (problem,) = report["problems"]
    assert "x.dcm" in problem["error"] and "named pipe" in problem["error"]
    assert problem["hint"] and "Traceback" not in out.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_fifo_in_a_folder_is_skipped_and_the_images_beside_it_load(tmp_path):
    folder = tmp_path / "study"
    _ct(folder, 2)
    os.mkfifo(folder / "x.dcm")
    out = _run(_LOAD_AND_REPORT, str(folder), timeout=60)
    report = json.loads(out.stdout)
    assert report["series"] == 1 and not report["problems"]
    assert any("x.dcm" in s and "named pipe" in s for s in report["skipped"])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
@pytest.mark.parametrize("command", ["info", "analyse"])
def test_cli_on_a_fifo_finishes(tmp_path, command):
    fifo = tmp_path / "x.dcm"
    os.mkfifo(fifo)
    out = _run("from imgqa.cli.main import main; raise SystemExit(main())", command, str(fifo),
               timeout=60)
    assert out.returncode == 1
    assert "named pipe" in out.stdout + out.stderr and "Traceback" not in out.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_source_open_refuses_a_fifo_even_if_it_appears_after_the_listing(tmp_path):
    """stat-then-open can race: the open itself never blocks and checks the type again."""
    fifo = tmp_path / "late.dcm"
    os.mkfifo(fifo)
    with pytest.raises(imgqa.errors.UnreadableInputError, match="named pipe"):
        dicom.read_header(dicom.Source(str(fifo), fifo))


def test_datasets_of_files_on_disk_still_read_deferred_pixel_data(tmp_path):
    """Files are opened through a descriptor now; pydicom must still know the file's name to
    read deferred elements (``ds.pixel_array`` on a loaded header)."""
    (p,) = _ct(tmp_path)
    (s,) = imgqa.load(p)
    ds = s.dataset(0)
    assert ds.filename == str(p)
    np.testing.assert_array_equal(ds.pixel_array, s.raw(0))


# ---------------------------------------------------------------- finding 5: zip bombs ---------
def _crafted_zip(path: Path, members: dict[str, tuple[int, bytes, int]]) -> None:
    """Write a zip whose members are raw deflate streams, with the sizes given.

    `members` maps a name to (declared uncompressed size, raw deflate data, CRC-32). Lets a test
    build a 4 GB bomb in a few MB without compressing 4 GB, and lie in the headers.
    """
    out = io.BytesIO()
    central = []
    for name, (usize, data, crc) in members.items():
        offset = out.tell()
        raw_name = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data),
                              usize, len(raw_name), 0))
        out.write(raw_name)
        out.write(data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                                   len(data), usize, len(raw_name), 0, 0, 0, 0, 0, offset)
                       + raw_name)
    start = out.tell()
    for c in central:
        out.write(c)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    path.write_bytes(out.getvalue())


def _zeros_deflate(n_blocks: int, block: int = 16 << 20) -> tuple[bytes, int]:
    """Raw deflate stream of n_blocks × block zero bytes, and its CRC-32 (built in ~0.5 s/GB)."""
    zeros = bytes(block)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    # A full flush resets the dictionary, so the flushed block can simply be repeated.
    chunk = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
    tail = co.flush()
    crc = 0
    for _ in range(n_blocks):
        crc = zlib.crc32(zeros, crc)
    return chunk * n_blocks + tail, crc


def test_zip_bomb_is_refused_with_bounded_memory(tmp_path):
    """4 × 1 GiB of zeros in a 4 MB archive: used to peak at 2.2 GB RSS (each member read whole).

    Measured as the peak resident size of a fresh interpreter (ru_maxrss, all allocations
    including zlib's), compared with the same interpreter importing imgqa and loading nothing.
    """
    data, crc = _zeros_deflate(64)
    bomb = tmp_path / "bomb.zip"
    _crafted_zip(bomb, {f"img{k}.dcm": (1 << 30, data, crc) for k in range(4)})
    assert bomb.stat().st_size < 8 << 20
    code = """
import json, resource, sys, imgqa
s = imgqa.load(sys.argv[1]) if len(sys.argv) > 1 else None
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "problems": [p.to_dict() for p in s.problems] if s is not None else []}))
"""
    base = json.loads(_run(code).stdout)["rss_kb"]
    out = json.loads(_run(code, str(bomb), timeout=120).stdout)
    extra_mb = (out["rss_kb"] - base) / 1024
    assert extra_mb < 200, f"loading the bomb cost {extra_mb:.0f} MB"
    assert len(out["problems"]) == 4
    for k, p in enumerate(sorted(out["problems"], key=lambda p: p["path"])):
        assert p["kind"] == "UnsafeArchiveError"
        assert f"img{k}.dcm" in p["error"] and "bomb.zip" in p["error"] and p["hint"]


def test_zip_total_size_cap_refuses_the_archive(tmp_path, monkeypatch):
    _ct(tmp_path / "ct", 3)
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((tmp_path / "ct").iterdir()):
            zf.write(p, p.name)
    size = sum(i.file_size for i in zipfile.ZipFile(archive).infolist())
    monkeypatch.setattr(zip_safety, "ZIP_MAX_TOTAL_BYTES", size - 1)
    loaded = imgqa.load(archive)
    assert len(loaded) == 0
    (problem,) = loaded.problems
    assert problem.kind == "UnsafeArchiveError" and "big.zip" in problem.error


def test_member_stream_longer_than_the_limit_is_refused(tmp_path):
    """Headers can lie: the member is also read through a counting reader with a byte limit."""
    reader = zip_safety.LimitedReader(io.BytesIO(bytes(3000)), limit=1000, size=1000,
                                  what="a.zip::m.dcm")
    assert len(reader.read(800)) == 800
    with pytest.raises(UnsafeArchiveError, match="m.dcm"):
        reader.read(800)


def test_zip_member_over_the_per_member_cap_is_refused(tmp_path, monkeypatch):
    _ct(tmp_path / "ct", 1)
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for p in (tmp_path / "ct").iterdir():
            zf.write(p, p.name)
    monkeypatch.setattr(zip_safety, "ZIP_MAX_MEMBER_BYTES", 1000)
    loaded = imgqa.load(archive)
    (problem,) = loaded.problems
    assert problem.kind == "UnsafeArchiveError" and "larger than" in problem.error


# ---------------------------------------------------------------- finding 5: many members ------
def _count_zip_opens(monkeypatch) -> list[str]:
    opened: list[str] = []
    real_init = zipfile.ZipFile.__init__

    def counting_init(self, file, *args, **kwargs):
        opened.append(str(file))
        real_init(self, file, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", counting_init)
    zip_safety.close_archives()
    return opened


def test_zip_with_20000_members_opens_the_archive_once(tmp_path, monkeypatch):
    """Reopening the archive per member made 20 000 members take over 120 s (quadratic: each
    open parses the whole central directory). Linear time is shown by counting opens."""
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for k in range(20_000):
            zf.writestr(f"m/{k:05d}.dcm", b"")
    opened = _count_zip_opens(monkeypatch)
    loaded = imgqa.load(archive)
    assert len(loaded.problems) == 20_000  # every member is an empty, too-short file
    assert "too short" in loaded.problems[0].error
    assert len(opened) == 1, opened


def test_decoding_zip_members_reuses_the_open_archive(tmp_path, monkeypatch):
    _ct(tmp_path / "ct", 4)
    archive = tmp_path / "ct.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted((tmp_path / "ct").iterdir()):
            zf.write(p, p.name)
    opened = _count_zip_opens(monkeypatch)
    (s,) = imgqa.load(archive)
    means = [float(s.pixels(i).mean()) for i in range(len(s))]
    assert means == pytest.approx([40.0 + k for k in range(4)])  # physical values (HU)
    # Worker threads decoding members of the one shared archive get the same images.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        again = list(pool.map(lambda i: s.raw(i).copy(), [i % len(s) for i in range(32)]))
    for k, arr in enumerate(again):
        np.testing.assert_array_equal(arr, s.raw(k % len(s)))
    assert len(opened) == 1, opened


# ---------------------------------------------------------------- finding 6: folders -----------
def test_unreadable_subfolder_is_reported(tmp_path, monkeypatch):
    """Tests run as root (CI), which reads any folder: the refusal is simulated at os.scandir,
    where os.walk meets it."""
    _ct(tmp_path / "top" / "ok", 2)
    locked = tmp_path / "top" / "locked"
    _ct(locked, 1)
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    loaded = imgqa.load(tmp_path / "top")
    assert len(loaded) == 1
    (problem,) = loaded.problems
    assert problem.error == f"cannot read folder {locked}: permission denied"
    assert problem.hint and problem.kind == "UnreadableInputError"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads folders whatever their permissions")
def test_unreadable_subfolder_for_real(tmp_path):
    _ct(tmp_path / "top" / "ok", 1)
    locked = tmp_path / "top" / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        loaded = imgqa.load(tmp_path / "top")
    finally:
        locked.chmod(0o755)
    assert any("cannot read folder" in p.error for p in loaded.problems)


# ---------------------------------------------------------------- finding 6: rescale ----------
@pytest.mark.parametrize("slope", ["NaN", "inf", "-inf", "0", "1e308", "abc"])
def test_invalid_rescale_slope_is_a_problem_not_one(tmp_path, slope):
    (p,) = _ct(tmp_path)
    ds = pydicom.dcmread(p)
    ds.RescaleSlope = "1.234567"
    ds.save_as(p)
    # Written as raw bytes, as a broken export would: pydicom refuses to make some of them.
    data = p.read_bytes()
    assert data.count(b"1.234567") == 1
    p.write_bytes(data.replace(b"1.234567", slope.encode().ljust(8)))
    loaded = imgqa.load(p)
    assert len(loaded) == 0
    (problem,) = loaded.problems
    assert "Rescale Slope" in problem.error and slope in problem.error
    assert problem.kind == "CorruptDicomError" and problem.hint


def test_rescale_that_overflows_float32_is_a_problem(tmp_path):
    """A slope of 1e30 is finite, but 16-bit stored values times it exceed float32: inf."""
    (p,) = _ct(tmp_path)
    ds = pydicom.dcmread(p)
    ds.RescaleSlope = "1e36"
    ds.save_as(p)
    (problem,) = imgqa.load(p).problems
    assert "Rescale Slope" in problem.error and "float" not in problem.hint.lower()
    assert "too large" in problem.error


def test_valid_unusual_rescale_still_loads(tmp_path):
    (p,) = _ct(tmp_path)
    ds = pydicom.dcmread(p)
    ds.RescaleSlope, ds.RescaleIntercept = "-0.5", "7"
    ds.save_as(p)
    (s,) = imgqa.load(p)
    assert np.isfinite(s.pixels(0)).all()
    assert s.frames[0].slope == -0.5 and s.frames[0].intercept == 7.0


# ---------------------------------------------------------------- finding 6: spacing ----------
@pytest.mark.parametrize("value,shown", [("-1", "-1"), ("0", "0"), ("NaN", "nan"),
                                         ("inf", "inf")])
def test_invalid_pixel_spacing_has_its_own_message(tmp_path, value, shown):
    (p,) = _ct(tmp_path)
    ds = pydicom.dcmread(p)
    ds["PixelSpacing"] = pydicom.DataElement(0x00280030, "DS", [value, value], validation_mode=0)
    ds.save_as(p)
    (s,) = imgqa.load(p)
    assert s.pixel_spacing_mm is None and s.geometry.spacing_source == "none"
    reason = f"pixel spacing {shown} mm is invalid"
    assert any(f.startswith(reason) for f in s.flags), s.flags
    assert s.geometry.spacing_problem.startswith(reason)
    with pytest.raises(MissingSpacingError, match=reason) as err:
        s.require_spacing()
    assert "has no pixel spacing" not in str(err.value)
    assert s.with_spacing(0.5).require_spacing() == (0.5, 0.5)


def test_invalid_spacing_in_functional_groups_is_named(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    (p,) = write_series(np.zeros((2, 8, 8)), tmp_path, modality="NM", description="mf",
                        pixel_spacing_mm=None, multiframe=True)
    ds = pydicom.dcmread(p)
    pm = Dataset()
    pm.PixelSpacing = ["-0.5", "-0.5"]
    item = Dataset()
    item.PixelMeasuresSequence = Sequence([pm])
    ds.SharedFunctionalGroupsSequence = Sequence([item])
    ds.save_as(p)
    (s,) = imgqa.load(p)
    assert s.pixel_spacing_mm is None
    assert any(f.startswith("pixel spacing -0.5 mm is invalid") for f in s.flags), s.flags


# ---------------------------------------------------------------- finding 6: damaged zips ------
def _zip_of_ct(tmp_path: Path, method: int = zipfile.ZIP_DEFLATED) -> Path:
    _ct(tmp_path / "ct", 2)
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w", method) as zf:
        for p in sorted((tmp_path / "ct").iterdir()):
            zf.write(p, p.name)
    return archive


def test_zip_with_truncated_central_directory_is_called_damaged(tmp_path):
    archive = _zip_of_ct(tmp_path)
    archive.write_bytes(archive.read_bytes()[:-30])
    loaded = imgqa.load(archive)
    (problem,) = loaded.problems
    assert problem.error.startswith("the zip archive study.zip is damaged (")
    assert "not a DICOM" not in problem.error and problem.kind == "CorruptArchiveError"


def test_zip_member_with_bad_crc_is_called_damaged(tmp_path):
    archive = _zip_of_ct(tmp_path, zipfile.ZIP_STORED)
    with zipfile.ZipFile(archive) as zf:
        info = zf.infolist()[1]
    raw = bytearray(archive.read_bytes())
    # Flip a byte near the end of the second member's data (its pixels, not its header).
    header_len = 30 + len(info.filename.encode()) + len(info.extra)
    raw[info.header_offset + header_len + info.compress_size - 3] ^= 0xFF
    archive.write_bytes(bytes(raw))
    loaded = imgqa.load(archive)
    (problem,) = loaded.problems
    assert problem.error.startswith("the zip archive study.zip is damaged (")
    assert info.filename in problem.error and problem.kind == "CorruptArchiveError"
    assert len(loaded) == 1 and len(loaded[0]) == 1  # the good member still loads


# ---------------------------------------------------------------- finding 6: decoder noise -----
def _cut_rle(tmp_path: Path) -> Path:
    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("MR_small_RLE.dcm")).read_bytes()
    cut = tmp_path / "cut_rle.dcm"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    return cut


def test_decoder_noise_goes_into_the_message_not_stderr(tmp_path, capfd):
    cut = _cut_rle(tmp_path)
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # as the CLI's logging.basicConfig would
    root.addHandler(handler)
    try:
        (s,) = imgqa.load(cut)
        with pytest.raises(PixelDecodeError) as err:
            s.pixels(0)
    finally:
        root.removeHandler(handler)
    assert "cut_rle.dcm" in err.value.message
    assert "end of the data" in err.value.message or "RLE" in err.value.message
    assert stream.getvalue() == ""
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_cli_analyse_on_truncated_rle_prints_no_traceback(tmp_path):
    cut = _cut_rle(tmp_path)
    out = _run("from imgqa.cli.main import main; raise SystemExit(main())", "analyse", str(cut),
               timeout=120)
    assert "Traceback" not in out.stderr and "ERROR pydicom" not in out.stderr
    assert "cut_rle.dcm" in out.stdout + out.stderr


def test_rust_rle_decoder_panic_goes_into_the_message_not_stderr(tmp_path, capfd):
    """One flipped bit in an RLE segment makes the Rust decoder (pylibjpeg-rle) panic; Rust
    prints the panic and a backtrace on file descriptor 2, past Python's logging."""
    from pydicom.data import get_testdata_file

    data = bytearray(Path(get_testdata_file("MR_small_RLE.dcm")).read_bytes())
    data[data.rfind(b"\xe0\x7f\x10\x00") + 111] ^= 1 << 6  # found by the fuzz test's search
    bad = tmp_path / "flipped_rle.dcm"
    bad.write_bytes(bytes(data))
    (s,) = imgqa.load(bad)
    capfd.readouterr()
    with pytest.raises(PixelDecodeError) as err:
        s.raw(0)
    captured = capfd.readouterr()
    assert captured.err == "", captured.err[:300]
    assert "flipped_rle.dcm" in err.value.message and "Traceback" not in err.value.message
    np.testing.assert_array_equal(  # the good file still decodes (stderr restored, no leak)
        imgqa.load(get_testdata_file("MR_small_RLE.dcm"))[0].raw(0),
        pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm")).pixel_array)
    print("still printed", file=sys.stderr)
    assert capfd.readouterr().err == "still printed\n"
