"""Reliability against real databases: killed writers, concurrent writers, locked, read-only
and missing databases. No mocks: real processes, real SQLite files, a real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import text

from imgqa.errors import StoreError
from imgqa.store import open_store

# Builds results like run_protocol does; shared by the child processes below.
CHILD_PRELUDE = textwrap.dedent("""
    import os, sys, time
    from imgqa.protocols.base import InputIdentity, Measurement, Result
    from imgqa.store import open_store

    def result(v, n, station=0):  # each saving station sends its own images
        return Result(protocol="generic.roi", protocol_version="1", parameters={},
                      series={"modality": "CT", "manufacturer": "Acme", "serial": "SN-1"},
                      measurements=tuple(Measurement(k, v + i, "") for i, k in
                                         enumerate(("mean", "sd", "snr"))),
                      inputs=tuple(InputIdentity(f"1.2.{station}.{n}.{j}", "cd" * 32)
                                   for j in range(3)))
""")


def _counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("qc_session", "analysis", "input_image", "result", "audit_log")}


def _child(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code),
                             *args], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_sigkill_in_the_middle_of_a_save_leaves_all_or_nothing(store_url, tmp_path):
    store = open_store(store_url)
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    before = _counts(store)
    marker = tmp_path / "inside"
    child = _child("""
        from sqlalchemy import event
        url, eq_id, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        store = open_store(url)

        @event.listens_for(store.engine, "after_cursor_execute")
        def pause(conn, cursor, statement, *a):
            # the session, its analyses and input identities are written; results are next
            if statement.lstrip().upper().startswith("INSERT INTO RESULT"):
                open(marker, "w").write("inside the transaction")
                time.sleep(120)

        store.save_session(eq_id, [result(1.0, 1), result(2.0, 2)], comment="killed")
    """, store_url, str(eq.id), str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "child never reached the middle of the save"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    # nothing of the killed session is visible, and the database still takes a full save
    store2 = open_store(store_url)
    assert _counts(store2) == before
    from imgqa.protocols.base import InputIdentity, Measurement, Result

    r = Result("generic.roi", "1", {}, {"modality": "CT"},
               (Measurement("mean", 1.0, ""), Measurement("sd", 2.0, "")),
               inputs=(InputIdentity("9.9", "ef" * 32),))
    s = store2.save_session(eq.id, [r])
    after = _counts(store2)
    assert after["qc_session"] == before["qc_session"] + 1
    assert after["result"] == before["result"] + 2
    assert store2.audit_verify() == (True, [])
    assert [x.id for x in store2.sessions()] == [s.id]
    store.close()
    store2.close()


SAVER = """
    url, eq_id, tag, n, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    store = open_store(url)
    while time.time() < start:
        time.sleep(0.005)
    for i in range(n):
        store.save_session(eq_id, [result(float(i), i, ord(tag))], uid=f"{tag}-{i:04d}")
    print("done", tag)
"""


def _two_savers(url: str, eq_id: int, n: int) -> None:
    start = time.time() + 2.0  # both begin together, after their imports
    kids = [_child(SAVER, url, str(eq_id), tag, str(n), str(start)) for tag in ("a", "b")]
    for k in kids:
        _, err = k.communicate(timeout=300)
        assert k.returncode == 0, err[-3000:]


@pytest.mark.postgres
def test_two_processes_save_200_sessions_each_to_postgresql(pg_server):
    url = pg_server.url(pg_server.new_database())
    store = open_store(url)
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    _two_savers(url, eq.id, 200)
    with store.engine.connect() as conn:
        uids = conn.execute(text("SELECT uid FROM qc_session")).scalars().all()
    assert len(uids) == 400 and len(set(uids)) == 400  # nothing lost, nothing duplicated
    assert set(uids) == {f"{t}-{i:04d}" for t in "ab" for i in range(200)}
    c = _counts(store)
    assert c["result"] == 400 * 3 and c["input_image"] == 400 * 3
    assert store.audit_verify() == (True, [])  # one linear chain despite two writers
    store.close()


def test_sqlite_two_writer_processes_wait_and_retry(tmp_path):
    url = str(tmp_path / "shared.sqlite3")
    store = open_store(url)
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    _two_savers(url, eq.id, 60)
    c = _counts(store)
    assert c["qc_session"] == 120 and c["result"] == 360
    assert store.audit_verify() == (True, [])


def test_sqlite_writer_waits_for_a_lock_held_elsewhere(tmp_path, result_factory):
    path = tmp_path / "locked.sqlite3"
    store = open_store(str(path))
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock ...
    release = threading.Timer(1.0, lambda: other.execute("COMMIT"))
    release.start()  # ... for one second
    t0 = time.monotonic()
    s = store.save_session(eq.id, [result_factory()])
    waited = time.monotonic() - t0
    release.join()
    other.close()
    assert waited >= 0.8 and s.n_results == 3


def test_missing_folder_gives_a_clear_message(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "no" / "such" / "folder" / "qc.sqlite3"))


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(StoreError, match="folder, not a file"):
        open_store(str(tmp_path))


def test_read_only_database_gives_a_clear_message(tmp_path, result_factory):
    path = tmp_path / "ro.sqlite3"
    with open_store(str(path)) as s:
        eq = s.add_equipment("CT 1", modality="CT", serial="SN-1")
    ro = open_store(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert [e.name for e in ro.list_equipment()] == ["CT 1"]  # reading still works
    with pytest.raises(StoreError, match="read-only"):
        ro.save_session(eq.id, [result_factory()])
    ro.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_permissions(tmp_path, result_factory):
    path = tmp_path / "perm.sqlite3"
    with open_store(str(path)) as s:
        eq = s.add_equipment("CT 1", modality="CT", serial="SN-1")
    for p in tmp_path.iterdir():
        p.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="read-only|cannot be opened"):
            open_store(str(path)).save_session(eq.id, [result_factory()])
    finally:
        tmp_path.chmod(0o755)


def test_unreachable_server_gives_a_clear_message():
    with pytest.raises(StoreError, match="connect"):
        open_store("postgresql://nobody@127.0.0.1:9/imgqa?connect_timeout=2")


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    open_store(str(path)).close()
    with sqlite3.connect(str(path)) as c:
        c.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(StoreError, match="newer imgqa"):
        open_store(str(path))


def test_history_is_immutable_in_the_database(store, result_factory):
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    s = store.save_session(eq.id, [result_factory()])
    for sql in ("UPDATE result SET value = 0", "DELETE FROM result",
                "UPDATE audit_log SET actor = 'x'", "DELETE FROM qc_session"):
        with pytest.raises(Exception, match="read-only|history"):
            with store.engine.begin() as conn:
                conn.execute(text(sql))
    assert store.session(s.id).n_results == 3
