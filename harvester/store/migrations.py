"""Numbered schema migrations, recorded in harvester_schema.

Each migration spells out the DDL of its own version, so an old database is
brought forward step by step rather than recreated from the current schema.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from harvester.errors import StoreError
from harvester.models import utcnow
from harvester.store import schema
from harvester.store.locks import advisory_key, hold_advisory_lock
from harvester.store.sqlite import exclusive_transaction

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
                    MIGRATIONS[version](conn)
                    conn.execute(schema.schema_info.insert().values(version=version, applied_at=utcnow()))
                    found = version
    return max(found, target)


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
                  table_without(schema.entries, md, "outcome", "deleted_at"))


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


RUN_BACKFILL_BATCH = 1000


@migration(7)
def add_run_description_and_type(conn: sa.Connection) -> None:
    """Version 7: MLflow run records gain `description` (the run's note) and `run_type`, read
    from the run JSON stored as their payload, so rules see them on runs harvested before."""
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    records = sa.table("records", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                       sa.column("attributes", json_type), sa.column("payload", json_type))
    # Only the parts of the payload needed: the tags of a run and whether it is MLflow's run JSON
    # (W&B run nodes have no info.run_id).
    run_id = records.c.payload[("info", "run_id")].as_string().label("run_id")
    tags = records.c.payload[("data", "tags")].label("tags")
    # Pages are id ranges rather than ORDER BY id LIMIT n: with stale planner statistics
    # PostgreSQL sorted every remaining row for each such page.
    page = (sa.select(records.c.id, records.c.attributes, run_id, tags)
            .where(records.c.kind == "run", records.c.id >= sa.bindparam("low"), records.c.id < sa.bindparam("high")))
    update = (records.update().where(records.c.id == sa.bindparam("row_id"))
              .values(attributes=sa.bindparam("new_attributes", type_=json_type)))
    first, last = conn.execute(sa.select(sa.func.min(records.c.id), sa.func.max(records.c.id))).one()
    if first is None:
        return
    for low in range(first, last + 1, RUN_BACKFILL_BATCH):
        changed = []
        for row in conn.execute(page, {"low": low, "high": low + RUN_BACKFILL_BATCH}):
            attributes = backfill_run_attributes(row.attributes, row.tags) if row.run_id is not None else None
            if attributes is not None:
                changed.append({"row_id": row.id, "new_attributes": attributes})
        if changed:
            conn.execute(update, changed)


def backfill_run_attributes(attributes: Any, tags: Any) -> dict[str, Any] | None:
    """The attributes with `description` and `run_type` added where missing, from an MLflow
    run's tags (a list of {"key", "value"}); None when nothing is missing.

    Kept apart from the connector's parsing on purpose: a migration must go on doing what it
    did when it shipped."""
    if not isinstance(attributes, dict) or ("description" in attributes and "run_type" in attributes):
        return None
    items = tags if isinstance(tags, list) else ()
    values = {t.get("key"): t.get("value") for t in items if isinstance(t, dict)}
    added = {"description": str(values.get("mlflow.note.content") or "").strip(),
             "run_type": str(values.get("mlflow.runType") or "").strip()}
    return {**attributes, **{k: v for k, v in added.items() if k not in attributes}}


@migration(8)
def add_audit_trail(conn: sa.Connection) -> None:
    """Version 8: an audit trail of every change the engineer makes, and soft-deleted entries."""
    postgresql_store = conn.dialect.name == "postgresql"
    json_type = "JSONB" if postgresql_store else "JSON"
    time_type = "TIMESTAMP WITH TIME ZONE" if postgresql_store else "DATETIME"
    key = "SERIAL PRIMARY KEY" if postgresql_store else "INTEGER NOT NULL PRIMARY KEY"
    conn.execute(sa.text(f"ALTER TABLE entries ADD COLUMN deleted_at {time_type}"))
    conn.execute(sa.text(
        f"CREATE TABLE audit_events (id {key}, owner VARCHAR(200) NOT NULL, item_type VARCHAR(20) NOT NULL, "
        f"item_id INTEGER NOT NULL, action VARCHAR(40) NOT NULL, changed_at {time_type} NOT NULL, "
        f"before_values {json_type}, after_values {json_type}, via VARCHAR(40) NOT NULL)"))
    conn.execute(sa.text("CREATE INDEX ix_audit_events_item ON audit_events (owner, item_type, item_id)"))
