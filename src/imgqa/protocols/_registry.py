"""The protocol registry and the measurement labels read from it.

Owns `_REGISTRY` (name → `Protocol`), `register` (with its checks of a declaration),
`get_protocol`/`all_protocols`, and the one place names become labels (`measurement_label`,
`key_measurement`, `humanise_name`). Import these names from `imgqa.protocols.base`.
"""

from __future__ import annotations

import inspect
import re

from imgqa.errors import UnknownProtocolError
from imgqa.protocols._declarations import Protocol

# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    """Add a protocol to the registry (idempotent for the same name and version).

    Refuses (``ValueError``) a measurement name that is not snake_case, a key measurement the
    protocol does not declare, and parameters declared differently in the `ParameterSpec`s and
    in the function's signature (`check_parameters`).
    """
    for m in protocol.measurements:
        if not m.name.replace("_", "a").isalnum() or not m.name[0].isalpha() or m.name.lower() != m.name:
            raise ValueError(f"measurement name {m.name!r} must be snake_case")
    if protocol.key_measurement is not None and protocol.key_measurement not in {
            m.name for m in protocol.measurements}:
        raise ValueError(f"{protocol.name}: key measurement {protocol.key_measurement!r} is not "
                         "one of its measurements")
    check_parameters(protocol)
    _REGISTRY[protocol.name] = protocol
    return protocol


def check_parameters(protocol: Protocol) -> None:
    """Refuse a protocol whose `ParameterSpec`s and function signature disagree.

    A parameter is declared once for people (the spec: type, unit, range, description) and
    once for Python (the keyword parameter); this keeps the two the same. Every spec must be a
    keyword parameter of the function after the series argument, with the same default, and
    every such keyword parameter must have a spec (else the CLI, the GUI's parameter editor
    and the stored results would not know it). ``*args``/``**kwargs`` are not parameters.

    Raises
    ------
    ValueError
        Naming the protocol, the parameter and what differs.
    """
    try:
        sig = inspect.signature(protocol.function)
    except (TypeError, ValueError):  # a builtin or C callable: nothing to compare
        return
    params = list(sig.parameters.values())[1:]    # the first is the series (or list of them)
    keywords = {p.name: p for p in params
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    specs = {s.name: s for s in protocol.parameters}
    problems = []
    for name, spec in specs.items():
        param = keywords.get(name)
        if param is None:
            problems.append(f"the ParameterSpec {name!r} is not a keyword parameter of "
                            f"{_function_name(protocol)}")
        elif param.default is inspect.Parameter.empty:
            problems.append(f"{name!r} has no default in the function (the spec says "
                            f"{spec.default!r})")
        elif not _same_default(param.default, spec.default):
            problems.append(f"{name!r} defaults to {param.default!r} in the function but to "
                            f"{spec.default!r} in its ParameterSpec")
    for name in keywords:
        if name not in specs:
            problems.append(f"the keyword parameter {name!r} of {_function_name(protocol)} "
                            "has no ParameterSpec")
    if problems:
        raise ValueError(f"{protocol.name}: parameters declared differently in the "
                         f"declaration and the function: {'; '.join(problems)}. Declare each "
                         "parameter once as a keyword parameter with a default and once as a "
                         "ParameterSpec with the same name and default.")


def _function_name(protocol: Protocol) -> str:
    return getattr(protocol.function, "__qualname__", None) or repr(protocol.function)


def _same_default(a: object, b: object) -> bool:
    # 5 and 5.0 are the same default; True and 1 are not (a bool parameter is not a count).
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _ensure_loaded() -> None:
    # Importing the package registers the built-in protocols.
    import imgqa.protocols  # noqa: F401


def all_protocols() -> list[Protocol]:
    _ensure_loaded()
    return sorted(_REGISTRY.values(), key=lambda p: p.name)


def get_protocol(name: str) -> Protocol:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownProtocolError(f"There is no QC test called {name!r}.") from None


def measurement_label(protocol_name: str, measurement_name: str) -> str:
    """The human label of a measurement, e.g. ``("ct.water", "mean_hu_12")`` →
    ``"Mean CT number, 12 o'clock"``.

    Pure (reads only the registry). The declared `MeasurementSpec.label` wins; a name the
    protocol does not declare (a stored result of an older protocol version, an unknown
    protocol) gets a readable form of the name itself, so nothing is ever shown blank.
    """
    _ensure_loaded()
    proto = _REGISTRY.get(protocol_name)
    if proto is not None:
        for m in proto.measurements:
            if m.name == measurement_name:
                if m.label:
                    return m.label
                break
    return humanise_name(measurement_name)


def protocol_title(protocol_name: str) -> str:
    """The title people know a test by (``"CT water phantom (daily QC)"``), or its name for a
    protocol that is not installed (a schedule or a stored result of one that was removed)."""
    _ensure_loaded()
    proto = _REGISTRY.get(protocol_name)
    return (proto.title if proto is not None else "") or protocol_name


def key_measurement(protocol_name: str) -> str | None:
    """The headline measurement of a protocol (None for an unknown protocol or none declared)."""
    _ensure_loaded()
    proto = _REGISTRY.get(protocol_name)
    return proto.key_measurement if proto is not None else None


def humanise_name(name: str) -> str:
    """Fallback label from a snake_case name: ``geometric_accuracy_slice1_horizontal`` →
    ``"Geometric accuracy, slice 1, horizontal"``; ``mean_hu_12`` → ``"Mean HU, 12"``.

    Qualifier words (slice/quadrant/ROI numbers, directions, fields of view) become
    comma-separated parts so two related names never read the same.
    """
    parts: list[list[str]] = [[]]
    for tok in name.split("_"):
        if not tok:
            continue
        m = re.fullmatch(r"(slice|q|roi|detector)(\d+)", tok)
        word = _WORDS.get(tok, tok)
        if m:
            word = f"{_WORDS.get(m.group(1), m.group(1))} {m.group(2)}"
        if (m or tok.isdigit() or tok in _QUALIFIERS) and parts[-1]:
            parts.append([word])
        else:
            parts[-1].append(word)
    text = ", ".join(" ".join(p) for p in parts if p) or name
    return text[:1].upper() + text[1:]


_WORDS = {"hu": "HU", "sd": "SD", "snr": "SNR", "mtf": "MTF", "nps": "NPS", "nnps": "NNPS",
          "ufov": "UFOV", "cfov": "CFOV", "fwhm": "FWHM", "fwtm": "FWTM", "piu": "PIU",
          "q": "quadrant", "roi": "ROI", "mm": "(mm)", "pct": "%", "deg": "(°)"}
_QUALIFIERS = {"centre", "center", "horizontal", "vertical", "x", "y", "ufov", "cfov"}
