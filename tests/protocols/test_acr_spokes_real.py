"""ACR MRI low-contrast spokes on the 10 real ACR axial series against careful visual counts.

The visual counts are the ground truth of these tests: slices 8–11 of every series viewed
enlarged ×3 and contrast-stretched (plain window and a shading-flattened window), a spoke
counted when all 3 disks were seen, stopping at the first incomplete spoke; a range where the
reader was unsure. They are recorded in docs/mr.md, "Visual counts, issue 16".
"""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.api import analyse, load
from imgqa.io.series import ImageSeries

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
    # issue 16: at least 8 of the 10 (2 before issue 16, 7 with the literal first-failure count,
    # 9 with the fitted-visibility count: hazen_GE 512² is still refused by the threshold gate,
    # 21–26 for ±0.5 SD; docs/mr.md)
    assert len(reported) >= 8, reported
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


def test_degraded_copy_of_a_series_counts_fewer_spokes_as_a_reader_does(spokes):
    # hazen_Siemens2 is hazen_Siemens (same date and series) with about half of the pixels
    # lowered by up to ~5 % (pixel-wise Siemens2 <= Siemens): not a repeat scan. A reader sees
    # clearly fewer spokes on it (visual totals 19–28 vs 34–39), so the two counts must *not*
    # agree within ±2; each must agree with its own visual count (test above) and the degraded
    # copy must count at least 6 fewer (the smallest gap between the visual totals). Until
    # issue 16 the literal count (16) disagreed with the reader on slices 10–11 and was refused.
    a, _pa, _wa = spokes["hazen_Siemens"]
    b, _pb, _wb = spokes["hazen_Siemens2"]
    assert a is not None
    assert b is None or a - b >= sum(lo for lo, _ in VISUAL["hazen_Siemens"]) - sum(
        hi for _, hi in VISUAL["hazen_Siemens2"])


def _noise_sd(series) -> float:
    """Noise SD (physical units) from neighbouring-pixel differences in the central 60 mm of
    slice 6 (uniform water in both slice orders): robust SD of the differences / √2."""
    img = np.asarray(series.pixels(5), np.float64)
    h, w = img.shape
    r = int(30.0 / series.pixel_spacing_mm[0])
    dif = np.diff(img[h // 2 - r:h // 2 + r, w // 2 - r:w // 2 + r], axis=1).ravel()
    return float(1.4826 * np.median(np.abs(dif - np.median(dif))) / np.sqrt(2.0))


def _with_rician_noise(series, sd: float, seed: int):
    """The same series with fresh Rician noise of SD `sd` added to every image (magnitude of
    image + complex Gaussian noise; `sd` converted to stored units by each frame's slope)."""
    decode = series._decoder

    def noisy(s, frame):
        out = decode(s, frame)
        x = np.asarray(out[0] if isinstance(out, tuple) else out, np.float64)
        rng = np.random.default_rng([seed, s.frames.index(frame)])
        n = rng.normal(0.0, sd / frame.slope, (2, *x.shape))
        return np.hypot(x + n[0], n[1]).astype(np.float32)

    return ImageSeries(series.header, series.geometry, series.frames, series.datasets, noisy,
                       series.flags)


@pytest.mark.parametrize("name", sorted(VISUAL))
def test_two_noise_realisations_of_a_series_agree_within_2_spokes(shared_data, name):
    # The data hold no genuine repeat pair, so a repeat is simulated: the same series with
    # fresh Rician noise of its own measured SD added, twice (total noise ≈ √2 × the scan's).
    # The repeat criterion: totals within ±2 spokes. Checked on the automatic total
    # whether or not the count is reported, and on the reported values when both are.
    (series,) = load(_path(shared_data, name))
    sd = _noise_sd(series)
    runs = [analyse(_with_rician_noise(series, sd, seed), "mr.acr")[0] for seed in (1, 2)]
    totals = [r.extra["low_contrast"]["total_automatic"] for r in runs]
    assert abs(totals[0] - totals[1]) <= 2, (name, totals)
    values = [r.value("low_contrast_spokes") for r in runs]
    if None not in values:
        assert abs(values[0] - values[1]) <= 2, (name, values)
