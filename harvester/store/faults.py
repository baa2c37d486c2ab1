"""What a database error means for the person running harvester: one line naming the store
(password hidden), the database's own message and the fix; never the SQL or its parameters,
which SQLAlchemy's own message carries."""

from __future__ import annotations

import sqlalchemy as sa

from harvester.errors import StoreError

KEPT = "everything committed before it is kept"
READ_COMMANDS = "drafts list, journal, status, report, search"  # what a read-only store still serves


def hide_password(url: str | sa.URL) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(an unreadable [store] url)"


def first_line(exc: BaseException) -> str:
    """The database's own message, first line only: psycopg adds DETAIL and HINT lines that
    can quote row values."""
    text = str(exc).strip()
    return (text.splitlines()[0].strip() if text else type(exc).__name__).rstrip(".")


def read_only_message(label: str, reason: str, doing: str = "this command") -> str:
    return (f"The store {label} is read-only ({reason}), and {doing} writes to it. Make it writable (for SQLite: "
            f"the file and its folder, chmod u+w), or run only read commands ({READ_COMMANDS}).")


def describe_database_error(orig: BaseException, label: str, read_only_reason: str = "",
                            connecting: bool = False) -> str:
    """One line for a DBAPI exception (sqlite3 or psycopg) raised while using the store `label`."""
    said = first_line(orig)
    code = str(getattr(orig, "sqlite_errorname", "") or "")
    state = str(getattr(orig, "sqlstate", "") or "")
    if code == "SQLITE_FULL" or state == "53100":
        return (f"The store {label} is full ({said}). Free space on its disk, then re-run: {KEPT}.")
    if code == "SQLITE_NOTADB":
        return (f"The store {label} is not a SQLite database ({said}). Point [store] url at your harvester store, "
                "or move this file away to start a new store.")
    if code.startswith("SQLITE_CORRUPT"):
        return (f"The store {label} is damaged ({said}). Restore it from a backup, or move it away and "
                "harvest again into a new store.")
    if code.startswith("SQLITE_READONLY") or state == "25006":
        return read_only_message(label, read_only_reason or said)
    if code == "SQLITE_CANTOPEN":
        return (f"Cannot open the store {label} ({said}). Check that its folder exists and that you can write to it, "
                "or point [store] url elsewhere.")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or state in ("55P03", "40P01", "40001"):
        return (f"The store {label} is busy ({said}): another process held a lock too long. Try again in a moment: "
                f"{KEPT}.")
    if code.startswith(("SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH")):
        return (f"Cannot read or write the store {label} ({said}). Check the disk and the file's permissions, "
                f"then re-run: {KEPT}.")
    if state.startswith("28"):
        return (f"The database server refused harvester's login to {label} ({said}). Check the user and password "
                "of [store] url (or PGPASSWORD).")
    if state == "3D000":
        return f"The database of {label} does not exist ({said}). Create it (createdb) or fix [store] url."
    if state == "42501":
        return (f"The database user of {label} lacks a permission ({said}). Grant it, or connect as the user "
                "that owns harvester's tables.")
    if state.startswith(("08", "57P")) or (connecting and not state and not code):
        return f"Cannot reach the store {label} ({said}). Check [store] url and that the database server is running."
    return (f"The store {label} failed ({said}). Check [store] url and the database, then re-run: {KEPT}.")


def listen_for_errors(engine: sa.Engine, label: str, read_only_reason: str = "") -> None:
    """Every DBAPI error on this engine, whichever command and statement raised it, becomes
    a StoreError (the CLI prints it as one line). Transactions roll back as they unwind."""

    def raise_store_error(context) -> None:
        if isinstance(context.sqlalchemy_exception, sa.exc.DBAPIError):  # not errors of harvester's own values
            message = describe_database_error(context.original_exception, label, read_only_reason,
                                              connecting=context.connection is None)
            raise StoreError(message) from None

    sa.event.listen(engine, "handle_error", raise_store_error)


def store_error_from(exc: BaseException, label: str) -> StoreError | None:
    """The StoreError for a database error that reached the CLI without passing an engine of
    open_store (None when `exc` is not one)."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        return StoreError(describe_database_error(exc.orig, label))
    return None
