"""Every shared MR folder (and some CT and NM ones) loads exactly as through the slow paths.

The reference load turns the loader's fast paths off: headers read by pydicom's own reader
(no `header_scan`), Image Type converted by pydicom, and each image's pixels read through a
file object into a bytearray. Compared: the series and their order, the header summaries,
geometry, frames (sources, rescale, positions, per-frame facts), flags, problems and skipped
files, every image (stored values and physical values) and every dataset `series.dataset(i)`
gives (every element's value as pydicom converts it, and the file meta).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imgqa
from imgqa.io import decode, dicom_header, header_facts


def _folders(shared: Path) -> list[Path]:
    mr = sorted(p for p in (shared / "mr").glob("*/*") if p.is_dir())
    mr += sorted(p for p in (shared / "mr").glob("*") if p.is_dir() and not any(
        q.is_dir() for q in p.iterdir()))
    others = ["ct/ge_qa_phantom/serie1", "ct/imageqc_Constancy13img", "nm/nmqc",
              "nm/imageqc_spect", "pet/imageqc_waterphantom", "bad"]
    return mr + [shared / o for o in others if (shared / o).exists()]


def _elements(ds: Any) -> list:
    out: list = []
    for tag in list(ds.keys()):
        if tag == 0x7FE00010:
            out.append((int(tag), "<pixel data>"))
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            out.append((int(tag), "SQ", [_elements(item) for item in elem.value]))
        else:
            out.append((int(tag), elem.VR, repr(elem.value)))
    return out


def _fingerprint(folder: Path) -> dict[str, Any]:
    series = imgqa.load(folder)
    out: dict[str, Any] = {
        "problems": [p.to_dict() for p in series.problems],
        "skipped": list(series.skipped),
        "series": [],
    }
    for s in series:
        entry: dict[str, Any] = {
            "type": type(s).__name__, "header": s.header, "flags": s.flags,
            "geometry": _geometry(s.geometry),
            "frames": list(s.frames),
            "datasets": [(_elements(ds), _elements(ds.file_meta) if getattr(
                ds, "file_meta", None) is not None else None,
                getattr(ds, "preamble", None), ds.original_encoding) for ds in s.datasets],
            "images": [],
        }
        if s.frames:
            for i in range(len(s)):
                raw = s.raw(i)
                entry["images"].append((raw.dtype.str, raw.shape, raw.tobytes(),
                                        s.pixels(i).tobytes()))
        out["series"].append(entry)
    return out


def _geometry(geometry: Any) -> dict[str, Any]:
    """The geometry's fields, arrays as lists (exact values)."""
    return {f.name: (v.tolist() if isinstance(v := getattr(geometry, f.name), np.ndarray)
                     else v) for f in dataclasses.fields(geometry)}


def _read_array_slowly(source: str, offset: int, length: int) -> np.ndarray:
    return np.frombuffer(decode._read_range(source, offset, length), dtype=np.uint8)


def _pydicom_code_strings(ds: Any, kw: str) -> tuple[str, ...]:
    value = ds.get(kw, None) or ()
    if isinstance(value, str):
        value = (value,)
    return tuple(str(x) for x in value)


def test_shared_folders_load_as_through_the_slow_paths(shared_data, monkeypatch):
    folders = _folders(shared_data)
    assert len(folders) > 20
    fast = {f: _fingerprint(f) for f in folders}
    monkeypatch.setattr(dicom_header, "scan_file", lambda fh, *args, **kwargs: None)
    monkeypatch.setattr(header_facts, "_code_strings", _pydicom_code_strings)
    monkeypatch.setattr(decode, "_read_array", _read_array_slowly)
    for folder in folders:
        slow = _fingerprint(folder)
        ours = fast[folder]
        where = folder.relative_to(shared_data)
        assert ours["problems"] == slow["problems"], where
        assert ours["skipped"] == slow["skipped"], where
        assert len(ours["series"]) == len(slow["series"]), where
        for a, b in zip(ours["series"], slow["series"]):
            for key in a:
                assert a[key] == b[key], f"{where}: {key}"


@pytest.mark.parametrize("folder", ["mr/relaxometry_hazen/T1/site1_20200218/plate5",
                                    "mr/relaxometry_hazen/T2/site1_20200218/plate4"])
def test_relaxometry_datasets_keep_their_attributes(shared_data, folder, monkeypatch):
    """`series.dataset(i)` of the fast load has the attributes (names, order, values) of the
    dataset read by pydicom's reader, apart from the elements' internal form."""
    path = shared_data / folder
    if not path.exists():
        pytest.skip(f"{folder} not available")
    fast = imgqa.load(path)
    monkeypatch.setattr(dicom_header, "scan_file", lambda fh, *args, **kwargs: None)
    slow = imgqa.load(path)
    for a, b in zip(fast, slow):
        for i in range(len(a)):
            da, db = a.dataset(i), b.dataset(i)
            assert type(da) is type(db)
            assert list(vars(da)) == list(vars(db))
            for key in vars(da):
                if key not in ("_dict", "file_meta"):
                    assert vars(da)[key] == vars(db)[key], key
            assert da.filename == db.filename and da.timestamp == db.timestamp
            assert _elements(da) == _elements(db)
