"""Numbered schema migrations, recorded in harvester_schema.

Each migration spells out the DDL of its own version, so an old database is
brought forward step by step rather than recreated from the current schema.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from harvester.errors import StoreError
from harvester.models import utcnow
from harvester.store import schema

MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {}


def migration(version: int):
    def register(fn: Callable[[sa.Connection], None]):
        MIGRATIONS[version] = fn
        return fn

    return register


def latest_version() -> int:
    return max(MIGRATIONS)


def current_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table(schema.schema_info.name):
        return 0
    value = conn.execute(sa.select(sa.func.max(schema.schema_info.c.version))).scalar()
    return int(value or 0)


def migrate(engine: sa.Engine, target: int | None = None) -> int:
    """Apply every pending migration up to `target`, each in its own transaction."""
    target = latest_version() if target is None else target
    with engine.begin() as conn:
        found = current_version(conn)
    if found > latest_version():
        raise StoreError(
            f"The store is at schema version {found}, newer than this harvester knows ({latest_version()}). Upgrade harvester."
        )
    for version in sorted(v for v in MIGRATIONS if found < v <= target):
        with engine.begin() as conn:
            MIGRATIONS[version](conn)
            conn.execute(schema.schema_info.insert().values(version=version, applied_at=utcnow()))
    return max(found, target)


def create_tables(conn: sa.Connection, *tables: sa.Table) -> None:
    for table in tables:
        table.create(conn, checkfirst=True)


def table_without(table: sa.Table, md: sa.MetaData, *later: str) -> sa.Table:
    """`table` as it was before the columns in `later` were added: the DDL of an old version."""
    kept = [c for c in table.columns if c.name not in later]
    items: list = [sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in kept]
    names = {c.name for c in kept}
    for con in table.constraints:
        cols = [c.name for c in con.columns]
        if isinstance(con, sa.UniqueConstraint) and set(cols) <= names:
            items.append(sa.UniqueConstraint(*cols, name=con.name))
    for idx in table.indexes:
        cols = [c.name for c in idx.columns]
        if set(cols) <= names:
            items.append(sa.Index(idx.name, *cols))
    return sa.Table(table.name, md, *items)


@migration(1)
def create_core_tables(conn: sa.Connection) -> None:
    """Version 1: records, cursors, drafts (without `linked`) and entries (without `outcome`)."""
    md = sa.MetaData()
    create_tables(conn, table_without(schema.schema_info, md), table_without(schema.records, md),
                  table_without(schema.cursors, md), table_without(schema.drafts, md, "linked"),
                  table_without(schema.entries, md, "outcome"))


@migration(2)
def add_findings_runs_state(conn: sa.Connection) -> None:
    """Version 2: findings, harvest run log, app state; entries gain the business outcome."""
    create_tables(conn, schema.findings, schema.harvest_runs, schema.app_state)
    conn.execute(sa.text("ALTER TABLE entries ADD COLUMN outcome TEXT"))


@migration(3)
def add_draft_links(conn: sa.Connection) -> None:
    """Version 3: drafts list the findings from other sources linked into them."""
    json_type = "JSONB" if conn.dialect.name == "postgresql" else "JSON"
    conn.execute(sa.text(f"ALTER TABLE drafts ADD COLUMN linked {json_type}"))


@migration(6)
def add_search_index(conn: sa.Connection) -> None:
    """Version 6: full-text search over entries and drafts (FTS5 on SQLite, GIN indexes on PostgreSQL)."""
    from harvester.store.search import create_search_index

    create_search_index(conn)
