"""Version 11: the drafts index grows from (owner, status) to (owner, status, occurred_at, id),
the order `drafts list` reads in, so a list of one status is read from the index in order
(no sort of every draft) and --since becomes a range of it. It replaces the old index, so a
draft write still updates one index."""

from __future__ import annotations

import sqlalchemy as sa


def apply(conn: sa.Connection) -> None:
    conn.execute(sa.text("CREATE INDEX ix_drafts_status_time ON drafts (owner, status, occurred_at, id)"))
    conn.execute(sa.text("DROP INDEX ix_drafts_status"))
