"""Issue 11 item 4: every measurement has a human label; every protocol a key measurement."""

from __future__ import annotations

import re

import pytest

from imgqa.protocols import MeasurementSpec, Protocol, all_protocols, measurement_label, register
from imgqa.protocols.base import humanise_name

PROTOCOLS = all_protocols()


@pytest.mark.parametrize("proto", PROTOCOLS, ids=lambda p: p.name)
def test_every_measurement_declares_a_readable_label(proto):
    missing = [m.name for m in proto.measurements if not m.label.strip()]
    assert not missing, f"{proto.name}: no label for {missing}"
    for m in proto.measurements:
        # a label is words, not the internal snake_case name again
        assert "_" not in m.label and m.label != m.name, (proto.name, m.name, m.label)
        assert m.label[0].isupper() or m.label[0].isdigit(), m.label
        assert measurement_label(proto.name, m.name) == m.label


@pytest.mark.parametrize("proto", PROTOCOLS, ids=lambda p: p.name)
def test_labels_are_unique_within_a_protocol(proto):
    labels = [m.label.casefold() for m in proto.measurements]
    dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
    assert not dupes, f"{proto.name}: two measurements read {dupes}"


@pytest.mark.parametrize("proto", PROTOCOLS, ids=lambda p: p.name)
def test_every_protocol_declares_its_key_measurement(proto):
    assert proto.key_measurement in {m.name for m in proto.measurements}, proto.name


def test_register_refuses_a_key_measurement_it_does_not_measure():
    with pytest.raises(ValueError, match="key measurement 'nope'"):
        register(Protocol(name="test.bad_key", version="1", title="t", description="d",
                          modalities=("*",), measurements=(MeasurementSpec("a", "", "a", label="A"),),
                          function=lambda s: None, key_measurement="nope"))


@pytest.mark.parametrize(("protocol", "name", "label"), [
    ("ct.water", "mean_hu_centre", "Mean CT number, centre"),
    ("ct.water", "mean_hu_12", "Mean CT number, 12 o'clock ROI"),
    ("mr.acr", "geometric_accuracy_slice1_horizontal", "Geometric accuracy, slice 1, horizontal"),
    ("mr.acr", "geometric_accuracy_slice5_diagonal_135",
     "Geometric accuracy, slice 5, diagonal 135°"),
    ("ct.catphan", "ctp404_hu_bone_50", "CTP404 CT number, bone 50 %"),
    ("ct.catphan", "ctp515_cnr_0p3_15mm", "CTP515 CNR, 0.3 % contrast, 15 mm"),
    ("nm.bar_phantom", "bar_width_measured_mm_q4", "Measured bar width, quadrant 4"),
    ("xray.nps", "nnps_at_0_5_lp_per_mm", "Normalised NPS at 0.5 lp/mm"),
])
def test_generated_names_get_readable_labels(protocol, name, label):
    assert measurement_label(protocol, name) == label


def test_undeclared_names_fall_back_to_a_readable_form():
    # e.g. a stored result of an older protocol version, or a protocol no longer installed
    assert measurement_label("ct.water", "mean_hu_15") == "Mean HU, 15"
    assert (measurement_label("gone.test", "geometric_accuracy_slice11_vertical")
            == "Geometric accuracy, slice 11, vertical")
    assert measurement_label("gone.test", "mtf_q2") == "MTF, quadrant 2"


def test_fallback_keeps_every_declared_name_distinct():
    """Even without declared labels no two names of one protocol would read the same."""
    for proto in PROTOCOLS:
        texts = [humanise_name(m.name) for m in proto.measurements]
        assert len(set(texts)) == len(texts), proto.name
        assert all(re.fullmatch(r"[^_]+", t) for t in texts), proto.name
