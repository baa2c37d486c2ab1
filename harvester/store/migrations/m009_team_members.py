"""Version 9: team_members, which database role belongs to which member (owner key). Row-level
security on PostgreSQL reads it (harvester.store.row_security); on SQLite it stays empty."""

from __future__ import annotations

import sqlalchemy as sa


def apply(conn: sa.Connection) -> None:
    time_type = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    # 63 characters: the longest name PostgreSQL gives a role.
    conn.execute(sa.text(
        f"CREATE TABLE team_members (db_role VARCHAR(63) NOT NULL, owner VARCHAR(200) NOT NULL, "
        f"added_at {time_type} NOT NULL, CONSTRAINT pk_team_members PRIMARY KEY (db_role), "
        f"CONSTRAINT uq_team_members_owner UNIQUE (owner))"))
