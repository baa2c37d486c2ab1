"""The current shape of every table, as the queries use it. harvester.store.migrations
builds it (each migration with its own DDL), and a test checks that running every migration
from an empty database gives exactly these tables, columns, indexes and constraints."""

from __future__ import annotations

import sqlalchemy as sa

from harvester.store.values import SafeString, SafeText

metadata = sa.MetaData()


class StoredJSON(sa.types.TypeDecorator):
    """JSON, and JSONB on PostgreSQL: sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
    but importing SQLAlchemy's PostgreSQL dialect only on a PostgreSQL store."""

    impl = sa.JSON
    cache_ok = True
    should_evaluate_none = True  # as sa.JSON: None is stored as JSON null, not SQL NULL
    hashable = False

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


JSON = StoredJSON()
UTC = sa.DateTime(timezone=True)

schema_info = sa.Table(
    "harvester_schema", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", UTC, nullable=False),
)

records = sa.Table(
    "records", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", SafeString(200), nullable=False),
    sa.Column("source", SafeString(200), nullable=False),
    sa.Column("kind", SafeString(100), nullable=False),
    sa.Column("external_id", SafeString(500), nullable=False),
    sa.Column("subject", SafeString(500), nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("actor", SafeString(500)),
    sa.Column("mine", sa.Boolean, nullable=False),
    sa.Column("title", SafeText, nullable=False),
    sa.Column("url", SafeText),
    sa.Column("attributes", JSON, nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("fetched_at", UTC, nullable=False),
    sa.UniqueConstraint("owner", "source", "kind", "external_id", name="uq_records_key"),
    sa.Index("ix_records_group", "owner", "kind", "source", "subject", "occurred_at"),
)

cursors = sa.Table(
    "cursors", metadata,
    sa.Column("owner", SafeString(200), primary_key=True),
    sa.Column("source", SafeString(200), primary_key=True),
    sa.Column("stream", SafeString(100), primary_key=True),
    sa.Column("value", SafeText),
    sa.Column("seen_ids", JSON, nullable=False),
    sa.Column("state", JSON, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
)

findings = sa.Table(
    "findings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", SafeString(200), nullable=False),
    sa.Column("fingerprint", SafeString(64), nullable=False),
    sa.Column("rule", SafeString(100), nullable=False),
    sa.Column("kind", SafeString(100), nullable=False),
    sa.Column("source", SafeString(200), nullable=False),
    sa.Column("subject", SafeString(500), nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("period", SafeString(20), nullable=False),
    sa.Column("body", JSON, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
    sa.UniqueConstraint("owner", "fingerprint", name="uq_findings_fingerprint"),
)

drafts = sa.Table(
    "drafts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", SafeString(200), nullable=False),
    sa.Column("fingerprint", SafeString(64), nullable=False),
    sa.Column("status", SafeString(20), nullable=False),
    sa.Column("kind", SafeString(100), nullable=False),
    sa.Column("source", SafeString(200), nullable=False),
    sa.Column("subject", SafeString(500), nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("statement", SafeText, nullable=False),
    sa.Column("impact_prompt", SafeText, nullable=False),
    sa.Column("metrics", JSON, nullable=False),
    sa.Column("evidence", JSON, nullable=False),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("edited", sa.Boolean, nullable=False),
    sa.Column("reason", SafeText),
    sa.Column("created_at", UTC, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
    sa.Column("decided_at", UTC),
    sa.Column("linked", JSON),
    sa.UniqueConstraint("owner", "fingerprint", name="uq_drafts_fingerprint"),
    sa.Index("ix_drafts_status_time", "owner", "status", "occurred_at", "id"),
)

entries = sa.Table(
    "entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", SafeString(200), nullable=False),
    sa.Column("draft_id", sa.Integer),
    sa.Column("text", SafeText, nullable=False),
    sa.Column("occurred_at", UTC, nullable=False),
    sa.Column("kind", SafeString(100), nullable=False),
    sa.Column("source", SafeString(200), nullable=False),
    sa.Column("subject", SafeString(500), nullable=False),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("evidence", JSON, nullable=False),
    sa.Column("metrics", JSON, nullable=False),
    sa.Column("outcome", SafeText),
    sa.Column("created_at", UTC, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
    sa.Column("deleted_at", UTC),  # soft delete: the row and its text are kept
    sa.Index("ix_entries_owner_time", "owner", "occurred_at"),
)

harvest_runs = sa.Table(
    "harvest_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", SafeString(200), nullable=False),
    sa.Column("source", SafeString(200), nullable=False),
    sa.Column("started_at", UTC, nullable=False),
    sa.Column("finished_at", UTC),
    sa.Column("status", SafeString(20), nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("error", SafeText),
    sa.Index("ix_harvest_runs_source", "owner", "source", "started_at"),
)

app_state = sa.Table(
    "app_state", metadata,
    sa.Column("owner", SafeString(200), primary_key=True),
    sa.Column("key", SafeString(200), primary_key=True),
    sa.Column("value", JSON, nullable=False),
    sa.Column("updated_at", UTC, nullable=False),
)

# Every change the engineer makes to a draft or an entry: `item_type` is "draft" or "entry",
# `before_values`/`after_values` hold the changed fields, `via` says where it was made (cli, web, assistant).
audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", SafeString(200), nullable=False),
    sa.Column("item_type", SafeString(20), nullable=False),
    sa.Column("item_id", sa.Integer, nullable=False),
    sa.Column("action", SafeString(40), nullable=False),
    sa.Column("changed_at", UTC, nullable=False),
    sa.Column("before_values", JSON),
    sa.Column("after_values", JSON),
    sa.Column("via", SafeString(40), nullable=False),
    sa.Index("ix_audit_events_item", "owner", "item_type", "item_id"),
)

# Which PostgreSQL role is which team member (`owner` key): row-level security reads it
# (harvester.store.row_security). Unused on SQLite.
team_members = sa.Table(
    "team_members", metadata,
    sa.Column("db_role", SafeString(63), primary_key=True),
    sa.Column("owner", SafeString(200), nullable=False),
    sa.Column("added_at", UTC, nullable=False),
    sa.UniqueConstraint("owner", name="uq_team_members_owner"),
)

# Record groups a saved page changed since the owner's last drafting pass (migration 10).
changed_groups = sa.Table(
    "changed_groups", metadata,
    sa.Column("owner", SafeString(200), primary_key=True),
    sa.Column("source", SafeString(200), primary_key=True),
    sa.Column("kind", SafeString(100), primary_key=True),
    sa.Column("subject", SafeString(500), primary_key=True),
    sa.Column("token", SafeString(32), nullable=False),
)

# Full-text search structures (migration 6) are dialect-specific and not Tables here:
# SQLite FTS5 tables entries_fts/drafts_fts with their triggers, or PostgreSQL GIN indexes
# ix_entries_search/ix_drafts_search. See harvester/store/migrations/m006_search_index.py.
