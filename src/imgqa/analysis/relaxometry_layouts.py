"""Vial layouts of relaxometry plates: recognising them from the found vial centres, and the
centre and ring size their numbering uses.

* ``eurospin`` — Eurospin TO5 plates 4 and 5 (as in the MagNET/IPEM protocol): 10 vials on a
  ring and 4 inside it (the inner ones at ≈ 0.57 of the ring radius), numbered in order of
  decreasing relaxation time, ring 1–10 then inner 11–14.
* ``nist`` — the T1 (NiCl₂) and T2 (MnCl₂) arrays of the ISMRM/NIST system phantom (CaliberMRI;
  Stupic et al., MRM 86 (2021) 1194): 14 spheres on one ring, numbered 1–14 in order of
  decreasing T1 (T1 array) or T2 (T2 array): sphere 1 is the longest, as in the phantom's
  reference tables. The phantom's orientation marker is not used: the start and direction
  around the ring are those along which the measured times decrease (`order_vials`).

The two are told apart by the spread of the vials' distances from their common centre: one
ring (min/max ≈ 1) or a ring and an inner group (min/max ≈ 0.57); the threshold 0.8 lies
between, so a layout is recognised even with a few mm of error on each centre.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LAYOUTS", "RING_SPREAD_THRESHOLD", "classify_layout", "layout_rings"]

LAYOUTS = ("eurospin", "nist")
# min/max distance of the vials from their centroid: 1 for one ring, 0.57 for Eurospin's 10+4
RING_SPREAD_THRESHOLD = 0.8


def classify_layout(centres_rc: np.ndarray, requested: str = "auto"
                    ) -> tuple[str, str, str | None]:
    """The layout to number the vials with, why, and a warning when a forced layout does
    not match the vials found.

    Parameters
    ----------
    centres_rc : (n, 2) array
        Vial centres (row, col) in pixels.
    requested : str
        ``"auto"``, ``"eurospin"`` or ``"nist"``.
    """
    c = np.asarray(centres_rc, float)
    d = np.hypot(*(c - c.mean(axis=0)).T)
    spread = float(d.min() / max(d.max(), 1e-9))
    found = "nist" if spread > RING_SPREAD_THRESHOLD else "eurospin"
    why = (f"{len(c)} vials, nearest/farthest from their centre {spread:.2f} "
           f"({'one ring' if found == 'nist' else 'a ring and an inner group'}; threshold "
           f"{RING_SPREAD_THRESHOLD:g})")
    if requested == "auto":
        return found, f"automatic: {why}", None
    if requested not in LAYOUTS:
        raise ValueError(f"unknown vial layout {requested!r}; use auto, eurospin or nist")
    warn = None
    if requested != found:
        warn = (f"The {requested} vial layout was chosen, but the vials found look like the "
                f"{found} layout ({why}); the numbering may be wrong: set layout=auto or "
                f"layout={found}.")
    return requested, f"chosen by the user (layout={requested})", warn


def layout_rings(layout: str, centres_rc: np.ndarray, phantom_centre_rc: tuple[float, float]
                 ) -> tuple[tuple[float, float], int]:
    """Centre and number of ring vials used to number a layout (see `order_vials`).

    Eurospin keeps the phantom centre (its 10 + 4 vials are centred on it); the NIST arrays
    use the centroid of the 14 spheres (the array plate need not be centred in the image's
    signal, e.g. a partly filled sphere).
    """
    if layout == "nist":
        c = np.asarray(centres_rc, float).mean(axis=0)
        return (float(c[0]), float(c[1])), len(centres_rc)
    return phantom_centre_rc, 10
