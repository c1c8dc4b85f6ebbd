"""SPECT checks: centre of rotation, tomographic resolution, tomographic uniformity/contrast."""

from __future__ import annotations

from pathlib import Path

from imgqa.phantoms import write_ground_truth
from imgqa.phantoms.spect import (
    DEMO_RODS,
    cor_projections,
    jaszczak_volume,
    line_volume,
    write_projections,
    write_reconstruction,
)
from imgqa.validation.registry import Measure, check


# Two opposed heads, COR offsets +0.6 and −0.3 pixel, Poisson counts (peak 400 per pixel): the
# issue asks for the offset within 0.05 pixel.
@check("spect.cor", auto=True,
       source="point source on a circle about an axis projecting (cols−1)/2 + offset: "
              "x(θ) = r·sin(θ+φ) + c exactly",
       measure=[Measure("cor_offset_pixels_head1", abs_tol=0.05),
                Measure("cor_offset_pixels_head2", abs_tol=0.05),
                Measure("cor_offset_mm", abs_tol=0.05 * 6.0, why="0.05 pixel of 6 mm"),
                Measure("head_alignment_mm", abs_tol=0.1 * 6.0,
                        why="difference of two offsets, each within 0.05 pixel")])
def spect_cor(root: Path) -> Path:
    folder = root / "spect_cor_point"
    stack, ang, heads, truth = cor_projections(offsets_px=(0.6, -0.3), peak_counts=400.0,
                                               background=0.5, seed=11)
    write_projections(stack, ang, heads, folder, pixel_mm=truth["pixel_mm"],
                      description="SPECT COR point source (phantom)")
    write_ground_truth(folder, truth)
    return folder


@check("spect.resolution", auto=True,
       source="Gaussian 3-D PSF (FWHM 10 mm in-plane, 12 mm axial) on two axial lines and a "
              "point: FWTM = FWHM·√(ln10/ln2)",
       measure=[Measure("fwhm_x_mm", rel_tol=0.03), Measure("fwhm_y_mm", rel_tol=0.03),
                Measure("fwtm_x_mm", rel_tol=0.03), Measure("fwtm_y_mm", rel_tol=0.03),
                Measure("fwhm_z_mm", rel_tol=0.03)])
def spect_lines(root: Path) -> Path:
    folder = root / "spect_line_point_sources"
    vol, truth = line_volume(points=((-50.0, 50.0, 0.0),), background=5.0)
    write_reconstruction(vol, folder, pixel_mm=truth["pixel_mm"], slice_mm=truth["slice_mm"],
                         description="SPECT line sources [Recon] (phantom)")
    write_ground_truth(folder, truth)
    return folder


@check("spect.uniformity_contrast", auto=True,
       source="cylinder with a 4 % linear gradient: IU = 100·g·ρ (ρ = 0.8 of the radius); cold "
              "spheres and rods of activity fraction f: contrast 100·(1 − f·(1 + g·x/R))",
       measure=[Measure("tomographic_integral_uniformity_percent", abs_tol=0.15,
                        why="the disc's extreme pixel centre lies within one pixel of ρ·R"),
                *(Measure(f"sphere_{k}_contrast_percent", abs_tol=0.5) for k in range(1, 5)),
                *(Measure(f"rod_{k}_contrast_percent", abs_tol=0.5,
                          why="rods ≥ 3 pixels across, so the central disc is inside the rod")
                  for k in range(1, 6))])
def spect_jaszczak(root: Path) -> Path:
    folder = root / "spect_jaszczak_gradient"
    # Rod sectors 12.7–6.4 mm (Jaszczak Deluxe sizes) at 2 mm pixels, some partly filled.
    vol, truth = jaszczak_volume(pixel_mm=2.0, size=140, rods=DEMO_RODS)
    write_reconstruction(vol, folder, pixel_mm=truth["pixel_mm"],
                         description="SPECT Jaszczak [Recon] (phantom)")
    write_ground_truth(folder, truth)
    return folder

