"""Automatic protocol choice with a fall-back when the best guess does not fit the images."""

from __future__ import annotations

import pytest

import imgqa
from imgqa.errors import AnalysisError
from imgqa.protocols import analyse_series, candidate_protocols


def test_four_bar_image_without_keywords_falls_back_to_resolution(shared_data):
    # FourBar.dcm's description ("POSTERIOR_H2") names no test: nm.uniformity is tried first
    # (any planar NM image may be a flood), finds no flood field, and nm.resolution runs.
    (series,) = imgqa.load(shared_data / "nm" / "nmqc" / "FourBar.dcm")
    names = [p.name for p in candidate_protocols(series)]
    assert names[0] == "nm.uniformity" and "nm.resolution" in names
    (result,) = analyse_series(series)
    assert result.protocol == "nm.resolution"
    assert result.warnings[0].startswith("Analysed as nm.resolution: nm.uniformity did not fit")
    assert 5.0 < result.value("fwhm_x") < 10.0


def test_explicit_protocol_is_not_second_guessed(shared_data):
    (series,) = imgqa.load(shared_data / "nm" / "nmqc" / "FourBar.dcm")
    with pytest.raises(AnalysisError):
        analyse_series(series, "nm.uniformity")


def test_a_claimed_series_that_fits_gets_no_fallback_warning(shared_data):
    (series,) = imgqa.load(shared_data / "nm" / "nmqc" / "UNIFORMIDAD_1.dcm")
    (result,) = analyse_series(series)
    assert result.protocol == "nm.uniformity"
    assert not any(w.startswith("Analysed as") for w in result.warnings)
