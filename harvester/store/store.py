"""Store: every read and write of harvester's database, scoped to one owner."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa

from harvester.errors import NotFoundError, StateError, StoreError
from harvester.models import (DECIDED_STATUSES, AuditEvent, Cursor, Draft, Entry, Evidence, Finding, Metric, Record,
                              ensure_utc, utcnow)
from harvester.store import schema
from harvester.store.faults import first_line, hide_password, listen_for_errors
from harvester.store.migrations import migrate
from harvester.store.sqlite import (listen_for_pragmas, refuse_foreign_database, resolve_sqlite_file,
                                    use_write_ahead_log)
from harvester.store.upsert import upsert_rows
from harvester.store.values import as_stored, dump_json, dump_json_for_postgresql

# app_state keys: a token that changes with every saved page that changes a record, and what
# the last complete drafting pass was computed from (that token and the rules' signature).
RECORDS_VERSION_KEY = "records.version"
DRAFTED_INPUTS_KEY = "drafting.inputs"
# Record fields rules read; a change in any of them means the drafts must be recomputed.
RULE_FIELDS = ("subject", "occurred_at", "actor", "mine", "title", "url", "attributes")
# Fields of a pending draft the tool may refresh when its finding changes.
NO_LONGER_FOUND = "no longer found by the rules (absorbed into a larger accomplishment, or its rule is off)"
REFRESHABLE = ("kind", "source", "subject", "occurred_at", "statement", "impact_prompt", "metrics", "evidence", "tags")


def open_store(url: str, owner: str, read_only: bool = False) -> "Store":
    """Open the store at `url`, creating or migrating it when it can be written.

    A SQLite file that cannot be written (the file, or its folder), or a URL with mode=ro, is
    opened read-only: read commands work and the first write fails with one line. Every
    database error on the engine becomes a StoreError (see harvester.store.faults)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(f"[store] url {url!r} is not a database URL. Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db.") from None
    # SQLite URLs carry no password, and as written they are easier to recognise than re-rendered.
    label = url if parsed.get_backend_name() == "sqlite" else hide_password(parsed)
    sqlite_file = None
    if parsed.get_backend_name() == "sqlite":
        sqlite_file = resolve_sqlite_file(parsed, read_only)
        parsed = sqlite_file.url
        if sqlite_file.path is not None and not sqlite_file.read_only_reason:
            create_store_folder(sqlite_file.path, label)
    reason = sqlite_file.read_only_reason if sqlite_file else ("it was opened read-only" if read_only else "")
    try:
        engine = create_engine(parsed.render_as_string(hide_password=False))
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"[store] url {label!r} cannot be used: {first_line(exc)}. Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db.") from None
    except ModuleNotFoundError as exc:
        raise StoreError(f"The store URL needs the {exc.name} driver: pip install 'harvester[postgres]'.") from None
    if sqlite_file is not None:
        listen_for_pragmas(engine)
    elif reason:
        sa.event.listen(engine, "connect", _start_read_only_sessions)
    listen_for_errors(engine, label, reason)
    try:
        if sqlite_file is not None and sqlite_file.path is not None:
            with engine.connect() as conn:
                refuse_foreign_database(conn, label, schema.schema_info.name)
                if not reason:
                    use_write_ahead_log(conn)
        migrate(engine, read_only=bool(reason))
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, owner, label=label, sqlite_path=sqlite_file.path if sqlite_file else None,
                 read_only_reason=reason)


def create_engine(url: str) -> sa.Engine:
    if url.startswith("postgresql"):
        return sa.create_engine(url, future=True, json_serializer=dump_json_for_postgresql)
    return sa.create_engine(url, future=True, json_serializer=dump_json)


def create_store_folder(path: Path, label: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the folder {path.parent} for the store {label} ({exc.strerror}). "
                         "Point [store] url (or HARVESTER_HOME) at a folder you can write to.") from None


def _start_read_only_sessions(dbapi_conn, _record) -> None:
    """PostgreSQL opened read-only: every transaction of the session is READ ONLY."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    finally:
        dbapi_conn.autocommit = autocommit


class Store:
    def __init__(self, engine: sa.Engine, owner: str, label: str = "", sqlite_path: Path | None = None,
                 read_only_reason: str = ""):
        self.engine = engine
        self.owner = owner
        self.label = label or hide_password(engine.url)  # the URL, password hidden
        self.sqlite_path = sqlite_path  # the database file, for a SQLite store on disk
        self.read_only_reason = read_only_reason  # why writes are refused; "" when writable

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # records and cursors ---------------------------------------------------------

    def save_page(self, records: Sequence[Record], cursor: Cursor | None) -> int:
        """Upsert a page of records and the cursor that follows it, in one transaction.

        Returns how many records are new or changed in what rules read. Any such change
        gives the records a new version (RECORDS_VERSION_KEY) in the same transaction, so
        drafting is never skipped over records it has not seen, even after a crash between
        harvest and drafting or a change committed while a drafting pass was running."""
        with self.engine.begin() as conn:
            changed = self.count_changed(conn, records)
            self.upsert_records(conn, records)
            if changed:
                upsert_rows(conn, schema.app_state, [{"owner": self.owner, "key": RECORDS_VERSION_KEY,
                                                      "value": uuid.uuid4().hex, "updated_at": utcnow()}],
                            key=("owner", "key"))
            if cursor is not None:
                self.save_cursor(conn, cursor)
        return changed

    def count_changed(self, conn: sa.Connection, records: Sequence[Record]) -> int:
        """Records that are new, or differ from the stored ones in a field rules read (not the payload)."""
        t = schema.records
        by_kind: dict[tuple[str, str], dict[str, Record]] = {}
        for r in records:
            by_kind.setdefault((r.source, r.kind), {})[r.external_id] = r
        changed = 0
        dialect = conn.dialect.name
        for (source, kind), page in by_kind.items():
            stored = {}
            ids = list(page)
            for i in range(0, len(ids), 500):
                q = sa.select(*[t.c[c] for c in ("external_id", *RULE_FIELDS)]).where(
                    t.c.owner == self.owner, t.c.source == source, t.c.kind == kind,
                    t.c.external_id.in_(ids[i:i + 500]))
                stored.update({row["external_id"]: row for row in conn.execute(q).mappings()})
            for external_id, r in page.items():
                row = stored.get(as_stored(external_id, dialect))
                changed += row is None or any(_differs(row[c], as_stored(getattr(r, c), dialect)) for c in RULE_FIELDS)
        return changed

    def upsert_records(self, conn: sa.Connection, records: Sequence[Record]) -> None:
        if not records:
            return
        now = utcnow()
        latest: dict[tuple, dict[str, Any]] = {}
        for r in records:
            latest[r.key] = {
                "owner": self.owner, "source": r.source, "kind": r.kind, "external_id": r.external_id,
                "subject": r.subject, "occurred_at": ensure_utc(r.occurred_at), "actor": r.actor,
                "mine": r.mine, "title": r.title, "url": r.url, "attributes": dict(r.attributes),
                "payload": dict(r.payload), "fetched_at": now,
            }
        upsert_rows(conn, schema.records, list(latest.values()),
                    key=("owner", "source", "kind", "external_id"))

    def save_cursor(self, conn: sa.Connection, cursor: Cursor) -> None:
        row = {
            "owner": self.owner, "source": cursor.source, "stream": cursor.stream, "value": cursor.value,
            "seen_ids": sorted(cursor.seen_ids), "state": dict(cursor.state), "updated_at": utcnow(),
        }
        upsert_rows(conn, schema.cursors, [row], key=("owner", "source", "stream"))

    def load_cursor(self, source: str, stream: str) -> Cursor | None:
        t = schema.cursors
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(
                t.c.owner == self.owner, t.c.source == source, t.c.stream == stream)).mappings().first()
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

    def iter_record_groups(self, kinds: Iterable[str]) -> Iterator[tuple[str, str, str, list[Record]]]:
        """Yield (source, kind, subject, records oldest first), streaming one group at a time.
        Rules read normalised attributes only, so the raw payload is left in the database."""
        t = schema.records
        q = (sa.select(*[c for c in t.columns if c.name != "payload"]).where(t.c.owner == self.owner, t.c.kind.in_(sorted(set(kinds))))
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

    # findings and drafts -----------------------------------------------------------

    def save_findings(self, findings: Sequence[Finding]) -> None:
        now = utcnow()
        rows = {}
        for f in findings:
            rows[f.fingerprint] = {
                "owner": self.owner, "fingerprint": f.fingerprint, "rule": f.rule, "kind": f.kind,
                "source": f.source, "subject": f.subject, "occurred_at": ensure_utc(f.occurred_at),
                "period": f.period, "body": finding_body(f), "updated_at": now,
            }
        if rows:
            with self.engine.begin() as conn:
                upsert_rows(conn, schema.findings, list(rows.values()), key=("owner", "fingerprint"))

    def finding_fingerprints(self) -> set[str]:
        t = schema.findings
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.c.fingerprint).where(t.c.owner == self.owner)).scalars())

    def load_finding_identities(self, subjects: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
        """fingerprint, kind, source, subject, identity and record ids of the stored findings
        of these (kind, source, subject) triples."""
        wanted = set(subjects)
        if not wanted:
            return []
        t = schema.findings
        q = sa.select(t.c.fingerprint, t.c.kind, t.c.source, t.c.subject, t.c.body).where(
            t.c.owner == self.owner, t.c.kind.in_(sorted({k for k, _, _ in wanted})),
            t.c.subject.in_(sorted({s for _, _, s in wanted})))
        out = []
        with self.engine.connect() as conn:
            for row in conn.execute(q).mappings():
                if (row["kind"], row["source"], row["subject"]) in wanted:
                    body = row["body"] or {}
                    out.append({"fingerprint": row["fingerprint"], "kind": row["kind"], "source": row["source"],
                                "subject": row["subject"], "identity": list(body.get("identity") or ()),
                                "record_ids": list(body.get("record_ids") or ())})
        return out

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

    def unfinished_sources(self) -> set[str]:
        """Sources whose latest harvest did not complete (failed, or cut off while running)."""
        return {run["source"] for run in self.last_harvest_runs() if run["status"] != "ok"}

    def save_draft(self, draft: Draft) -> str:
        """Insert a new draft or refresh a pending, unedited one; never touch decided work.

        Returns 'new', 'updated', 'unchanged' or 'kept' (confirmed, rejected or edited).
        """
        t = schema.drafts
        now = utcnow()
        values = draft_row(draft)
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(t).where(
                t.c.owner == self.owner, t.c.fingerprint == draft.fingerprint)).mappings().first()
            if existing is None:
                conn.execute(t.insert().values(owner=self.owner, fingerprint=draft.fingerprint, status="pending",
                                               edited=False, created_at=now, updated_at=now, **values))
                return "new"
            revived = existing["status"] == "superseded"
            if (existing["status"] != "pending" and not revived) or existing["edited"]:
                return "kept"
            if revived:  # the tool had set it aside; its finding stands on its own again
                values.update(status="pending", reason=None, decided_at=None)
            changes = {k: v for k, v in values.items() if _differs(existing[k], v)}
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
                    kinds: Sequence[str] = (), sources: Sequence[str] = ()) -> list[Draft]:
        """Newest first; each filter left empty selects all."""
        t = schema.drafts
        q = sa.select(t).where(t.c.owner == self.owner).order_by(t.c.occurred_at.desc(), t.c.id.desc())
        if statuses:
            q = q.where(t.c.status.in_(list(statuses)))
        if since:
            q = q.where(t.c.occurred_at >= since)
        if kinds:
            q = q.where(t.c.kind.in_(list(kinds)))
        if sources:
            q = q.where(t.c.source.in_(list(sources)))
        with self.engine.connect() as conn:
            return [row_to_draft(r) for r in conn.execute(q).mappings()]

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
            self._record(conn, "draft", draft_id, "edited", {"statement": draft.statement},
                         {"statement": text.strip()}, via)
        return self.get_draft(draft_id)

    def revert_draft_edit(self, draft_id: int, statement: str, edited: bool, via: str = "cli") -> Draft:
        """Undo an edit: the wording and the edited mark as they were, so a draft never edited
        before is refreshed by the rules again."""
        draft = self.get_draft(draft_id)
        require_status(draft, ("pending",), "reverted")
        with self.engine.begin() as conn:
            self._update_draft(conn, draft_id, statement=statement, edited=edited)
            self._record(conn, "draft", draft_id, "reverted", {"statement": draft.statement, "edited": draft.edited},
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
        self._record(conn, "draft", draft.id, "rejected", {"status": draft.status, "reason": draft.reason},
                     {"status": "rejected", "reason": reason}, via, now)

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
        entry_id = self._insert_entry(conn, entry, now)
        conn.execute(schema.drafts.update().where(schema.drafts.c.id == draft.id).values(
            status="confirmed", decided_at=now, updated_at=now, edited=draft.edited or bool(text)))
        self._record(conn, "draft", draft.id, "confirmed", {"status": draft.status},
                     {"status": "confirmed", "entry_id": entry_id}, via, now)
        created = {"text": entry.text, "draft_id": draft.id, **({"outcome": outcome} if outcome else {})}
        self._record(conn, "entry", entry_id, "created", None, created, via, now)
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
                self._record(conn, "entry", entry_id, "deleted", {"text": text},
                             {"reason": f"draft #{draft.id} restored"}, via, now)
            before["entry_ids"] = [entry_id for entry_id, _ in entries]
        self._update_draft(conn, draft.id, status="pending", reason=None, decided_at=None)
        self._record(conn, "draft", draft.id, "restored", before, {"status": "pending"}, via, now)

    def set_draft_tags(self, draft_id: int, tags: Sequence[str], via: str = "cli") -> None:
        draft = self.get_draft(draft_id)
        with self.engine.begin() as conn:
            self._update_draft(conn, draft_id, tags=list(tags))
            self._record(conn, "draft", draft_id, "tagged", {"tags": list(draft.tags)}, {"tags": list(tags)}, via)

    def _update_draft(self, conn: sa.Connection, draft_id: int, **values: Any) -> None:
        t = schema.drafts
        conn.execute(t.update().where(t.c.owner == self.owner, t.c.id == draft_id)
                     .values(updated_at=utcnow(), **values))

    # audit trail ---------------------------------------------------------------------

    def _record(self, conn: sa.Connection, item_type: str, item_id: int, action: str,
                before: dict[str, Any] | None, after: dict[str, Any] | None, via: str,
                now: datetime | None = None) -> None:
        conn.execute(schema.audit_events.insert().values(
            owner=self.owner, item_type=item_type, item_id=item_id, action=action, changed_at=now or utcnow(),
            before_values=before, after_values=after, via=via))

    def history(self, item_type: str, item_id: int) -> list[AuditEvent]:
        """The changes made to one draft or entry (`item_type` "draft" or "entry"), oldest first."""
        t = schema.audit_events
        q = (sa.select(t).where(t.c.owner == self.owner, t.c.item_type == item_type, t.c.item_id == item_id)
             .order_by(t.c.changed_at, t.c.id))
        with self.engine.connect() as conn:
            return [AuditEvent(item_type=r["item_type"], item_id=r["item_id"], action=r["action"],
                               changed_at=ensure_utc(r["changed_at"]), before=r["before_values"],
                               after=r["after_values"], via=r["via"]) for r in conn.execute(q).mappings()]

    # journal -------------------------------------------------------------------------

    def add_entry(self, entry: Entry, via: str = "cli") -> Entry:
        now = utcnow()
        with self.engine.begin() as conn:
            entry_id = self._insert_entry(conn, entry, now)
            self._record(conn, "entry", entry_id, "created", None, {"text": entry.text}, via, now)
        return replace(entry, id=entry_id, created_at=now)

    def _insert_entry(self, conn: sa.Connection, entry: Entry, now: datetime) -> int:
        result = conn.execute(schema.entries.insert().values(
            owner=self.owner, draft_id=entry.draft_id, text=entry.text, occurred_at=ensure_utc(entry.occurred_at),
            kind=entry.kind, source=entry.source, subject=entry.subject, tags=list(entry.tags),
            evidence=[e.as_dict() for e in entry.evidence], metrics=[m.as_dict() for m in entry.metrics],
            outcome=entry.outcome, created_at=now, updated_at=now))
        return int(result.inserted_primary_key[0])

    def list_entries(self, since: datetime | None = None, until: datetime | None = None) -> list[Entry]:
        """The journal: every entry not deleted, newest first."""
        t = schema.entries
        q = (sa.select(t).where(t.c.owner == self.owner, t.c.deleted_at.is_(None))
             .order_by(t.c.occurred_at.desc(), t.c.id.desc()))
        if since:
            q = q.where(t.c.occurred_at >= since)
        if until:
            q = q.where(t.c.occurred_at < until)
        with self.engine.connect() as conn:
            return [row_to_entry(r) for r in conn.execute(q).mappings()]

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
            self._record(conn, "entry", entry_id, action, {k: current.get(k) for k in values},
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
            self._record(conn, "entry", entry_id, "deleted", {"text": entry.text}, None, via, now)
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
            self._record(conn, "entry", entry_id, "restored", {"deleted_at": entry.deleted_at.isoformat()}, None,
                         via, now)
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

    def search(self, text: str, filters: Any = None) -> list[Any]:
        """Entries and drafts matching every word of `text`, best first (see harvester.store.search)."""
        from harvester.store.search import SearchFilters, search

        return search(self.engine, self.owner, text, filters or SearchFilters())

    # harvest runs and app state -----------------------------------------------------------

    def start_harvest_run(self, source: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(schema.harvest_runs.insert().values(
                owner=self.owner, source=source, started_at=utcnow(), status="running", records=0, requests=0))
            return int(result.inserted_primary_key[0])

    def finish_harvest_run(self, run_id: int, status: str, records: int, requests: int, error: str | None) -> None:
        t = schema.harvest_runs
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == run_id).values(
                finished_at=utcnow(), status=status, records=records, requests=requests, error=error))

    def last_harvest_runs(self) -> list[dict[str, Any]]:
        """The latest run of each source."""
        t = schema.harvest_runs
        latest = (sa.select(t.c.source, sa.func.max(t.c.id).label("id"))
                  .where(t.c.owner == self.owner).group_by(t.c.source).subquery())
        q = sa.select(t).join(latest, t.c.id == latest.c.id).order_by(t.c.source)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def get_state(self, key: str, default: Any = None) -> Any:
        t = schema.app_state
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.c.value).where(t.c.owner == self.owner, t.c.key == key)).scalar()
        return default if value is None else value

    def set_state(self, key: str, value: Any) -> None:
        with self.engine.begin() as conn:
            upsert_rows(conn, schema.app_state,
                        [{"owner": self.owner, "key": key, "value": value, "updated_at": utcnow()}],
                        key=("owner", "key"))


def restore_hint(entry: Entry, draft_status: str | None) -> str:
    if draft_status not in (None, "confirmed"):
        return f"confirm its draft again to bring it back: `harvester drafts confirm {entry.draft_id}`."
    return f"bring it back with `harvester journal restore {entry.id}`."


def require_status(draft: Draft, allowed: Sequence[str], action: str) -> None:
    if draft.status not in allowed:
        raise StateError(f"Draft #{draft.id} is {draft.status}; only {' or '.join(allowed)} drafts can be {action}.")


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return ensure_utc(old) != ensure_utc(new)
    return old != new


def finding_body(f: Finding) -> dict[str, Any]:
    return {
        "metrics": [m.as_dict() for m in f.metrics], "record_ids": list(f.record_ids),
        "evidence": [e.as_dict() for e in f.evidence], "facts": dict(f.facts), "identity": list(f.identity),
    }


def draft_row(d: Draft) -> dict[str, Any]:
    return {
        "kind": d.kind, "source": d.source, "subject": d.subject, "occurred_at": ensure_utc(d.occurred_at),
        "statement": d.statement, "impact_prompt": d.impact_prompt,
        "metrics": [m.as_dict() for m in d.metrics], "evidence": [e.as_dict() for e in d.evidence],
        "tags": list(d.tags), "linked": [dict(x) for x in d.linked] or None,
    }


def _metrics(items: Iterable[dict]) -> tuple[Metric, ...]:
    return tuple(Metric(m["name"], m.get("before"), m.get("after"), m.get("unit", "")) for m in items or ())


def _evidence(items: Iterable[dict]) -> tuple[Evidence, ...]:
    return tuple(Evidence(e["url"], e.get("label", ""), e.get("source", "")) for e in items or ())


def row_to_record(row: Any) -> Record:
    return Record(source=row["source"], kind=row["kind"], external_id=row["external_id"],
                  occurred_at=ensure_utc(row["occurred_at"]), subject=row["subject"], actor=row["actor"],
                  mine=bool(row["mine"]), title=row["title"], url=row["url"], attributes=row["attributes"] or {},
                  payload=row.get("payload") or {})


def row_to_draft(row: Any) -> Draft:
    return Draft(id=row["id"], fingerprint=row["fingerprint"], status=row["status"], kind=row["kind"],
                 source=row["source"], subject=row["subject"], occurred_at=ensure_utc(row["occurred_at"]),
                 statement=row["statement"], impact_prompt=row["impact_prompt"], metrics=_metrics(row["metrics"]),
                 evidence=_evidence(row["evidence"]), tags=tuple(row["tags"] or ()), edited=bool(row["edited"]),
                 reason=row["reason"], created_at=ensure_utc(row["created_at"]),
                 updated_at=ensure_utc(row["updated_at"]), linked=tuple(row["linked"] or ()))


def row_to_entry(row: Any) -> Entry:
    return Entry(id=row["id"], text=row["text"], occurred_at=ensure_utc(row["occurred_at"]), kind=row["kind"],
                 source=row["source"], subject=row["subject"], draft_id=row["draft_id"],
                 tags=tuple(row["tags"] or ()), evidence=_evidence(row["evidence"]), metrics=_metrics(row["metrics"]),
                 outcome=row["outcome"], created_at=ensure_utc(row["created_at"]),
                 deleted_at=ensure_utc(row["deleted_at"]) if row["deleted_at"] else None)
