"""mr.acr_sagittal: the ACR phantom's 148 mm length on the sagittal localiser — digital
localiser (shading, offset, pixel size), the real localisers, and non-sagittal input."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.errors import ImgqaError
from imgqa.phantoms.acr_sagittal import write_sagittal
from imgqa.phantoms.writer import write_series


@pytest.mark.parametrize("kw", [dict(), dict(offset_mm=(9.0, -13.0), length_mm=151.0, seed=2),
                                dict(pixel_mm=0.6, n=400, shading=0.0, seed=3),
                                dict(shading=0.7, noise_sd=15.0, seed=4)])
def test_digital_localiser_length(tmp_path, kw):
    truth = write_sagittal(tmp_path / "s", **kw)
    (r,) = imgqa.analyse(tmp_path / "s")
    assert r.protocol == "mr.acr_sagittal"
    assert r.value("sagittal_length_mm") == pytest.approx(truth["sagittal_length_mm"], abs=0.3)
    assert len(r.rois) == 2 and r.curves


@pytest.mark.parametrize("folder", ["mr/acr_sagittal/GE_Signa_1.5T_Sagittal_Localizer",
                                    "mr/acr_sagittal/PhilipsAchievaLocalizer",
                                    "mr/acr/hazen_SiemensSolaFitLocalizer"])
def test_real_localisers(shared_data, folder):
    if not (shared_data / folder).is_dir():
        pytest.skip("localiser absent")
    (r,) = imgqa.analyse(shared_data / folder, "mr.acr_sagittal")
    # true 148 mm; imgqa 147.4 / 147.1 / 147.9, hazen 2.0 150.4 / 146.7 / 149.4 (binary mask
    # extents, whole pixels); the Philips localiser's inferior end is at half signal
    assert r.value("sagittal_length_mm") == pytest.approx(148.0, abs=1.5)


def test_axial_image_is_refused(tmp_path):
    write_series(np.full((1, 64, 64), 100.0), tmp_path / "ax", modality="MR",
                 description="ACR axial", pixel_spacing_mm=1.0)
    with pytest.raises(ImgqaError, match="sagittal"):
        imgqa.analyse(tmp_path / "ax", "mr.acr_sagittal")
