"""The store: raw records, cursors, findings, drafts, journal entries and their audit trail
(SQLAlchemy Core, on SQLite or PostgreSQL).

Store (store.py) joins one module per concern: records, findings, drafts, journal, audit and
state; rows.py maps rows to models for all of them. What differs between the two databases is
kept in this package: ON CONFLICT upserts (upsert.py), the JSON type and what values each can
hold (schema.py, values.py), DDL (migrations/), full-text search (search.py, built by
migration 6), advisory locks (locks.py), SQLite's files and pragmas (sqlite.py), read-only
PostgreSQL sessions (store.py), a team's member roles and row-level security on PostgreSQL
(row_security.py) and the errors each raises (faults.py)."""

from harvester.store.store import Store, open_store

__all__ = ["Store", "open_store"]
