"""Validation checks are found without a hard-coded table of areas (issue 9): every module of
`imgqa.validation` that declares checks is loaded, so a new area module needs no registration."""

from __future__ import annotations

import sys
import textwrap

import imgqa.validation as validation_package
from imgqa.validation import registry

AREA = textwrap.dedent('''
    """A validation area written by the test."""
    from pathlib import Path

    from imgqa.validation.registry import Measure, check


    @check("generic.roi", source="constant image: mean = 100 exactly",
           measure=[Measure("mean", abs_tol=1e-6)])
    def zz_discovered_constant(root: Path) -> Path:
        return root / "never written"
''')


def test_the_packaged_areas_are_discovered():
    areas = registry.area_modules()
    assert {"ct", "mr", "nm", "xray", "generic"} <= set(areas)
    # machinery is not an area; generic (the fall-back protocol's checks) loads last
    assert not set(areas) & {"registry", "runner", "report", "report_pdf", "real_data",
                             "_phantom"}
    assert areas[-1] == "generic"
    assert {c.protocol.split(".")[0] for c in registry.all_checks()} >= {
        "ct", "mr", "nm", "xray", "generic"}


def test_a_new_area_module_is_picked_up(tmp_path, monkeypatch):
    (tmp_path / "zz_new_area.py").write_text(AREA, encoding="utf-8")
    monkeypatch.setattr(validation_package, "__path__",
                        [*validation_package.__path__, str(tmp_path)])
    # a fresh registry state, restored afterwards
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_CHECKS", list(registry._CHECKS))
    monkeypatch.setattr(registry, "_MAKERS", dict(registry._MAKERS))
    monkeypatch.delitem(sys.modules, "imgqa.validation.zz_new_area", raising=False)
    try:
        assert "zz_new_area" in registry.area_modules()
        found = [c for c in registry.all_checks() if c.phantom == "zz_discovered_constant"]
        assert [(c.protocol, c.measurement) for c in found] == [("generic.roi", "mean")]
        assert "zz_discovered_constant" in registry.phantom_makers()
    finally:
        sys.modules.pop("imgqa.validation.zz_new_area", None)
