"""Issue 11, items 1 and 5 in the store: approving a failing session needs a comment; the same
images are not saved twice for one protocol unless a reason is given (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from imgqa.errors import StoreError
from imgqa.protocols.base import InputIdentity
from imgqa.store import DuplicateSessionError

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _judged_equipment(store):
    eq = store.add_equipment("CT room 1", modality="CT", serial="SN-1")
    store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
    store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", act_low=-5,
                        tol_low=-2, tol_high=2, act_high=5, reason="local policy")
    return eq


def test_approving_a_failing_session_needs_a_comment(store, result_factory):
    eq = _judged_equipment(store)
    ok = store.save_session(eq.id, [result_factory(mean=100.5)], performed_at=T0)
    bad = store.save_session(eq.id, [result_factory(mean=109.9)],
                             performed_at=T0 + timedelta(days=1))
    assert (ok.worst_status, bad.worst_status) == ("OK", "ACTION")
    for empty in ("", "   "):
        with pytest.raises(StoreError) as err:
            store.review([ok.id, bad.id], "approved", empty)
        assert f"session {bad.id}: generic.roi/mean ACTION" in err.value.message
        assert f"session {ok.id}:" not in err.value.message
        assert "comment" in err.value.hint
    # all or nothing: the clean session in the same call was not approved either
    assert len(store.sessions(unreviewed_only=True)) == 2
    store.review([ok.id], "approved")              # nothing failing: no comment needed
    store.review([bad.id], "rejected")             # rejecting is not what this rule guards
    store.review([bad.id], "approved", "phantom re-positioned; repeat scan within tolerance")
    (first, second) = store.reviews(bad.id)
    assert second.decision == "approved" and second.comment.startswith("phantom re-positioned")
    assert store.audit_verify() == (True, [])


def test_same_images_refused_naming_the_earlier_session_then_saved_with_a_reason(
        store, result_factory):
    eq = store.add_equipment("CT room 1", modality="CT", serial="SN-1")
    first = result_factory(mean=100.0, uid="1.2.826.0.1.77")
    earlier = store.save_session(eq.id, [first], performed_at=T0, performed_by="Tech A")

    with pytest.raises(DuplicateSessionError) as err:
        store.save_session(eq.id, [first], performed_by="Tech B")
    msg = err.value.message
    assert f"session {earlier.id} (2026-03-02 08:00 UTC, performed by Tech A" in msg
    assert "generic.roi" in msg and "CT room 1" in msg and "not saved" in msg
    assert "reason" in err.value.hint
    assert [e.session_id for e in err.value.earlier] == [earlier.id]
    assert len(store.sessions(eq.id)) == 1          # nothing was stored

    # the same UID with other pixel data, or the same images on another device: not duplicates
    other_pixels = replace(first, inputs=(InputIdentity("1.2.826.0.1.77", "cd" * 32),))
    store.save_session(eq.id, [other_pixels], performed_at=T0 + timedelta(hours=1))
    eq2 = store.add_equipment("CT room 2", modality="CT", serial="SN-2")
    store.save_session(eq2.id, [first])
    # a blank reason is no reason
    with pytest.raises(DuplicateSessionError):
        store.save_session(eq.id, [first], duplicate_reason="  ")

    again = store.save_session(eq.id, [first], comment="re-analysed",
                               duplicate_reason="re-analysis after the ROI size fix")
    assert again.comment == (f"re-analysed\nDuplicate of session {earlier.id} saved on "
                             "purpose: re-analysis after the ROI size fix")
    assert store.session(again.id).comment == again.comment
    (entry,) = [e for e in store.audit_log() if e.action == "save_session"
                and e.entity_id == again.id]
    details = json.loads(entry.details)
    assert details["duplicate_of"] == [earlier.id]
    assert details["duplicate_reason"] == "re-analysis after the ROI size fix"
    assert store.audit_verify() == (True, [])


def test_a_subset_of_stored_images_is_a_duplicate_and_typed_values_never_are(
        store, result_factory):
    eq = store.add_equipment("CT room 1", modality="CT", serial="SN-1")
    three = replace(result_factory(), inputs=tuple(
        InputIdentity(f"1.2.826.0.2.{k}", f"{k:02x}" * 32) for k in range(3)))
    earlier = store.save_session(eq.id, [three], performed_at=T0)
    one = replace(three, inputs=three.inputs[1:2])
    with pytest.raises(DuplicateSessionError) as err:
        store.save_session(eq.id, [one])
    assert err.value.earlier[0].session_id == earlier.id
    # one new image among stored ones: new data, saved
    store.save_session(eq.id, [replace(three, inputs=three.inputs[:2] + (
        InputIdentity("1.2.826.0.2.9", "99" * 32),))])
    # another label (a second analysis of the same images) is not a repeat of the first
    store.save_session(eq.id, [replace(three, label="periphery")])
    # results without input images (typed-in readings) are never duplicates
    typed = replace(three, inputs=())
    store.save_session(eq.id, [typed])
    store.save_session(eq.id, [typed])
    assert len(store.sessions(eq.id)) == 5
