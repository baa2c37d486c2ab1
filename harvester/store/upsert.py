"""Insert-or-update by natural key: ON CONFLICT on SQLite and PostgreSQL, a select-then-write
fallback on any other database."""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa


def upsert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], key: Sequence[str]) -> None:
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(table)
        updates = {c: stmt.excluded[c] for c in rows[0] if c not in key}
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updates) if updates \
            else stmt.on_conflict_do_nothing(index_elements=list(key))
        conn.execute(stmt, list(rows))
        return
    for row in rows:  # portable fallback for other databases
        cond = sa.and_(*(table.c[k] == row[k] for k in key))
        if conn.execute(sa.select(sa.literal(1)).select_from(table).where(cond)).first():
            conn.execute(table.update().where(cond).values({k: v for k, v in row.items() if k not in key}))
        else:
            conn.execute(table.insert().values(row))
