"""Version 3: drafts list the findings from other sources linked into them."""

from __future__ import annotations

import sqlalchemy as sa


def apply(conn: sa.Connection) -> None:
    json_type = "JSONB" if conn.dialect.name == "postgresql" else "JSON"
    conn.execute(sa.text(f"ALTER TABLE drafts ADD COLUMN linked {json_type}"))
