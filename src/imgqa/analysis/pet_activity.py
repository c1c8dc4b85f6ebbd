"""PET activity arithmetic: isotope half-lives, decay correction and expected concentrations.

Pure functions (no DICOM): the protocol reads the header and passes numbers in. Activities in
Bq (or MBq where the name says so), times as `datetime`, volumes in ml, concentrations in Bq/ml.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["HALF_LIFE_S", "HALF_LIFE_SOURCE", "DecayedActivity", "decay_factor",
           "expected_concentration", "half_life_s", "parse_time"]

# Physical half-lives in seconds. Source: NNDC NuDat 3.0 (ENSDF evaluated data), Brookhaven
# National Laboratory, https://www.nndc.bnl.gov/nudat3/ (values as listed there; F-18 is also the
# 6586.2 s that Siemens and GE write into RadionuclideHalfLife).
HALF_LIFE_SOURCE = "NNDC NuDat 3.0 (ENSDF), https://www.nndc.bnl.gov/nudat3/"
HALF_LIFE_S: dict[str, float] = {
    "F-18": 109.77 * 60.0,
    "Ga-68": 67.71 * 60.0,
    "Ge-68": 270.93 * 86400.0,
    "C-11": 20.364 * 60.0,
    "N-13": 9.965 * 60.0,
    "O-15": 122.24,
    "Rb-82": 1.2575 * 60.0,
    "Cu-64": 12.701 * 3600.0,
    "Zr-89": 78.41 * 3600.0,
    "I-124": 4.1760 * 86400.0,
}

_NUCLIDE_RE = re.compile(r"([A-Za-z]{1,2})\s*[-^ ]?\s*(\d{1,3})|(\d{1,3})\s*[-^ ]?\s*([A-Za-z]{1,2})")
_ELEMENTS = {"FLUORINE": "F", "GALLIUM": "Ga", "GERMANIUM": "Ge", "CARBON": "C",
             "NITROGEN": "N", "OXYGEN": "O", "RUBIDIUM": "Rb", "COPPER": "Cu",
             "ZIRCONIUM": "Zr", "IODINE": "I"}


def half_life_s(nuclide: str) -> float:
    """Half-life in seconds of a nuclide written ``F-18``, ``18F``, ``F18``, ``^18^Fluorine``...

    Raises
    ------
    KeyError
        The nuclide is not in `HALF_LIFE_S` (the message lists those that are).
    """
    text = nuclide.strip()
    for word, symbol in _ELEMENTS.items():
        text = re.sub(word, symbol, text, flags=re.IGNORECASE)
    text = text.replace("^", "")
    m = _NUCLIDE_RE.search(text)
    if m:
        sym, mass = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        key = f"{sym[0].upper()}{sym[1:].lower()}-{int(mass)}"
        if key in HALF_LIFE_S:
            return HALF_LIFE_S[key]
    raise KeyError(f"unknown radionuclide {nuclide!r}; known: {', '.join(HALF_LIFE_S)}")


def decay_factor(elapsed_s: float, half_life: float) -> float:
    """A(t0 + elapsed) / A(t0) = exp(−ln 2 · elapsed / T½); elapsed may be negative."""
    if half_life <= 0:
        raise ValueError("half-life must be positive")
    return math.exp(-math.log(2.0) * elapsed_s / half_life)


def parse_time(text: str, day: datetime | None) -> datetime:
    """A user-entered time: ISO date-time, ``YYYYMMDDHHMMSS``, or ``HH:MM[:SS]``/``HHMM[SS]``
    on the date of `day` (the scan date).

    Raises
    ------
    ValueError
        The text is none of these forms, or a bare time is given without a scan date.
    """
    s = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    m = re.fullmatch(r"(\d{1,2}):?(\d{2})(?::?(\d{2}(?:\.\d+)?))?", s)
    if not m:
        raise ValueError(f"{text!r} is not a time (use HH:MM, HH:MM:SS or YYYY-MM-DDTHH:MM:SS)")
    if day is None:
        raise ValueError(f"{text!r} has no date and the series has none: give the full "
                         "date and time, e.g. 2026-12-04T08:15")
    h, mi, sec = int(m.group(1)), int(m.group(2)), float(m.group(3) or 0.0)
    base = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return base + timedelta(hours=h, minutes=mi, seconds=sec)


@dataclass(frozen=True, slots=True)
class DecayedActivity:
    """Activity at the image reference time and how it was obtained.

    Attributes
    ----------
    activity_bq : float
        Net activity (dose minus residual) decayed to ``reference_time``.
    elapsed_s : float
        Reference time minus the time the activity was measured.
    factor : float
        Decay factor applied (≤ 1 when the reference is later).
    """

    activity_bq: float
    elapsed_s: float
    factor: float


def expected_concentration(activity_bq: float, measured_at: datetime, reference_time: datetime,
                           half_life: float, volume_ml: float, residual_bq: float = 0.0
                           ) -> tuple[float, DecayedActivity]:
    """Activity concentration (Bq/ml) expected in a uniform phantom at `reference_time`.

    ``C = (A − A_residual) · 2^(−Δt / T½) / V`` with Δt the time from the activity
    measurement (dose calibrator) to the reference time of the image values (scan start for
    DICOM Decay Correction START).
    """
    if volume_ml <= 0:
        raise ValueError("the phantom volume must be positive")
    elapsed = (reference_time - measured_at).total_seconds()
    f = decay_factor(elapsed, half_life)
    net = (activity_bq - residual_bq) * f
    return net / volume_ml, DecayedActivity(net, elapsed, f)
