"""Fixtures for the store tests: a real PostgreSQL server started on loopback, and a `store_url`
fixture that runs each store test against SQLite and against PostgreSQL.

The server is started once per test process (per xdist worker) with initdb/pg_ctl in a temp
dir. initdb and postgres refuse to run as root, so under root (CI) they run as the `postgres`
system user through ``runuser``; the tests skip (with the reason) only if the binaries are
absent. Each test gets a fresh database.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgqa.protocols.base import InputIdentity, Measurement, Result


def _pg_bindir() -> Path | None:
    env = os.environ.get("IMGQA_PG_BIN")
    cands = [env] if env else sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                     key=lambda p: int(p.split("/")[-2]), reverse=True)
    for c in cands:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


@dataclass
class PgServer:
    host: str
    port: int
    root: Path
    superuser: str = "postgres"
    _ids = itertools.count(1)

    def url(self, database: str, user: str | None = None) -> str:
        return f"postgresql+psycopg://{user or self.superuser}@{self.host}:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=self.superuser,
                             dbname=database, autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A fresh empty database; returns its name."""
        name = f"imgqa_{os.getpid()}_{next(self._ids)}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="session")
def pg_server(free_port):
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                    ".ci/run installs the `postgresql` package")
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="imgqa-pg-"))  # in /tmp: reachable by postgres
    if as_root:
        try:
            shutil.chown(root, "postgres", "postgres")
        except (LookupError, PermissionError) as exc:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(f"running as root but cannot hand the data dir to user postgres: {exc}")
        prefix = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    try:
        subprocess.run(prefix + [str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, text=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {exc.stderr}") from exc
    port = None
    for _ in range(5):  # a port can be taken between choosing and binding (other workers)
        port = free_port()
        opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c full_page_writes=off -c synchronous_commit=off -c max_connections=60")
        r = subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-l",
                                     str(root / "server.log"), "-w", "-t", "60", "-o", opts,
                                     "start"], capture_output=True, text=True, timeout=90,
                           check=False)
        if r.returncode == 0:
            break
        time.sleep(0.2)
    else:
        log = (root / "server.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {r.stderr}\n{log}")
    server = PgServer("127.0.0.1", port, root)
    try:
        yield server
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                 "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    """A URL for an empty results database: SQLite file, then a real PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "qc.sqlite3")
    server = request.getfixturevalue("pg_server")
    return server.url(server.new_database())


@pytest.fixture
def store(store_url):
    from imgqa.store import open_store

    s = open_store(store_url)
    yield s
    s.close()


_IMAGE_NUMBERS = itertools.count(1)


def make_result(mean: float | None = 100.0, sd: float | None = 5.0, snr: float | None = 20.0,
                *, serial: str = "SN-1", uid: str | None = None, acquired: str | None = None
                ) -> Result:
    """A `generic.roi` result as `run_protocol` would make it (no images needed).

    Each call stands for a new image (a fresh SOP Instance UID) unless ``uid`` is given, as
    the store refuses to save the same image twice for one protocol.
    """
    uid = uid or f"1.2.3.4.{next(_IMAGE_NUMBERS)}"
    values = {"mean": mean, "sd": sd, "snr": snr}
    return Result(
        protocol="generic.roi", protocol_version="1", parameters={"roi_diameter_mm": 20.0},
        series={"modality": "CT", "manufacturer": "Acme", "model": "Scan 1", "serial": serial,
                "station_name": "CT_ROOM_1", "series_uid": "1.2.3", "acquired": acquired},
        measurements=tuple(Measurement(k, v, "") for k, v in values.items()),
        inputs=(InputIdentity(uid, "ab" * 32),), imgqa_version="test")


@pytest.fixture
def result_factory():
    return make_result
