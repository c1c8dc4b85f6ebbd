"""Sending the outcomes of `imgqa.io.dicom.read_source` between processes cheaply (issue 17).

`imgqa.parallel.load_parallel` reads headers in worker processes and sends the outcomes back to
the main process, which groups them into series. A header keeps most of its elements as pydicom
`RawDataElement` named tuples (≈ 185 per file on the shared data; values converted on first
use). Pickled as they are, each element costs a Python-level reduce (the named tuple's
``__getnewargs__``) and its `BaseTag` another: on the 343 headers of the shared data 19 MB,
0.43 s CPU to pickle in the readers and 0.15-0.20 s to unpickle in the main process, against
0.63 s to read them (measured 2026-12-04).

`pack_outcomes` turns the top-level raw elements of each image's dataset into plain tuples
(tag as an int, the other eight fields as they are), which pickle's C code writes without a
reduce call; `unpack_outcomes` rebuilds the very same dataset: the same element types and
values, the same `BaseTag` keys (shared through `imgqa.io.header_scan.tag_key`), in the same
dict order. Converted elements (`DataElement`, sequences) and everything else in the outcome
travel as pickle writes them anyway.

A dose report (`DoseReportSeries`, which holds a lock and so cannot be pickled) travels as the
arguments of its constructor and is rebuilt identically. Anything else that cannot travel is
sent as None: the main process reads that file itself.
"""

from __future__ import annotations

import pickle
from itertools import repeat
from operator import is_
from typing import Any

from pydicom.dataelem import RawDataElement
from pydicom.tag import BaseTag

__all__ = ["pack_outcomes", "unpack_outcomes"]

_REPORT = "report-args"  # marks a dose report sent as its constructor's arguments


def pack_outcomes(outcomes: list[Any]) -> list[Any]:
    """The outcomes of `read_source` for some files, ready to pickle (see the module doc).

    The datasets of ``outcomes`` are emptied in place (their elements move into the packed
    rows): call it on outcomes that are about to be sent, never on ones still in use.
    """
    packed: list[Any] = []
    for out in outcomes:
        if out is None:
            packed.append(None)
        elif out[0] == "image":
            ds = out[1].ds
            meta = vars(ds).get("file_meta")
            packed.append(("image", out[1], _pack_dataset(ds),
                           _pack_dataset(meta) if meta is not None else None))
        elif out[0] == "report":
            packed.append(_pack_report(out[1]))
        else:
            packed.append(out)
    return packed


def unpack_outcomes(packed: list[Any]) -> list[Any]:
    """The outcomes `pack_outcomes` was given, rebuilt after unpickling."""
    out: list[Any] = []
    for item in packed:
        if item is None:
            out.append(None)
        elif item[0] == "image":
            _, info, rows, meta_rows = item
            _unpack_dataset(info.ds, rows)
            if meta_rows is not None:
                _unpack_dataset(info.ds.file_meta, meta_rows)
            out.append(("image", info))
        elif item[0] == _REPORT:
            from imgqa.io.dose_sr import DoseReportSeries

            out.append(("report", DoseReportSeries(*item[1])))
        else:
            out.append(item)
    return out


def _pack_dataset(ds: Any) -> tuple[list, list[tuple]] | None:
    """(columns of the raw elements, the other elements with their positions), or None (the
    dataset travels as it is); ``ds`` is left without elements. Column-wise with `zip` and
    `map`, so that no Python code runs per element (≈ 63 000 elements on the shared data)."""
    d = ds._dict
    raws = [el for el in d.values() if type(el) is RawDataElement]
    if not raws:
        return None
    keys = [k for k, el in d.items() if type(el) is RawDataElement]
    cols: list = list(zip(*raws))
    # each raw element filed under its own tag object (as pydicom and `scan_header` do)
    if set(map(type, keys)) != {BaseTag} or not all(map(is_, keys, cols[0])):
        return None
    rest = [(i, k, el) for i, (k, el) in enumerate(d.items()) if type(el) is not RawDataElement]
    # The tags stay `BaseTag` objects: `scan_header` shares one per tag (`tag_key`), which
    # pickle then writes once per chunk and refers to after (its memo).
    vars(ds)["_dict"] = {}  # not through Dataset.__setattr__ (it checks DICOM keywords)
    return cols, rest


def _unpack_dataset(ds: Any, packed: tuple[list, list[tuple]] | None) -> None:
    if packed is None:
        return
    cols, rest = packed
    tags = cols[0]
    # tuple.__new__: a RawDataElement without its Python-level __new__ (the same tuple)
    elements = map(tuple.__new__, repeat(RawDataElement), zip(tags, *cols[1:]))
    items = list(zip(tags, elements))
    for pos, tag, el in rest:  # ascending positions: each lands where it was
        items.insert(pos, (tag, el))
    vars(ds)["_dict"] = dict(items)


def _pack_report(series: Any) -> Any:
    from imgqa.io.dose_sr import DoseReportSeries

    if type(series) is not DoseReportSeries:
        return None
    args = (series.header, series.datasets[0], series._source, series.report, series._digest)
    try:
        pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)  # two or three files a batch
    except Exception:  # noqa: BLE001 - whatever cannot travel is read by the main process
        return None
    return (_REPORT, args)
