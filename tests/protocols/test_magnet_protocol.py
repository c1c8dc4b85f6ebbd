"""mr.magnet through DICOM: automatic choice of the test object, the real MagNET series of
hazen's test data (compared with hazen 2.0's values on the same files), bad input."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.errors import ImgqaError
from imgqa.phantoms.magnet import write_resolution, write_slice_position, write_slice_width
from imgqa.phantoms.writer import write_series


@pytest.mark.parametrize("writer, name, tol", [
    (write_slice_width, "slice_width_mm", 0.2),
    (write_slice_position, "slice_position_max_error_mm", 0.1),
    (write_resolution, "resolution_mtf50_lp_mm", 0.03)])
def test_digital_objects_through_dicom(tmp_path, writer, name, tol):
    truth = writer(tmp_path / "m", seed=4)
    (r,) = imgqa.analyse(tmp_path / "m")
    assert r.protocol == "mr.magnet"
    assert r.value(name) == pytest.approx(truth[name], abs=tol)
    assert r.rois and r.curves


def test_real_magnet_series_agree_with_hazen(shared_data):
    root = shared_data / "mr/magnet_hazen"
    if not root.is_dir():
        pytest.skip("MagNET data absent")
    (sw,) = imgqa.analyse(root / "SLICEWIDTH")
    (sp,) = imgqa.analyse(root / "SLICEPOSITION")
    (res,) = imgqa.analyse(root / "RESOLUTION")
    assert sw.protocol == sp.protocol == res.protocol == "mr.magnet"
    # hazen 2.0 on the same files: slice width 5.43 mm (nominal 5), max position error
    # 0.27 mm (mean 0.12), resolution 0.48/0.49 mm (PE/FE)
    assert sw.value("slice_width_mm") == pytest.approx(5.43, abs=0.1)
    assert sp.value("slice_position_max_error_mm") == pytest.approx(0.27, abs=0.1)
    assert sp.extra["slices_used"] == 40
    mtf50 = res.value("resolution_mtf50_lp_mm")
    # 0.49 mm pixels, Nyquist 1.02 lp/mm: an MR image's MTF is ≈ 1 up to the edge of the
    # acquired k-space and then drops, so MTF50 ≈ Nyquist (1.08 measured; hazen's 0.48 mm is
    # likewise one pixel)
    assert 0.9 < mtf50 < 1.2


def test_wrong_object_is_a_clear_error(tmp_path):
    yy, xx = np.mgrid[:200, :200]
    flood = (np.hypot(yy - 100, xx - 100) < 80) * 500.0 + 1.0
    write_series(flood[None], tmp_path / "f", modality="MR", description="flood",
                 pixel_spacing_mm=1.0)
    with pytest.raises(ImgqaError, match="MagNET"):
        imgqa.analyse(tmp_path / "f", "mr.magnet")
    with pytest.raises(ImgqaError, match="MagNET"):
        imgqa.analyse(tmp_path / "f", "mr.magnet", test="slice_width")


def test_slice_position_provenance_lists_the_slices_read(tmp_path):
    # the kernel reads slices 11–50 of 60 (the rods' ends are outside the others): the
    # result's input identities are those 40, in table order, with their pixel hashes
    write_slice_position(tmp_path / "sp", seed=4)
    series = imgqa.load(tmp_path / "sp")[0]
    (r,) = imgqa.analyse(series, "mr.magnet")
    nominal = series.geometry.positions @ series.geometry.normal
    order = np.argsort(nominal)[10:50]
    assert [i.sop_instance_uid for i in r.inputs] == [
        series.frames[int(k)].sop_instance_uid for k in order]
    assert all(len(i.pixel_sha256) == 64 for i in r.inputs)
