"""TEMPLATE of a protocol module: copy it to add a QC test (this file registers nothing).

Follow docs/architecture.md, "Adding a QC test", which lists every file in order;
``tests/protocols/test_recipe.py`` follows that recipe literally with this file. In short:

1. Copy this file to ``src/imgqa/protocols/<area>.py`` (or add its function and declaration to
   the area's module). Modules of `imgqa.protocols` not starting with ``_`` are imported, and so
   registered, automatically.
2. Replace ``NAME`` (``<area>.<test>``: a contract, never renamed), the title, description,
   measurements and parameters. Measurement names are snake_case contracts; labels are what
   people read.
3. Keep the maths in `imgqa.analysis` (pure functions: arrays and mm in, numbers out); this
   module only picks the images, converts pixels to mm and packs what the GUI draws. The
   template's maths is two lines of numpy on top of `imgqa.analysis.roi`.

The example measures a uniform disc phantom: its diameter from the area above half of its
signal (mm: the pixel size matters, so ``with_pixel_size`` and a ``pixel_spacing_mm``
parameter, as every mm-based protocol has) and the mean and noise in a centred ROI.
"""

from __future__ import annotations

import numpy as np

from imgqa.analysis.roi import circle_mask, roi_stats
from imgqa.errors import PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._slices import slice_indices
from imgqa.protocols.base import (
    Analysis,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
    with_pixel_size,
)

NAME = "example.disc"

__all__ = ["example_disc"]


def example_disc(series: ImageSeries, *, roi_fraction: float = 0.5,
                 slice_index: int | None = None, pixel_spacing_mm: float | None = None
                 ) -> Analysis:
    """Diameter, mean and noise of a uniform disc phantom (the template's example).

    Parameters
    ----------
    series : ImageSeries
        Images in physical units (`ImageSeries.pixels` applies Rescale Slope/Intercept).
    roi_fraction : float
        Radius of the centred ROI as a fraction of the disc radius.
    slice_index : int, optional
        Image to analyse (0-based); the middle one by default.
    pixel_spacing_mm : float, optional
        Pixel size (mm) to use when the header has none or a wrong one.

    Returns
    -------
    Analysis
        ``diameter_mm`` (mm), ``mean`` and ``noise_sd`` (image units), the ROI and the disc
        outline to draw.

    Raises
    ------
    MissingSpacingError
        No pixel size in the header and none given.
    PhantomNotFoundError
        No disc stands out from the background.
    """
    # Shared first step of mm-based protocols: the user's pixel size wins over the header.
    series, px = with_pixel_size(series, pixel_spacing_mm, NAME)
    idx = slice_indices(series, slice_index)[0] if slice_index is not None else len(series) // 2
    image = series.pixels(idx)
    background, top = np.percentile(image, (5.0, 99.0))
    inside = image > 0.5 * (background + top)      # half maximum: unbiased for a sharp edge
    if top - background <= 0 or not inside.any() or inside.all():
        raise PhantomNotFoundError(f"{NAME} found no disc in image {idx + 1}.",
                                   hint="Use an image of a uniform disc phantom, centred.")
    rows, cols = np.nonzero(inside)
    centre = (float(rows.mean()), float(cols.mean()))
    radius_px = float(np.sqrt(inside.sum() / np.pi))
    stats = roi_stats(image, circle_mask(image.shape, centre, roi_fraction * radius_px))
    return Analysis(
        measurements={"diameter_mm": 2.0 * radius_px * px, "mean": stats.mean,
                      "noise_sd": stats.sd},
        rois=(Roi("circle", (centre,), label="disc", frame=idx, radius=radius_px,
                  role="phantom"),
              Roi("circle", (centre,), label="ROI", frame=idx,
                  radius=roi_fraction * radius_px)),
        extra={"slice_index": idx, "centre_rc": list(centre)},
        frames=[idx],
    )


def _detect(series: ImageSeries) -> tuple[float, str]:
    """Score a series for the automatic choice: cheap (header, or one subsampled image)."""
    if "disc" in series.header.description_text.lower():
        return 0.9, "the series description names a disc phantom"
    return 0.0, "no disc phantom named in the header"


PROTOCOL = Protocol(
    name=NAME,
    version="1",
    title="Disc phantom (template example)",
    description="Diameter of a uniform disc phantom, and the mean and noise in a centred ROI.",
    modalities=("CT", "MR", "NM", "DX"),
    measurements=(
        MeasurementSpec("diameter_mm", "mm", "Disc diameter from its area above half maximum.",
                        label="Disc diameter"),
        MeasurementSpec("mean", "", "Mean in the centred ROI.", label="Mean, centre ROI"),
        MeasurementSpec("noise_sd", "", "Standard deviation in the centred ROI.",
                        higher_is_better=False, label="Noise (SD), centre ROI"),
    ),
    key_measurement="diameter_mm",
    # One ParameterSpec per keyword parameter of the function, same name and default
    # (`register` refuses a mismatch).
    parameters=(
        ParameterSpec("roi_fraction", float, 0.5, "",
                      "ROI radius as a fraction of the disc radius.", minimum=0.05,
                      maximum=0.95),
        ParameterSpec("slice_index", int, None, "", "Analyse only this image.", minimum=0),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size to use when the images have none.", minimum=1e-4),
    ),
    function=example_disc,
    inputs="one image of a uniform disc phantom",
    detect=_detect,
    standard="(the standard or paper the method follows)",
)

# The template itself is never registered (some tests import every module of imgqa); a copy
# under another module name is. In your module write just ``register(Protocol(...))``.
if __name__ != "imgqa.protocols._template":
    register(PROTOCOL)
