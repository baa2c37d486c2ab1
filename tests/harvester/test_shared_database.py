"""Two machines, each with its own app dir, sharing one store (a PostgreSQL database or one
SQLite file): the schema is migrated exactly once, and a store is never harvested by two
processes at once; the second exits 75 in one line, or harvests after the first is done."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from harvester.lock import LOCK_HELD_EXIT, STORE_LOCK_PURPOSE, store_lock_path
from harvester.store.locks import advisory_key
from harvester.store.migrations import MIGRATIONS
from harvester.store.sqlite import sqlite_path
from tests.conftest import PG_ENV
from tests.support.cli import run_cli, write_config
from tests.support.steady_source import install_steady_plugin, use_steady_source

OWNER = "ada@example.com"
TRIALS = 20
COUNT = 12  # records in the steady source


class FreshDatabases:
    """Empty databases of one kind: SQLite files, or private schemas on the PostgreSQL server."""

    def __init__(self, kind: str, folder: Path):
        self.kind, self.folder = kind, folder
        self.schemas: list[str] = []
        self.admin = None
        if kind == "postgresql":
            base = os.environ.get(PG_ENV)
            if not base:
                pytest.skip(f"{PG_ENV} is not set")
            self.base = base
            self.admin = sa.create_engine(base)

    def create(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / f'store-{uuid.uuid4().hex[:8]}.db'}"
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        self.schemas.append(schema)
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{schema}"

    def drop_all(self) -> None:
        if self.admin is None:
            return
        with self.admin.begin() as conn:
            for schema in self.schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def databases(request, tmp_path):
    found = FreshDatabases(request.param, tmp_path)
    yield found
    found.drop_all()


def machine(folder: Path, url: str, owner: str = OWNER, delay: float = 0.005) -> Path:
    """An app dir with its own config: what one machine sharing the store has."""
    folder.mkdir(parents=True, exist_ok=True)
    write_config(folder / "config.toml", f"""\
[identity]
email = "{owner}"

[store]
url = "{url}"

[harvest]
page_size = 4

[connectors.steady]
type = "steady"
count = {COUNT}
delay = {delay}
""")
    return folder


def read_store(url: str) -> tuple[list[int], list[tuple], int]:
    """Applied schema versions, harvest runs (source, status, started, finished), record count."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version FROM harvester_schema ORDER BY version")).scalars().all()
            runs = [tuple(r) for r in conn.execute(sa.text(
                "SELECT source, status, started_at, finished_at FROM harvest_runs ORDER BY started_at"))]
            records = conn.execute(sa.text("SELECT count(*) FROM records")).scalar()
    finally:
        engine.dispose()
    return versions, runs, records


def as_time(value):
    from datetime import datetime

    return datetime.fromisoformat(value) if isinstance(value, str) else value


def run_two_machines(databases: FreshDatabases, folder: Path, env: dict[str, str]) -> tuple[str, list]:
    url = databases.create()
    homes = [machine(folder / name, url) for name in ("machine-a", "machine-b")]
    procs = [subprocess.Popen([sys.executable, "-m", "harvester", "harvest", "--json"], cwd=folder,
                              env={**env, "HARVESTER_HOME": str(home)}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for home in homes]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return url, results


def test_two_machines_on_one_fresh_store_migrate_once_and_never_harvest_at_once(databases, tmp_path):
    env = {**os.environ, **install_steady_plugin(tmp_path / "plugin")}
    env.pop("HARVESTER_CONFIG", None)
    with ThreadPoolExecutor(max_workers=2) as pool:
        trials = list(pool.map(lambda i: run_two_machines(databases, tmp_path / f"trial-{i}", env), range(TRIALS)))
    for url, results in trials:
        codes = sorted(code for code, _, _ in results)
        assert codes in ([0, 0], [0, LOCK_HELD_EXIT]), results
        read = 0
        for code, out, err in results:
            assert "Traceback" not in err, err
            if code == LOCK_HELD_EXIT:
                assert err.strip().startswith("Error: Another harvest is running") and "\n" not in err.strip(), err
            else:
                read += json.loads(out)["sources"][0]["records"]
        versions, runs, records = read_store(url)
        assert versions == sorted(MIGRATIONS)  # each migration applied exactly once
        assert read == COUNT and records == COUNT  # no record fetched twice
        assert [status for _, status, _, _ in runs] == ["ok"] * len(runs)
        for earlier, later in zip(runs, runs[1:]):  # never two harvests of the store at once
            assert as_time(later[2]) >= as_time(earlier[3]), runs


@contextmanager
def hold_store_lock(url: str, owner: str = OWNER) -> Iterator[None]:
    """What a harvest running on another machine holds."""
    if url.startswith("sqlite"):
        path = store_lock_path(sqlite_path(sa.engine.make_url(url)))
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, b"4242 machine-a\n")
            yield
        finally:
            os.close(fd)
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            key = advisory_key(conn, STORE_LOCK_PURPOSE, owner)
            conn.execute(sa.text("SELECT pg_advisory_lock(:a, :b)"), {"a": key[0], "b": key[1]})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"), {"a": key[0], "b": key[1]})
                conn.commit()
    finally:
        engine.dispose()


def test_a_harvest_holding_the_store_on_another_machine_makes_this_one_exit_75(databases, tmp_path, monkeypatch):
    use_steady_source(monkeypatch)
    url = databases.create()
    home = machine(tmp_path / "machine-b", url, delay=0)
    monkeypatch.setenv("HARVESTER_HOME", str(home))
    assert run_cli("drafts", "list").exit_code == 0  # the store exists; its lock is what is held
    with hold_store_lock(url):
        for args in (["harvest"], ["nightly"]):
            result = run_cli(*args)
            assert result.exit_code == LOCK_HELD_EXIT, result.output
            err = result.stderr.strip()
            assert err.startswith("Error: Another harvest is running") and "\n" not in err, err
            assert "this run exits without harvesting" in err
            if url.startswith("sqlite"):
                assert "held by pid 4242 on machine-a" in err
            else:
                assert f"for {OWNER} held by pid" in err
        assert json.loads(run_cli("status", "--json").stdout)["nightly_running"] is True
        assert read_store(url)[1:] == ([], 0)  # no harvest started, nothing fetched
    assert json.loads(run_cli("status", "--json").stdout)["nightly_running"] is False
    done = run_cli("harvest")
    assert done.exit_code == 0, done.output
    assert read_store(url)[2] == COUNT


@pytest.mark.postgres
def test_another_owner_sharing_the_postgresql_database_harvests_meanwhile(tmp_path, monkeypatch):
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set")
    databases = FreshDatabases("postgresql", tmp_path)
    try:
        use_steady_source(monkeypatch)
        url = databases.create()
        monkeypatch.setenv("HARVESTER_HOME", str(machine(tmp_path / "grace", url, owner="grace@example.com", delay=0)))
        with hold_store_lock(url, owner=OWNER):
            result = run_cli("harvest")
        assert result.exit_code == 0, result.output
    finally:
        databases.drop_all()


@contextmanager
def hold_migration_lock(url: str) -> Iterator[None]:
    """What a process migrating the store holds."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(sa.engine.make_url(url)), isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            yield
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            key = advisory_key(conn, "migrate")
            conn.execute(sa.text("SELECT pg_advisory_lock(:a, :b)"), {"a": key[0], "b": key[1]})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"), {"a": key[0], "b": key[1]})
                conn.commit()
    finally:
        engine.dispose()


def test_a_process_opening_a_store_being_migrated_waits_then_finds_it_current(databases, tmp_path):
    url = databases.create()
    home = machine(tmp_path / "machine-b", url)
    env = {**os.environ, "HARVESTER_HOME": str(home)}
    env.pop("HARVESTER_CONFIG", None)
    with hold_migration_lock(url):
        proc = subprocess.Popen([sys.executable, "-m", "harvester", "drafts", "list"], cwd=tmp_path, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        assert proc.poll() is None, proc.communicate()  # waiting for the lock, not failing
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert read_store(url)[0] == sorted(MIGRATIONS)


OPEN_AND_WRITE = """
import sys
from harvester.store import open_store
store = open_store(sys.argv[1], "ada@example.com")
store.set_state("opened-by", {"process": sys.argv[2]})
store.close()
"""


def test_two_processes_creating_one_sqlite_store_at_once_both_succeed(tmp_path):
    """Switching a new file to WAL from two processes at once can deadlock on SQLite's locks,
    and SQLite answers one "database is locked" without waiting: it must try again."""
    failures = []
    for trial in range(20):
        url = f"sqlite:///{tmp_path / f'store-{trial}.db'}"
        procs = [subprocess.Popen([sys.executable, "-c", OPEN_AND_WRITE, url, str(n)], stderr=subprocess.PIPE, text=True)
                 for n in range(2)]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            if proc.returncode != 0:
                failures.append(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}")
    assert failures == []
