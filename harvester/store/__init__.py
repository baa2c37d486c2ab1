"""The store: raw records, cursors, findings, drafts and journal entries (SQLAlchemy Core)."""

from harvester.store.store import Store, open_store

__all__ = ["Store", "open_store"]
