"""Version 8: an audit trail of every change the engineer makes, and soft-deleted entries."""

from __future__ import annotations

import sqlalchemy as sa


def apply(conn: sa.Connection) -> None:
    postgresql_store = conn.dialect.name == "postgresql"
    json_type = "JSONB" if postgresql_store else "JSON"
    time_type = "TIMESTAMP WITH TIME ZONE" if postgresql_store else "DATETIME"
    key = "SERIAL PRIMARY KEY" if postgresql_store else "INTEGER NOT NULL PRIMARY KEY"
    conn.execute(sa.text(f"ALTER TABLE entries ADD COLUMN deleted_at {time_type}"))
    conn.execute(sa.text(
        f"CREATE TABLE audit_events (id {key}, owner VARCHAR(200) NOT NULL, item_type VARCHAR(20) NOT NULL, "
        f"item_id INTEGER NOT NULL, action VARCHAR(40) NOT NULL, changed_at {time_type} NOT NULL, "
        f"before_values {json_type}, after_values {json_type}, via VARCHAR(40) NOT NULL)"))
    conn.execute(sa.text("CREATE INDEX ix_audit_events_item ON audit_events (owner, item_type, item_id)"))
