"""SPECT protocols through the public pipeline: detection from headers, wrong kinds of series,
results on the digital phantoms (DICOM) and on the real images."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

import imgqa
from imgqa.errors import AnalysisError
from imgqa.phantoms import read_ground_truth, write_series
from imgqa.phantoms.spect import (
    cor_projections,
    demo_sets,
    jaszczak_volume,
    write_projections,
    write_reconstruction,
)
from imgqa.protocols.base import detect_protocols
from imgqa.protocols.spect import spect_kind


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    root = tmp_path_factory.mktemp("spect")
    return {name: maker(root) for name, maker in demo_sets().items()}


@pytest.mark.parametrize("name, protocol", [("spect_cor", "spect.cor"),
                                            ("spect_line_sources", "spect.resolution"),
                                            ("spect_jaszczak", "spect.uniformity_contrast")])
def test_automatic_choice_and_truth_on_the_demo_phantoms(demos, name, protocol):
    (r,) = imgqa.analyse(demos[name])
    assert r.protocol == protocol
    assert r.choice_reason.startswith(f"Chosen automatically: {protocol}")
    truth = read_ground_truth(demos[name])
    checked = 0
    for m in r.measurements:
        t = truth.get(m.name)
        # y_drift_mm is a range of noisy centroids (0.1 pixel here), not an estimate of the
        # drift: the kernel test checks it on noise-free projections.
        if isinstance(t, (int, float)) and m.value is not None and m.name != "y_drift_mm":
            tol = 0.05 if "pixels" in m.name else (0.03 * abs(t) if protocol ==
                                                    "spect.resolution" else 0.5)
            if m.name.endswith("_mm") and protocol == "spect.cor":
                tol = 0.05 * truth["pixel_mm"] * (2 if "alignment" in m.name else 1)
            assert m.value == pytest.approx(t, abs=tol), m.name
            checked += 1
    assert checked >= 4
    assert r.rois and r.curves


def test_kind_from_headers(demos):
    (proj,) = imgqa.load(demos["spect_cor"])
    (recon,) = imgqa.load(demos["spect_jaszczak"])
    assert spect_kind(proj)[0] == "projections"
    assert "2 head(s)" in spect_kind(proj)[1]
    assert spect_kind(recon)[0] == "reconstruction"
    # The planar tests decline both, naming the SPECT tests.
    for s in (proj, recon):
        scores = {d.protocol.name: d for d in detect_protocols(s)}
        assert scores["nm.uniformity"].score == 0
        assert "spect.cor, spect.resolution" in scores["nm.uniformity"].reason


def test_wrong_kind_of_series_gets_a_clear_error(demos, tmp_path):
    with pytest.raises(AnalysisError, match="needs SPECT reconstruction.*projections") as e:
        imgqa.analyse(demos["spect_cor"], "spect.resolution")
    assert "spect.cor" in e.value.hint
    with pytest.raises(AnalysisError, match="needs SPECT projections.*reconstructed") as e:
        imgqa.analyse(demos["spect_jaszczak"], "spect.cor")
    assert "spect.resolution" in e.value.hint
    flat = tmp_path / "flood"
    write_series(np.full((5, 32, 32), 100.0), flat, modality="NM", description="Flood",
                 pixel_spacing_mm=2.0, multiframe=True)
    with pytest.raises(AnalysisError, match="not a SPECT series"):
        imgqa.analyse(flat, "spect.uniformity_contrast")


def test_line_sources_in_projections_are_not_a_cor_and_jaszczak_without_spheres(tmp_path):
    # A Jaszczak reconstruction with no spheres: uniformity only, and a warning says so.
    vol, _ = jaszczak_volume(spheres=(), n_spheres=4)
    write_reconstruction(vol, tmp_path / "j", pixel_mm=3.0, description="Jaszczak")
    (r,) = imgqa.analyse(tmp_path / "j", "spect.uniformity_contrast")
    assert r.value("sphere_1_contrast_percent") is None
    assert any("No cold sphere" in w for w in r.warnings)


def test_projections_without_rotation_information_assume_equal_steps(tmp_path):
    stack, ang, heads, truth = cor_projections(heads=1, offsets_px=(0.7,))
    path = write_projections(stack, ang, heads, tmp_path / "p", pixel_mm=truth["pixel_mm"])
    ds = pydicom.dcmread(path)
    del ds.RotationInformationSequence
    ds.save_as(path)
    (r,) = imgqa.analyse(path, "spect.cor")
    assert r.value("cor_offset_pixels_head1") == pytest.approx(0.7, abs=0.05)
    assert r.value("cor_offset_pixels_head2") is None
    assert r.value("head_alignment_mm") is None
    assert any("equal steps" in w for w in r.warnings)


def test_real_line_source_resolution(shared_data):
    (r,) = imgqa.analyse(shared_data / "nm/imageqc_spect/linesource_tomo_recon.dcm")
    assert r.protocol == "spect.resolution"
    # imageQCpy 3.2.8: x 9.3/17.0 mm, y 9.2/16.8 mm.
    assert r.value("fwhm_x_mm") == pytest.approx(9.3, rel=0.02)
    assert r.value("fwtm_x_mm") == pytest.approx(17.0, rel=0.02)
    assert r.value("fwhm_y_mm") == pytest.approx(9.2, rel=0.02)
    assert r.value("fwtm_y_mm") == pytest.approx(16.8, rel=0.02)
    assert r.value("fwhm_z_mm") is None
    assert any("point source" in w for w in r.warnings)
    (interp,) = imgqa.analyse(shared_data / "nm/imageqc_spect/linesource_tomo_recon.dcm",
                              "spect.resolution", method="interpolated")
    assert interp.value("fwhm_x_mm") == pytest.approx(r.value("fwhm_x_mm"), rel=0.03)


def test_real_jaszczak(shared_data):
    (r,) = imgqa.analyse(shared_data / "nm/nmqc/Jaszack.dcm")
    assert r.protocol == "spect.uniformity_contrast"
    assert r.extra["uniform_slices"] == [3, 8]
    assert 5 < r.value("tomographic_integral_uniformity_percent") < 20
    assert r.value("sphere_1_contrast_percent") > r.value("sphere_5_contrast_percent")
    # Forcing the slices is honoured.
    (f,) = imgqa.analyse(shared_data / "nm/nmqc/Jaszack.dcm", "spect.uniformity_contrast",
                         first_uniform_slice=4, last_uniform_slice=7)
    assert f.extra["uniform_slices"] == [4, 7]
