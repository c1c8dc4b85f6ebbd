"""mr.acr on the ACR medium phantom (issue 16): variant choice and recovery of a digital truth.

The tolerances are the large phantom's (tests/analysis/test_acr_mri.py,
tests/protocols/test_mr_protocols.py): diameters ±0.5 mm, slice thickness ±0.2 mm, bar length
difference ±0.4 mm, PIU ±0.5 %.
"""

from __future__ import annotations

import pytest

from imgqa.analysis.acr_mri.variants import LARGE, MEDIUM, classify_diameter, resolve_variant
from imgqa.api import analyse
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms.mr import acr_phantom
from imgqa.phantoms.writer import write_series

PX = 250.0 / 256
DIAMETERS = ("geometric_accuracy_slice1_horizontal", "geometric_accuracy_slice1_vertical",
             "geometric_accuracy_slice5_horizontal", "geometric_accuracy_slice5_vertical",
             "geometric_accuracy_slice5_diagonal_45", "geometric_accuracy_slice5_diagonal_135")


def _write(folder, *, n=256, px=PX, field=1.5, **kw):
    images, truth = acr_phantom(n=n, pixel_mm=px, **kw)
    write_series(images, folder, modality="MR", description="ACR axial",
                 pixel_spacing_mm=px, slice_thickness_mm=5.0, slice_spacing_mm=10.0,
                 extra_tags={"MagneticFieldStrength": field})
    return folder, truth


def _medium(tmp_path, name="med", **kw):
    base = dict(variant="medium", diameter_mm=165.0, noise_sd=4.0, noise="rician", seed=5)
    base.update(kw)
    return _write(tmp_path / name, **base)


def _assert_truth(r, truth):
    for name in DIAMETERS:
        assert r.value(name) == pytest.approx(truth["diameter_mm"], abs=0.5), name
    assert r.value("slice_thickness_mm") == pytest.approx(truth["slice_thickness_mm"], abs=0.2)
    for name in ("slice_position_slice1_mm", "slice_position_slice11_mm"):
        assert r.value(name) == pytest.approx(truth["bar_difference_mm"], abs=0.4), name
    assert r.value("piu") == pytest.approx(truth["piu"], abs=0.5)


@pytest.mark.parametrize("thickness, bar_diff", [(4.0, -2.0), (5.0, 3.0), (6.5, 0.0)])
def test_medium_phantom_recovers_truth_and_is_detected(tmp_path, thickness, bar_diff):
    folder, truth = _medium(tmp_path, slice_thickness_mm=thickness, bar_difference_mm=bar_diff,
                            piu_gradient_per_mm=0.0012)
    r = analyse(folder)[0]                      # automatic protocol and phantom choice
    assert r.protocol == "mr.acr"
    assert r.extra["phantom"]["variant"] == "medium"
    assert "medium" in r.extra["phantom"]["reason"]
    assert any("ACR medium phantom" in w for w in r.warnings)
    _assert_truth(r, truth)
    # the 160 cm² ROI of the medium phantom, not the large phantom's 200 cm²
    assert any(roi.label == "large ROI 160 cm²" for roi in r.rois)
    assert truth["piu"] == pytest.approx(100 * (1 - 0.0012 * (71.365 - 5.642)), abs=0.01)


@pytest.mark.parametrize("offset, rotation, n, px", [
    ((15.0, -10.0), 0.0, 256, PX),         # translation
    ((0.0, 0.0), 4.0, 256, PX),            # rotation
    ((-5.0, 8.0), -2.0, 384, 0.6),         # pixel size 0.6 mm
])
def test_medium_phantom_invariance(tmp_path, offset, rotation, n, px):
    folder, truth = _medium(tmp_path, centre_offset_mm=offset, rotation_deg=rotation, n=n,
                            px=px, slice_thickness_mm=5.0, bar_difference_mm=2.0)
    r = analyse(folder, "mr.acr")[0]
    assert r.extra["phantom"]["variant"] == "medium"
    assert r.extra["rotation_deg"] == pytest.approx(rotation, abs=0.3)
    _assert_truth(r, truth)


def test_large_phantom_stays_large_without_new_warnings(tmp_path):
    folder, truth = _write(tmp_path / "large", noise_sd=4.0, noise="rician", seed=2,
                           bar_difference_mm=1.0)
    r = analyse(folder, "mr.acr")[0]
    assert r.extra["phantom"]["variant"] == "large"
    assert r.extra["resolved"] == {"phantom": "large"}
    assert not any("phantom was chosen" in w or "Analysed as" in w for w in r.warnings)
    assert any(roi.label == "large ROI 200 cm²" for roi in r.rois)
    _assert_truth(r, truth)
    # forcing the wrong variant is allowed, but said
    forced = analyse(folder, "mr.acr", phantom="medium")[0]
    assert forced.extra["phantom"]["variant"] == "medium"
    assert any("ACR medium phantom was chosen" in w and "190 mm" in w
               for w in forced.warnings)
    assert any("outside 165 ± 2 mm" in w for w in forced.warnings)


def test_medium_result_is_judged_with_the_medium_default_tolerances(tmp_path):
    """phantom=auto resolved to medium: the packaged defaults judge 165 ± 2 mm (issue 16);
    the same values judged as a large phantom fail geometry (190 ± 2 mm)."""
    from dataclasses import replace

    from imgqa.store.defaults import evaluate_with_defaults, find_default, result_conditions

    folder, truth = _medium(tmp_path)
    r = analyse(folder)[0]
    assert r.parameters["phantom"] == "auto" and r.extra["resolved"] == {"phantom": "medium"}
    judged = evaluate_with_defaults(r, 1.5)
    for name in DIAMETERS:
        d = find_default("mr.acr", name, 1.5, result_conditions(r))
        assert d.reference == 165.0 and d.tolerance.act_low == -2.0, name
        assert judged.measurement(name).status == "OK", name
    assert find_default("mr.acr", "piu", 1.5, result_conditions(r)).reference == 90.0
    as_large = evaluate_with_defaults(replace(r, extra={"resolved": {"phantom": "large"}}), 1.5)
    assert all(as_large.measurement(n).status == "ACTION" for n in DIAMETERS)


def test_medium_phantom_forced_large_is_flagged(tmp_path):
    folder, _ = _medium(tmp_path)
    r = analyse(folder, "mr.acr", phantom="large")[0]
    assert r.extra["phantom"]["variant"] == "large"
    assert any("ACR large phantom was chosen" in w and "phantom=medium" in w
               for w in r.warnings)


def test_medium_variant_limits_warn_on_scaling_error_and_poor_uniformity(tmp_path):
    # 1.8 % gradient scaling (168 mm) and PIU ≈ 88 %: fails the medium criteria (±2 mm, 90 %)
    folder, truth = _medium(tmp_path, diameter_mm=168.0, piu_gradient_per_mm=0.0018)
    r = analyse(folder, "mr.acr")[0]
    assert r.extra["phantom"]["variant"] == "medium"
    assert r.value("geometric_accuracy_slice5_horizontal") == pytest.approx(168.0, abs=0.5)
    assert truth["piu"] < 90.0
    assert any(w.startswith("Geometric accuracy:") and "165 ± 2 mm" in w for w in r.warnings)
    assert any(w.startswith("PIU") and "below 90 %" in w for w in r.warnings)


def test_unknown_phantom_value_is_refused(tmp_path):
    folder, _ = _medium(tmp_path)
    with pytest.raises(Exception, match="phantom"):
        analyse(folder, "mr.acr", phantom="small")


def test_too_small_object_is_refused_with_a_clear_message(tmp_path):
    # the ACR *small* phantom (100 mm) is not supported: the size is named
    folder, _ = _write(tmp_path / "small", variant="medium", diameter_mm=100.0, noise_sd=4.0)
    with pytest.raises(PhantomNotFoundError, match="mm across"):
        analyse(folder, "mr.acr")


def test_classification_threshold_and_geometry_values():
    assert classify_diameter(190.0)[0] is LARGE
    assert classify_diameter(165.0)[0] is MEDIUM
    assert classify_diameter(177.0)[0] is MEDIUM and classify_diameter(178.0)[0] is LARGE
    assert (MEDIUM.inner_diameter_mm, MEDIUM.sagittal_length_mm) == (165.0, 134.0)
    assert (LARGE.inner_diameter_mm, LARGE.sagittal_length_mm) == (190.0, 148.0)
    g, why, warn = resolve_variant("auto", 189.0)
    assert g is LARGE and why.startswith("automatic") and warn is None
    with pytest.raises(ValueError, match="unknown ACR phantom"):
        resolve_variant("small", 100.0)


REAL_ACR = ["hazen_GE", "hazen_GE_MR450W_1.5T_T1", "hazen_GE_MR450W_1.5T_T2",
            "hazen_PhilipsAchieva", "hazen_PhilipsAchieva2", "hazen_Siemens", "hazen_Siemens2",
            "hazen_SiemensLargeSliceLocationDelta", "hazen_Siemens_Sola_1.5T_T1"]


@pytest.mark.parametrize("name", REAL_ACR)
def test_real_large_phantoms_are_chosen_as_large(shared_data, name):
    r = analyse(shared_data / "mr" / "acr" / name, "mr.acr", count_spokes=False)[0]
    info = r.extra["phantom"]
    assert info["variant"] == "large", info
    assert info["reason"].startswith("automatic") and "190 mm" in info["reason"]
    assert not any("Analysed as the ACR" in w or "phantom was chosen" in w for w in r.warnings)


def test_sagittal_length_of_a_medium_phantom_is_measured(tmp_path):
    # mr.acr_sagittal has no variant of its own: its length kernel follows a 134 mm phantom
    from imgqa.phantoms.acr_sagittal import write_sagittal

    truth = write_sagittal(tmp_path / "sag", length_mm=134.0, seed=4)
    r = analyse(tmp_path / "sag")[0]
    assert r.protocol == "mr.acr_sagittal"
    assert r.value("sagittal_length_mm") == pytest.approx(truth["sagittal_length_mm"], abs=0.5)
