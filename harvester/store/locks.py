"""PostgreSQL advisory locks, so processes on different machines sharing one database take
turns: session-level, held by one connection until released or until that session ends
(a crashed process never leaves one behind).

Advisory locks are per database, not per schema: each key is derived from the lock's
purpose and the schema harvester's tables live in, so stores in two schemas never collide."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa

KEY_SPACE = 0x48525653  # "HRVS": the first key of every advisory lock harvester takes


def advisory_key(conn: sa.Connection, purpose: str, *parts: str) -> tuple[int, int]:
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar() or ""
    digest = hashlib.blake2b("\0".join((purpose, schema, *parts)).encode(), digest_size=4).digest()
    return KEY_SPACE, int.from_bytes(digest, "big", signed=True)


def _params(key: tuple[int, int]) -> dict[str, int]:
    return {"space": key[0], "key": key[1]}


@contextmanager
def hold_advisory_lock(conn: sa.Connection, key: tuple[int, int]) -> Iterator[None]:
    """Wait for the lock, hold it for the block."""
    conn.execute(sa.text("SELECT pg_advisory_lock(:space, :key)"), _params(key))
    conn.commit()
    try:
        yield
    finally:
        release_advisory_lock(conn, key)


def try_advisory_lock(conn: sa.Connection, key: tuple[int, int]) -> bool:
    taken = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:space, :key)"), _params(key)).scalar())
    conn.commit()
    return taken


def release_advisory_lock(conn: sa.Connection, key: tuple[int, int]) -> None:
    """A rollback does not release a session lock: unlock it, or, when the connection is
    broken, discard it (its session ends, and the lock with it)."""
    try:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(sa.text("SELECT pg_advisory_unlock(:space, :key)"), _params(key))
        conn.commit()
    except Exception:
        conn.invalidate()


def describe_advisory_holder(conn: sa.Connection, key: tuple[int, int]) -> str:
    """' by pid N from ADDRESS' of the session holding the lock, or '' when it has gone."""
    row = conn.execute(sa.text(
        "SELECT a.pid, host(a.client_addr) AS addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :cls AND l.objid::bigint = :obj "
        "AND l.objsubid = 2"), {"cls": key[0] & 0xFFFFFFFF, "obj": key[1] & 0xFFFFFFFF}).first()
    conn.commit()
    if row is None:
        return ""
    return f" by pid {row.pid}" + (f" from {row.addr}" if row.addr else "")
