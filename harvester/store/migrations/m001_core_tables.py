"""Version 1: the schema version table, records, cursors, drafts (without `linked`) and
entries (without `outcome` and `deleted_at`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = sa.DateTime(timezone=True)

metadata = sa.MetaData()

# `version` autoincrements (SERIAL on PostgreSQL): that is how version 1 shipped, and every
# version is inserted explicitly anyway.
schema_info = sa.Table(
    "harvester_schema", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", UTC, nullable=False),
)

records = sa.Table(
    "records", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("external_id", sa.String(500), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("actor", sa.String(500)),
    sa.Column("mine", sa.Boolean, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("attributes", JSON, nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("fetched_at", UTC, nullable=False),
    sa.UniqueConstraint("owner", "source", "kind", "external_id", name="uq_records_key"),
    sa.Index("ix_records_group", "owner", "kind", "source", "subject", "occurred_at"),
)

cursors = sa.Table(
    "cursors", metadata,
    sa.Column("owner", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("seen_ids", JSON, nullable=False),
    sa.Column("state", JSON, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
)

drafts = sa.Table(
    "drafts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("statement", sa.Text, nullable=False),
    sa.Column("impact_prompt", sa.Text, nullable=False),
    sa.Column("metrics", JSON, nullable=False),
    sa.Column("evidence", JSON, nullable=False),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("edited", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", UTC, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
    sa.Column("decided_at", UTC),
    sa.UniqueConstraint("owner", "fingerprint", name="uq_drafts_fingerprint"),
    sa.Index("ix_drafts_status", "owner", "status"),
)

entries = sa.Table(
    "entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("draft_id", sa.Integer),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("evidence", JSON, nullable=False),
    sa.Column("metrics", JSON, nullable=False),
    sa.Column("created_at", UTC, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
    sa.Index("ix_entries_owner_time", "owner", "occurred_at"),
)


def apply(conn: sa.Connection) -> None:
    for table in (schema_info, records, cursors, drafts, entries):
        table.create(conn, checkfirst=True)
