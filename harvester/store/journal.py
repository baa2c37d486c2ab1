"""The journal: entries confirmed from drafts or written by hand, soft-deleted and restored,
and searched."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa

from harvester.errors import NotFoundError, StateError
from harvester.models import Entry, ensure_utc, utcnow
from harvester.store import schema
from harvester.store.audit import record_change
from harvester.store.rows import row_to_entry
from harvester.store.search import SearchFilters, SearchHit, search_entries_and_drafts


def insert_entry(conn: sa.Connection, owner: str, entry: Entry, now: datetime) -> int:
    result = conn.execute(schema.entries.insert().values(
        owner=owner, draft_id=entry.draft_id, text=entry.text, occurred_at=ensure_utc(entry.occurred_at),
        kind=entry.kind, source=entry.source, subject=entry.subject, tags=list(entry.tags),
        evidence=[e.as_dict() for e in entry.evidence], metrics=[m.as_dict() for m in entry.metrics],
        outcome=entry.outcome, created_at=now, updated_at=now))
    return int(result.inserted_primary_key[0])


def restore_hint(entry: Entry, draft_status: str | None) -> str:
    if draft_status not in (None, "confirmed"):
        return f"confirm its draft again to bring it back: `harvester drafts confirm {entry.draft_id}`."
    return f"bring it back with `harvester journal restore {entry.id}`."


class JournalMixin:
    engine: sa.Engine
    owner: str

    def add_entry(self, entry: Entry, via: str = "cli") -> Entry:
        now = utcnow()
        with self.engine.begin() as conn:
            entry_id = insert_entry(conn, self.owner, entry, now)
            record_change(conn, self.owner, "entry", entry_id, "created", None, {"text": entry.text}, via, now)
        return replace(entry, id=entry_id, created_at=now)

    def list_entries(self, since: datetime | None = None, until: datetime | None = None,
                     limit: int | None = None) -> list[Entry]:
        """The journal: every entry not deleted, newest first (at most `limit`, the newest)."""
        t = schema.entries
        q = (sa.select(t).where(*self._entry_filters(since, until))
             .order_by(t.c.occurred_at.desc(), t.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [row_to_entry(r) for r in conn.execute(q).mappings()]

    def count_entries(self, since: datetime | None = None, until: datetime | None = None) -> int:
        """How many entries `list_entries` with the same bounds lists."""
        q = sa.select(sa.func.count()).select_from(schema.entries).where(*self._entry_filters(since, until))
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def _entry_filters(self, since: datetime | None, until: datetime | None) -> list:
        t = schema.entries
        filters = [t.c.owner == self.owner, t.c.deleted_at.is_(None)]
        if since:
            filters.append(t.c.occurred_at >= since)
        if until:
            filters.append(t.c.occurred_at < until)
        return filters

    def get_entry(self, entry_id: int, include_deleted: bool = False) -> Entry:
        """One journal entry; a deleted one only with `include_deleted` (else StateError naming the way back)."""
        t = schema.entries
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.owner == self.owner, t.c.id == entry_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"No journal entry with id {entry_id}. List them with `harvester journal`.")
        entry = row_to_entry(row)
        if entry.deleted_at is not None and not include_deleted:
            raise StateError(f"Journal entry #{entry_id} was deleted on {entry.deleted_at:%Y-%m-%d %H:%M} UTC; "
                             f"{restore_hint(entry, self.entry_draft_status(entry))}")
        return entry

    def entry_draft_status(self, entry: Entry) -> str | None:
        """The status of the draft an entry was confirmed from; None for a manual note."""
        if entry.draft_id is None:
            return None
        t = schema.drafts
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.c.status).where(t.c.owner == self.owner, t.c.id == entry.draft_id)).scalar()

    def update_entry(self, entry_id: int, via: str = "cli", **values: Any) -> Entry:
        """Change an entry at the engineer's request (tags, outcome, text); the tool never calls this on its own.
        Recorded as "tagged", "outcome" or "entry-edited"."""
        entry = self.get_entry(entry_id)
        t = schema.entries
        current = {"tags": list(entry.tags), "outcome": entry.outcome, "text": entry.text}
        action = "tagged" if set(values) == {"tags"} else "outcome" if set(values) == {"outcome"} else "entry-edited"
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.owner == self.owner, t.c.id == entry_id)
                         .values(updated_at=utcnow(), **values))
            record_change(conn, self.owner, "entry", entry_id, action, {k: current.get(k) for k in values},
                          {k: list(v) if k == "tags" else v for k, v in values.items()}, via)
        return self.get_entry(entry_id)

    def edit_entry(self, entry_id: int, text: str, via: str = "cli") -> Entry:
        """Reword a journal entry (its earlier wording stays in the audit trail)."""
        return self.update_entry(entry_id, via=via, text=text.strip())

    def delete_entry(self, entry_id: int, via: str = "cli") -> Entry:
        """Take an entry out of the journal and the report; the row stays, for restore_entry."""
        entry = self.get_entry(entry_id)
        now = utcnow()
        t = schema.entries
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.owner == self.owner, t.c.id == entry_id)
                         .values(deleted_at=now, updated_at=now))
            record_change(conn, self.owner, "entry", entry_id, "deleted", {"text": entry.text}, None, via, now)
        return self.get_entry(entry_id, include_deleted=True)

    def restore_entry(self, entry_id: int, via: str = "cli") -> Entry:
        """Put a deleted entry back in the journal. One removed by restoring its draft comes back
        by confirming that draft again, so the draft and its entry never disagree."""
        entry = self.get_entry(entry_id, include_deleted=True)
        if entry.deleted_at is None:
            raise StateError(f"Journal entry #{entry_id} is not deleted; there is nothing to restore.")
        draft_status = self.entry_draft_status(entry)
        if draft_status not in (None, "confirmed"):
            raise StateError(f"Journal entry #{entry_id} was removed when draft #{entry.draft_id} went back to "
                             f"{draft_status}; {restore_hint(entry, draft_status)}")
        now = utcnow()
        t = schema.entries
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.owner == self.owner, t.c.id == entry_id)
                         .values(deleted_at=None, updated_at=now))
            record_change(conn, self.owner, "entry", entry_id, "restored",
                          {"deleted_at": entry.deleted_at.isoformat()}, None, via, now)
        return self.get_entry(entry_id)

    def load_entry_origins(self, entry_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """For entries confirmed from drafts: the draft's impact prompt and its finding's facts."""
        e, d, f = schema.entries, schema.drafts, schema.findings
        q = (sa.select(e.c.id, d.c.impact_prompt, d.c.linked, f.c.body)
             .join(d, d.c.id == e.c.draft_id)
             .outerjoin(f, sa.and_(f.c.owner == d.c.owner, f.c.fingerprint == d.c.fingerprint))
             .where(e.c.owner == self.owner, e.c.id.in_(list(entry_ids))))
        with self.engine.connect() as conn:
            return {row.id: {"impact_prompt": row.impact_prompt or "", "facts": (row.body or {}).get("facts", {}),
                             "joined_kinds": [x.get("kind") for x in row.linked or () if isinstance(x, dict)]}
                    for row in conn.execute(q)}

    def search(self, text: str, filters: SearchFilters | None = None) -> list[SearchHit]:
        """Entries and drafts matching every word of `text`, best first (see harvester.store.search)."""
        return search_entries_and_drafts(self.engine, self.owner, text, filters or SearchFilters())
