"""Fingerprint of everything `imgqa.load` returns, to check that a loader change alters nothing.

For every series found under a folder (default: the shared phantom images): the header summary,
the geometry (positions included), every frame (source, rescale, position, per-frame facts),
the flags, the pixel SHA-256 of every image (stored and physical values), and the full pydicom
header of every file as `ImageSeries.dataset()` gives it (every element, private ones and
sequences included, values as pydicom converts them); plus the problems and skipped notes.

Run before and after a change and compare::

    PYTHONPATH=src python benchmarks/load_fingerprint.py write /tmp/before.pkl
    PYTHONPATH=src python benchmarks/load_fingerprint.py compare /tmp/before.pkl

``compare`` prints the first differences and exits with status 1 when there are any.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.exists():
    SHARED = Path("/work/shared/data")


def _elements(ds: Any) -> list:
    """Every element of a dataset as (tag, VR, value text), sequences recursively."""
    out: list = []
    for tag in list(ds.keys()):
        if tag == 0x7FE00010:  # pixel data: compared through the decoded arrays
            out.append((int(tag), "<pixel data>"))
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            out.append((int(elem.tag), "SQ", [_elements(item) for item in elem.value]))
        else:
            out.append((int(elem.tag), elem.VR, repr(elem.value)))
    return out


def _sha(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest() + str(arr.dtype)


def fingerprint(folder: Path) -> dict:
    import imgqa

    series = imgqa.load(folder)
    result: dict[str, Any] = {
        "problems": [p.to_dict() for p in series.problems],
        "skipped": list(series.skipped),
        "series": [],
    }
    for s in series:
        entry: dict[str, Any] = {"header": repr(s.header), "flags": list(s.flags),
                                 "summary": repr(s.summary())}
        if not hasattr(s, "frames") or not hasattr(s, "geometry"):
            result["series"].append(entry)
            continue
        g = s.geometry
        entry["geometry"] = (repr(g), None if g.positions is None else g.positions.tolist())
        entry["frames"] = [repr(f) for f in s.frames]
        pixels = []
        for i in range(len(s)):
            try:
                pixels.append((_sha(s.raw(i)), _sha(s.pixels(i)), s.pixel_sha256(i)))
            except Exception as exc:  # noqa: BLE001 - a decode error is part of the result
                pixels.append((type(exc).__name__, str(exc)))
        entry["pixels"] = pixels
        headers = []
        for ds in s.datasets:
            meta = getattr(ds, "file_meta", None)
            headers.append((_elements(ds), _elements(meta) if meta is not None else None))
        entry["datasets"] = headers
        result["series"].append(entry)
    return result


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if len(out) > 20:
        return
    if type(a) is not type(b):
        out.append(f"{path}: type {type(a).__name__} != {type(b).__name__}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'after' if k in b else 'before'}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, (list, tuple)):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {str(a)[:200]!r} != {str(b)[:200]!r}")


def main(argv: list[str]) -> int:
    mode, target = argv[0], Path(argv[1])
    folder = Path(argv[2]) if len(argv) > 2 else SHARED
    fp = fingerprint(folder)
    n_series = len(fp["series"])
    n_images = sum(len(e.get("pixels", ())) for e in fp["series"])
    if mode == "write":
        target.write_bytes(pickle.dumps(fp))
        print(f"{n_series} series, {n_images} images, {len(fp['problems'])} problems -> {target}")
        return 0
    before = pickle.loads(target.read_bytes())
    diffs: list[str] = []
    _diff(before, fp, "load", diffs)
    if diffs:
        print("\n".join(diffs[:20]))
        return 1
    print(f"identical: {n_series} series, {n_images} images, {len(fp['problems'])} problems, "
          f"{len(fp['skipped'])} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
