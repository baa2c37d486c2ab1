"""One harvest at a time: `harvest` and `nightly` take the same locks. In the app dir an OS
lock file named after the store (`harvest.lock` for the default store), so two configs with
their own stores in one app dir never block each other; per store a lock of its own (a
PostgreSQL advisory lock, or a lock file next to the SQLite file), so two machines with their
own app dirs sharing one database never harvest it at once. A run that finds a lock taken
exits at once with LOCK_HELD_EXIT."""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from harvester.config import AppDirError, app_dir, default_store_url, describe_unwritable
from harvester.errors import HarvesterError, StoreError

if TYPE_CHECKING:
    from harvester.store import Store

LOCK_FILENAME = "harvest.lock"
STORE_LOCK_SUFFIX = ".harvest.lock"  # next to a SQLite store: <file>.harvest.lock
LOCK_HELD_EXIT = 75  # EX_TEMPFAIL: another run holds the lock; try again later
STORE_LOCK_PURPOSE = "harvest"


def name_for_store(store_url: str, filename: str) -> str:
    """`filename` for the default store; `stem-<hash of the store URL>.suffix` for any other.
    The password is left out of the hash, so changing it never changes the name."""
    if store_url == default_store_url():
        return filename
    from harvester.store.faults import hide_password

    stem, _, suffix = filename.rpartition(".")
    return f"{stem}-{hashlib.sha256(hide_password(store_url).encode()).hexdigest()[:10]}.{suffix}"


def app_lock_path(store_url: str) -> Path:
    """The app dir's harvest lock for one store."""
    return app_dir() / name_for_store(store_url, LOCK_FILENAME)


class LockHeldError(HarvesterError):
    """Another harvest is running right now."""

    exit_code = LOCK_HELD_EXIT


@contextmanager
def harvest_lock(path: Path, store: Callable[[], "Store"] | None = None) -> Iterator[Path]:
    """The app dir's lock at `path` (see app_lock_path), then the store's. `store` opens the
    store; it is called only once the app dir's lock is held, so a run that finds that lock
    taken never touches the store."""

    def unwritable(exc: OSError) -> HarvesterError:
        return AppDirError(describe_unwritable(exc, "the lock file", path, "Make its folder writable, or set "
                                               "HARVESTER_HOME to a folder you can write to."))

    with hold_lock_file(path, f"lock {path}", unwritable):
        if store is None:
            yield path
        else:
            with store_harvest_lock(store()):
                yield path


@contextmanager
def store_harvest_lock(store: "Store") -> Iterator[None]:
    """The store's own harvest lock: per owner on PostgreSQL (a team shares one database),
    per file on SQLite. Nothing to take for an in-memory database."""
    from harvester.store.faults import read_only_message

    if store.read_only_reason:
        raise StoreError(read_only_message(store.label, store.read_only_reason, "harvesting"))
    if store.engine.dialect.name == "postgresql":
        with hold_advisory_harvest_lock(store):
            yield
    elif store.sqlite_path is not None:
        path = store_lock_path(store.sqlite_path)

        def unwritable(exc: OSError) -> HarvesterError:
            return StoreError(describe_unwritable(exc, "the store's harvest lock", path, "It sits next to the "
                                                  "store's file: make that folder writable, or point [store] url "
                                                  "elsewhere."))

        with hold_lock_file(path, f"store lock {path}", unwritable):
            yield
    else:
        yield


def store_lock_path(database: Path) -> Path:
    return database.with_name(database.name + STORE_LOCK_SUFFIX)


@contextmanager
def hold_lock_file(path: Path, name: str, unwritable: Callable[[OSError], HarvesterError]) -> Iterator[None]:
    """An exclusive flock on `path`: released by the kernel when the process ends, even on a
    crash, so a stale lock never blocks the next night. The file names the holder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise unwritable(exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeldError(f"Another harvest is running ({name} held{describe_holder(fd)}); "
                                "this run exits without harvesting.") from None
        try:
            # Written before the old content is cut, so a reader never finds the file empty.
            holder = f"{os.getpid()} {socket.gethostname()}\n".encode()
            os.pwrite(fd, holder, 0)
            os.ftruncate(fd, len(holder))
        except OSError as exc:
            raise unwritable(exc) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def describe_holder(fd: int) -> str:
    """' by pid N' (' on HOST' when the holder wrote it) from a lock file's content."""
    words = os.pread(fd, 300, 0).decode("ascii", "replace").split()
    if not words:  # the holder took the lock an instant ago and is writing its pid
        time.sleep(0.05)
        words = os.pread(fd, 300, 0).decode("ascii", "replace").split()
    if not words or not words[0].isdigit():
        return ""
    return f" by pid {words[0]}" + (f" on {words[1]}" if len(words) > 1 else "")


@contextmanager
def hold_advisory_harvest_lock(store: "Store") -> Iterator[None]:
    from harvester.store.locks import advisory_key, describe_advisory_holder, release_advisory_lock, try_advisory_lock

    with store.engine.connect() as conn:
        key = advisory_key(conn, STORE_LOCK_PURPOSE, store.harvest_owner)
        if not try_advisory_lock(conn, key):
            raise LockHeldError(f"Another harvest is running (database lock on {store.label} for {store.harvest_owner} "
                                f"held{describe_advisory_holder(conn, key)}); this run exits without harvesting.")
        try:
            yield
        finally:
            release_advisory_lock(conn, key)


def lock_is_held(path: Path, store: "Store | None" = None) -> bool:
    """Whether a harvest holds the app dir's lock at `path` or, given `store`, the store's."""
    if file_lock_is_held(path):
        return True
    if store is None:
        return False
    if store.engine.dialect.name == "postgresql":
        from harvester.store.locks import advisory_key, release_advisory_lock, try_advisory_lock

        with store.engine.connect() as conn:
            key = advisory_key(conn, STORE_LOCK_PURPOSE, store.harvest_owner)
            if not try_advisory_lock(conn, key):
                return True
            release_advisory_lock(conn, key)
        return False
    return store.sqlite_path is not None and file_lock_is_held(store_lock_path(store.sqlite_path))


def file_lock_is_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # missing, or unreadable: no harvest could have taken it
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
