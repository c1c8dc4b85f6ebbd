"""Read DICOM files, folders and zip archives into `ImageSeries`.

What this module promises (the rest of imgqa relies on it):

* Files, folders (recursive) and zip archives are accepted; files without the 128-byte preamble
  or file meta are read anyway and flagged; DICOMDIR files are skipped.
* Images are grouped into series by (0020,000E) Series Instance UID and split when geometry
  (matrix, orientation, pixel spacing) differs; slices are ordered by their position along the
  slice normal, never by file name or Instance Number (those are fall-backs only).
* Multi-frame files (enhanced MR/CT with functional groups, NM with frame vectors) become one
  series each, one `Frame` per frame, with per-frame rescale and position.
* Pixel values come out in physical units (Rescale Slope/Intercept), decoded lazily.
* Pixel spacing is taken from functional groups, (0028,0030) Pixel Spacing, or (0018,1164)
  Imager Pixel Spacing (divided by the magnification factor when given); without any, the
  series is in the explicit "spacing unknown" state.
* Every file that cannot be used is reported as a `Problem` with a plain-language reason, and
  loading goes on with the rest.
* Speed (docs/loading.md): each file is opened once and parsed up to the pixel data, whose
  offset and length are recorded; uncompressed frames are read by byte range and viewed with
  numpy, compressed ones go through pydicom's decoders; the SHA-256 identity is computed only
  when asked for. Decoding modifies nothing shared, so worker threads may decode concurrently.

This module owns the grouping of files into series (`load`, `load_report`, `SeriesList`); the
loader's other parts have modules of their own, re-exported here so that
``from imgqa.io.dicom import X`` keeps working: `imgqa.io.sources` (finding files: `Source`,
`iter_sources`, `Problem`), `imgqa.io.dicom_header` (reading and checking one header:
`read_header`, `PixelLocation`), `imgqa.io.header_facts` (spacing, geometry, rescale, the
per-frame `FrameInfo`, the header summary) and `imgqa.io.decode` (pixel decoding).
"""

from __future__ import annotations

import gc
import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from imgqa.errors import (
    CorruptDicomError,
    EmptyInputError,
    ImgqaError,
)
from imgqa.io.decode import _decode_frame
from imgqa.io.dicom_header import (
    DICOMDIR_SOP_CLASS,
    DOSE_SR_SOP_CLASSES,
    PIXEL_DATA,
    SR_SOP_CLASS_ROOT,
    UNDEFINED_LENGTH,
    DoseReportFound,
    PixelLocation,
    _brief,
    _DicomDir,
    _number_of_frames,
    read_header,
)
from imgqa.io.header_facts import (
    _int,
    _orientation,
    _position,
    _rescale,
    _spacing,
    _summary,
    _text,
    frame_infos,
)
from imgqa.io.series import Frame, FrameInfo, Geometry, ImageSeries
from imgqa.io.sources import Problem, Source, _short, iter_sources

log = logging.getLogger(__name__)

# Projection images are independent exposures: each is analysed (and listed) on its own even
# when the modality puts several in one series.
PROJECTION_MODALITIES = frozenset({"DX", "CR", "MG", "IO", "PX", "RG", "RF", "XA"})

__all__ = ["Problem", "SeriesList", "iter_sources", "load", "load_report", "read_header",
           "read_source", "series_from_outcomes",
           # re-exported from the loader's other modules
           "DICOMDIR_SOP_CLASS", "DOSE_SR_SOP_CLASSES", "PIXEL_DATA", "PROJECTION_MODALITIES",
           "PixelLocation", "SR_SOP_CLASS_ROOT", "Source", "UNDEFINED_LENGTH"]


class SeriesList(list):
    """A list of `ImageSeries` that also carries what could not be loaded.

    Attributes
    ----------
    problems : list of Problem
        Files that were rejected, each with the reason.
    skipped : list of str
        Files deliberately ignored (DICOMDIR, duplicates of an image already loaded).
    """

    def __init__(self, series: Iterable[ImageSeries] = (), problems: Sequence[Problem] = (),
                 skipped: Sequence[str] = ()) -> None:
        super().__init__(series)
        self.problems: list[Problem] = list(problems)
        self.skipped: list[str] = list(skipped)


# ---------------------------------------------------------------------------------------------
# Grouping into series
# ---------------------------------------------------------------------------------------------
@dataclass
class _FileInfo:
    src: Source
    ds: Dataset
    flags: list[str]
    n_frames: int
    orientation: tuple[float, ...] | None
    spacing: tuple[float, float] | None
    spacing_source: str
    detector_spacing: tuple[float, float] | None
    frames: list[Frame] = field(default_factory=list)
    spacing_problem: str = ""
    series_uid: str = ""
    modality: str = ""
    geometry_key: tuple = ()


def _file_info(src: Source, ds: Dataset, flags: list[str]) -> _FileInfo:
    n = _number_of_frames(ds)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence", None) \
        if 0x52009230 in ds._dict else None
    first_group = per_frame[0] if per_frame else None
    sp, sp_src, det, sp_problem = _spacing(ds, first_group)
    ori = _orientation(ds, first_group)
    sop = _text(ds, "SOPInstanceUID") or f"file:{src.name}"
    infos = frame_infos(ds, n) if n > 1 else [FrameInfo()]
    frames: list[Frame] = []
    for i in range(n):
        group = per_frame[i] if per_frame is not None and i < len(per_frame) else None
        slope, intercept = _rescale(ds, group, src.name)
        frames.append(Frame(
            source=src.name,
            dataset_index=0,  # its index in a series of this file alone; set again when
            # the series is built if another file comes first
            frame_index=i if n > 1 else None,
            sop_instance_uid=sop,
            slope=slope,
            intercept=intercept,
            position=_position(ds, group),
            metadata=infos[i] if i < len(infos) else FrameInfo(),
        ))
    return _FileInfo(src, ds, flags, n, ori, sp, sp_src, det, frames,
                     spacing_problem=sp_problem)


def _geometry_key(fi: _FileInfo) -> tuple:
    ori = tuple(round(v, 3) for v in fi.orientation) if fi.orientation else None
    sp = tuple(round(v, 4) for v in fi.spacing) if fi.spacing else None
    return (_int(fi.ds, "Rows", 0), _int(fi.ds, "Columns", 0), ori, sp)


def _normal(orientation: tuple[float, ...]) -> np.ndarray:
    """Row × column direction cosines: the same doubles as ``np.cross`` (one multiply and one
    subtract per component), without its ≈ 60 µs of array handling for two 3-vectors."""
    r0, r1, r2, c0, c1, c2 = (float(v) for v in orientation)
    return np.array([r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0])


def _sort_frames(frames: list[tuple[int, Frame]], orientation: tuple[float, ...] | None,
                 instance_numbers: list[int | None], names: list[str]
                 ) -> tuple[list[int], np.ndarray | None]:
    """Order of frames: by position along the slice normal when every frame has one."""
    positions = [f.position for _, f in frames]
    if orientation is not None and all(p is not None for p in positions):
        pos = np.asarray(positions, dtype=float)
        if len(frames) == 1:
            return [0], pos
        normal = _normal(orientation)
        dist = pos @ normal
        if np.ptp(dist) > 1e-6:
            by_position = np.lexsort((np.arange(len(frames)), dist))  # stable for equal positions
            return [int(i) for i in by_position], pos[by_position]
        return list(range(len(frames))), pos
    keys = [(n if n is not None else 1 << 30, name, i)
            for i, (n, name) in enumerate(zip(instance_numbers, names))]
    order = [k[2] for k in sorted(keys)]
    return order, None


def _build_series(infos: list[_FileInfo]) -> ImageSeries:
    datasets = [fi.ds for fi in infos]
    first = infos[0]
    flags: list[str] = list(dict.fromkeys(f for fi in infos for f in fi.flags))
    all_frames: list[tuple[int, Frame]] = []
    inst: list[int | None] = []
    names: list[str] = []
    for di, fi in enumerate(infos):
        number = _int(fi.ds, "InstanceNumber", None)
        for f in fi.frames:
            all_frames.append((di, f if f.dataset_index == di else replace(f, dataset_index=di)))
            inst.append(number)
            names.append(fi.src.name)
    is_nm_multiframe = first.n_frames > 1 and _text(first.ds, "Modality").upper() in ("NM", "PT")
    if is_nm_multiframe:
        order, positions = list(range(len(all_frames))), None
    else:
        order, positions = _sort_frames(all_frames, first.orientation, inst, names)
    frames = [all_frames[i][1] for i in order]
    slice_spacing = None
    if positions is not None and len(positions) > 1 and first.orientation is not None:
        d = np.diff(positions @ _normal(first.orientation))
        nz = np.abs(d[np.abs(d) > 1e-6])
        if nz.size:
            slice_spacing = float(np.median(nz))
    geometry = Geometry(
        pixel_spacing_mm=first.spacing,
        spacing_source=first.spacing_source,
        detector_spacing_mm=first.detector_spacing,
        orientation=first.orientation,
        positions=positions,
        slice_spacing_mm=slice_spacing,
        spacing_problem=first.spacing_problem if first.spacing is None else "",
    )
    if first.spacing is None:
        if first.spacing_problem:
            flags.append(first.spacing_problem)
        flags.append("pixel spacing unknown")
    return ImageSeries(_summary(first.ds), geometry, frames, datasets, _decode_frame, flags)


def _split_repeats(group: list[_FileInfo]) -> list[list[_FileInfo]]:
    """Split a series whose slices repeat positions across folders (copies of one acquisition
    kept as separate repeats, e.g. for two-image SNR) into one series per folder."""
    positions = [fi.frames[0].position for fi in group if fi.n_frames == 1]
    if len(group) < 2 or None in positions or len(set(positions)) == len(positions):
        return [group]
    by_dir: dict[str, list[_FileInfo]] = defaultdict(list)
    for fi in group:
        outer, _, member = fi.src.name.partition("::")
        by_dir[str(Path(outer).parent) + member.rpartition("/")[0]].append(fi)
    return list(by_dir.values()) if len(by_dir) > 1 else [group]


def _build_series_or_report(infos: list[_FileInfo], problems: list[Problem]
                            ) -> list[ImageSeries]:
    """Build one series; if a damaged header value stops that, keep the good files of the group
    and report the others (a bad file must never stop a batch)."""
    try:
        return [_build_series(infos)]
    except Exception:  # noqa: BLE001 - any damaged value: report, never stop the batch
        if len(infos) == 1:
            fi = infos[0]
            problems.append(Problem(fi.src.name, f"{_short(fi.src.name)} has damaged header "
                                    "values and cannot be used.", CorruptDicomError.default_hint,
                                    "CorruptDicomError"))
            return []
    out: list[ImageSeries] = []
    good: list[_FileInfo] = []
    for fi in infos:
        if _build_series_or_report([fi], problems):
            good.append(fi)
    if good:
        out.extend(_build_series_or_report(good, problems))
    return out


def _dose_report_series(src: Source, ds: Dataset) -> ImageSeries:
    """The hook to `imgqa.io.dose_sr`: a dose SR as a `DoseReportSeries` (no images)."""
    from imgqa.io.dose_sr import report_series

    with src.open() as fh:
        data = fh.read()
    return report_series(ds, src.name, _summary(ds), data)


def read_source(src: Source) -> tuple[str, object]:
    """Read and check one file's header; never raises for a bad file.

    Returns one of ``("image", _FileInfo)``, ``("report", ImageSeries)`` (a dose SR),
    ``("skipped", note)`` or ``("problem", Problem)``. Pure with respect to the batch (no
    shared state), so files may be read in worker processes (`imgqa.parallel.load_parallel`)
    and the outcomes fed, in source order, to `series_from_outcomes`.
    """
    try:
        ds, flags = read_header(src)
        fi = _file_info(src, ds, flags)
        # Everything grouping needs is read here, where a damaged value is caught.
        fi.series_uid = _text(ds, "SeriesInstanceUID")
        fi.modality = _text(ds, "Modality").upper()
        fi.geometry_key = _geometry_key(fi)
    except _DicomDir:
        return "skipped", f"{src.name}: DICOMDIR index (skipped)"
    except DoseReportFound as found:  # an input without images (issue 15)
        try:
            return "report", _dose_report_series(src, found.dataset)
        except Exception:  # noqa: BLE001 - a damaged report is that file's problem only
            log.debug("unreadable dose report %s", src.name, exc_info=True)
            return "problem", Problem(src.name, f"{_short(src.name)} is a dose structured "
                                      "report (SR) whose content cannot be read.",
                                      CorruptDicomError.default_hint, "CorruptDicomError")
    except ImgqaError as exc:
        return "problem", Problem.from_error(src.name, exc)
    except Exception as exc:  # last line of defence: a bad file must never stop a batch
        log.debug("unexpected error reading %s", src.name, exc_info=True)
        return "problem", Problem(src.name, f"{Path(src.name).name} could not be read "
                                  f"({_brief(exc)}).", CorruptDicomError.default_hint,
                                  "CorruptDicomError")
    return "image", fi


def series_from_outcomes(outcomes: Iterable[tuple[str, object]], paths: Sequence,
                         problems: list[Problem], skipped: list[str]) -> SeriesList:
    """Group the outcomes of `read_source` (in source order) into a `SeriesList`.

    ``outcomes`` is consumed lazily, so problems that `iter_sources` appends while yielding
    keep their place between the files' own problems.
    """
    infos: list[_FileInfo] = []
    reports: list[ImageSeries] = []
    seen_sops: set[tuple[str, str]] = set()
    for kind, value in outcomes:
        if kind == "skipped":
            skipped.append(value)  # type: ignore[arg-type]
            continue
        if kind == "report":
            reports.append(value)  # type: ignore[arg-type]
            continue
        if kind == "problem":
            problems.append(value)  # type: ignore[arg-type]
            continue
        fi: _FileInfo = value  # type: ignore[assignment]
        key = (fi.series_uid, fi.frames[0].sop_instance_uid)
        if key in seen_sops:
            skipped.append(f"{fi.src.name}: same image as one already loaded (skipped)")
            continue
        seen_sops.add(key)
        infos.append(fi)

    groups: dict[tuple, list[_FileInfo]] = defaultdict(list)
    for fi in infos:
        series_uid = fi.series_uid or f"nouid:{Path(fi.src.name).parent}"
        if fi.n_frames > 1 or fi.modality in PROJECTION_MODALITIES:
            # a multi-frame file or a projection image is an acquisition of its own
            key = (series_uid, fi.frames[0].sop_instance_uid) + fi.geometry_key
        else:
            key = (series_uid, "") + fi.geometry_key
        groups[key].append(fi)

    series: list[ImageSeries] = []
    for grp in groups.values():
        for g in _split_repeats(grp):
            series.extend(_build_series_or_report(g, problems))
    series.extend(reports)
    series.sort(key=lambda s: (s.header.acquired or datetime.min, s.header.series_number or 0,
                               s.sources[0]))
    if not series and not problems:
        problems.append(Problem(", ".join(map(str, paths)), "No DICOM images were found.",
                                EmptyInputError.default_hint, "EmptyInputError"))
    return SeriesList(series, problems, skipped)


def load_report(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> SeriesList:
    """Load everything under `paths`; see `load`."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    problems: list[Problem] = []
    skipped: list[str] = []
    with _CollectorPaused():
        outcomes = (read_source(src) for src in iter_sources(paths, problems, skipped))
        return series_from_outcomes(outcomes, paths, problems, skipped)


class _CollectorPaused:
    """The cyclic garbage collector off while headers are read and grouped, back on after.

    Reading a header makes a few hundred objects that all live on (its elements), none of them
    garbage; with the collector on, their allocation starts a collection every few files, and
    every tenth of those walks the older objects too: ≈ 0.1 ms of a 1.5 ms load of six small
    files (the parallel readers pause it for the same reason, `imgqa.parallel._trace`). Only
    turned back on if it was on (and by the block that turned it off).
    """

    def __enter__(self) -> None:
        self.paused = gc.isenabled()
        if self.paused:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.paused:
            gc.enable()


def load(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> SeriesList:
    """Load DICOM images from files, folders and zip archives.

    Parameters
    ----------
    paths : path or iterable of paths
        Files, folders (searched recursively) and ``.zip`` archives, in any mix.

    Returns
    -------
    SeriesList
        A list of `ImageSeries`, ordered by acquisition time; its ``problems`` attribute lists
        every file that could not be used with the reason, and ``skipped`` the files ignored on
        purpose. Loading never stops at a bad file.
    """
    return load_report(paths)
