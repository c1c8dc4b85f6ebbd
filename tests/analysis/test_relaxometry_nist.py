"""mr.relaxometry on the NIST/ISMRM system phantom layout (issue 16): 14 spheres on a ring,
recognised from the vials found and numbered by decreasing T1/T2; the digital phantom's known
times recovered within 2 % wherever the plate lies, and the Eurospin 10 + 4 layout (digital
and the 7 real hazen series) still recognised as Eurospin."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.relaxometry import analyse_plate
from imgqa.analysis.relaxometry_layouts import classify_layout
from imgqa.api import analyse
from imgqa.phantoms.relaxometry import (
    NIST_T1_MS,
    NIST_T2_MS,
    PLATE5_T1_MS,
    plate_layout,
    relaxometry_plate,
    write_t1_series,
    write_t2_series,
)

TI = np.array([50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0])
TR = TI + 3000.0
TE = 10.0 * np.arange(1, 33)
PX = 250.0 / 192


@pytest.mark.parametrize("kw", [dict(),
                                dict(rotation_deg=37.0, centre_mm=(15.0, -11.0)),
                                dict(rotation_deg=200.0, mirror=True),
                                dict(pixel_mm=0.9, n=280, rotation_deg=-12.0)])
def test_nist_times_recovered_within_2_percent_anywhere(kw):
    st, _ = relaxometry_plate(NIST_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, layout="nist",
                              noise_sd=1.0, seed=3, **kw)
    r1 = analyse_plate(st, TI, kw.get("pixel_mm", PX), "T1", tr_ms=TR)
    st, _ = relaxometry_plate(NIST_T2_MS, kind="T2", x_ms=TE, layout="nist", noise_sd=1.0,
                              seed=4, first_echo_factor=0.85, **kw)
    r2 = analyse_plate(st, TE, kw.get("pixel_mm", PX), "T2")
    assert r1.layout_name == r2.layout_name == "nist"
    err1 = r1.times_ms / np.asarray(NIST_T1_MS) - 1
    err2 = r2.times_ms / np.asarray(NIST_T2_MS) - 1
    assert np.all(np.abs(err1) < 0.02) and np.all(np.abs(err2) < 0.02), (err1, err2)
    # sphere 1 is where the phantom put it (numbering follows the times, not the image)
    x, y = plate_layout(kw.get("rotation_deg", 0.0), kw.get("mirror", False),
                        kw.get("centre_mm", (0.0, 0.0)), "nist")[0]
    n = kw.get("n", 192)
    px = kw.get("pixel_mm", PX)
    want_rc = (y / px + n / 2 - 0.5, x / px + n / 2 - 0.5)
    assert r1.centres_rc[0] == pytest.approx(want_rc, abs=0.5)


def test_layouts_are_told_apart_and_a_wrong_choice_is_said():
    ring = plate_layout(layout="nist")[:, ::-1] / PX
    euro = plate_layout(layout="eurospin")[:, ::-1] / PX
    jitter = np.random.default_rng(0).normal(0, 2.0 / PX, ring.shape)   # 2 mm per centre
    assert classify_layout(ring + jitter)[0] == "nist"
    assert classify_layout(euro + jitter)[0] == "eurospin"
    name, why, warn = classify_layout(euro, "nist")
    assert name == "nist" and "chosen by the user" in why
    assert warn and "look like the eurospin layout" in warn
    assert classify_layout(ring, "nist")[2] is None
    with pytest.raises(ValueError, match="unknown vial layout"):
        classify_layout(ring, "caliber")


def test_eurospin_digital_plate_stays_eurospin():
    st, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, noise_sd=1.0, seed=1)
    r = analyse_plate(st, TI, PX, "T1", tr_ms=TR)
    assert r.layout_name == "eurospin" and r.layout_warning is None
    assert np.all(np.abs(r.times_ms / np.asarray(PLATE5_T1_MS) - 1) < 0.02)


def test_protocol_reports_the_layout_and_warns_on_a_wrong_choice(tmp_path):
    t1 = write_t1_series(tmp_path / "t1", noise_sd=1.0, rotation_deg=-19.0, mirror=True,
                         seed=13, layout="nist")
    r = analyse(tmp_path / "t1", "mr.relaxometry")[0]
    assert r.extra["layout"]["name"] == "nist" and r.extra["resolved"] == {"layout": "nist"}
    for n in range(1, 15):
        assert r.value(f"vial_{n}_t1_ms") == pytest.approx(t1[f"vial_{n}_t1_ms"], rel=0.02)
    forced = analyse(tmp_path / "t1", "mr.relaxometry", layout="eurospin")[0]
    assert forced.extra["layout"]["name"] == "eurospin"
    assert any("look like the nist layout" in w for w in forced.warnings)
    write_t2_series(tmp_path / "t2", noise_sd=1.0, rotation_deg=31.0, seed=14, layout="nist")
    r2 = analyse(tmp_path / "t2")[0]                         # automatic protocol choice
    assert r2.protocol == "mr.relaxometry" and r2.extra["layout"]["name"] == "nist"


@pytest.mark.parametrize("rel", ["T1/site1_20200218/plate5", "T1/site2_20180925/plate5",
                                 "T1/site3_ge/plate4", "T1/site3_ge/plate5",
                                 "T2/site1_20200218/plate4", "T2/site3_ge/plate4",
                                 "T2/site3_ge/plate5"])
def test_real_eurospin_plates_are_recognised_as_eurospin(shared_data, rel):
    folder = shared_data / "mr" / "relaxometry_hazen" / rel
    if not folder.is_dir():
        pytest.skip(f"{rel} not in the shared data")
    for r in analyse(folder, "mr.relaxometry"):
        assert r.extra["layout"]["name"] == "eurospin", r.extra["layout"]
