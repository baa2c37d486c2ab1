"""Version 6: full-text search over entries and drafts.

SQLite gets FTS5 external-content tables kept current by triggers (none when SQLite was built
without FTS5; search then matches words with LIKE); PostgreSQL gets GIN expression indexes.
harvester.store.search queries with these very names and expressions, so the planner can use
the indexes: searching other text takes a new migration, not an edit here."""

from __future__ import annotations

import sqlalchemy as sa

PG_CONFIG = "'english'::regconfig"
PG_VECTORS = {
    "entries": "coalesce(text, '') || ' ' || coalesce(outcome, '') || ' ' || coalesce(subject, '')",
    "drafts": "coalesce(statement, '') || ' ' || coalesce(subject, '')",
}
FTS_TABLES = {"entries": "entries_fts", "drafts": "drafts_fts"}
FTS_COLUMNS = {"entries": ("text", "outcome", "subject"), "drafts": ("statement", "subject")}


def fts5_available(conn: sa.Connection) -> bool:
    options = {row[0] for row in conn.exec_driver_sql("PRAGMA compile_options")}
    return "ENABLE_FTS5" in options


def apply(conn: sa.Connection) -> None:
    """Create the search structures for this dialect and index the rows that already exist."""
    if conn.dialect.name == "sqlite":
        if fts5_available(conn):
            for table in FTS_TABLES:
                create_sqlite_fts(conn, table)
    elif conn.dialect.name == "postgresql":
        for table, expr in PG_VECTORS.items():
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS ix_{table}_search ON {table} USING GIN (to_tsvector({PG_CONFIG}, {expr}))")


def create_sqlite_fts(conn: sa.Connection, table: str) -> None:
    fts, cols = FTS_TABLES[table], FTS_COLUMNS[table]
    names = ", ".join(cols)
    new = ", ".join(f"new.{c}" for c in cols)
    old = ", ".join(f"old.{c}" for c in cols)
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='{table}', content_rowid='id', "
        f"tokenize='porter unicode61 remove_diacritics 2')")
    conn.exec_driver_sql(
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END")
    conn.exec_driver_sql(
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END")
    conn.exec_driver_sql(
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {names} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END")
    # Index the rows written before this migration.
    conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
