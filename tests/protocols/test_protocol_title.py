"""protocol_title: the one place a protocol name becomes the title people read (Due view,
Automatic QC tab, notification e-mails)."""

from __future__ import annotations

from imgqa.gui.due_view import protocol_label
from imgqa.protocols.base import get_protocol, protocol_title
from imgqa.service.notify import _title


def test_known_protocol_gives_its_declared_title():
    assert protocol_title("ct.water") == get_protocol("ct.water").title != "ct.water"
    assert protocol_label("ct.water") == protocol_title("ct.water")
    assert _title("ct.water") == f"{get_protocol('ct.water').title} (ct.water)"


def test_a_protocol_no_longer_installed_keeps_its_name():
    assert protocol_title("xx.removed") == "xx.removed"
    assert protocol_label("xx.removed") == "xx.removed"
    assert _title("xx.removed") == "xx.removed"
