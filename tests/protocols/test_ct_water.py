"""ct.water recovers known CT number, noise and uniformity; real constancy series."""

from __future__ import annotations

import pytest

import imgqa
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms import write_series
from imgqa.phantoms.ct import water_phantom
from imgqa.protocols import choose_protocol, run_protocol


def _series(tmp_path, images, px, **tags):
    write_series(images, tmp_path / "w", modality="CT", description=tags.pop("desc", "water"),
                 pixel_spacing_mm=px, slice_thickness_mm=5.0, rescale_intercept=-1024.0,
                 **tags)
    return imgqa.load(tmp_path / "w")[0]


@pytest.mark.parametrize("cupping,water,offset", [(0.0, 0.0, (0.0, 0.0)),
                                                  (12.0, 4.0, (18.0, -24.0)),
                                                  (-6.0, -3.0, (-20.0, 10.0))])
def test_water_truth_recovered(tmp_path, cupping, water, offset):
    # 6 slices of 0.5 mm pixels: ~1600 pixels per ROI per slice, so the SD of the mean of six
    # slice SDs is ~0.7 % and the 2 % tolerance is a 3-sigma bound.
    px = 0.5
    images, truth = water_phantom(size=512, pixel_mm=px, noise_sd=10.0, cupping_hu=cupping,
                                  water_hu=water, offset_mm=offset, table=True, n_slices=6,
                                  seed=11)
    series = _series(tmp_path, images, px)
    res = run_protocol("ct.water", series)[0]
    for name in ("mean_hu_centre", "mean_hu_12", "mean_hu_3", "mean_hu_6", "mean_hu_9"):
        assert res.value(name) == pytest.approx(truth[name], abs=0.5), name
    assert res.value("uniformity_max_deviation_hu") == pytest.approx(
        truth["uniformity_max_deviation_hu"], abs=0.5)
    assert res.value("noise_sd_centre") == pytest.approx(truth["noise_sd_centre"], rel=0.02)
    assert len(res.extra["per_slice"]) == 6
    roles = [r.role for r in res.rois if r.frame == 0]
    assert roles.count("phantom") == 1 and roles.count("measure") == 5


def test_auto_detection_picks_water(tmp_path):
    images, _ = water_phantom(size=128, pixel_mm=1.8, n_slices=2)
    series = _series(tmp_path, images, 1.8, desc="Body 5mm")
    assert choose_protocol(series).name == "ct.water"


def test_not_a_water_phantom(tmp_path):
    images, _ = water_phantom(size=128, pixel_mm=1.8, water_hu=900.0, n_slices=2)
    series = _series(tmp_path, images, 1.8)
    with pytest.raises(PhantomNotFoundError, match="water phantom"):
        run_protocol("ct.water", series)


def test_wrong_orientation_refused(tmp_path):
    images, _ = water_phantom(size=128, pixel_mm=1.8, n_slices=2)
    series = _series(tmp_path, images, 1.8,
                     extra_tags={"ImageOrientationPatient": [1, 0, 0, 0, 0, -1]})
    with pytest.raises(PhantomNotFoundError, match="not axial"):
        run_protocol("ct.water", series)


def test_real_constancy_set(shared_data):
    series = imgqa.load(shared_data / "ct" / "imageqc_Constancy13img")
    by_desc = {s.header.series_description.split()[0].lower(): s for s in series}
    assert choose_protocol(by_desc["hode"]).name == "ct.water"
    assert choose_protocol(by_desc["kropp"]).name == "ct.water"
    assert choose_protocol(by_desc["topogram"]).name != "ct.water"
    assert choose_protocol(by_desc["wire"]).name != "ct.water"
    for key, n in (("hode", 3), ("kropp", 6)):
        res = run_protocol("ct.water", by_desc[key])[0]
        assert abs(res.value("mean_hu_centre")) < 4.0
        assert 2.0 < res.value("noise_sd_centre") < 10.0
        assert res.value("uniformity_max_deviation_hu") < 4.0
        assert res.extra["slices_used"] == list(range(n))
    for key in ("topogram", "wire"):
        with pytest.raises(PhantomNotFoundError, match="water phantom|localizer"):
            run_protocol("ct.water", by_desc[key])


def test_real_ge_water_slices(shared_data):
    series = imgqa.load(shared_data / "ct" / "ge_qa_phantom" / "serie3")[0]
    res = run_protocol("ct.water", series)[0]
    assert abs(res.value("mean_hu_centre")) < 5.0
    assert res.value("noise_sd_centre") < 15.0
