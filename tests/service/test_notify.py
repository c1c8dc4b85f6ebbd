"""E-mail notification (issue 12) against a throwaway SMTP server on loopback (aiosmtpd).

A CT water phantom with a planted +20 HU water offset (the ACR action limit is ±5 HU) goes
through the real service pipeline (`AutomaticQC` → `SessionSaver` → the store): exactly one
mail, with the equipment, the test, the measurement label, the stored value and its limits,
and none of the patient identifiers written into the images. A phantom at 0 HU sends none.
An unreachable server is logged and counted, the session is saved and the next series is
handled. The overdue digest goes once a day per test; ``imgqa notify test`` sends a test
message (with a login whose password comes from the environment, never shown).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import imgqa
from imgqa.cli.main import main
from imgqa.errors import NotificationError
from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.service.completion import CompleteSeries
from imgqa.service.notify import Notifier, NotifyState, reaches_level
from imgqa.service.notify_settings import (
    NotifySettings,
    load_settings,
    save_settings,
    settings_path,
)
from imgqa.service.pipeline import AutomaticQC
from imgqa.service.saving import SessionSaver
from imgqa.store import open_store

pytest.importorskip("aiosmtpd.controller")  # the test extra

SRC = Path(imgqa.__file__).resolve().parents[1]

PATIENT = {"PatientName": "DOE^JANE", "PatientID": "PID-98765",
           "AccessionNumber": "ACC-55501", "PatientBirthDate": "19700101"}


@pytest.fixture
def smtp(smtp_server):
    """(inbox, port) of a throwaway SMTP server on loopback (tests/conftest.py)."""
    return smtp_server()


def _settings(port: int, **kw) -> NotifySettings:
    base = dict(enabled=True, host="127.0.0.1", port=port, sender="imgqa@qc.example.org",
                to=("physics@qc.example.org",), timeout_s=5.0)
    base.update(kw)
    return NotifySettings(**base)


def _water_series(folder: Path, water_hu: float) -> CompleteSeries:
    images, _ = water_phantom(size=128, pixel_mm=1.8, noise_sd=3.0, n_slices=1,
                              water_hu=water_hu, seed=5)
    paths = write_series(images, folder, modality="CT", description="water daily",
                         pixel_spacing_mm=1.8, slice_thickness_mm=5.0,
                         rescale_intercept=-1024.0, extra_tags=PATIENT)
    import pydicom

    sops = tuple(str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
                 for p in paths)
    return CompleteSeries(str(pydicom.dcmread(paths[0]).SeriesInstanceUID), tuple(paths),
                          sops, 0.0, 0.0)


@pytest.fixture
def store(tmp_path):
    st = open_store(str(tmp_path / "qc.sqlite3"))
    st.add_rule("ct.water", reason="daily water phantom", create_equipment=True,
                modality="CT", description="water")
    yield st
    st.close()


def _run(store, notifier, series, inbox):
    saver = SessionSaver(store, inbox, notifier=notifier)
    qc = AutomaticQC(saver, quiet_s=0.0)
    for path, sop in zip(series.paths, series.sop_uids):
        qc.collector.add(series.series_uid, sop, path)
    qc.flush()
    notifier.drain()
    return saver


def test_reaches_level_follows_the_status_ranking():
    assert reaches_level("ACTION", "ACTION") and reaches_level("TOLERANCE", "TOLERANCE")
    assert not reaches_level("OK", "TOLERANCE") and not reaches_level("TOLERANCE", "ACTION")
    assert not reaches_level(None, "TOLERANCE") and not reaches_level("ACTION", "BOGUS")


def test_action_session_through_the_pipeline_sends_one_mail_without_patient_data(
        tmp_path, smtp, store):
    inbox, port = smtp
    notifier = Notifier(_settings(port))
    saver = _run(store, notifier, _water_series(tmp_path / "ct", 20.0), tmp_path)
    [done] = saver.outcomes
    assert done.state == "saved" and done.worst_status == "ACTION"
    assert "worst status ACTION" in done.line()
    assert notifier.sent == 1 and notifier.failed == 0
    assert len(inbox.messages) == 1
    rcpt, raw = inbox.messages[0]
    assert rcpt == ["physics@qc.example.org"]
    msg = inbox.parsed()[0]
    sess = store.session(done.session_id)
    assert msg["Subject"] == (f"[imgqa] ACTION: {sess.equipment_name} - ct.water "
                              f"(session {sess.id})")
    body = msg.get_content()
    centre = next(r for r in store.session_results(sess.id)
                  if r.measurement == "mean_hu_centre")
    assert centre.status == "ACTION" and abs(centre.value - 20.0) < 1.0  # the planted offset
    from imgqa.formatting import format_value

    assert f"= {format_value(centre.value)} HU  (action -5 to 5 HU)" in body
    assert "Mean CT number" in body and sess.uid in body and sess.equipment_name in body
    for secret in ("DOE", "JANE", "PID-98765", "ACC-55501", "19700101", str(tmp_path)):
        assert secret not in raw.decode("utf-8", "replace")
    assert NotifyState().read()["last"]["ok"] is True


def test_passing_session_sends_nothing(tmp_path, smtp, store):
    inbox, port = smtp
    notifier = Notifier(_settings(port, level="TOLERANCE"))
    saver = _run(store, notifier, _water_series(tmp_path / "ct", 0.0), tmp_path)
    assert saver.outcomes[0].state == "saved"
    assert saver.outcomes[0].worst_status in ("OK", "NO_TOL")
    assert inbox.messages == [] and notifier.sent == 0


def test_unreachable_server_is_logged_the_session_kept_and_the_service_goes_on(
        tmp_path, store, caplog, free_port):
    notifier = Notifier(_settings(free_port()))  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="imgqa.service.notify"):
        saver = _run(store, notifier, _water_series(tmp_path / "a", 20.0), tmp_path)
        saver2 = _run(store, notifier, _water_series(tmp_path / "b", 25.0), tmp_path)
    assert [o.state for o in saver.outcomes + saver2.outcomes] == ["saved", "saved"]
    assert len(store.sessions()) == 2
    assert notifier.failed == 2 and notifier.sent == 0
    assert "nothing accepts connections at 127.0.0.1" in notifier.last_error
    assert sum("notification not sent" in r.message for r in caplog.records) == 2
    last = NotifyState().read()["last"]
    assert last["ok"] is False and "nothing accepts connections" in last["error"]


def test_starttls_refused_by_a_plain_server_is_a_clear_failure(tmp_path, smtp, store):
    inbox, port = smtp
    notifier = Notifier(_settings(port, starttls=True))
    _run(store, notifier, _water_series(tmp_path / "ct", 20.0), tmp_path)
    assert notifier.failed == 1 and "does not offer STARTTLS" in notifier.last_error
    assert inbox.messages == []


def _overdue_store(tmp_path, days_ago: int = 10, db: str = "due.sqlite3"):
    """A daily ct.water schedule whose only session is ``days_ago`` days old (overdue)."""
    st = open_store(str(tmp_path / db))
    eq = st.add_equipment("CT Room 1", modality="CT")
    images, _ = water_phantom(size=128, pixel_mm=1.8, noise_sd=3.0, n_slices=1, seed=1)
    paths = write_series(images, tmp_path / "old", modality="CT", description="water",
                         pixel_spacing_mm=1.8, slice_thickness_mm=5.0,
                         rescale_intercept=-1024.0)
    results = imgqa.analyse(paths, "ct.water")
    st.save_session(eq.id, list(results),
                    performed_at=datetime.now(UTC) - timedelta(days=days_ago))
    st.set_schedule(eq.id, "ct.water", "daily", grace_days=1, reason="morning water")
    return st


def test_overdue_digest_once_a_day_per_test(tmp_path, smtp):
    inbox, port = smtp
    st = _overdue_store(tmp_path)
    try:
        today = datetime.now(UTC).date()
        items = st.due_list(today)
        assert [d.status for d in items] == ["overdue"]
        notifier = Notifier(_settings(port))
        assert notifier.overdue(items, today) == 1
        notifier.drain()
        assert notifier.overdue(st.due_list(today), today) == 0  # already mailed today
        notifier.drain()
        # a restart (a new notifier) remembers it through the state file
        again = Notifier(_settings(port))
        assert again.overdue(st.due_list(today), today) == 0
        tomorrow = today + timedelta(days=1)
        assert again.overdue(st.due_list(tomorrow), tomorrow) == 1
        again.drain()
    finally:
        st.close()
    assert len(inbox.messages) == 2
    first = inbox.parsed()[0]
    assert first["Subject"] == f"[imgqa] 1 QC test overdue ({today.isoformat()})"
    body = first.get_content()
    assert "CT Room 1" in body and "ct.water" in body and "9 day(s) overdue" in body


def test_due_notify_cli_sends_once_and_keeps_its_exit_code(tmp_path, smtp, capsys):
    inbox, port = smtp
    _overdue_store(tmp_path).close()
    save_settings(_settings(port))
    db = str(tmp_path / "due.sqlite3")
    assert main(["--db", db, "due", "--notify", "--format", "json"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["overdue"] == 1 and "E-mailed 1 overdue test" in out.err
    assert main(["--db", db, "due", "--notify", "--format", "json"]) == 1
    assert len(inbox.messages) == 1


def test_two_processes_checking_at_once_mail_an_overdue_test_once(tmp_path, smtp_server):
    """`imgqa serve`'s daily check and a cron `imgqa due --notify` at the same moment: the
    state file's claim lets one of them mail the test; the other finds it claimed."""
    # a server taking 2 s to accept a message: one digest is still in flight when the other
    # process checks
    inbox, port = smtp_server(delay_s=2.0)
    _overdue_store(tmp_path).close()
    save_settings(_settings(port))
    env = dict(os.environ, PYTHONPATH=str(SRC))
    cmd = [sys.executable, "-m", "imgqa.cli.main", "--db", str(tmp_path / "due.sqlite3"),
           "due", "--notify", "--format", "json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [1, 1]  # both still report the overdue test
    assert all(json.loads(out)["overdue"] == 1 for out, _ in outs)
    assert len(inbox.messages) == 1
    assert sum("E-mailed 1 overdue test" in err for _, err in outs) == 1, outs
    assert NotifyState().read().get("overdue_claims") == {}  # the claim is gone once sent


def test_a_failed_digest_releases_its_claim_and_a_dead_senders_claim_lapses(tmp_path,
                                                                             free_port):
    st = _overdue_store(tmp_path)
    try:
        today = datetime.now(UTC).date()
        items = st.due_list(today)
    finally:
        st.close()

    def refuse(settings, mail):
        raise NotificationError("the server is down")

    failing = Notifier(_settings(free_port()), send=refuse)
    assert failing.overdue(items, today) == 1
    failing.drain()
    assert NotifyState().read().get("overdue_claims") == {}
    sent: list[str] = []
    ok = Notifier(_settings(free_port()), send=lambda s, m: sent.append(m.subject))
    # a claim left by a sender killed mid-send: honoured while fresh, ignored once stale
    key = f"{items[0].equipment_id}/{items[0].protocol}"
    NotifyState().update(lambda d: d.setdefault("overdue_claims", {}).update(
        {key: {"day": today.isoformat(), "at": time.time(), "pid": 1}}))
    assert ok.overdue(items, today) == 0
    NotifyState().update(lambda d: d["overdue_claims"][key].update(at=time.time() - 3600))
    assert ok.overdue(items, today) == 1
    ok.drain()
    assert len(sent) == 1


def test_notify_cli_set_show_and_test_with_a_login(tmp_path, monkeypatch, capsys, smtp_server):
    from aiosmtpd.smtp import AuthResult

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"qc" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    inbox, port = smtp_server(authenticator=check, auth_require_tls=False)
    assert main(["notify", "set", "--enabled", "--host", "127.0.0.1", "--port",
                 str(port), "--from", "imgqa@qc.example.org", "--to",
                 "physics@qc.example.org", "--user", "qc", "--level", "tolerance"]) == 0
    monkeypatch.setenv("IMGQA_SMTP_PASSWORD", "s3cret")
    assert main(["notify", "test"]) == 0
    assert len(inbox.messages) == 1
    assert inbox.parsed()[0]["Subject"] == "[imgqa] test message"
    monkeypatch.setenv("IMGQA_SMTP_PASSWORD", "wrong")
    capsys.readouterr()
    assert main(["notify", "test"]) == 1
    assert "refused the login of 'qc'" in capsys.readouterr().err
    assert main(["notify", "show", "--format", "json"]) == 0
    shown = capsys.readouterr().out
    data = json.loads(shown)
    assert data["settings"]["level"] == "TOLERANCE" and data["settings"]["user"] == "qc"
    assert "IMGQA_SMTP_PASSWORD" in data["password"]
    for text in (shown, settings_path().read_text()):
        assert "s3cret" not in text and "wrong" not in text


def test_notify_test_without_settings_exits_1_with_the_reason(capsys):
    assert main(["notify", "test"]) == 1
    assert "no SMTP server" in capsys.readouterr().err


def test_settings_round_trip_and_bad_files(tmp_path):
    s = _settings(2525, to=("a@x.org", "b@y.org"), user="qc", password_file="/etc/pw",
                  starttls=True, level="TOLERANCE")
    path = save_settings(s, tmp_path / "n.toml")
    assert load_settings(path) == s
    assert load_settings(tmp_path / "absent.toml") == NotifySettings()  # off by default
    bad = tmp_path / "bad.toml"
    bad.write_text("[smtp]\nport = \"twenty-five\"\n")
    with pytest.raises(NotificationError, match="port must be a int"):
        load_settings(bad)
    bad.write_text("[smtp]\npassword = \"x\"\n")
    with pytest.raises(NotificationError, match="unknown setting smtp.password"):
        load_settings(bad)


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is POSIX")
def test_serve_mails_a_failing_watched_series_and_reports_it(tmp_path, smtp, serve_until):
    """`imgqa serve` as a process: its start-up check mails the overdue test, the saved line
    gives the worst status, the session's e-mail goes, and the stop summary counts both."""
    inbox, port = smtp
    _overdue_store(tmp_path, db="qc.sqlite3").close()
    db = str(tmp_path / "qc.sqlite3")
    assert main(["--db", db, "rule", "add", "--protocol", "ct.water", "--create-equipment",
                 "--modality", "CT", "--description", "water", "--reason", "daily"]) == 0
    save_settings(_settings(port))
    watched = tmp_path / "export"
    _water_series(watched / "s1", 20.0)
    seen, out, err, code = serve_until(
        db, watched, tmp_path / "inbox",
        lambda lines: sum(x.startswith(("e-mail sent", "e-mail NOT sent")) for x in lines) == 2)
    text = "".join(seen) + out
    assert code == 0, text + err
    assert "E-mail notifications: sessions at ACTION or worse" in text
    assert re.search(r"saved: 'water daily' .* pending review, worst status ACTION", text)
    assert "overdue: 1 test(s) overdue beyond grace; e-mailing the list." in text
    assert "e-mail sent to physics@qc.example.org: [imgqa] 1 QC test overdue" in text
    assert "e-mail sent to physics@qc.example.org: [imgqa] ACTION:" in text
    assert "e-mails: 2 sent, 0 failed." in text
    assert len(inbox.messages) == 2
