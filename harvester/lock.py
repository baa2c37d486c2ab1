"""One harvest at a time per app dir: `harvest` and `nightly` take the same OS lock."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harvester.config import app_dir
from harvester.errors import HarvesterError

LOCK_FILENAME = "harvest.lock"
LOCK_HELD_EXIT = 75  # EX_TEMPFAIL: another run holds the lock; try again later


class LockHeldError(HarvesterError):
    """Another harvest is running right now."""

    exit_code = LOCK_HELD_EXIT


@contextmanager
def harvest_lock(path: Path | None = None) -> Iterator[Path]:
    """An exclusive OS lock (flock): released by the kernel when the process ends, even on a
    crash, so a stale lock never blocks the next night."""
    path = path or app_dir() / LOCK_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            by = f" by pid {holder}" if holder.isdigit() else ""
            raise LockHeldError(f"Another harvest is running (lock {path} held{by}); "
                                "this run exits without harvesting.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def lock_is_held(path: Path | None = None) -> bool:
    path = path or app_dir() / LOCK_FILENAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
