"""Full-text search over entries and drafts, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from harvester.models import Draft, Entry, Evidence, Metric
from harvester.store import open_store, schema
from harvester.store.migrations import migrate
from harvester.store.search import SearchFilters
from tests.support.cli import run_cli
from tests.support.journal import seed_year


def ids(hits, kind="entry"):
    return [h.id for h in hits if h.type == kind]


def pending_draft(store, fingerprint: str, statement: str, when: datetime, tags=("efficiency",),
                  source="mlflow-prod") -> Draft:
    store.save_draft(Draft(id=None, fingerprint=fingerprint, status="pending", kind="latency_reduction",
                           source=source, subject="ranker-serving", occurred_at=when, statement=statement,
                           impact_prompt="Which users got faster?", metrics=(Metric("p99_ms", 420.0, 140.0),),
                           evidence=(Evidence("https://mlflow.example.com/#/runs/9", "best run"),), tags=tags))
    return next(d for d in store.list_drafts(["pending"]) if d.fingerprint == fingerprint)


@pytest.fixture
def journal(store):
    return seed_year(store)


def test_finds_entries_by_word_with_stemming_and_ranks_better_matches_first(store, journal):
    hits = store.search("fraud")
    found = set(ids(hits))
    assert {journal[k].id for k in ("lift", "campaign", "promotion", "pr_alerts", "before", "after")} <= found
    assert journal["latency"].id not in found
    # "improve" finds "Improved"; every word must match
    assert ids(store.search("improve auc")) == [journal["lift"].id]
    assert ids(store.search("fraud detector latency")) == []
    # words of the business outcome and the subject are searchable too
    assert ids(store.search("fraud-detector chargebacks")) == [journal["promotion"].id]

    dense = store.add_entry(Entry(id=None, text="Drift drift drift: drift alerts", kind="note",
                                  occurred_at=datetime(2026, 3, 1, tzinfo=timezone.utc)))
    ranked = ids(store.search("drift"))
    assert ranked[0] == dense.id and journal["pr_alerts"].id in ranked[1:]


def test_filters_by_date_tag_source_and_status(store, journal):
    june = datetime(2026, 6, 1, tzinfo=timezone.utc)
    pending = pending_draft(store, "fp-lat", "Cut p99 latency of ranker-serving by 280 ms", datetime(2026, 9, 1, tzinfo=timezone.utc))
    rejected = pending_draft(store, "fp-rej", "Cut latency of a teammate's ranker experiment",
                             datetime(2026, 9, 2, tzinfo=timezone.utc), source="wandb-team")
    store.reject_draft(rejected.id, "not mine")

    every = store.search("ranker")
    assert {(h.type, h.id) for h in every} >= {("entry", journal["latency"].id), ("draft", pending.id)}
    assert ("draft", rejected.id) not in {(h.type, h.id) for h in every}  # rejected only when asked

    since = store.search("ranker", SearchFilters(since=june))
    assert journal["latency"].id not in ids(since) and journal["pr_backfill"].id in ids(since)
    until = store.search("ranker", SearchFilters(until=june))
    assert ids(until) == [journal["latency"].id] and ids(until, "draft") == []

    tagged = store.search("ranker", SearchFilters(tags=("efficiency",), statuses=("confirmed", "pending")))
    assert {(h.type, h.id) for h in tagged} == {
        ("entry", journal["latency"].id), ("entry", journal["cost"].id), ("draft", pending.id)}
    both = store.search("feature", SearchFilters(tags=("data-features", "partnership-mentorship")))
    assert set(ids(both)) == {journal["pairing"].id, journal["review_2"].id}

    by_source = store.search("ranker", SearchFilters(sources=("github",)))
    assert set(ids(by_source)) == {journal["pr_backfill"].id} and ids(by_source, "draft") == []

    only_rejected = store.search("latency", SearchFilters(statuses=("rejected",)))
    assert [(h.type, h.id, h.status) for h in only_rejected] == [("draft", rejected.id, "rejected")]
    only_entries = store.search("latency", SearchFilters(statuses=("confirmed",)))
    assert {h.type for h in only_entries} == {"entry"}

    # a confirmed draft is found once, as its journal entry
    confirmed = store.confirm_draft(pending.id)
    after = store.search("280")
    assert [(h.type, h.id) for h in after] == [("entry", confirmed.id)]


def test_index_follows_edits_outcomes_and_refreshed_drafts(store):
    when = datetime(2026, 9, 1, tzinfo=timezone.utc)
    draft = pending_draft(store, "fp-1", "Cut p99 latency on the scorer", when)
    assert ids(store.search("scorer"), "draft") == [draft.id]
    store.save_draft(Draft(id=None, fingerprint="fp-1", status="pending", kind="latency_reduction",
                           source="mlflow-prod", subject="ranker-serving", occurred_at=when,
                           statement="Cut p99 latency on the reranker", impact_prompt="?"))
    assert ids(store.search("scorer"), "draft") == [] and ids(store.search("reranker"), "draft") == [draft.id]
    store.edit_draft(draft.id, "Halved tail latency of the reranker")
    assert ids(store.search("halved"), "draft") == [draft.id]

    entry = store.add_entry(Entry(id=None, text="Shipped the reranker", occurred_at=when))
    assert ids(store.search("revenue")) == []
    store.update_entry(entry.id, outcome="Search revenue up 2%")
    assert ids(store.search("revenue")) == [entry.id]
    store.update_entry(entry.id, outcome="Search conversion up 2%")
    assert ids(store.search("revenue")) == []


def test_search_is_scoped_to_the_owner(store, database_url):
    store.add_entry(Entry(id=None, text="Calibrated the churn model", occurred_at=datetime(2026, 1, 5, tzinfo=timezone.utc)))
    other = open_store(database_url, "grace@example.com")
    try:
        assert other.search("churn") == []
        assert len(store.search("churn")) == 1
    finally:
        other.close()


def test_migration_indexes_rows_written_before_search_existed(database_url):
    """A store created at schema version 5 with entries and drafts: opening it migrates and indexes them."""
    engine = sa.create_engine(database_url)
    migrate(engine, target=5)
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        assert not sa.inspect(conn).has_table("entries_fts")
        conn.execute(schema.entries.insert().values(
            owner="ada@example.com", text="Shipped the quantised embedding model", occurred_at=now, kind="note",
            source="manual", subject="", tags=["efficiency"], evidence=[], metrics=[], created_at=now, updated_at=now))
        conn.execute(schema.drafts.insert().values(
            owner="ada@example.com", fingerprint="old", status="pending", kind="metric_lift", source="mlflow-prod",
            subject="embedder", occurred_at=now, statement="Improved recall of the quantised embedder",
            impact_prompt="?", metrics=[], evidence=[], tags=[], edited=False, created_at=now, updated_at=now))
    engine.dispose()

    store = open_store(database_url, "ada@example.com")
    try:
        hits = store.search("quantised")
        assert [(h.type, h.text) for h in sorted(hits, key=lambda h: h.type)] == [
            ("draft", "Improved recall of the quantised embedder"),
            ("entry", "Shipped the quantised embedding model")]
        assert ids(store.search("quantised", SearchFilters(tags=("efficiency",)))) == [1]
    finally:
        store.close()


def test_sqlite_without_fts5_falls_back_to_word_matching(tmp_path, monkeypatch):
    monkeypatch.setattr("harvester.store.migrations.m006_search_index.fts5_available", lambda conn: False)
    store = open_store(f"sqlite:///{tmp_path / 'plain.db'}", "me")
    try:
        store.add_entry(Entry(id=None, text="Cut GPU cost of nightly training by 38%", occurred_at=datetime(2026, 2, 1, tzinfo=timezone.utc),
                              tags=("efficiency",)))
        with store.engine.connect() as conn:
            assert not sa.inspect(conn).has_table("entries_fts")
        assert len(store.search("gpu nightly")) == 1
        assert store.search("gpu daily") == []
        assert len(store.search("GPU", SearchFilters(tags=("efficiency",)))) == 1
    finally:
        store.close()


def test_search_cli_prints_lines_and_json(isolated_home):
    from harvester.config import default_store_url

    store = open_store(default_store_url(), "me")
    journal = seed_year(store)
    store.close()
    result = run_cli("search", "fraud", "model", "--since", "2026-01-01", "--until", "2026-12-31")
    assert result.exit_code == 0, result.output
    assert f"entry {journal['pr_alerts'].id}" in result.output and "2027" not in result.output
    data = json.loads(run_cli("search", "reviewed", "--json", "--tag", "partnership-mentorship").output)
    assert {d["id"] for d in data} == {journal["review_1"].id, journal["review_2"].id}
    assert all(d["type"] == "entry" and d["status"] == "confirmed" and "score" in d for d in data)
    assert "No matches" in run_cli("search", "nothing-like-this").output
    bad = run_cli("search", "x", "--status", "archived")
    assert bad.exit_code == 2
