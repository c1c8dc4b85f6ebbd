"""A protocol's parameters are declared once: `register` refuses a ParameterSpec and a function
signature that disagree (issue 9)."""

from __future__ import annotations

import pytest

from imgqa.protocols import all_protocols
from imgqa.protocols.base import (
    _REGISTRY,
    Analysis,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    check_parameters,
    register,
)

_M = (MeasurementSpec("value", "", "a value", label="Value"),)


def _proto(function, *specs: ParameterSpec, name: str = "test.params") -> Protocol:
    return Protocol(name=name, version="1", title="t", description="d", modalities=("*",),
                    measurements=_M, parameters=specs, function=function,
                    key_measurement="value")


def _fn(series, *, roi_mm: float = 10.0, pixel_spacing_mm: float | None = None) -> Analysis:
    return Analysis(measurements={"value": roi_mm})


_SPECS = (ParameterSpec("roi_mm", float, 10.0, "mm", "ROI size"),
          ParameterSpec("pixel_spacing_mm", float, None, "mm", "Pixel size"))


@pytest.mark.parametrize("proto", all_protocols(), ids=lambda p: p.name)
def test_every_registered_protocol_declares_its_parameters_once(proto):
    check_parameters(proto)  # raises ValueError naming the parameter on a mismatch


def test_matching_declaration_registers():
    try:
        assert register(_proto(_fn, *_SPECS)).name == "test.params"
    finally:
        _REGISTRY.pop("test.params", None)


@pytest.mark.parametrize(("function", "specs", "words"), [
    # a spec the function does not take
    (_fn, _SPECS + (ParameterSpec("threshold", float, 0.5),),
     "ParameterSpec 'threshold' is not a keyword parameter"),
    # a keyword parameter without a spec
    (_fn, _SPECS[:1], "keyword parameter 'pixel_spacing_mm' of _fn has no ParameterSpec"),
    # the same parameter with two defaults
    (_fn, (ParameterSpec("roi_mm", float, 5.0), _SPECS[1]),
     "'roi_mm' defaults to 10.0 in the function but to 5.0"),
    # a parameter the function requires (no default)
    (lambda series, *, roi_mm: None, (ParameterSpec("roi_mm", float, 10.0),),
     "'roi_mm' has no default"),
    # True is not 1
    (lambda series, *, flag=1: None, (ParameterSpec("flag", bool, True),),
     "'flag' defaults to 1 in the function but to True"),
])
def test_register_refuses_a_mismatch(function, specs, words):
    with pytest.raises(ValueError, match="declared differently") as info:
        register(_proto(function, *specs, name="test.mismatch"))
    assert words in str(info.value)
    assert "test.mismatch" not in _REGISTRY


def test_args_and_kwargs_are_not_parameters():
    # manual protocols take **entries; they declare no ParameterSpec and are accepted
    check_parameters(_proto(lambda series, *args, **kwargs: None))
