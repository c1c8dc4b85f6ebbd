"""ct.acr (Gammex 464) on the digital phantom: CT numbers ±1 HU, slice width ±0.2 mm, CNR
±5 %, uniformity, noise, the resolved lp/cm group (issue 16); rotation, pixel size; through
DICOM with automatic module finding; wrong input."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.analysis.ct_acr import analyse_acr_ct
from imgqa.errors import ImgqaError
from imgqa.phantoms.ct_acr import MATERIAL_HU, acr_ct_series, write_acr_ct
from imgqa.phantoms.writer import write_series


def _check(r, truth):
    for m, hu in MATERIAL_HU.items():
        assert r.ct_numbers[m] == pytest.approx(hu, abs=1.0), m
    assert r.slice_width_mm == pytest.approx(truth["slice_width_mm"], abs=0.2)
    assert r.low_contrast_cnr == pytest.approx(truth["low_contrast_cnr"], rel=0.05)
    assert r.uniformity_max_deviation_hu == pytest.approx(
        truth["uniformity_max_deviation_hu"], abs=0.3)
    assert r.noise_sd_hu == pytest.approx(truth["noise_sd_hu"], rel=0.05)
    assert r.resolution_lp_cm == truth["resolution_lp_cm"]


@pytest.mark.parametrize("kw", [dict(), dict(rotation_deg=5.0, psf_sigma_mm=0.6,
                                             slice_width_mm=3.0, seed=2),
                                dict(pixel_mm=0.7, n=360, psf_sigma_mm=0.3, seed=3,
                                     slice_width_mm=7.0)])
def test_digital_phantom_truth(kw):
    stack, z, truth = acr_ct_series(**kw)
    r = analyse_acr_ct(stack, z, kw.get("pixel_mm", 250.0 / 512))
    assert r.module_frames == {1: 1, 2: 5, 3: 9, 4: 13}
    _check(r, truth)


def test_module_order_reversed_along_z():
    stack, z, truth = acr_ct_series(seed=4)
    r = analyse_acr_ct(stack[::-1], z[::-1], 250.0 / 512)
    zr = z[::-1]
    # each module's slice lies inside that module's 40 mm (modules 1–4 from z = 0)
    assert all((m - 1) * 40 <= zr[f] < m * 40 for m, f in r.module_frames.items())
    assert sorted(r.module_frames) == [1, 2, 3, 4]
    _check(r, truth)


def test_through_dicom_chosen_automatically(tmp_path):
    truth = write_acr_ct(tmp_path / "acr", rotation_deg=3.0, seed=1)
    (res,) = imgqa.analyse(tmp_path / "acr")
    assert res.protocol == "ct.acr"
    for name in ("ct_number_water_hu", "ct_number_bone_hu", "ct_number_air_hu"):
        assert res.value(name) == pytest.approx(truth[name], abs=1.0)
    assert res.value("slice_width_mm") == pytest.approx(truth["slice_width_mm"], abs=0.2)
    assert res.value("resolution_lp_cm") == truth["resolution_lp_cm"]
    assert len(res.rois) >= 20 and res.curves
    assert not res.warnings


def test_paediatric_criteria_are_applied(tmp_path):
    write_acr_ct(tmp_path / "acr", seed=1, noise_hu=9.0)  # CNR ≈ 0.67
    (res,) = imgqa.analyse(tmp_path / "acr", "ct.acr", exam="adult_head")
    assert any("CNR" in w for w in res.warnings)           # adult minimum 1.0
    (res,) = imgqa.analyse(tmp_path / "acr", "ct.acr", exam="paediatric_abdomen")
    assert not any("CNR" in w for w in res.warnings)


def test_water_phantom_is_not_the_acr_phantom(tmp_path):
    yy, xx = np.mgrid[:256, :256]
    water = np.where(np.hypot(yy - 128, xx - 128) < 100, 0.0, -1000.0)
    write_series(np.stack([water] * 5), tmp_path / "w", modality="CT", description="water",
                 pixel_spacing_mm=1.0, slice_thickness_mm=10.0, rescale_intercept=-1024.0)
    with pytest.raises(ImgqaError, match="ACR CT phantom"):
        imgqa.analyse(tmp_path / "w", "ct.acr")
