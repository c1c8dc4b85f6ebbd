"""Every real scanner file in ../shared/data loads with the modality and geometry that
MANIFEST.md's header-summary table gives; the files in bad/ are rejected with a plain reason."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest

import imgqa
from imgqa.errors import MissingSpacingError
from imgqa.io.dicom import PROJECTION_MODALITIES


def _manifest_rows(shared: Path) -> list[dict]:
    """Rows of the "## Header summary" table: path, files, modality, size (rows x columns
    [x frames]), pixel mm."""
    text = (shared / "MANIFEST.md").read_text()
    table = text.split("## Header summary", 1)[1]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 8 or cells[0] in ("path", "") or set(cells[0]) <= {"-"}:
            continue
        size = re.fullmatch(r"(\?|\d+)x(\?|\d+)(?:x(\d+)f)?", cells[4])
        assert size, f"cannot parse size {cells[4]!r}"
        rows.append({
            "path": cells[0],
            "files": int(cells[1]),
            "modality": cells[2],
            "size": None if size.group(1) == "?" else (int(size.group(1)), int(size.group(2))),
            "frames": int(size.group(3)) if size.group(3) else 1,
            "pixel_mm": None if cells[5] in ("none", "") else float(cells[5]),
        })
    return rows


@pytest.fixture(scope="module")
def everything(shared_data):
    return imgqa.load(shared_data)


@pytest.fixture(scope="module")
def manifest(shared_data):
    rows = _manifest_rows(shared_data)
    assert len(rows) >= 40, "the header-summary table should list every folder/file"
    return rows


def _frames_of(series_list, path: Path) -> list[tuple]:
    """(series, frame index in series, frame) for every image whose file lies at/under `path`."""
    out = []
    p = str(path)
    for s in series_list:
        for i, f in enumerate(s.frames):
            if f.source == p or f.source.startswith(p + "/"):
                out.append((s, i, f))
    return out


def _skipped_as_duplicate(series_list, path: Path) -> bool:
    return any(s.startswith(f"{path}: same image as one already loaded") for s in
               series_list.skipped)


def test_manifest_rows_load_with_modality_and_geometry(everything, manifest, shared_data):
    checked = 0
    for row in manifest:
        path = shared_data / row["path"]
        if row["path"].startswith("bad/"):
            continue
        hits = _frames_of(everything, path)
        if not hits and _skipped_as_duplicate(everything, path):
            # The same file also lies elsewhere in ../shared/data (hazen ships it twice):
            # loaded once, under the other path; load it alone to check its row.
            hits = _frames_of(imgqa.load(path), path)
        files = sorted({f.source for _, _, f in hits})
        assert len(files) == row["files"], f"{row['path']}: {len(files)} files loaded"
        assert {s.modality for s, _, _ in hits} == {row["modality"]}, row["path"]
        # The table describes the first file (byte order of names) of a folder.
        first = files[0]
        mine = [(s, i, f) for s, i, f in hits if f.source == first]
        s = mine[0][0]
        assert (s.header.rows, s.header.columns) == row["size"], row["path"]
        assert len(mine) == row["frames"], f"{row['path']}: {len(mine)} frames"
        sp = s.pixel_spacing_mm
        if row["pixel_mm"] is None:
            # "none" = no top-level (0028,0030): enhanced MR keeps it in the functional groups.
            assert sp is not None and "FunctionalGroups" in s.geometry.spacing_source, row
            ref = pydicom.dcmread(first, stop_before_pixels=True)
            shared = ref.get("SharedFunctionalGroupsSequence")
            pm = (shared[0].get("PixelMeasuresSequence") if shared else None) or \
                ref.PerFrameFunctionalGroupsSequence[0].PixelMeasuresSequence
            assert sp == pytest.approx([float(v) for v in pm[0].PixelSpacing])
        else:
            assert sp == pytest.approx((row["pixel_mm"],) * 2, rel=1e-3), row["path"]
        checked += 1
    assert checked >= 40


def test_bad_files_are_rejected_in_plain_words(everything, manifest, shared_data):
    bad_rows = [r for r in manifest if r["path"].startswith("bad/")]
    assert bad_rows
    problems = {p.path: p for p in everything.problems}
    for row in bad_rows:
        p = problems[str(shared_data / row["path"])]
        assert p.kind == "NotDicomError"
        name = Path(row["path"]).name
        assert name in p.error and "not a DICOM" in p.error
        assert "Traceback" not in p.error and "Error" not in p.error
        assert p.hint
    assert not any(s.sources[0].startswith(str(shared_data / "bad")) for s in everything)
    # Only the bad files are problems: every image file elsewhere loads, and the dose
    # structured reports (DICOM, but no image) load as dose reports (issue 15).
    assert all(p.startswith(str(shared_data / "bad")) for p in problems), sorted(problems)


def test_dose_reports_load_as_inputs(everything, shared_data):
    from imgqa.io.dose_sr import DoseReportSeries

    reports = {s.sources[0]: s for s in everything if isinstance(s, DoseReportSeries)}
    expected = {str(p) for p in (shared_data / "sr").rglob("*.dcm")}
    assert set(reports) == expected
    for s in reports.values():
        assert s.modality == "SR" and len(s) == 0 and s.report.events


def test_every_frame_decodes_like_pydicom(everything):
    for s in everything:
        for i, f in enumerate(s.frames):
            ref = pydicom.dcmread(f.source).pixel_array
            if f.frame_index is not None:
                ref = ref[f.frame_index]
            raw = s.raw(i)
            assert raw.dtype == ref.dtype and np.array_equal(raw, ref), f.source
            phys = s.pixels(i)
            assert phys.dtype == np.float32
            np.testing.assert_allclose(phys, raw * f.slope + f.intercept, rtol=1e-6, atol=1e-3)


def test_no_pixel_spacing_flat_field_is_in_spacing_unknown_state(shared_data):
    path = shared_data / "xray" / "intraoral" / "flatfield_no_pixel_spacing.dcm"
    (s,) = imgqa.load(path)
    assert s.geometry.pixel_spacing_mm is None and not s.geometry.has_spacing
    assert s.geometry.spacing_source == "none"
    assert "pixel spacing unknown" in s.flags
    with pytest.raises(MissingSpacingError) as err:
        s.require_spacing("MTF")
    msg = str(err.value)
    assert "flatfield_no_pixel_spacing.dcm" in msg and "pixel spacing" in msg.lower()
    assert "mm" in msg and err.value.hint
    # The user can supply it; analyses then see it as such.
    assert s.with_spacing(0.03).require_spacing() == (0.03, 0.03)
    assert s.with_spacing(0.03).geometry.spacing_source == "user"


@pytest.mark.parametrize("rel", ["mr/acr/hazen_Siemens_Sola_1.5T_T1/1.dcm", "mr/imageqc/ACR.dcm"])
def test_enhanced_multiframe_mr(shared_data, rel):
    path = shared_data / rel
    (s,) = imgqa.load(path)
    ref = pydicom.dcmread(path)
    assert len(s) == 11 and s.shape[0] == 11
    per_frame = ref.PerFrameFunctionalGroupsSequence
    shared = ref.get("SharedFunctionalGroupsSequence")
    # spacing from the functional groups (no top-level Pixel Spacing in these files)
    assert "PixelSpacing" not in ref
    assert "FunctionalGroups" in s.geometry.spacing_source
    # frames ordered by position along the slice normal
    normal = s.geometry.normal
    dist = np.array([np.dot(f.position, normal) for f in s.frames])
    assert np.all(np.diff(dist) > 0)
    assert s.geometry.slice_spacing_mm == pytest.approx(np.median(np.diff(dist)))
    # per-frame rescale, as written in each frame's Pixel Value Transformation
    all_pixels = ref.pixel_array
    for i, f in enumerate(s.frames):
        group = per_frame[f.frame_index]
        pvt = group.get("PixelValueTransformationSequence") or \
            (shared[0].get("PixelValueTransformationSequence") if shared else None)
        if pvt:
            assert f.slope == pytest.approx(float(pvt[0].RescaleSlope))
            assert f.intercept == pytest.approx(float(pvt[0].RescaleIntercept))
        pos = [float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient]
        assert f.position == pytest.approx(pos)
        np.testing.assert_array_equal(s.raw(i), all_pixels[f.frame_index])
        np.testing.assert_allclose(s.pixels(i), all_pixels[f.frame_index] * f.slope + f.intercept,
                                   rtol=1e-6)


def test_enhanced_mr_with_varying_per_frame_rescale_is_applied(shared_data):
    """At least one of the enhanced files scales frames differently, or all frames share one."""
    path = shared_data / "mr" / "imageqc" / "ACR.dcm"
    (s,) = imgqa.load(path)
    slopes = {f.slope for f in s.frames}
    assert all(np.isfinite(list(slopes))) and all(v > 0 for v in slopes)


def test_nm_multiframe_keeps_frame_vectors(shared_data):
    path = shared_data / "nm" / "imageqc" / "WB_scanspeed.dcm"
    (s,) = imgqa.load(path)
    ref = pydicom.dcmread(path, stop_before_pixels=True)
    assert len(s) == 2 and [f.frame_index for f in s.frames] == [0, 1]  # acquisition order
    for kw, key in (("DetectorVector", "detector"), ("EnergyWindowVector", "energy_window")):
        if kw in ref:
            assert [getattr(f.metadata, key) for f in s.frames] == [int(v) for v in ref[kw].value]
    assert any(f.metadata.detector is not None for f in s.frames)


def test_projection_images_are_one_series_each(everything, shared_data):
    io_series = [s for s in everything if s.modality in PROJECTION_MODALITIES]
    assert len(io_series) == 4 and all(len(s) == 1 for s in io_series)


def test_repeats_in_sibling_folders_are_split(everything, shared_data):
    """The Philips SNR pair shares one series UID but is two acquisitions of the same slice."""
    hits = _frames_of(everything, shared_data / "mr" / "snr_pairs" / "hazen_Philips")
    assert len(hits) == 2
    summaries = [s.summary() for s in everything]
    # every series has images, except dose reports (issue 15), which are read for their doses
    assert all((d["images"] >= 1 or "dose_report_template" in d) and "PatientName" not in d
               for d in summaries)
