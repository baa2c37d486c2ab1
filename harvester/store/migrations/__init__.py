"""Numbered schema migrations, recorded in harvester_schema.

One module per version, named by what it does, each spelling out the DDL of its own version
(never derived from harvester.store.schema), so an old database is brought forward step by
step and a version, once shipped, never changes. The current schema is what they build, and a
test holds schema.py to it. Numbers 4 and 5 are not used."""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa

from harvester.errors import StoreError
from harvester.models import utcnow
from harvester.store import schema
from harvester.store.locks import advisory_key, hold_advisory_lock
from harvester.store.sqlite import exclusive_transaction

# version -> the module of harvester.store.migrations whose apply(conn) builds it; a module is
# imported only when its migration runs, so opening a current store loads none of them.
MIGRATIONS: dict[int, str] = {
    1: "m001_core_tables",
    2: "m002_findings_runs_state",
    3: "m003_draft_links",
    6: "m006_search_index",
    7: "m007_run_description_and_type",
    8: "m008_audit_trail",
    9: "m009_team_members",
    10: "m010_changed_groups",
    11: "m011_drafts_status_time",
}


def latest_version() -> int:
    return max(MIGRATIONS)


def current_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table(schema.schema_info.name):
        return 0
    value = conn.execute(sa.select(sa.func.max(schema.schema_info.c.version))).scalar()
    return int(value or 0)


def migrate(engine: sa.Engine, target: int | None = None, read_only: bool = False) -> int:
    """Apply every pending migration up to `target`, each in its own transaction.

    Processes sharing one database take turns: on PostgreSQL under an advisory lock held for
    the whole run, on SQLite in exclusive transactions. Each step re-reads the version once it
    holds the lock, so a process that waited finds the work done and applies nothing."""
    target = latest_version() if target is None else target
    with engine.connect() as conn:
        found = current_version(conn)
        conn.rollback()
        check_known_version(found)
        if found >= target:
            return found
        if read_only:
            raise StoreError(f"The store is at schema version {found} and this harvester needs version {target}, "
                             "but it is open read-only. Run any command once with write access to it to upgrade it.")
        with migration_lock(conn):
            for version in sorted(v for v in MIGRATIONS if found < v <= target):
                with migration_transaction(conn):
                    found = current_version(conn)
                    check_known_version(found)
                    if found >= version:
                        continue
                    apply_migration(conn, version)
                    conn.execute(schema.schema_info.insert().values(version=version, applied_at=utcnow()))
                    found = version
    return max(found, target)


def apply_migration(conn: sa.Connection, version: int) -> None:
    importlib.import_module(f"{__name__}.{MIGRATIONS[version]}").apply(conn)


def check_known_version(found: int) -> None:
    if found > latest_version():
        raise StoreError(
            f"The store is at schema version {found}, newer than this harvester knows ({latest_version()}). Upgrade harvester."
        )


@contextmanager
def migration_lock(conn: sa.Connection) -> Iterator[None]:
    if conn.dialect.name == "postgresql":
        with hold_advisory_lock(conn, advisory_key(conn, "migrate")):
            yield
    else:
        yield


@contextmanager
def migration_transaction(conn: sa.Connection) -> Iterator[None]:
    if conn.dialect.name == "sqlite":
        with exclusive_transaction(conn):
            yield
    else:
        with conn.begin():
            yield
