"""docs/architecture.md's "Adding a QC test", followed literally with the template (issue 9).

Each step of the recipe is one step here, in the recipe's order, with files written into
``tmp_path`` folders that are added to the `imgqa.protocols` and `imgqa.validation` packages
(as a new module in ``src/imgqa/protocols/`` and ``src/imgqa/validation/`` would be):

1. kernel: the template reuses `imgqa.analysis.roi` (nothing to write);
2. protocol: copy ``protocols/_template.py`` to ``protocols/<area>.py``, give it its name;
3. digital phantom with an analytic answer (a uniform disc: diameter, mean, noise SD);
4. default tolerances: a ``[[tolerance]]`` entry in ``resources/tolerances/<area>.toml``;
5. validation check: ``@check`` in ``validation/<area>.py``; ``imgqa validate`` passes;
6. tests: ground truth recovered, invariant to position and pixel size, labels declared.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import imgqa
import imgqa.protocols as protocols_package
import imgqa.validation as validation_package
from imgqa.evaluate import evaluate
from imgqa.phantoms import write_ground_truth, write_series
from imgqa.protocols import base
from imgqa.validation import registry, run_validation

TEMPLATE = Path(protocols_package.__file__).parent / "_template.py"
AREA = "recipedemo"                      # the new area's module name
NAME = f"{AREA}.disc"                    # <area>.<test>

# Step 3: the digital phantom, as a module in imgqa.phantoms would define it. A disc of
# diameter `diameter_mm` and signal `mean` on a zero background, Gaussian noise of SD `sd`:
# the analytic truth is those three numbers.
PHANTOM = '''
def disc_phantom(diameter_mm=120.0, pixel_mm=1.0, shape=(256, 256), centre_offset_mm=(0.0, 0.0),
                 mean=100.0, sd=4.0, seed=1):
    import numpy as np

    rows, cols = shape
    r = (np.arange(rows)[:, None] - (rows - 1) / 2) * pixel_mm - centre_offset_mm[0]
    c = (np.arange(cols)[None, :] - (cols - 1) / 2) * pixel_mm - centre_offset_mm[1]
    # 4 x 4 supersampled area fraction per pixel: the edge is the true circle
    sub = (np.arange(4) - 1.5) / 4 * pixel_mm
    frac = np.zeros(shape)
    for dr in sub:
        for dc in sub:
            frac += ((r + dr) ** 2 + (c + dc) ** 2 <= (diameter_mm / 2) ** 2) / 16.0
    noise = np.random.default_rng(seed).normal(0.0, sd, shape)
    image = mean * frac + noise * (frac > 0.999)
    return image, {"diameter_mm": diameter_mm, "mean": mean, "noise_sd": sd}
'''

# Step 5: the validation check, as imgqa/validation/<area>.py holds it.
VALIDATION = f'''
"""Checks of {NAME} (written by tests/protocols/test_recipe.py)."""
from pathlib import Path

from imgqa.phantoms import write_ground_truth, write_series
from imgqa.validation.registry import Measure, check
{PHANTOM}

@check("{NAME}", auto=True,
       source="uniform disc: diameter, signal and noise SD of the generator",
       measure=[Measure("diameter_mm", abs_tol=0.5,
                        why="half-maximum area of a 120 mm disc at 1 mm pixels: < 0.5 mm"),
                Measure("mean", abs_tol=0.5, why="SE of the ROI mean ≈ 0.08, ×6"),
                Measure("noise_sd", rel_tol=0.05, why="SE of the SD over 2800 pixels ≈ 1.3 %")])
def recipe_disc(root: Path) -> Path:
    folder = root / "recipe_disc"
    image, truth = disc_phantom()
    write_series(image[None], folder, modality="CT", description="disc phantom",
                 pixel_spacing_mm=1.0)
    write_ground_truth(folder, truth)
    return folder
'''

# Step 4: the default tolerance entry (resources/tolerances/<area>.toml).
TOLERANCES = f'''
[[tolerance]]
protocol = "{NAME}"
measurement = "diameter_mm"
kind = "absolute"
reference = 120.0
act_low = -2.0
act_high = 2.0
source = "example: disc diameter 120 mm +/- 2 mm"
verify = true
'''


@pytest.fixture
def new_area(tmp_path, monkeypatch):
    """Steps 2 and 5: the new protocol and validation modules, found as packaged ones are."""
    proto_dir, valid_dir = tmp_path / "protocols", tmp_path / "validation"
    proto_dir.mkdir()
    valid_dir.mkdir()
    # Step 2: copy the template to protocols/<area>.py and give the test its name.
    text = TEMPLATE.read_text(encoding="utf-8")
    assert 'NAME = "example.disc"' in text
    (proto_dir / f"{AREA}.py").write_text(
        text.replace('NAME = "example.disc"', f'NAME = "{NAME}"'), encoding="utf-8")
    (valid_dir / f"{AREA}.py").write_text(VALIDATION, encoding="utf-8")
    monkeypatch.setattr(protocols_package, "__path__",
                        [*protocols_package.__path__, str(proto_dir)])
    monkeypatch.setattr(validation_package, "__path__",
                        [*validation_package.__path__, str(valid_dir)])
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_CHECKS", list(registry._CHECKS))
    monkeypatch.setattr(registry, "_MAKERS", dict(registry._MAKERS))
    mods = (f"imgqa.protocols.{AREA}", f"imgqa.validation.{AREA}")
    try:
        # What importing imgqa.protocols does for every public module of the package.
        assert AREA in [m.name for m in __import__("pkgutil").iter_modules(
            protocols_package.__path__)]
        module = importlib.import_module(mods[0])
        yield module
    finally:
        base._REGISTRY.pop(NAME, None)
        for m in mods:
            sys.modules.pop(m, None)


def _phantom_module():
    namespace: dict = {}
    exec(textwrap.dedent(PHANTOM), namespace)
    return namespace["disc_phantom"]


def _write(folder: Path, **kw) -> Path:
    image, truth = _phantom_module()(**kw)
    write_series(image[None], folder, modality="CT", description="disc phantom",
                 pixel_spacing_mm=kw.get("pixel_mm", 1.0))
    write_ground_truth(folder, truth)
    return folder


def test_recipe_adds_a_working_protocol(new_area, tmp_path):
    # Step 2: it registered, with labels and a key measurement (tests/protocols/test_labels).
    proto = base.get_protocol(NAME)
    assert proto.function is new_area.example_disc
    assert proto.key_measurement == "diameter_mm"
    assert all(m.label for m in proto.measurements)
    assert base.measurement_label(NAME, "noise_sd") == "Noise (SD), centre ROI"
    assert any(p.name == "pixel_spacing_mm" for p in proto.parameters)

    # Step 3 + 6: the automatic choice picks it, and it recovers the analytic truth.
    folder = _write(tmp_path / "disc")
    (result,) = imgqa.analyse(folder)
    assert result.protocol == NAME and "disc phantom" in result.choice_reason
    assert result.value("diameter_mm") == pytest.approx(120.0, abs=0.5)
    assert result.value("mean") == pytest.approx(100.0, abs=0.5)
    assert result.value("noise_sd") == pytest.approx(4.0, rel=0.05)

    # Step 6: invariant to where the disc lies and to the pixel size.
    moved = imgqa.analyse(_write(tmp_path / "moved", centre_offset_mm=(17.3, -22.6)), NAME)[0]
    fine = imgqa.analyse(_write(tmp_path / "fine", pixel_mm=0.5, shape=(512, 512)), NAME)[0]
    for other in (moved, fine):
        assert other.value("diameter_mm") == pytest.approx(120.0, abs=0.5)
        assert other.value("mean") == pytest.approx(100.0, abs=0.5)
    # A header without pixel size: the user's pixel_spacing_mm gives the same answer.
    image, _ = _phantom_module()()
    write_series(image[None], tmp_path / "nospacing", modality="CT",
                 description="disc phantom", pixel_spacing_mm=None)
    given = imgqa.analyse(tmp_path / "nospacing", NAME, pixel_spacing_mm=1.0)[0]
    assert given.value("diameter_mm") == pytest.approx(result.value("diameter_mm"), abs=1e-9)

    # Step 4: its default tolerance entry parses and judges the measurement.
    from imgqa.store.defaults import _parse

    (entry,) = _parse(f"{AREA}.toml", TOLERANCES)
    assert entry.matches(NAME, "diameter_mm", None)
    assert evaluate(result.value("diameter_mm"), entry.reference, entry.tolerance) == "OK"

    # Step 5: the validation check is found without being listed, and passes.
    assert registry.missing_protocols() == []
    outcomes = run_validation(protocols=[NAME])
    assert [o.check.measurement for o in outcomes] == ["diameter_mm", "mean", "noise_sd"]
    assert all(o.passed for o in outcomes), [(o.check.measurement, o.measured, o.truth)
                                             for o in outcomes]
    assert np.isfinite([o.measured for o in outcomes]).all()


def test_the_template_itself_is_not_registered():
    # `_template.py` starts with "_" (imgqa.protocols does not import it), and importing it
    # (as the docstring-example test imports every module) registers nothing.
    importlib.import_module("imgqa.protocols._template")
    assert "example.disc" not in {p.name for p in base.all_protocols()}
