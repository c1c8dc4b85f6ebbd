"""Issue 11 item 6 on the trend view: SPC signals explained in words (legend and tooltip),
limits from too few points labelled "not yet reliable", the test's key measurement shown
first, a readable time axis for a single point, and no window widening when the tab opens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import TIMEOUT_MS
from test_trend_axis import _LABEL, drawn_labels
from test_trend_service_events import _result

from imgqa.trends import MIN_SPC_POINTS, RULE_TEXT

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BASE = [100.0, 101.0, 99.0, 100.5, 99.5] * 4          # 20 values, centre 100
RUN = [100.3, 100.4, 100.2, 100.5, 100.3, 100.6, 100.2, 100.4]  # rule 4 at the 8th


def _fill(tmp_path, values):
    from imgqa.store import open_store

    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        eq = store.add_equipment("CT room 1", modality="CT", serial="SN-1")
        for i, v in enumerate(values):
            store.save_session(eq.id, [_result(v, i)], performed_at=T0 + timedelta(days=i))
    return eq


def _open_trends(qtbot, window, n_points):
    view = window.trend_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.point_count == n_points, timeout=TIMEOUT_MS)
    return view


def _legend_texts(view) -> list[str]:
    return [label.text for _sample, label in view.legend.items]


def test_rule_signal_is_explained_in_legend_and_tooltip(qtbot, tmp_path, window):
    _fill(tmp_path, BASE + RUN)
    view = _open_trends(qtbot, window, len(BASE + RUN))
    assert [(v.index, v.rule) for v in view.data.violations] == [(len(BASE + RUN) - 1, 4)]
    legend = " | ".join(_legend_texts(view))
    assert RULE_TEXT[4] in legend, legend
    assert "8 points in a row on one side of the centre line" in legend
    tip = view._tip(0, 0, len(BASE + RUN) - 1)
    assert RULE_TEXT[4] in tip, tip
    assert "rule" not in view._tip(0, 0, 0)  # an unflagged point says nothing about rules
    assert "SPC signal" in view.info.text() and "rule 4" not in view.info.text().replace(
        "Western Electric rule 4", "")


def test_limits_from_few_points_are_labelled_not_yet_reliable(qtbot, tmp_path, window):
    _fill(tmp_path, [100.0, 100.5, 99.5, 100.2, 130.0])
    view = _open_trends(qtbot, window, 5)
    assert view.data.control.n == 5 and view.data.violations == ()
    legend = " | ".join(_legend_texts(view))
    assert "limits from 5 points: not yet reliable" in legend, legend
    assert f"{MIN_SPC_POINTS} points" in legend


class _WithKey:
    """A registered protocol as seen after `Protocol.key_measurement` exists."""

    def __init__(self, proto, key):
        self._proto, self.key_measurement = proto, key

    def __getattr__(self, name):
        return getattr(self._proto, name)


def test_default_measurement_is_the_key_measurement(qtbot, tmp_path, window, monkeypatch):
    import imgqa.protocols as protocols
    from imgqa.gui.trends import key_measurement

    roi = protocols.get_protocol("generic.roi")
    assert key_measurement(roi) == (getattr(roi, "key_measurement", None)
                                    or roi.measurements[0].name)
    real = protocols.all_protocols
    monkeypatch.setattr(protocols, "all_protocols", lambda: [
        _WithKey(p, "snr") if p.name == "generic.roi" else p for p in real()])
    _fill(tmp_path, [100.0, 101.0])
    view = _open_trends(qtbot, window, 2)
    assert view.measurement_combo.currentData() == ("generic.roi", "snr")
    assert view.data.measurement == "snr"
    # the key measurement leads its protocol's entries
    assert view.measurement_combo.itemData(0) == ("generic.roi", "snr")


def test_single_point_has_a_readable_date_axis(qtbot, tmp_path, window):
    _fill(tmp_path, [100.0])
    view = _open_trends(qtbot, window, 1)
    axis = view.plot.getAxis("bottom")
    (x0, x1) = view.plot.getPlotItem().vb.viewRange()[0]
    assert x1 - x0 >= 86400  # at least a day around the point, not a second
    point_x = T0.timestamp()
    assert x0 < point_x < x1
    qtbot.waitUntil(lambda: len(drawn_labels(axis)) >= 2, timeout=TIMEOUT_MS)
    labels = [t for _v, t in drawn_labels(axis)]
    assert not any(re.fullmatch(r"\d{1,2}\.\d{3}|\d\d:\d\d:\d\d", t) for t in labels), labels
    assert any(_LABEL.match(t) for t in labels), labels
    assert any("2026" in t for t in labels), labels


@pytest.mark.parametrize("values", [[100.0], BASE])
def test_opening_the_trends_tab_does_not_widen_the_window(qtbot, tmp_path, window, values):
    _fill(tmp_path, values)
    window.resize(window.minimumSizeHint().width(), 700)
    qtbot.waitUntil(lambda: window.width() == window.minimumSizeHint().width(),
                    timeout=TIMEOUT_MS)
    width = window.width()
    view = _open_trends(qtbot, window, len(values))
    qtbot.wait(300)  # let a deferred layout pass run
    assert window.width() == width
    assert view.minimumSizeHint().width() <= 900

