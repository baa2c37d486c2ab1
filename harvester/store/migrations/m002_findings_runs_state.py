"""Version 2: findings, the harvest run log and app state; entries gain the business outcome."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = sa.DateTime(timezone=True)

metadata = sa.MetaData()

findings = sa.Table(
    "findings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("period", sa.String(20), nullable=False),
    sa.Column("body", JSON, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
    sa.UniqueConstraint("owner", "fingerprint", name="uq_findings_fingerprint"),
)

harvest_runs = sa.Table(
    "harvest_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("started_at", UTC, nullable=False),
    sa.Column("finished_at", UTC),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Index("ix_harvest_runs_source", "owner", "source", "started_at"),
)

app_state = sa.Table(
    "app_state", metadata,
    sa.Column("owner", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", JSON, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
)


def apply(conn: sa.Connection) -> None:
    for table in (findings, harvest_runs, app_state):
        table.create(conn, checkfirst=True)
    conn.execute(sa.text("ALTER TABLE entries ADD COLUMN outcome TEXT"))
