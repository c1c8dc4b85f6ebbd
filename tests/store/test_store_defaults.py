"""The packaged default tolerance sets: every entry parses, cites a source and names a
measurement of a registered protocol (protocols not registered yet are skipped)."""

from __future__ import annotations

import fnmatch

import pytest

from imgqa.protocols import all_protocols
from imgqa.store.defaults import default_tolerances, find_default

ENTRIES = default_tolerances()


def test_there_are_defaults_for_each_area():
    assert {d.protocol for d in ENTRIES} >= {"nm.uniformity", "ct.water", "mr.acr",
                                             "xray.mtf_edge", "xray.uniformity"}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda d: f"{d.protocol}:{d.measurement}")
def test_entry_names_a_registered_measurement(entry):
    assert entry.source.strip(), "every default must cite its source"
    protocols = {p.name: p for p in all_protocols()}
    if entry.protocol not in protocols:
        pytest.skip(f"protocol {entry.protocol} is not registered (yet) in this build")
    names = [m.name for m in protocols[entry.protocol].measurements]
    hits = fnmatch.filter(names, entry.measurement)
    assert hits, (f"{entry.file}: {entry.measurement!r} matches no measurement of "
                  f"{entry.protocol} ({', '.join(names)})")


def test_field_strength_variants():
    low = find_default("mr.acr", "piu", 1.5)
    high = find_default("mr.acr", "piu", 3.0)
    assert (low.reference, high.reference) == (87.5, 82.0)
    assert find_default("mr.acr", "piu", None) is None  # unknown field strength: no guess
    assert find_default("mr.acr", "low_contrast_spokes", 3.0).reference == 37.0


def test_known_criteria():
    water = find_default("ct.water", "mean_hu_centre")
    assert water.reference == 0.0 and (water.tolerance.act_low, water.tolerance.act_high) == \
        (-5.0, 5.0)
    mtf = find_default("xray.mtf_edge", "mtf50")
    assert mtf.uses_baseline and mtf.tolerance.kind == "percent" and mtf.verify
    assert find_default("ct.water", "mean_hu_12").reference == 0.0
    assert find_default("mr.acr", "geometric_accuracy_slice5_diagonal_45").reference == 190.0
    assert find_default("xray.uniformity", "mean_snr").tolerance.act_high == 10.0
    assert find_default("xray.uniformity", "local_noise_nonuniformity").uses_baseline


def test_a_protocols_entries_are_found_without_parsing_the_other_files():
    # find_default reads only the files naming the protocol (start-up of `imgqa analyse`,
    # issue 17); it must find exactly the entries the full, ordered list has for it.
    from imgqa.store import defaults

    names = {p.name for p in all_protocols()} | {d.protocol for d in ENTRIES} | {"mr", "x.y"}
    for name in sorted(names):
        assert defaults.defaults_for(name) == tuple(d for d in ENTRIES if d.protocol == name)
    defaults._parsed.cache_clear()
    defaults.defaults_for.cache_clear()
    assert find_default("mr.acr", "piu", 1.5).reference == 87.5
    parsed = {name for name, text in defaults._files() if "mr.acr" in text}
    assert defaults._parsed.cache_info().currsize == len(parsed) < len(defaults._files())
