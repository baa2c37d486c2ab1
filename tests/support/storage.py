"""Real storage faults for tests: read-only folders, a full disk, a database size cap.

Root ignores file permissions, so for root a read-only folder is a tmpfs remounted
read-only (the kernel refuses every write with EROFS) and a small disk is a small tmpfs;
where mounting is not allowed those tests skip, saying why."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

IS_ROOT = os.geteuid() == 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True, timeout=30)
    except OSError as exc:
        pytest.skip(f"running as root, and cannot mount a tmpfs ({exc}) to refuse writes to root")
    if done.returncode != 0:
        pytest.skip(f"running as root, and cannot mount a tmpfs to refuse writes to root: {done.stderr.strip()}")


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


class SealableFolder:
    """A folder to fill, then `seal()` so that this process cannot write anything in it."""

    def __init__(self, path: Path):
        self.path = path
        self.sealed = False

    def seal(self) -> None:
        if IS_ROOT:
            subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True, timeout=30)
        else:
            for p in [self.path, *self.path.rglob("*")]:
                mode = p.stat().st_mode
                p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        self.sealed = True

    def unseal(self) -> None:
        if not self.sealed:
            return
        if IS_ROOT:
            subprocess.run(["mount", "-o", "remount,rw", str(self.path)], check=True, timeout=30)
        else:
            for p in [self.path, *self.path.rglob("*")]:
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
        self.sealed = False


@contextmanager
def sealable_folder(path: Path) -> Iterator[SealableFolder]:
    if IS_ROOT:
        mount_tmpfs(path, "16m")
    else:
        path.mkdir(parents=True, exist_ok=True)
    folder = SealableFolder(path)
    try:
        yield folder
    finally:
        folder.unseal()
        if IS_ROOT:
            unmount(path)


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A file system of `size` at `path` (root only: a tmpfs)."""
    if not IS_ROOT:
        pytest.skip("a small disk is a tmpfs, and mounting one needs root")
    mount_tmpfs(path, size)
    try:
        yield path
    finally:
        unmount(path)


def grow_disk(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, timeout=30)


@contextmanager
def sqlite_page_cap(max_pages: int) -> Iterator[None]:
    """Every SQLite connection opened in this process may grow its database to `max_pages`
    pages; past that SQLite fails with its real SQLITE_FULL, as on a full disk."""

    def cap(dbapi_conn, _record) -> None:
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            dbapi_conn.execute(f"PRAGMA max_page_count={max_pages}")

    sa.event.listen(sa.pool.Pool, "connect", cap)
    try:
        yield
    finally:
        sa.event.remove(sa.pool.Pool, "connect", cap)
