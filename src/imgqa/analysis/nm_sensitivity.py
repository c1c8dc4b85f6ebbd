"""Planar gamma-camera system sensitivity (counts/s/MBq), decay-corrected.

Method (NEMA NU 1-2018 §3.2 planar sensitivity; IAEA Human Health Series No. 6 / NMQC
"simple sensitivity"): the counts of a source of known activity imaged for a known time,
minus background, divided by the source activity. The activity is entered at a calibration
time; it is decayed to the start of the acquisition and the decay *during* the acquisition is
accounted for exactly:

    counts = S · A_start · ∫₀ᵀ e^(−λt) dt + B · T = S · A_start · T · D + B · T,
    D = (1 − e^(−λT)) / (λT),

so ``S = (counts/T − B) / (A_start · D)`` with ``A_start = A_cal · e^(−λ(t_start − t_cal))``.
(pylinac's SimpleSensitivity divides the gross rate by D before subtracting the background
rate; the two agree when B = 0.)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["HALF_LIVES_H", "HALF_LIFE_SOURCE", "Sensitivity", "half_life_hours",
           "nuclide_from_text", "planar_sensitivity"]

# Half-lives in hours. Source: NNDC NuDat 3 (ENSDF evaluations), rounded to the digits shown.
HALF_LIFE_SOURCE = "NNDC NuDat 3 (ENSDF), https://www.nndc.bnl.gov/nudat3/"
HALF_LIVES_H: dict[str, float] = {
    "Tc-99m": 6.0067,
    "I-123": 13.2232,
    "I-131": 8.0252 * 24.0,
    "In-111": 2.8047 * 24.0,
    "Ga-67": 3.2617 * 24.0,
    "Tl-201": 3.0421 * 24.0,
    "Lu-177": 6.6443 * 24.0,
    "Co-57": 271.74 * 24.0,
}

_ELEMENTS = {"TC": "Tc", "TECHNETIUM": "Tc", "I": "I", "IODINE": "I", "IN": "In",
             "INDIUM": "In", "GA": "Ga", "GALLIUM": "Ga", "TL": "Tl", "THALLIUM": "Tl",
             "LU": "Lu", "LUTETIUM": "Lu", "CO": "Co", "COBALT": "Co"}


def nuclide_from_text(text: str) -> str | None:
    """The table key for a radionuclide named in a header, e.g. ``'^99m^Technetium'`` → Tc-99m.

    Accepts DICOM code meanings (``'99m Technetium'``, ``'^123^Iodine'``) and short forms
    (``'Tc99m'``, ``'I-131'``); None when no table nuclide is recognised.
    """
    t = text.upper().replace("^", " ")
    mass = re.search(r"(\d{2,3})", t)
    words = re.findall(r"[A-Z]+", t)
    element = next((_ELEMENTS[w] for w in words if w in _ELEMENTS), None)
    if element is None:
        # "TC99M": the element letters sit in front of the digits
        m = re.search(r"([A-Z]{1,2})\s*-?\s*\d", t)
        element = _ELEMENTS.get(m.group(1)) if m else None
    if mass is None or element is None:
        return None
    meta = "m" if re.search(rf"{mass.group(1)}\s*M", t) else ""
    key = f"{element}-{mass.group(1)}{meta}"
    return key if key in HALF_LIVES_H else None


def half_life_hours(nuclide: str) -> float:
    """Half-life (h) of a table nuclide; ValueError naming the known ones otherwise."""
    try:
        return HALF_LIVES_H[nuclide]
    except KeyError:
        raise ValueError(f"unknown nuclide {nuclide!r}; known: "
                         f"{', '.join(HALF_LIVES_H)}") from None


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """Planar sensitivity of one image.

    Attributes
    ----------
    sensitivity_cps_per_mbq : float
        Net count rate per MBq at the start of the acquisition, decay during it corrected.
    gross_cps, background_cps, net_cps : float
        Mean count rates over the acquisition (counts/s); net = gross − background.
    activity_at_start_mbq : float
        The entered activity decayed to the acquisition start.
    decay_factor_during : float
        D = (1 − e^(−λT))/(λT), the mean fraction of the start activity during the acquisition.
    elapsed_s, duration_s, half_life_s : float
    """

    sensitivity_cps_per_mbq: float
    gross_cps: float
    background_cps: float
    net_cps: float
    activity_at_start_mbq: float
    decay_factor_during: float
    elapsed_s: float
    duration_s: float
    half_life_s: float


def planar_sensitivity(total_counts: float, duration_s: float, activity_mbq: float,
                       half_life_s: float, *, elapsed_s: float = 0.0,
                       background_cps: float = 0.0) -> Sensitivity:
    """Decay-corrected planar sensitivity (NEMA NU 1-2018 §3.2).

    Parameters
    ----------
    total_counts : float
        Counts in the image (sum of all pixels).
    duration_s : float
        Acquisition duration T (s), > 0.
    activity_mbq : float
        Source activity at the calibration time (MBq), > 0.
    half_life_s : float
        Half-life of the nuclide (s), > 0.
    elapsed_s : float
        Time from the activity calibration to the acquisition start (s); negative when the
        activity was measured after the acquisition started.
    background_cps : float
        Background count rate over the same field (counts/s), subtracted.

    Returns
    -------
    Sensitivity
    """
    if duration_s <= 0 or activity_mbq <= 0 or half_life_s <= 0:
        raise ValueError("duration, activity and half-life must be positive")
    lam = math.log(2.0) / half_life_s
    x = lam * duration_s
    # (1 − e^(−x))/x, accurate for tiny x (long half-lives) through expm1
    decay_during = -math.expm1(-x) / x if x > 1e-12 else 1.0
    a_start = activity_mbq * math.exp(-lam * elapsed_s)
    gross = total_counts / duration_s
    net = gross - background_cps
    return Sensitivity(sensitivity_cps_per_mbq=net / (a_start * decay_during),
                       gross_cps=gross, background_cps=background_cps, net_cps=net,
                       activity_at_start_mbq=a_start, decay_factor_during=decay_during,
                       elapsed_s=elapsed_s, duration_s=duration_s, half_life_s=half_life_s)
