"""imgqa.service.warmup: the kernels a rule's protocol will need are found and imported ahead
of the first series; a bad name never stops the service."""

from __future__ import annotations

import sys

from imgqa.service.warmup import _kernel_modules, warm_up, warm_up_in_background


def test_kernel_modules_are_those_the_protocol_binds_lazily():
    mods = _kernel_modules("mr.acr")
    assert {"imgqa.analysis.acr_mri.piu", "imgqa.analysis.acr_mri.slice_thickness",
            "imgqa.analysis.acr_mri.geometry"} <= mods
    assert all(m.startswith("imgqa.analysis.") for m in mods), mods


def test_warm_up_imports_them_and_survives_unknown_protocols():
    spent = warm_up(["mr.acr", "no.such.test"])
    assert spent >= 0.0
    assert "imgqa.analysis.acr_mri.piu" in sys.modules and "imgqa.api" in sys.modules
    t = warm_up_in_background(["ct.water"])
    t.join(60)
    assert not t.is_alive()


def test_warm_up_leaves_the_image_codecs_ready(monkeypatch):
    # The command starts pydicom without its codecs (imgqa._lean_imports): the service's
    # warm-up registers them, so a compressed first series does not wait for them either.
    from imgqa import _lean_imports

    calls = []
    monkeypatch.setattr(_lean_imports, "ensure_codecs", lambda: calls.append(True))
    warm_up([])
    assert calls == [True]
