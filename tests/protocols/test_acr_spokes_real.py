"""ACR MRI low-contrast spokes on the 10 real ACR axial series against careful visual counts.

The visual counts are the ground truth of these tests: slices 8–11 of every series viewed
enlarged ×3 and contrast-stretched (plain window and a shading-flattened window), a spoke
counted when all 3 disks were seen, stopping at the first incomplete spoke; a range where the
reader was unsure. They are recorded in docs/mr.md, "Visual counts, issue 16".
"""

from __future__ import annotations

import pytest

from imgqa.api import analyse

# (lo, hi) complete spokes on slices 8, 9, 10, 11 — docs/mr.md "Visual counts, issue 16"
VISUAL = {
    "hazen_GE": [(0, 2), (3, 6), (6, 8), (7, 9)],
    "hazen_GE_MR450W_1.5T_T1": [(5, 7), (7, 9), (8, 10), (9, 10)],
    "hazen_GE_MR450W_1.5T_T2": [(2, 5), (4, 7), (7, 9), (8, 10)],
    "hazen_PhilipsAchieva": [(8, 10), (9, 10), (9, 10), (10, 10)],
    "hazen_PhilipsAchieva2": [(5, 7), (8, 9), (9, 10), (9, 10)],
    "hazen_Siemens": [(7, 9), (8, 10), (9, 10), (10, 10)],
    "hazen_Siemens2": [(0, 2), (3, 6), (8, 10), (8, 10)],
    "hazen_SiemensLargeSliceLocationDelta": [(5, 7), (7, 9), (7, 9), (6, 9)],
    "hazen_Siemens_Sola_1.5T_T1": [(5, 8), (8, 10), (9, 10), (9, 10)],
    "imageqc_ACR": [(0, 1), (0, 3), (2, 5), (6, 8)],
}


def _path(shared_data, name):
    return (shared_data / "mr" / "imageqc" / "ACR.dcm" if name == "imageqc_ACR"
            else shared_data / "mr" / "acr" / name)


@pytest.fixture(scope="module")
def spokes(shared_data):
    out = {}
    for name in VISUAL:
        r = analyse(_path(shared_data, name), "mr.acr")[0]
        lc = r.extra["low_contrast"]
        out[name] = (r.value("low_contrast_spokes"),
                     [lc["per_slice"][k] for k in ("8", "9", "10", "11")], r.warnings)
    return out


def test_reported_counts_agree_with_the_visual_count_per_slice(spokes):
    reported = [n for n, (v, _per, _w) in spokes.items() if v is not None]
    # 7 of 10 today (2 before issue 16); the three others are refused for stated reasons
    assert len(reported) >= 7, reported
    for name in reported:
        value, per, _w = spokes[name]
        assert value == sum(per)
        for k, (c, (lo, hi)) in enumerate(zip(per, VISUAL[name])):
            assert lo - 1 <= c <= hi + 1, (name, 8 + k, c, (lo, hi))


def test_unreported_series_say_why(spokes):
    for name, (value, _per, warnings) in spokes.items():
        if value is None:
            assert any(w.startswith("Low-contrast detectability not scored automatically")
                       for w in warnings), name


def test_degraded_copy_of_a_series_is_not_reported_with_a_different_count(spokes):
    # hazen_Siemens2 is hazen_Siemens (same date and series) with about half of the pixels
    # lowered by up to ~5 % (pixel-wise Siemens2 <= Siemens): visually fewer spokes on slices
    # 8–9 and the automatic count falls on 10–11. A count reported on both must agree within
    # ±2 spokes in total; otherwise the degraded one must be refused.
    a, _pa, _wa = spokes["hazen_Siemens"]
    b, _pb, _wb = spokes["hazen_Siemens2"]
    assert a is not None
    assert b is None or abs(a - b) <= 2
