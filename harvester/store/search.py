"""Full-text search over journal entries and drafts.

SQLite uses the FTS5 external-content tables of migration 6; PostgreSQL uses
to_tsvector/plainto_tsquery over the expressions its GIN indexes were built on. Any other
database (or a SQLite built without FTS5) falls back to matching every word with LIKE,
unranked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa

from harvester.models import Draft, Entry
from harvester.store import schema
from harvester.store.migrations.m006_search_index import FTS_COLUMNS, FTS_TABLES, PG_CONFIG, PG_VECTORS
from harvester.store.rows import row_to_draft, row_to_entry

# Drafts whose status is "confirmed" are represented by their journal entry in results.
SEARCH_STATUSES = ("confirmed", "pending", "rejected")

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchFilters:
    since: datetime | None = None
    until: datetime | None = None
    tags: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("confirmed", "pending")
    limit: int = 20


@dataclass(frozen=True)
class SearchHit:
    """One result: a journal entry (status "confirmed") or a draft (pending or rejected)."""

    type: str
    id: int
    status: str
    score: float
    item: Entry | Draft = field(compare=False)

    @property
    def occurred_at(self) -> datetime:
        return self.item.occurred_at

    @property
    def text(self) -> str:
        return self.item.text if isinstance(self.item, Entry) else self.item.statement

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "status": self.status, "score": round(self.score, 6),
                **{k: v for k, v in self.item.as_json().items() if k not in ("id", "status")}}


def query_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def search_entries_and_drafts(engine: sa.Engine, owner: str, text: str, filters: SearchFilters) -> list[SearchHit]:
    """Entries and drafts matching every word of `text`, best first."""
    words = query_words(text)
    if not words:
        return []
    hits: list[SearchHit] = []
    with engine.connect() as conn:
        mode = search_mode(conn)
        if "confirmed" in filters.statuses:
            q = build_query(conn, mode, schema.entries, owner, words, filters)
            q = q.where(schema.entries.c.deleted_at.is_(None))
            hits += [SearchHit("entry", r["id"], "confirmed", float(r["score"] or 0), row_to_entry(r))
                     for r in conn.execute(q).mappings()]
        draft_statuses = [s for s in filters.statuses if s != "confirmed"]
        if draft_statuses:
            q = build_query(conn, mode, schema.drafts, owner, words, filters)
            q = q.where(schema.drafts.c.status.in_(draft_statuses))
            hits += [SearchHit("draft", r["id"], r["status"], float(r["score"] or 0), row_to_draft(r))
                     for r in conn.execute(q).mappings()]
    hits.sort(key=lambda h: (-h.score, -h.occurred_at.timestamp(), h.type, -h.id))
    return hits[:filters.limit]


def search_mode(conn: sa.Connection) -> str:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return "postgresql"
    if dialect == "sqlite" and sa.inspect(conn).has_table(FTS_TABLES["entries"]):
        return "fts5"
    return "like"


def build_query(conn: sa.Connection, mode: str, t: sa.Table, owner: str, words: Sequence[str],
                filters: SearchFilters) -> sa.Select:
    if mode == "fts5":
        fts = FTS_TABLES[t.name]
        match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        # bm25 is lower-is-better; negate so every dialect ranks higher-is-better.
        q = (sa.select(t, sa.literal_column(f"-bm25({fts})").label("score"))
             .select_from(t.join(sa.table(fts), sa.literal_column(f"{fts}.rowid") == t.c.id))
             .where(sa.text(f"{fts} MATCH :match").bindparams(match=match)))
    elif mode == "postgresql":
        vector = f"to_tsvector({PG_CONFIG}, {PG_VECTORS[t.name]})"
        query = sa.func.plainto_tsquery(sa.literal_column(PG_CONFIG), " ".join(words))
        q = (sa.select(t, sa.func.ts_rank(sa.literal_column(vector), query).label("score"))
             .where(sa.literal_column(vector).op("@@")(query)))
    else:
        columns = [t.c[c] for c in FTS_COLUMNS[t.name]]
        q = sa.select(t, sa.literal(0.0).label("score"))
        for w in words:
            q = q.where(sa.or_(*(sa.func.lower(sa.func.coalesce(c, "")).contains(w, autoescape=True)
                                 for c in columns)))
    q = q.where(t.c.owner == owner)
    if filters.since:
        q = q.where(t.c.occurred_at >= filters.since)
    if filters.until:
        q = q.where(t.c.occurred_at < filters.until)
    if filters.sources:
        q = q.where(t.c.source.in_(list(filters.sources)))
    for tag in filters.tags:
        q = q.where(has_tag(conn, t, tag))
    return q.order_by(sa.text("score DESC"), t.c.occurred_at.desc()).limit(filters.limit)


def has_tag(conn: sa.Connection, t: sa.Table, tag: str) -> sa.ColumnElement[bool]:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return sa.cast(t.c.tags, JSONB).op("@>")(sa.bindparam(None, [tag], type_=JSONB))
    if conn.dialect.name == "sqlite":
        each = sa.func.json_each(t.c.tags).table_valued("value")
        return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == tag))
    # Portable fallback: the JSON text holds the tag as a quoted string.
    return sa.cast(t.c.tags, sa.Text).contains(json.dumps(tag), autoescape=True)
