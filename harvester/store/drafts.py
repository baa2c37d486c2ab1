"""Drafts: the tool's proposals, refreshed by the rules until the engineer decides them
(edit, confirm into the journal, reject, restore), every decision in the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from harvester.errors import NotFoundError, StateError
from harvester.models import DECIDED_STATUSES, Draft, Entry, utcnow
from harvester.store import schema
from harvester.store.audit import record_change
from harvester.store.journal import insert_entry
from harvester.store.rows import differs, draft_row, row_to_draft

NO_LONGER_FOUND = "no longer found by the rules (absorbed into a larger accomplishment, or its rule is off)"


def require_status(draft: Draft, allowed: Sequence[str], action: str) -> None:
    if draft.status not in allowed:
        raise StateError(f"Draft #{draft.id} is {draft.status}; only {' or '.join(allowed)} drafts can be {action}.")


class DraftsMixin:
    engine: sa.Engine
    owner: str

    def draft_states(self) -> dict[str, tuple[str, bool]]:
        """fingerprint -> (status, edited) of every draft."""
        t = schema.drafts
        with self.engine.connect() as conn:
            return {row.fingerprint: (row.status, bool(row.edited)) for row in conn.execute(
                sa.select(t.c.fingerprint, t.c.status, t.c.edited).where(t.c.owner == self.owner))}

    def covered_by_decisions(self) -> set[str]:
        """Fingerprints of findings joined into a confirmed or rejected draft: already decided with it."""
        t = schema.drafts
        q = sa.select(t.c.linked).where(t.c.owner == self.owner, t.c.status.in_(DECIDED_STATUSES),
                                        t.c.linked.is_not(None))
        with self.engine.connect() as conn:
            return {str(x["fingerprint"]) for linked in conn.execute(q).scalars() for x in linked or ()
                    if isinstance(x, dict) and x.get("fingerprint")}

    def save_draft(self, draft: Draft) -> str:
        """Insert a new draft or refresh a pending, unedited one; never touch decided work.

        Returns 'new', 'updated', 'unchanged' or 'kept' (confirmed, rejected or edited).
        """
        return self.save_drafts([draft])[0]

    def save_drafts(self, drafts: Sequence[Draft]) -> list[str]:
        """`save_draft` for each of `drafts` (distinct fingerprints), in one transaction that
        reads the stored drafts once and writes only those that change."""
        t = schema.drafts
        now = utcnow()
        fingerprints = [d.fingerprint for d in drafts]
        outcomes = []
        with self.engine.begin() as conn:
            stored = {}
            for i in range(0, len(fingerprints), 500):
                stored.update((row["fingerprint"], row) for row in conn.execute(sa.select(t).where(
                    t.c.owner == self.owner, t.c.fingerprint.in_(fingerprints[i:i + 500]))).mappings())
            for draft in drafts:
                outcomes.append(self._save_one(conn, draft, stored.get(draft.fingerprint), now))
        return outcomes

    def _save_one(self, conn: sa.Connection, draft: Draft, existing: Any, now: datetime) -> str:
        t = schema.drafts
        values = draft_row(draft)
        if existing is None:
            conn.execute(t.insert().values(owner=self.owner, fingerprint=draft.fingerprint, status="pending",
                                           edited=False, created_at=now, updated_at=now, **values))
            return "new"
        revived = existing["status"] == "superseded"
        if (existing["status"] != "pending" and not revived) or existing["edited"]:
            return "kept"
        if revived:  # the tool had set it aside; its finding stands on its own again
            values.update(status="pending", reason=None, decided_at=None)
        changes = {k: v for k, v in values.items() if differs(existing[k], v)}
        if not changes:
            return "unchanged"
        conn.execute(t.update().where(t.c.id == existing["id"]).values(updated_at=now, **changes))
        return "updated"

    def supersede_drafts(self, fingerprints: Sequence[str], into: str) -> int:
        """Set aside pending drafts whose findings are now part of the draft `into` (a later
        harvest linked them)."""
        fingerprints = [f for f in fingerprints if f != into]
        if not fingerprints:
            return 0
        t = schema.drafts
        with self.engine.connect() as conn:
            target = conn.execute(sa.select(t.c.id).where(t.c.owner == self.owner, t.c.fingerprint == into)).scalar()
        return self._supersede(t.c.fingerprint.in_(fingerprints), f"linked into draft #{target}")

    def retire_missing_drafts(self, found: Iterable[str], keep_sources: Iterable[str] = ()) -> int:
        """Set aside pending drafts that no finding produces any more, e.g. tickets rolled up
        into their resolved epic; one comes back if its finding returns. Drafts of
        `keep_sources` (whose records are incomplete) are left as they are."""
        t = schema.drafts
        condition = t.c.fingerprint.not_in(sorted(set(found)))
        if keep := sorted(set(keep_sources)):
            condition = sa.and_(condition, t.c.source.not_in(keep))
        return self._supersede(condition, NO_LONGER_FOUND)

    def _supersede(self, condition, reason: str) -> int:
        """Only the tool's own pending, unedited drafts: confirmed, rejected and edited work stays."""
        t = schema.drafts
        now = utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(t.update().where(
                t.c.owner == self.owner, condition, t.c.status == "pending", t.c.edited.is_(False))
                .values(status="superseded", reason=reason, decided_at=now, updated_at=now))
            return int(result.rowcount or 0)

    def list_drafts(self, statuses: Sequence[str] | None = None, since: datetime | None = None,
                    kinds: Sequence[str] = (), sources: Sequence[str] = (), limit: int | None = None) -> list[Draft]:
        """Newest first; each filter left empty selects all. `limit`: at most that many, the newest."""
        t = schema.drafts
        q = sa.select(t).where(*self._draft_filters(statuses, since, kinds, sources))
        q = q.order_by(t.c.occurred_at.desc(), t.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [row_to_draft(r) for r in conn.execute(q).mappings()]

    def count_drafts(self, statuses: Sequence[str] | None = None, since: datetime | None = None,
                     kinds: Sequence[str] = (), sources: Sequence[str] = ()) -> int:
        """How many drafts `list_drafts` with the same filters lists."""
        q = sa.select(sa.func.count()).select_from(schema.drafts)
        with self.engine.connect() as conn:
            return conn.execute(q.where(*self._draft_filters(statuses, since, kinds, sources))).scalar_one()

    def _draft_filters(self, statuses: Sequence[str] | None, since: datetime | None, kinds: Sequence[str],
                       sources: Sequence[str]) -> list[sa.ColumnElement[bool]]:
        t = schema.drafts
        filters = [t.c.owner == self.owner]
        if statuses:
            filters.append(t.c.status.in_(list(statuses)))
        if since:
            filters.append(t.c.occurred_at >= since)
        if kinds:
            filters.append(t.c.kind.in_(list(kinds)))
        if sources:
            filters.append(t.c.source.in_(list(sources)))
        return filters

    def get_draft(self, draft_id: int) -> Draft:
        t = schema.drafts
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.owner == self.owner, t.c.id == draft_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"No draft with id {draft_id}. List them with `harvester drafts list`.")
        return row_to_draft(row)

    def edit_draft(self, draft_id: int, text: str, via: str = "cli") -> Draft:
        draft = self.get_draft(draft_id)
        require_status(draft, ("pending",), "edited")
        with self.engine.begin() as conn:
            self._update_draft(conn, draft_id, statement=text.strip(), edited=True)
            record_change(conn, self.owner, "draft", draft_id, "edited", {"statement": draft.statement},
                          {"statement": text.strip()}, via)
        return self.get_draft(draft_id)

    def revert_draft_edit(self, draft_id: int, statement: str, edited: bool, via: str = "cli") -> Draft:
        """Undo an edit: the wording and the edited mark as they were, so a draft never edited
        before is refreshed by the rules again."""
        draft = self.get_draft(draft_id)
        require_status(draft, ("pending",), "reverted")
        with self.engine.begin() as conn:
            self._update_draft(conn, draft_id, statement=statement, edited=edited)
            record_change(conn, self.owner, "draft", draft_id, "reverted",
                          {"statement": draft.statement, "edited": draft.edited},
                          {"statement": statement, "edited": edited}, via)
        return self.get_draft(draft_id)

    def reject_draft(self, draft_id: int, reason: str | None = None, via: str = "cli") -> Draft:
        """Reject one draft not yet confirmed (the finding never comes back)."""
        draft = self.get_draft(draft_id)
        if draft.status == "confirmed":
            raise StateError(f"Draft #{draft_id} is already confirmed as a journal entry; it cannot be rejected. "
                             f"Restore it first: `harvester drafts restore {draft_id}`.")
        with self.engine.begin() as conn:
            self._reject(conn, draft, reason, utcnow(), via)
        return self.get_draft(draft_id)

    def reject_drafts(self, draft_ids: Sequence[int], reason: str | None = None, via: str = "cli") -> list[Draft]:
        """Reject pending drafts, all or none: every id is checked before the one transaction writes."""
        drafts = self.load_pending_drafts(draft_ids, "rejected")
        now = utcnow()
        with self.engine.begin() as conn:
            for draft in drafts:
                self._reject(conn, draft, reason, now, via)
        return [self.get_draft(d.id) for d in drafts]

    def _reject(self, conn: sa.Connection, draft: Draft, reason: str | None, now: datetime, via: str) -> None:
        self._update_draft(conn, draft.id, status="rejected", reason=reason, decided_at=now)
        record_change(conn, self.owner, "draft", draft.id, "rejected",
                      {"status": draft.status, "reason": draft.reason}, {"status": "rejected", "reason": reason},
                      via, now)

    def confirm_draft(self, draft_id: int, text: str | None = None, via: str = "cli",
                      outcome: str | None = None) -> Entry:
        """Turn a pending draft into a journal entry (with its business outcome, when the
        engineer gave one), in one transaction."""
        draft = self.get_draft(draft_id)
        require_status(draft, ("pending",), "confirmed")
        with self.engine.begin() as conn:
            return self._confirm(conn, draft, text, utcnow(), via, outcome)

    def confirm_drafts(self, draft_ids: Sequence[int], via: str = "cli") -> list[Entry]:
        """Confirm pending drafts, all or none: every id is checked before the one transaction writes."""
        drafts = self.load_pending_drafts(draft_ids, "confirmed")
        now = utcnow()
        with self.engine.begin() as conn:
            return [self._confirm(conn, draft, None, now, via) for draft in drafts]

    def _confirm(self, conn: sa.Connection, draft: Draft, text: str | None, now: datetime, via: str,
                 outcome: str | None = None) -> Entry:
        entry = Entry(id=None, text=(text or draft.statement).strip(), occurred_at=draft.occurred_at, kind=draft.kind,
                      source=draft.source, subject=draft.subject, draft_id=draft.id, tags=draft.tags,
                      evidence=draft.evidence, metrics=draft.metrics, outcome=outcome)
        entry_id = insert_entry(conn, self.owner, entry, now)
        conn.execute(schema.drafts.update().where(schema.drafts.c.id == draft.id).values(
            status="confirmed", decided_at=now, updated_at=now, edited=draft.edited or bool(text)))
        record_change(conn, self.owner, "draft", draft.id, "confirmed", {"status": draft.status},
                      {"status": "confirmed", "entry_id": entry_id}, via, now)
        created = {"text": entry.text, "draft_id": draft.id, **({"outcome": outcome} if outcome else {})}
        record_change(conn, self.owner, "entry", entry_id, "created", None, created, via, now)
        return replace(entry, id=entry_id, created_at=now)

    def load_pending_drafts(self, draft_ids: Sequence[int], action: str) -> list[Draft]:
        """The drafts of `draft_ids`, in order, once every one is found and pending; else the first bad id's error."""
        drafts = []
        for draft_id in dict.fromkeys(draft_ids):
            draft = self.get_draft(draft_id)
            require_status(draft, ("pending",), action)
            drafts.append(draft)
        return drafts

    def restore_draft(self, draft_id: int, via: str = "cli") -> Draft:
        """Put a confirmed or rejected draft back to pending, in one transaction.

        A confirmed draft's journal entry is soft-deleted: the row and its text stay. The
        restored draft is then like any pending one: the next harvest may reword it unless it
        was edited, and its finding is drafted again rather than held back as rejected."""
        return self.restore_drafts([draft_id], via)[0]

    def restore_drafts(self, draft_ids: Sequence[int], via: str = "cli") -> list[Draft]:
        """`restore_draft` for several, all or none: every id is checked before the one
        transaction writes."""
        drafts = [self.get_draft(i) for i in dict.fromkeys(draft_ids)]
        for draft in drafts:
            if draft.status not in DECIDED_STATUSES:
                raise StateError(f"Draft #{draft.id} is {draft.status}; only confirmed or rejected drafts can be "
                                 "restored. Nothing was restored.")
        now = utcnow()
        with self.engine.begin() as conn:
            for draft in drafts:
                self._restore(conn, draft, now, via)
        return [self.get_draft(d.id) for d in drafts]

    def _restore(self, conn: sa.Connection, draft: Draft, now: datetime, via: str) -> None:
        e = schema.entries
        before: dict[str, Any] = {"status": draft.status, "reason": draft.reason}
        if draft.status == "confirmed":
            entries = conn.execute(sa.select(e.c.id, e.c.text).where(
                e.c.owner == self.owner, e.c.draft_id == draft.id, e.c.deleted_at.is_(None))).all()
            for entry_id, text in entries:
                conn.execute(e.update().where(e.c.id == entry_id).values(deleted_at=now, updated_at=now))
                record_change(conn, self.owner, "entry", entry_id, "deleted", {"text": text},
                              {"reason": f"draft #{draft.id} restored"}, via, now)
            before["entry_ids"] = [entry_id for entry_id, _ in entries]
        self._update_draft(conn, draft.id, status="pending", reason=None, decided_at=None)
        record_change(conn, self.owner, "draft", draft.id, "restored", before, {"status": "pending"}, via, now)

    def set_draft_tags(self, draft_id: int, tags: Sequence[str], via: str = "cli") -> None:
        draft = self.get_draft(draft_id)
        with self.engine.begin() as conn:
            self._update_draft(conn, draft_id, tags=list(tags))
            record_change(conn, self.owner, "draft", draft_id, "tagged", {"tags": list(draft.tags)},
                          {"tags": list(tags)}, via)

    def _update_draft(self, conn: sa.Connection, draft_id: int, **values: Any) -> None:
        t = schema.drafts
        conn.execute(t.update().where(t.c.owner == self.owner, t.c.id == draft_id)
                     .values(updated_at=utcnow(), **values))
