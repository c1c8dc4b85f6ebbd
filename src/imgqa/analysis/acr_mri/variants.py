"""The ACR MRI phantom variants (large, medium): dimensions, slice geometry and pass criteria.

The ACR accredits with two phantoms of the same design: the *large* phantom (head coil) and the
*medium* phantom (smaller coils, e.g. knee or wrist-capable coils). Both are scanned with the
same 11-slice axial prescription (5 mm slices, 5 mm gaps, slice 1 on the ramps/wedges, slice 11
on the far wedges) and analysed with the same tests; what differs is the size of the phantom
(the nominal lengths of geometric accuracy), the large ROI of the uniformity/ghosting tests,
the uniformity pass level and an extra 0.8 mm hole array in the medium resolution insert.
Where a number could not be confirmed from a primary source it is marked in ``unconfirmed``
(docs/mr.md lists the sources).

References
----------
.. [1] American College of Radiology, *Large and Medium Phantom Test Guidance for the ACR MRI
   Accreditation Program* (2018+), sections 1 (Table 1: 190/148 mm large, 165/134 mm medium,
   limits ±3 mm large, ±2 mm medium as quoted in hazen 2.0's acr_sagittal_geometric_accuracy),
   5 (Table 4: large ROI 200 cm² large, 160 cm² medium, as quoted in hazen 2.0's acr_uniformity).
.. [2] pylinac 3.x ``ACRMRIMedium`` (radius 82.5 mm; 0.8 mm hole array; PIU > 90 % below 3 T,
   > 85 % at 3 T; same slice offsets as the large phantom).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LARGE", "MEDIUM", "VARIANTS", "AcrPhantomGeometry", "classify_diameter",
           "resolve_variant"]


@dataclass(frozen=True, slots=True)
class AcrPhantomGeometry:
    """One ACR MRI phantom variant (lengths in mm, areas in cm², PIU in %).

    Attributes
    ----------
    name : str
        ``"large"`` or ``"medium"`` (the values of mr.acr's ``phantom`` parameter).
    inner_diameter_mm : float
        Nominal inner diameter, the true length of every geometric-accuracy diameter.
    sagittal_length_mm : float
        Nominal inner length (sagittal localiser).
    diameter_limit_mm : float
        ACR action limit on each measured diameter, ± mm.
    slices, slice_thickness_mm, slice_gap_mm : int, float, float
        The axial prescription (slice 1 to slice 11 centres 100 mm apart).
    piu_large_roi_cm2 : float
        Area of the large ROI of the uniformity and ghosting tests (slice 7).
    piu_pass_below_3t, piu_pass_3t : float
        ACR pass levels of the PIU.
    hole_diameters_mm : tuple of float
        Hole arrays of the resolution insert.
    unconfirmed : tuple of str
        Numbers not confirmed from a primary source (see docs/mr.md).
    """

    name: str
    inner_diameter_mm: float
    sagittal_length_mm: float
    diameter_limit_mm: float
    piu_large_roi_cm2: float
    piu_pass_below_3t: float
    piu_pass_3t: float
    hole_diameters_mm: tuple[float, ...]
    slices: int = 11
    slice_thickness_mm: float = 5.0
    slice_gap_mm: float = 5.0
    unconfirmed: tuple[str, ...] = ()

    @property
    def radius_mm(self) -> float:
        return 0.5 * self.inner_diameter_mm


LARGE = AcrPhantomGeometry("large", 190.0, 148.0, 2.0, 200.0, 87.5, 82.0, (1.1, 1.0, 0.9))
MEDIUM = AcrPhantomGeometry(
    "medium", 165.0, 134.0, 2.0, 160.0, 90.0, 85.0, (1.1, 1.0, 0.9, 0.8),
    unconfirmed=("piu_pass_below_3t", "piu_pass_3t", "hole_diameters_mm"))
VARIANTS = {g.name: g for g in (LARGE, MEDIUM)}
# Half-way between the two nominal diameters: a scaling error of 6 % would be needed to
# mistake one phantom for the other, far beyond any gradient calibration a scanner passes with.
_SPLIT_MM = 0.5 * (LARGE.inner_diameter_mm + MEDIUM.inner_diameter_mm)


def classify_diameter(diameter_mm: float) -> tuple[AcrPhantomGeometry, str]:
    """The variant whose nominal diameter is nearest to a measured one, and why (one sentence)."""
    g = MEDIUM if diameter_mm < _SPLIT_MM else LARGE
    return g, (f"the phantom measures {diameter_mm:.0f} mm across, nearest to the ACR {g.name} "
               f"phantom's {g.inner_diameter_mm:.0f} mm (threshold {_SPLIT_MM:.1f} mm)")


def resolve_variant(requested: str, diameter_mm: float
                    ) -> tuple[AcrPhantomGeometry, str, str | None]:
    """The geometry to analyse with, the reason, and a warning when choice and size disagree.

    Parameters
    ----------
    requested : str
        ``"auto"`` (from the measured diameter), ``"large"`` or ``"medium"``.
    diameter_mm : float
        The phantom's diameter measured on slice 1 (mm).
    """
    measured, why = classify_diameter(diameter_mm)
    if requested == "auto":
        return measured, f"automatic: {why}", None
    if requested not in VARIANTS:
        raise ValueError(f"unknown ACR phantom {requested!r}; use auto, large or medium")
    chosen = VARIANTS[requested]
    warn = None
    if chosen is not measured:
        warn = (f"The ACR {chosen.name} phantom was chosen, but {why}: the nominal lengths and "
                f"pass levels of the {chosen.name} phantom are used; set phantom=auto or "
                f"phantom={measured.name} if this is the {measured.name} phantom.")
    return chosen, f"chosen by the user (phantom={requested})", warn
