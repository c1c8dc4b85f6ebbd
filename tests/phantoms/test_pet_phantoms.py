"""PET digital phantoms: geometry, truth sanity, DICOM header and per-slice slopes, demos."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

import imgqa
from imgqa.phantoms import demo_sets, read_ground_truth
from imgqa.phantoms.pet import cylinder, nema_iq, pet_tags, write_pet_series
from imgqa.protocols.pet import pet_header


def test_iq_body_has_the_nema_size_and_a_cold_insert():
    vol, truth = nema_iq((12, 160, 160), 2.5, 3.0, fwhm_mm=0.0)
    mid = vol[6]
    cols = np.flatnonzero((mid > 2650).any(axis=0))
    rows = np.flatnonzero((mid > 2650).any(axis=1))
    assert (cols[-1] - cols[0] + 1) * 2.5 == pytest.approx(294.0, abs=5.0)
    assert (rows[-1] - rows[0] + 1) * 2.5 == pytest.approx(224.0, abs=5.0)
    assert mid[80, 80] == 0.0  # the lung insert on the axis
    assert truth["lung_residual_percent"] < 0.5


def test_iq_truth_increases_with_sphere_size():
    _, truth = nema_iq()
    for kind in ("rc_mean", "rc_max", "rc_peak", "contrast_percent"):
        values = [s[kind] for s in truth["spheres"]]
        assert values == sorted(values), kind
    big = truth["spheres"][-1]
    assert big["rc_max"] == pytest.approx(1.0, abs=0.005)  # 37 mm ≫ 6 mm FWHM
    assert big["rc_peak"] == pytest.approx(1.0, abs=0.005)
    # Without blur the A50 VOI of a large sphere is the sphere plus the edge voxels that are at
    # least half inside: its mean is a few percent below the true value, never above.
    _, sharp = nema_iq(fwhm_mm=0.0)
    assert 0.94 < sharp["spheres"][-1]["rc_mean"] < 1.0
    assert sharp["spheres"][-1]["rc_max"] == pytest.approx(1.0)


def test_pet_header_and_per_slice_slopes_round_trip(tmp_path):
    vol, truth = cylinder((5, 64, 64), 4.0, 4.0, radius_mm=80.0)
    vol[2] *= 1.5  # a different maximum → a different slope on that slice
    scan = datetime(2026, 5, 6, 11, 30, 0)
    inj = datetime(2026, 5, 6, 10, 55, 0)
    write_pet_series(vol, tmp_path / "p", pixel_mm=4.0, slice_mm=4.0, description="x",
                     scan_start=scan, tags=pet_tags(injected_bq=80e6, injected_at=inj,
                                                    scan_start=scan, weight_kg=6.2))
    (series,) = imgqa.load(tmp_path / "p")
    assert series.modality == "PT" and len(series) == 5
    slopes = [f.slope for f in series.frames]
    assert slopes[2] == pytest.approx(1.5 * slopes[0], rel=1e-3)
    np.testing.assert_allclose(series.stack(), vol, atol=float(vol.max()) / 32000)
    h = pet_header(series)
    assert (h.units, h.decay_correction) == ("BQML", "START")
    assert h.injected_bq == pytest.approx(80e6) and h.injected_at == inj
    assert h.series_start == scan and h.weight_kg == pytest.approx(6.2)
    assert h.half_life_s == pytest.approx(6586.2) and "Fluorine" in h.nuclide


@pytest.mark.parametrize(("name", "protocol"), [("pet_cylinder", "pet.cross_calibration"),
                                                ("pet_nema_iq", "pet.nema_iq")])
def test_demo_round_trip(tmp_path, name, protocol):
    folder = demo_sets()[name](tmp_path)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 1_500_000  # kept in phantoms/
    truth = read_ground_truth(folder)
    (result,) = imgqa.analyse(folder)  # automatic protocol choice
    assert result.protocol == protocol
    if protocol == "pet.cross_calibration":
        assert result.value("activity_concentration_bq_ml") == pytest.approx(
            truth["concentration_bq_ml"], rel=0.005)
        assert result.value("suv_mean") == pytest.approx(1.0, abs=0.005)
    else:
        for n in (3, 4, 5, 6):
            assert result.value(f"sphere_{n}_rc_mean") == pytest.approx(
                truth[f"sphere_{n}_rc_mean"], rel=0.02)
