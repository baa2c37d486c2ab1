"""Raw records and the cursors that follow them, one owner's."""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa

from harvester.models import Cursor, Record, ensure_utc, utcnow
from harvester.store import schema
from harvester.store.changes import GroupKey, mark_changed_groups
from harvester.store.rows import differs, row_to_record
from harvester.store.state import RECORDS_VERSION_KEY
from harvester.store.team_scope import RecordOwners
from harvester.store.upsert import upsert_rows
from harvester.store.values import as_stored

# Record fields rules read; a change in any of them means the drafts must be recomputed.
RULE_FIELDS = ("subject", "occurred_at", "actor", "mine", "title", "url", "attributes")


class RecordsMixin:
    engine: sa.Engine
    owner: str
    harvest_owner: str  # the owner of cursors, harvest runs and the records version: the team's in team mode
    record_owners: RecordOwners | None  # set on a team's harvest: records go to the member they belong to

    def save_page(self, records: Sequence[Record], cursor: Cursor | None) -> int:
        """Upsert a page of records and the cursor that follows it, in one transaction.

        Returns how many records are new or changed in what rules read. Any such change
        gives the records a new version (RECORDS_VERSION_KEY) in the same transaction, so
        drafting is never skipped over records it has not seen, even after a crash between
        harvest and drafting or a change committed while a drafting pass was running; and it
        marks the groups those records left or joined, which the next pass re-evaluates."""
        with self.engine.begin() as conn:
            changed, moved, groups = self.count_changed(conn, records)
            self.delete_moved_records(conn, moved)
            self.upsert_records(conn, records)
            self.mark_drafted_groups(conn, groups)
            if changed:
                upsert_rows(conn, schema.app_state, [{"owner": self.harvest_owner, "key": RECORDS_VERSION_KEY,
                                                      "value": uuid.uuid4().hex, "updated_at": utcnow()}],
                            key=("owner", "key"))
            if cursor is not None:
                self.save_cursor(conn, cursor)
        return changed

    def mark_drafted_groups(self, conn: sa.Connection, groups: set[tuple]) -> None:
        """Mark the changed groups of the owners a drafting pass runs for. Records a team keeps
        for no member (a colleague outside it) are drafted by no one, so their groups are not
        marked, and marks an earlier version left under the team's key are cleared."""
        if self.record_owners is None:
            mark_changed_groups(conn, groups)
            return
        team_key = self.record_owners.team_key
        mark_changed_groups(conn, (g for g in groups if g[0] != team_key))
        t = schema.changed_groups
        conn.execute(t.delete().where(t.c.owner == team_key))

    def owner_of(self, record: Record) -> str:
        return self.record_owners.owner_of(record) if self.record_owners else self.owner

    def count_changed(self, conn: sa.Connection, records: Sequence[Record]) -> tuple[int, list[int], set[tuple]]:
        """Records that are new, or differ from the stored ones in a field rules read (not the
        payload) or in whom they belong to; the ids of stored rows of a record now belonging
        to another member (a ticket reassigned), which the new row replaces; and the
        (owner, source, kind, subject) groups such records leave or join."""
        t = schema.records
        owners = self.record_owners.owners if self.record_owners else (self.owner,)
        by_kind: dict[tuple[str, str], dict[str, Record]] = {}
        for r in records:
            by_kind.setdefault((r.source, r.kind), {})[r.external_id] = r
        changed, moved, groups = 0, [], set()
        dialect = conn.dialect.name
        for (source, kind), page in by_kind.items():
            stored: dict[str, list] = {}
            ids = list(page)
            for i in range(0, len(ids), 500):
                q = sa.select(*[t.c[c] for c in ("id", "owner", "external_id", *RULE_FIELDS)]).where(
                    t.c.owner.in_(owners), t.c.source == source, t.c.kind == kind,
                    t.c.external_id.in_(ids[i:i + 500]))
                for row in conn.execute(q).mappings():
                    stored.setdefault(row["external_id"], []).append(row)
            for external_id, r in page.items():
                owner = self.owner_of(r)
                rows = stored.get(as_stored(external_id, dialect), [])
                gone = [row for row in rows if row["owner"] != owner]
                moved += [row["id"] for row in gone]
                row = next((row for row in rows if row["owner"] == owner), None)
                if row is None or any(differs(row[c], as_stored(getattr(r, c), dialect)) for c in RULE_FIELDS):
                    changed += 1
                    groups.add((owner, source, kind, r.subject))
                    groups.update((old["owner"], source, kind, old["subject"]) for old in gone + [row] if old)
        return changed, moved, groups

    def delete_moved_records(self, conn: sa.Connection, ids: Sequence[int]) -> None:
        t = schema.records
        for i in range(0, len(ids), 500):
            conn.execute(t.delete().where(t.c.id.in_(ids[i:i + 500])))

    def upsert_records(self, conn: sa.Connection, records: Sequence[Record]) -> None:
        if not records:
            return
        now = utcnow()
        latest: dict[tuple, dict[str, Any]] = {}  # the last of a record the page holds twice
        for r in records:
            latest[r.key] = {
                "owner": self.owner_of(r), "source": r.source, "kind": r.kind, "external_id": r.external_id,
                "subject": r.subject, "occurred_at": ensure_utc(r.occurred_at), "actor": r.actor,
                "mine": r.mine, "title": r.title, "url": r.url, "attributes": dict(r.attributes),
                "payload": dict(r.payload), "fetched_at": now,
            }
        upsert_rows(conn, schema.records, list(latest.values()),
                    key=("owner", "source", "kind", "external_id"))

    def save_cursor(self, conn: sa.Connection, cursor: Cursor) -> None:
        row = {
            "owner": self.harvest_owner, "source": cursor.source, "stream": cursor.stream, "value": cursor.value,
            "seen_ids": sorted(cursor.seen_ids), "state": dict(cursor.state), "updated_at": utcnow(),
        }
        upsert_rows(conn, schema.cursors, [row], key=("owner", "source", "stream"))

    def load_cursor(self, source: str, stream: str) -> Cursor | None:
        t = schema.cursors
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(
                t.c.owner == self.harvest_owner, t.c.source == source, t.c.stream == stream)).mappings().first()
        if row is None:
            return None
        return Cursor(source=source, stream=stream, value=row["value"], seen_ids=frozenset(row["seen_ids"]),
                      state=row["state"] or {}, updated_at=ensure_utc(row["updated_at"]))

    def sources_with_records_of_mine(self, sources: Sequence[str]) -> set[str]:
        """Those of `sources` from which at least one record of mine is stored (one indexed
        lookup each, stopping at the first row)."""
        t = schema.records
        found = set()
        with self.engine.connect() as conn:
            for source in sources:
                q = sa.select(t.c.id).where(t.c.owner == self.owner, t.c.source == source, t.c.mine.is_(True)).limit(1)
                if conn.execute(q).first() is not None:
                    found.add(source)
        return found

    def count_records(self, source: str | None = None, kind: str | None = None) -> int:
        t = schema.records
        q = sa.select(sa.func.count()).select_from(t).where(t.c.owner == self.owner)
        if source:
            q = q.where(t.c.source == source)
        if kind:
            q = q.where(t.c.kind == kind)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def iter_record_groups(self, kinds: Iterable[str],
                           only: Iterable[GroupKey] | None = None) -> Iterator[tuple[str, str, str, list[Record]]]:
        """Yield (source, kind, subject, records oldest first), streaming one group at a time;
        with `only`, just those (source, kind, subject) groups. Rules read normalised
        attributes only, so the raw payload is left in the database."""
        kinds = sorted(set(kinds))
        if only is None:
            yield from self.stream_groups(sa.true(), kinds)
            return
        t = schema.records
        # One query a group: SQLite plans a tuple IN or an OR of groups as a scan of every record
        # of the owner (0.4 s at 100,000 runs), and each single group as a range of ix_records_group.
        for source, kind, subject in sorted(g for g in set(only) if g[1] in kinds):
            yield from self.stream_groups(sa.and_(t.c.source == source, t.c.subject == subject), [kind])

    def stream_groups(self, condition, kinds: list[str]) -> Iterator[tuple[str, str, str, list[Record]]]:
        t = schema.records
        q = (sa.select(*[c for c in t.columns if c.name != "payload"])
             .where(t.c.owner == self.owner, t.c.kind.in_(kinds), condition)
             .order_by(t.c.source, t.c.kind, t.c.subject, t.c.occurred_at, t.c.id))
        group_key, group = None, []
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(q).mappings()
            for row in result:
                key = (row["source"], row["kind"], row["subject"])
                if key != group_key and group:
                    yield (*group_key, group)
                    group = []
                group_key = key
                group.append(row_to_record(row))
        if group:
            yield (*group_key, group)

    def load_records(self, kind: str, source: str | None = None) -> list[Record]:
        t = schema.records
        q = sa.select(t).where(t.c.owner == self.owner, t.c.kind == kind).order_by(t.c.occurred_at, t.c.id)
        if source:
            q = q.where(t.c.source == source)
        with self.engine.connect() as conn:
            return [row_to_record(r) for r in conn.execute(q).mappings()]
