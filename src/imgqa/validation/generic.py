"""Generic checks: centre-ROI statistics on a uniform image of known mean and noise."""

from __future__ import annotations

from imgqa.validation.registry import Measure, check
from imgqa.validation.xray import xray_white_flat

# The white-noise flat field of the xray.nps check: mean offset + slope·K, SD √(a·K + b + 1/12).
check("generic.roi", source="uniform field: mean = offset + slope·K, SD = √(a·K + b + 1/12)",
      measure=[Measure("mean", "generic_mean", rel_tol=0.001,
                       why="SE of a 20 mm ROI mean ≈ 0.02 %"),
               Measure("sd", "generic_sd", rel_tol=0.02,
                       why="SE of an SD over 31 000 pixels ≈ 0.4 %, ×5"),
               Measure("snr", "generic_snr", rel_tol=0.02)])(xray_white_flat)
