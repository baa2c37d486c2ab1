"""Opening a store, and Store: every read and write of harvester's database, scoped to one
owner. Each concern's queries live in their own module (records, findings, drafts, journal,
audit, state); Store puts them together behind one object."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from harvester.errors import StoreError
from harvester.store import schema
from harvester.store.audit import AuditMixin
from harvester.store.changes import ChangesMixin
from harvester.store.drafts import DraftsMixin
from harvester.store.faults import first_line, hide_password, listen_for_errors
from harvester.store.findings import FindingsMixin
from harvester.store.journal import JournalMixin
from harvester.store.migrations import migrate
from harvester.store.records import RecordsMixin
from harvester.store.sqlite import (listen_for_pragmas, refuse_foreign_database, resolve_sqlite_file,
                                    use_write_ahead_log)
from harvester.store.state import RunLogMixin
from harvester.store.team_scope import RecordOwners
from harvester.store.values import dump_json, dump_json_for_postgresql


def open_store(url: str, owner: str, read_only: bool = False, harvest_owner: str | None = None,
               record_owners: RecordOwners | None = None) -> "Store":
    """Open the store at `url`, creating or migrating it when it can be written.

    A SQLite file that cannot be written (the file, or its folder), or a URL with mode=ro, is
    opened read-only: read commands work and the first write fails with one line. Every
    database error on the engine becomes a StoreError (see harvester.store.faults)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(f"[store] url {url!r} is not a database URL. Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db.") from None
    # SQLite URLs carry no password, and as written they are easier to recognise than re-rendered.
    label = url if parsed.get_backend_name() == "sqlite" else hide_password(parsed)
    sqlite_file = None
    if parsed.get_backend_name() == "sqlite":
        sqlite_file = resolve_sqlite_file(parsed, read_only)
        parsed = sqlite_file.url
        if sqlite_file.path is not None and not sqlite_file.read_only_reason:
            create_store_folder(sqlite_file.path, label)
    reason = sqlite_file.read_only_reason if sqlite_file else ("it was opened read-only" if read_only else "")
    try:
        engine = create_engine(parsed.render_as_string(hide_password=False))
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"[store] url {label!r} cannot be used: {first_line(exc)}. Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db.") from None
    except ModuleNotFoundError as exc:
        raise StoreError(f"The store URL needs the {exc.name} driver: pip install 'harvester[postgres]'.") from None
    if sqlite_file is not None:
        listen_for_pragmas(engine)
    elif reason:
        sa.event.listen(engine, "connect", _start_read_only_sessions)
    listen_for_errors(engine, label, reason)
    try:
        if sqlite_file is not None and sqlite_file.path is not None:
            with engine.connect() as conn:
                refuse_foreign_database(conn, label, schema.schema_info.name)
                if not reason:
                    use_write_ahead_log(conn)
        migrate(engine, read_only=bool(reason))
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, owner, label=label, sqlite_path=sqlite_file.path if sqlite_file else None,
                 read_only_reason=reason, harvest_owner=harvest_owner, record_owners=record_owners)


def create_engine(url: str) -> sa.Engine:
    if url.startswith("postgresql"):
        return sa.create_engine(url, future=True, json_serializer=dump_json_for_postgresql)
    return sa.create_engine(url, future=True, json_serializer=dump_json)


def create_store_folder(path: Path, label: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the folder {path.parent} for the store {label} ({exc.strerror}). "
                         "Point [store] url (or HARVESTER_HOME) at a folder you can write to.") from None


def _start_read_only_sessions(dbapi_conn, _record) -> None:
    """PostgreSQL opened read-only: every transaction of the session is READ ONLY."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    finally:
        dbapi_conn.autocommit = autocommit


class Store(RecordsMixin, ChangesMixin, FindingsMixin, DraftsMixin, JournalMixin, AuditMixin, RunLogMixin):
    def __init__(self, engine: sa.Engine, owner: str, label: str = "", sqlite_path: Path | None = None,
                 read_only_reason: str = "", harvest_owner: str | None = None,
                 record_owners: RecordOwners | None = None):
        self.engine = engine
        self.owner = owner
        self.harvest_owner = harvest_owner or owner
        self.record_owners = record_owners
        self.label = label or hide_password(engine.url)  # the URL, password hidden
        self.sqlite_path = sqlite_path  # the database file, for a SQLite store on disk
        self.read_only_reason = read_only_reason  # why writes are refused; "" when writable

    def close(self) -> None:
        self.engine.dispose()

    def for_owner(self, owner: str) -> "Store":
        """The same database seen as another owner (a team member), sharing this engine."""
        return Store(self.engine, owner, label=self.label, sqlite_path=self.sqlite_path,
                     read_only_reason=self.read_only_reason, harvest_owner=self.harvest_owner)

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn
