"""The public Python API: `load` and `analyse`. The GUI, the CLI and the tests all use it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from imgqa.errors import EmptyInputError
from imgqa.io.dicom import SeriesList
from imgqa.io.dicom import load as _load
from imgqa.io.series import ImageSeries
from imgqa.protocols.base import Result, analyse_batch

__all__ = ["load", "analyse", "ResultList"]

PathLike = str | os.PathLike[str]


def load(paths: PathLike | Iterable[PathLike]) -> SeriesList:
    """Load DICOM images from files, folders and zip archives into series.

    Returns a list of `ImageSeries`; its ``.problems`` lists the files that could not be used.
    See `imgqa.io.dicom.load`.
    """
    return _load(paths)


class ResultList(list[Result]):
    """A list of `Result` with ``.problems``: the files that could not be loaded and the series
    that could not be analysed (each with ``path``, ``error``, ``hint`` and ``kind``)."""

    def __init__(self, results: Iterable[Result] = (), problems: Iterable[Any] = ()) -> None:
        super().__init__(results)
        self.problems: list[Any] = list(problems)


def analyse(paths_or_series: PathLike | ImageSeries | Iterable[PathLike | ImageSeries],
            protocol: str | None = None, **params: Any) -> ResultList:
    """Run QC analyses on images.

    Parameters
    ----------
    paths_or_series : path(s) or ImageSeries
        What to analyse. Paths are loaded first (see `load`).
    protocol : str, optional
        Protocol name (e.g. ``"nm.uniformity"``). When omitted each series gets the protocol
        chosen from its modality and content, falling back to the next candidate when the
        images turn out not to fit (`imgqa.protocols.analyse_series`).
    **params
        Protocol parameters (see ``imgqa protocols``).

    Returns
    -------
    ResultList
        One Result per series (more for protocols that report per detector); a multi-series
        protocol (e.g. two-image SNR) gets all the series at once and returns one.
        ``.problems`` lists the files that could not be loaded and the series that could not
        be analysed: one bad series never stops the others (`imgqa.protocols.analyse_batch`).

    Raises
    ------
    EmptyInputError
        Nothing loadable was given.
    ImgqaError
        None of the series could be analysed: the first series' error (for one series, its
        error as it is, e.g. `WrongModalityError`, `ImplausibleGeometryError`; an unforeseen
        failure inside a kernel as `InternalAnalysisError`).
    """
    series = _as_series(paths_or_series)
    if not series:
        problems = getattr(series, "problems", [])
        detail = "; ".join(f"{p.path}: {p.error}" for p in problems[:3])
        raise EmptyInputError("No images to analyse" + (f" ({detail})." if detail else "."))
    results, failed = analyse_batch(list(series), protocol, **params)
    if not results and failed:
        raise failed[0].exception
    return ResultList(results, [*series.problems, *failed])


def _as_series(items: Any) -> SeriesList:
    if isinstance(items, ImageSeries):
        return SeriesList([items])
    if isinstance(items, (str, os.PathLike)):
        return _load([items])
    items = list(items)
    out = SeriesList([i for i in items if isinstance(i, ImageSeries)])
    paths = [i for i in items if not isinstance(i, ImageSeries)]
    if paths:
        loaded = _load(paths)
        out.extend(loaded)
        out.problems.extend(loaded.problems)
        out.skipped.extend(loaded.skipped)
    return out
