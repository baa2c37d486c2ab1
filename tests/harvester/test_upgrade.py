"""Upgrading a store made by the previous release (0.1.0, recorded in tests/fixtures) and
redrafting: the engineer's decisions are byte-identical, and nothing rejected comes back."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from harvester.config import parse_config
from harvester.drafting.redraft import redraft
from harvester.store import open_store

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-0.1.0-decided.db"
OWNER = "ada@example.com"
# The recorded store holds the sample's drafts as 0.1.0 worded them, after: confirm the lift, edit the
# promotion, reject the cost cut and the ruled-out ranking idea, log a manual note.
DECIDED = "status IN ('confirmed', 'rejected') OR edited"


def rows(path, query):
    with sqlite3.connect(path) as conn:
        return conn.execute(query).fetchall()


def test_redrafting_an_upgraded_store_leaves_every_decision_untouched(tmp_path):
    path = tmp_path / "harvester.db"
    shutil.copy(FIXTURE, path)
    drafts_before = rows(path, f"SELECT * FROM drafts WHERE {DECIDED} ORDER BY id")
    entries_before = rows(path, "SELECT * FROM entries ORDER BY id")
    entry_columns = ", ".join(c for _, c, *_ in rows(path, "PRAGMA table_info(entries)"))
    rejected = rows(path, "SELECT kind, subject FROM drafts WHERE status = 'rejected'")
    assert len(drafts_before) == 4 and len(entries_before) == 2 and len(rejected) == 2

    store = open_store(f"sqlite:///{path}", OWNER)
    config = parse_config({"identity": {"email": OWNER, "handles": ["ada"]}}, None)
    counts = redraft(store, config)
    again = redraft(store, config)
    store.close()

    assert rows(path, f"SELECT * FROM drafts WHERE {DECIDED} ORDER BY id") == drafts_before
    assert rows(path, f"SELECT {entry_columns} FROM entries ORDER BY id") == entries_before
    assert rows(path, "SELECT count(*) FROM entries WHERE deleted_at IS NOT NULL") == [(0,)]
    pending = rows(path, "SELECT kind, subject, statement FROM drafts WHERE status = 'pending'")
    assert {(k, s) for k, s, _ in pending}.isdisjoint(set(rejected)), pending
    assert counts.new == 0 and again.new == 0 and again.updated == 0
    # the one undecided draft, the latency cut, is reworded; the rejected cost cut is not folded into it
    [(kind, subject, statement)] = [p for p in pending if p[0] == "latency_reduction"]
    assert statement.startswith("Cut p99 latency of ranker-serving from 420 ms to 140 ms")
    assert "cost per 1k requests" not in statement
