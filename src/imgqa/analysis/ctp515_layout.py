"""The Catphan CTP515 low-contrast module's target sizes and contrast groups.

Kept apart from `imgqa.analysis.catphan_ctp515` (which imports scipy.ndimage) so that the
protocol declarations can name the CTP515 measurements without loading any SciPy kernel.
Source: The Phantom Laboratory, Catphan 500/600 manual (CTP515: supra-slice targets of 2–15 mm
at 1.0, 0.5 and 0.3 % nominal contrast).
"""

from __future__ import annotations

__all__ = ["CTP515_CONTRASTS", "CTP515_DIAMETERS_MM"]

CTP515_DIAMETERS_MM = (15, 9, 8, 7, 6, 5, 4, 3, 2)
# Name token, nominal contrast in percent and its group's angle offset (degrees).
CTP515_CONTRASTS = (("1p0", 1.0, 0.0), ("0p5", 0.5, 120.0), ("0p3", 0.3, 240.0))
