"""When is a series complete? A quiet period after its last new image.

DICOM has no "end of series" message: a scanner sends a series as one or more associations of
C-STOREs, a network share receives files one by one, and neither says how many will come.
What PACS routers and QC systems do is wait until no new image of the series has arrived for a
quiet period (seconds) and then treat the series as complete. `SeriesCollector` does exactly
that, as a pure, thread-safe state machine with an injectable clock (no timers, no threads):
callers report arrivals (`add`) and ask which series have become complete (`due`).

Idempotent by SOP Instance UID: an image that arrives again (a re-send, the same file seen by
the watcher twice) changes nothing, so a complete series sent twice completes once. A series
that receives *new* instances after it completed becomes pending again and completes a second
time with all its instances (`CompleteSeries.update` is then True), so a late slice is never
silently dropped; what to do with an update (analyse again, or leave it to a person) is the
handler's decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CompleteSeries", "SeriesCollector", "DEFAULT_QUIET_S", "DEFAULT_FORGET_AFTER_S"]

DEFAULT_QUIET_S = 10.0
# A completed series is remembered this long (to recognise a re-send) and then forgotten, so a
# service that runs for months does not grow without bound.
DEFAULT_FORGET_AFTER_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class CompleteSeries:
    """A series whose images stopped arriving for the quiet period.

    Attributes
    ----------
    series_uid : str
        Series Instance UID.
    paths : tuple of Path
        One file per SOP Instance UID, in arrival order (all instances, also those reported in
        an earlier completion).
    sop_uids : tuple of str
        The SOP Instance UIDs, in the order of `paths`.
    first_arrival, last_arrival : float
        Clock readings (seconds) of the first and the last new instance.
    update : bool
        True when the series had completed before and new instances arrived since.
    """

    series_uid: str
    paths: tuple[Path, ...]
    sop_uids: tuple[str, ...]
    first_arrival: float
    last_arrival: float
    update: bool = False


@dataclass
class _Series:
    paths: dict[str, Path] = field(default_factory=dict)  # SOP UID -> path, arrival order
    first: float = 0.0
    last: float = 0.0
    pending: bool = True       # new instances since the last completion
    completions: int = 0


class SeriesCollector:
    """Gathers image arrivals per series and reports each series once it has gone quiet.

    Parameters
    ----------
    quiet_s : float
        Seconds without a new instance after which a series is complete (default 10).
    clock : callable
        Returns the time in seconds (default `time.monotonic`); tests pass a fake clock.
    forget_after_s : float
        Seconds after its completion a series is forgotten (default 24 h); a re-send after
        that is treated as a new series.

    Notes
    -----
    Thread-safe: the receiver reports from its network threads while a loop calls `due`.
    """

    def __init__(self, quiet_s: float = DEFAULT_QUIET_S,
                 clock: Callable[[], float] = time.monotonic,
                 forget_after_s: float = DEFAULT_FORGET_AFTER_S) -> None:
        if not quiet_s >= 0 or not forget_after_s >= quiet_s:
            raise ValueError("the quiet period must be a number of seconds >= 0, and the "
                             f"forget time at least as long (got {quiet_s!r}, "
                             f"{forget_after_s!r})")
        self.quiet_s = float(quiet_s)
        self.forget_after_s = float(forget_after_s)
        self._clock = clock
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()

    def add(self, series_uid: str, sop_uid: str, path: Path | str,
            at: float | None = None) -> bool:
        """Report that instance `sop_uid` of `series_uid` is available at `path`.

        Returns
        -------
        bool
            True for a new instance; False for one already known (nothing changes: neither
            its path nor the series' quiet period).
        """
        now = self._clock() if at is None else at
        with self._lock:
            s = self._series.get(series_uid)
            if s is None:
                s = self._series[series_uid] = _Series(first=now, last=now)
            if sop_uid in s.paths:
                return False
            if not s.pending:  # new instances after a completion: the series is open again
                s.pending = True
                s.first = now
            s.paths[sop_uid] = Path(path)
            s.last = now
            return True

    def due(self, now: float | None = None) -> list[CompleteSeries]:
        """The series that have been quiet for `quiet_s` since their last new instance.

        Each is reported once per batch of new instances; series completed more than
        `forget_after_s` ago are forgotten.
        """
        now = self._clock() if now is None else now
        out: list[CompleteSeries] = []
        with self._lock:
            for uid, s in list(self._series.items()):
                if s.pending and now - s.last >= self.quiet_s:
                    out.append(self._complete(uid, s))
                elif not s.pending and now - s.last >= self.forget_after_s:
                    del self._series[uid]
        return out

    def flush(self) -> list[CompleteSeries]:
        """Every pending series, complete now regardless of the quiet period (``--once``, and a
        service that is stopping after the senders have gone)."""
        with self._lock:
            return [self._complete(uid, s) for uid, s in self._series.items() if s.pending]

    def next_due_in(self, now: float | None = None) -> float | None:
        """Seconds until the next pending series completes (0 if one is due now; None when
        nothing is pending): a loop can sleep exactly that long instead of polling."""
        now = self._clock() if now is None else now
        with self._lock:
            lasts = [s.last for s in self._series.values() if s.pending]
        if not lasts:
            return None
        return max(0.0, min(lasts) + self.quiet_s - now)

    def pending(self) -> dict[str, int]:
        """Series still receiving: Series Instance UID -> number of instances so far."""
        with self._lock:
            return {uid: len(s.paths) for uid, s in self._series.items() if s.pending}

    def _complete(self, uid: str, s: _Series) -> CompleteSeries:
        s.pending = False
        s.completions += 1
        return CompleteSeries(uid, tuple(s.paths.values()), tuple(s.paths), s.first, s.last,
                              update=s.completions > 1)
