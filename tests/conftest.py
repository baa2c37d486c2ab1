"""Shared fixtures: an isolated app dir per test, the store on SQLite and (when
HARVESTER_TEST_DATABASE_URL is set) PostgreSQL, and one real MLflow server per session."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.support.mlflow_server import start_mlflow_server

PG_ENV = "HARVESTER_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HARVESTER_HOME", str(home))
    monkeypatch.delenv("HARVESTER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


def pytest_configure(config):
    if os.environ.get("CI") and not os.environ.get(PG_ENV):
        raise pytest.UsageError(f"CI must run the PostgreSQL tests: set {PG_ENV}.")


def _pg_params():
    return [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=_pg_params())
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a private schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def store(database_url):
    from harvester.store import open_store

    s = open_store(database_url, "ada@example.com")
    yield s
    s.close()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server on a free loopback port, for the whole session."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    server = start_mlflow_server(Path(folder))
    yield server
    server.stop()


@pytest.fixture
def mlflow_env(monkeypatch):
    """No retries or backoff in tests: a failing request fails at once."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
