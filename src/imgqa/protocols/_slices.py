"""Running a kernel on each slice (or frame) of a series and keeping what did not fit.

Owns `try_each_slice`, the one "try each slice, collect the failures" loop the CT and NM
protocols share: a slice whose kernel raises one of the expected errors is recorded with the
reason (shown later as "Skipped slice 3: ..." or in the error when no slice was usable) and
the next one is tried; any other exception goes through unchanged. Also `slice_indices`, the
``slice_index`` parameter of the multi-slice protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from imgqa.errors import ImgqaError, ParameterError
from imgqa.io.series import ImageSeries

T = TypeVar("T")

__all__ = ["PerSlice", "SliceFailure", "slice_indices", "try_each_slice"]


@dataclass(frozen=True, slots=True)
class SliceFailure:
    """A slice (image index, 0-based) the kernel could not use, and why, in plain words."""

    index: int
    message: str

    def __str__(self) -> str:
        return f"slice {self.index}: {self.message}"


@dataclass
class PerSlice(Generic[T]):
    """What `try_each_slice` found: ``(index, result)`` per usable slice, and the failures."""

    done: list[tuple[int, T]] = field(default_factory=list)
    failed: list[SliceFailure] = field(default_factory=list)

    def reasons(self, limit: int | None = None) -> str:
        """The first `limit` failures joined for an error message: ``"slice 0: ...; slice 1: ..."``."""
        return "; ".join(str(f) for f in self.failed[:limit])

    def skipped(self) -> list[str]:
        """One warning per failure: ``"Skipped slice 0: ..."``."""
        return [f"Skipped {f}." for f in self.failed]


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ImgqaError) else str(exc)


def _imgqa_errors(catch: tuple[type[BaseException], ...]) -> tuple[type[BaseException], ...]:
    return tuple(c for c in catch if issubclass(c, ImgqaError))


def try_each_slice(indices: Iterable[int], analyse: Callable[[int], T], *,
                   catch: tuple[type[BaseException], ...] = (ImgqaError,),
                   stop_at_first: bool = False) -> PerSlice[T]:
    """Call ``analyse(i)`` for each index, collecting results and expected failures.

    Parameters
    ----------
    indices : iterable of int
        Image indices (0-based) in the order to try.
    analyse : callable
        ``analyse(i) -> result``; raises one of `catch` when slice ``i`` is not usable (raise
        a `PhantomNotFoundError` with the reason for a check of your own).
    catch : tuple of exception types
        The errors that mean "not this slice" (default: any `ImgqaError`). Others propagate,
        and so does an `ImgqaError` unless `catch` names it or one of its bases that is an
        `ImgqaError` (``catch=(ValueError,)`` takes a kernel's ValueError, never a
        `PixelDecodeError`).
    stop_at_first : bool
        Stop at the first failure (protocols that refuse the whole series when one frame is
        unusable, e.g. a flood of a two-detector camera).

    Returns
    -------
    PerSlice
        ``done`` (index, result) in the order tried, and ``failed`` (index, message).
    """
    out: PerSlice[T] = PerSlice()
    for i in indices:
        try:
            out.done.append((i, analyse(i)))
        except catch as exc:
            if isinstance(exc, ImgqaError) and not isinstance(exc, _imgqa_errors(catch)):
                raise  # e.g. a PixelDecodeError is a ValueError, but not a kernel's verdict
            out.failed.append(SliceFailure(i, _message(exc)))
            if stop_at_first:
                break
    return out


def slice_indices(series: ImageSeries, slice_index: int | None) -> list[int]:
    """Every image index, or only `slice_index` (checked against the series length)."""
    if slice_index is None:
        return list(range(len(series)))
    if not 0 <= slice_index < len(series):
        raise ParameterError(
            f"slice_index {slice_index} is outside the series (0–{len(series) - 1}).")
    return [slice_index]
