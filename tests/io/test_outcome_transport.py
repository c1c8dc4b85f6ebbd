"""`imgqa.io.outcome_transport` (issue 17): header outcomes packed in a reading worker and
unpacked in the main process are the very datasets `read_source` gave: every element with its
type and value, the same tag objects' type, the same dict order (top level and file meta), the
other attributes; a dose report comes back as an equal `DoseReportSeries`."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from pydicom.dataelem import DataElement, RawDataElement

from imgqa.io.dicom import iter_sources, read_source
from imgqa.io.dose_sr import DoseReportSeries
from imgqa.io.outcome_transport import pack_outcomes, unpack_outcomes
from imgqa.phantoms import make_demo
from imgqa.phantoms.dose import write_dose_sr


def _sent(outcomes: list) -> list:
    """As `imgqa.parallel` sends them: packed, pickled, unpickled, unpacked."""
    return unpack_outcomes(pickle.loads(pickle.dumps(pack_outcomes(outcomes),
                                                     protocol=pickle.HIGHEST_PROTOCOL)))


def _same_dataset(a, b) -> None:
    assert type(a) is type(b)
    assert list(a._dict) == list(b._dict)  # order included
    for (ka, ea), (kb, eb) in zip(a._dict.items(), b._dict.items()):
        assert type(ka) is type(kb) and ka == kb
        assert type(ea) is type(eb)
        if isinstance(ea, RawDataElement):
            assert tuple(ea) == tuple(eb) and [type(v) for v in ea] == [type(v) for v in eb]
        else:
            assert ea == eb
    assert vars(a).keys() == vars(b).keys()
    for name in vars(a):
        if name not in ("_dict", "file_meta"):
            assert repr(vars(a)[name]) == repr(vars(b)[name]), name


def _check(paths: list[Path]) -> tuple[int, int]:
    sources = list(iter_sources(paths, [], []))
    got, expected = _sent([read_source(s) for s in sources]), [read_source(s) for s in sources]
    images = reports = 0
    for g, e in zip(got, expected, strict=True):
        assert g[0] == e[0]
        if e[0] == "image":
            images += 1
            _same_dataset(g[1].ds, e[1].ds)
            _same_dataset(g[1].ds.file_meta, e[1].ds.file_meta)
            assert (g[1].frames, g[1].geometry_key, g[1].series_uid) == \
                (e[1].frames, e[1].geometry_key, e[1].series_uid)
            # the rebuilt dataset still converts its values as pydicom does
            assert str(g[1].ds.get("Modality", "")) == str(e[1].ds.get("Modality", ""))
        elif e[0] == "report":
            reports += 1
            assert type(g[1]) is DoseReportSeries
            assert g[1].report == e[1].report and g[1].header == e[1].header
            assert g[1].input_identity() == e[1].input_identity()
        else:
            assert g == e
    return images, reports


def test_outcomes_travel_unchanged_on_the_demo_phantoms(tmp_path):
    make_demo(tmp_path / "demo")
    write_dose_sr(tmp_path, "CT")
    (tmp_path / "notes.dcm").write_text("not an image")
    images, reports = _check([tmp_path])
    assert images >= 10 and reports == 1


def test_outcomes_travel_unchanged_on_real_images(shared_data):
    # Siemens CSA headers, enhanced multi-frame MR, NM frame vectors, dose reports
    images, reports = _check([shared_data])
    assert images > 300 and reports >= 1


def test_a_converted_element_keeps_its_place(tmp_path):
    make_demo(tmp_path / "demo")
    src = next(iter(iter_sources([tmp_path], [], [])))
    out = read_source(src)
    ds = out[1].ds
    modality, rows = ds.Modality, ds.Rows  # converted on access: DataElements among raw ones
    before = list(ds._dict.items())
    kinds = {type(el) for _, el in before}
    assert kinds == {RawDataElement, DataElement}, kinds
    (kind, info), = _sent([out])  # (packing empties the dataset it was given)
    assert [k for k, _ in info.ds._dict.items()] == [k for k, _ in before]
    assert [type(el) for el in info.ds._dict.values()] == [type(el) for _, el in before]
    assert (info.ds.Modality, info.ds.Rows) == (modality, rows)


@pytest.mark.parametrize("kind", ["skipped", "problem"])
def test_other_outcomes_pass_through(kind):
    out = (kind, "a note")
    assert _sent([out, None]) == [out, None]
