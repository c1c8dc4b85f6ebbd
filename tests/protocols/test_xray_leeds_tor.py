"""xray.leeds_tor (issue 15): disc CNR within 5 % of a known digital TOR 18FG-type object,
the correct limiting bar group, wherever and however rotated the object lies."""

from __future__ import annotations

import math

import numpy as np
import pytest

import imgqa
from imgqa.analysis.leeds_tor import analyse_tor
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms.xray import leeds_tor, write_flat_field, write_leeds_tor
from imgqa.protocols.base import run_protocol


def _cnr_allowed(truth_cnr: np.ndarray, noise_sd: float, disc_px: float) -> np.ndarray:
    """5 %, or 4 standard errors where counting statistics allow no better: the mean
    difference (ROI of 0.49 × the disc area vs a 1.3–1.8 r annulus) and the SD estimate."""
    n_in, n_ring = 0.49 * disc_px, (1.8 ** 2 - 1.3 ** 2) * disc_px
    se = np.sqrt(1 / n_in + 1 / n_ring + truth_cnr ** 2 / (2 * n_ring))
    return np.maximum(0.05 * truth_cnr, 4 * se)


@pytest.mark.parametrize(("rotation", "centre", "pixel_mm"), [
    (0.0, (0.0, 0.0), 0.15), (33.0, (-12.0, 7.0), 0.15), (-71.0, (9.0, 14.0), 0.1),
    (180.0, (0.0, -10.0), 0.12)])
def test_discs_and_bars_anywhere(rotation, centre, pixel_mm):
    size = int(180 / pixel_mm)
    img, truth = leeds_tor(size, pixel_mm, rotation_deg=rotation, centre_mm=centre,
                           seed=int(abs(rotation)), supersample=2)
    res = analyse_tor(img, pixel_mm)
    assert (res.angle_deg - rotation + 180) % 360 - 180 == pytest.approx(0, abs=0.6)
    cnr_true = np.asarray(truth["disc_cnr"])
    disc_px = math.pi * (4.0 / pixel_mm) ** 2
    assert np.all(np.abs(res.cnr - cnr_true) <= _cnr_allowed(cnr_true, 1.0, disc_px))
    assert np.all(np.abs(res.cnr[:12] / cnr_true[:12] - 1) <= 0.05)
    # the phantom's margins make the group unambiguous; the measured group is the true one
    # (the limiting frequency stays ≤ 0.6 × Nyquist here: closer to it the sampling phase
    # of the bars decides, and no analytic truth exists)
    assert truth["margin_above"] > 1.1 and truth["margin_below"] < 0.9
    assert res.limiting_resolution_lp_mm == truth["limiting_resolution_lp_mm"]


def test_detected_count_follows_the_rose_threshold():
    """Noisy image: the Rose SNR of disc k is S(1−a)c_k/σ·√(πr²); with the threshold half-way
    (geometrically) between two discs the count is known to ±1 (the Rose SNR itself has a
    standard error of ≈ 1.6 from the ROI means, about the step between adjacent discs)."""
    pixel_mm, noise = 0.15, 150.0
    img, truth = leeds_tor(1200, pixel_mm, noise_sd=noise, seed=3, supersample=2)
    rose_true = np.asarray(truth["disc_cnr"]) * math.sqrt(math.pi * (4.0 / pixel_mm) ** 2)
    threshold = math.sqrt(rose_true[12] * rose_true[13])     # between discs 13 and 14
    res = analyse_tor(img, pixel_mm, detection_threshold=threshold)
    assert abs(res.discs_detected - 13) <= 1
    assert np.all(res.detected[:10])


def test_protocol_auto_choice_rois_and_curves(tmp_path):
    write_leeds_tor(tmp_path, size=900, pixel_mm=0.2, rotation_deg=20.0, supersample=2)
    (r,) = imgqa.analyse(tmp_path)
    assert r.protocol == "xray.leeds_tor"
    assert r.value("discs_detected") == 18
    assert {c.name for c in r.curves} == {"Bar modulation", "Disc CNR"}
    assert sum(roi.shape == "circle" for roi in r.rois) == 19
    assert sum(roi.shape == "polygon" for roi in r.rois) == 21


def test_flat_field_is_not_a_tor(tmp_path):
    write_flat_field(tmp_path, shape=(256, 256))
    with pytest.raises(PhantomNotFoundError) as err:
        run_protocol("xray.leeds_tor", imgqa.load(tmp_path)[0])
    assert "Leeds TOR" in err.value.message
