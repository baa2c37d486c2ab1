"""SQLite specifics: which file a URL names, whether harvester may write it, how to open it
read-only, the connection pragmas, exclusive transactions, and refusing foreign databases."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import quote, unquote

import sqlalchemy as sa

from harvester.errors import StoreError

BUSY_TIMEOUT_MS = 10_000  # a second process waits this long for a write lock (e.g. a migration)


@dataclass(frozen=True)
class SqliteFile:
    """The file a sqlite URL names (None for an in-memory database), the URL to open it with,
    and why it is opened read-only ("" when it is writable)."""

    path: Path | None
    url: sa.URL
    read_only_reason: str = ""


def resolve_sqlite_file(url: sa.URL, read_only: bool = False) -> SqliteFile:
    path = sqlite_path(url)
    if path is None:
        return SqliteFile(None, url)
    reason = read_only_reason(url, path, read_only)
    if not reason:
        return SqliteFile(path, url.set(database=str(path)) if not is_uri(url) else url)
    if not path.exists():
        raise StoreError(f"There is no store at {path}, and it cannot be created: {reason}. "
                         "Point [store] url at an existing store, or at a folder you can write to.")
    return SqliteFile(path, read_only_url(url, path), reason)


def is_uri(url: sa.URL) -> bool:
    return str(url.query.get("uri", "")).lower() in ("true", "1")


def sqlite_path(url: sa.URL) -> Path | None:
    """The database file, `~` expanded; None for an in-memory database."""
    database = url.database or ""
    if is_uri(url):
        if url.query.get("mode") == "memory":
            return None
        if database.startswith("file:"):
            rest = database[len("file:"):].split("?", 1)[0]
            if rest.startswith("//"):  # file://host/path: the authority is empty or localhost
                rest = rest[2:]
                rest = rest[rest.find("/"):] if "/" in rest else ""
            database = unquote(rest)
    return None if database in ("", ":memory:") else Path(database).expanduser()


def read_only_reason(url: sa.URL, path: Path, requested: bool) -> str:
    if url.query.get("mode") == "ro" or url.query.get("immutable") == "1":
        return "its [store] url opens it read-only"
    if requested:
        return "it was opened read-only"
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is not writable"
    folder = path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is not writable"
    return ""


def read_only_url(url: sa.URL, path: Path) -> sa.URL:
    """mode=ro when the -wal and -shm files are there (the -wal may hold committed pages not
    yet in the file); immutable otherwise: mode=ro would create them, read-only, and the
    first write once the store is writable again would fail on them."""
    query = {k: v for k, v in url.query.items() if k not in ("uri", "mode", "immutable")}
    query.update(uri="true", mode="ro")
    if not all(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm")):
        query["immutable"] = "1"
    return url.set(database=f"file:{quote(str(path.resolve()))}", query=query)


def listen_for_pragmas(engine: sa.Engine) -> None:
    def set_busy_timeout(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cur.close()

    sa.event.listen(engine, "connect", set_busy_timeout)


def use_write_ahead_log(conn: sa.Connection) -> None:
    """WAL, so readers never wait for the harvest writing. The mode is kept in the file, so it
    is set once the file is known to be harvester's: never on another program's database.

    Two processes switching a new file at once can deadlock on its locks, and SQLite then
    answers one of them "database is locked" at once, without waiting (busy_timeout): that one
    tries again, and usually finds the other has switched it already."""
    import sqlite3

    dbapi_conn = conn.connection.dbapi_connection  # below the engine's error translation
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                dbapi_conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise StoreError(f"The store {conn.engine.url.database} is busy ({exc}): another process held a "
                                 "lock too long. Try again in a moment.") from None
            time.sleep(0.05)


@contextmanager
def exclusive_transaction(conn: sa.Connection) -> Iterator[None]:
    """BEGIN EXCLUSIVE: other writers wait (busy_timeout) until it commits.

    pysqlite begins transactions on its own, and only before INSERT/UPDATE/DELETE (DDL ran in
    autocommit); with its isolation_level None on this connection, the BEGIN is ours and the
    transaction covers the DDL too."""
    dbapi_conn = conn.connection.dbapi_connection
    saved = dbapi_conn.isolation_level
    dbapi_conn.isolation_level = None
    try:
        with conn.begin():
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
            yield
    finally:
        dbapi_conn.isolation_level = saved


def refuse_foreign_database(conn: sa.Connection, label: str, marker_table: str) -> None:
    """A SQLite file with tables but no `marker_table` belongs to something else: never add
    harvester's tables to it."""
    names = sa.inspect(conn).get_table_names()
    if names and marker_table not in names:
        raise StoreError(
            f"{label} is a SQLite database of something else, not a harvester store (it has tables such as "
            f"{names[0]!r} but no {marker_table!r}); it was left untouched. Point [store] url at a new file "
            "(for example sqlite:///~/harvester.db) or at your harvester store.")
