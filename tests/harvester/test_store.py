"""The store on SQLite and, when HARVESTER_TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from harvester.models import Cursor, Draft, Metric, Record
from harvester.store import open_store
from harvester.store.migrations import latest_version, migrate
from harvester.store.schema import metadata

WHEN = datetime(2026, 10, 1, 12, tzinfo=timezone.utc)


def record(i, **kw):
    base = dict(source="m", kind="run", external_id=f"r{i}", occurred_at=WHEN, subject="fraud",
                attributes={"status": "finished", "metrics": {"auc": 0.8}}, payload={"i": i})
    base.update(kw)
    return Record(**base)


def draft(fp="fp1", statement="Improved auc", **kw):
    base = dict(id=None, fingerprint=fp, status="pending", kind="metric_lift", source="m", subject="fraud",
                occurred_at=WHEN, statement=statement, impact_prompt="So what?", metrics=(Metric("auc", 0.8, 0.9),),
                tags=("model-performance",))
    base.update(kw)
    return Draft(**base)


def test_upserting_the_same_page_twice_keeps_one_row_and_the_latest_values(store):
    store.save_page([record(1), record(2)], None)
    store.save_page([record(1, attributes={"status": "finished", "metrics": {"auc": 0.9}}), record(2)], None)
    assert store.count_records() == 2
    [r1] = [r for r in store.load_records("run") if r.external_id == "r1"]
    assert r1.attributes["metrics"]["auc"] == 0.9
    assert r1.occurred_at == WHEN  # timezone-aware UTC on every dialect


def test_page_and_cursor_commit_together(store):
    cursor = Cursor(source="m", stream="runs", value=WHEN.isoformat(), seen_ids=frozenset({"r1"}),
                    state={"running": ["r9"]})
    store.save_page([record(1)], cursor)
    loaded = store.load_cursor("m", "runs")
    assert loaded.value == WHEN.isoformat() and loaded.seen_ids == {"r1"} and loaded.state == {"running": ["r9"]}


def test_a_failed_page_leaves_neither_records_nor_cursor(store):
    bad = record(2, attributes={"not json": object()})
    with pytest.raises(Exception):
        store.save_page([record(1), bad], Cursor(source="m", stream="runs", value="x"))
    assert store.count_records() == 0 and store.load_cursor("m", "runs") is None


def test_draft_lifecycle(store):
    assert store.save_draft(draft()) == "new"
    assert store.save_draft(draft()) == "unchanged"
    assert store.save_draft(draft(statement="Improved auc more")) == "updated"
    [d] = store.list_drafts(["pending"])
    assert d.statement == "Improved auc more" and d.metrics[0].after == 0.9

    store.edit_draft(d.id, "My own words")
    assert store.save_draft(draft(statement="Tool words")) == "kept"
    entry = store.confirm_draft(d.id)
    assert entry.text == "My own words"
    assert store.save_draft(draft(statement="Tool words again")) == "kept"
    assert store.get_draft(d.id).status == "confirmed"
    assert [e.text for e in store.list_entries()] == ["My own words"]


def test_rejected_fingerprint_never_returns(store):
    store.save_draft(draft("fp-x"))
    [d] = store.list_drafts()
    store.reject_draft(d.id, "noise")
    assert store.save_draft(draft("fp-x", statement="different")) == "kept"
    assert [x.status for x in store.list_drafts()] == ["rejected"]


def test_owners_never_see_each_others_rows(database_url):
    a = open_store(database_url, "ada")
    b = open_store(database_url, "bob")
    a.save_page([record(1)], None)
    a.save_draft(draft())
    assert b.count_records() == 0 and b.list_drafts() == []
    b.save_page([record(1)], None)  # same natural key, other owner: its own row
    assert a.count_records() == 1 and b.count_records() == 1
    a.close(), b.close()


def test_upgrade_from_schema_version_1_keeps_the_data(database_url):
    engine = sa.create_engine(database_url)
    migrate(engine, target=1)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO entries (owner, draft_id, text, occurred_at, kind, source, subject, tags, evidence, metrics,"
            " created_at, updated_at) VALUES ('ada', NULL, 'Old entry', :t, 'note', 'manual', '', '[]', '[]', '[]', :t, :t)"),
            {"t": WHEN})
        assert "outcome" not in {c["name"] for c in sa.inspect(conn).get_columns("entries")}
        assert "linked" not in {c["name"] for c in sa.inspect(conn).get_columns("drafts")}
    engine.dispose()

    store = open_store(database_url, "ada")
    [entry] = store.list_entries()
    assert entry.text == "Old entry" and entry.outcome is None
    store.update_entry(entry.id, outcome="CTR +2%")
    assert store.get_entry(entry.id).outcome == "CTR +2%"
    with store.engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in metadata.sorted_tables:
            assert inspector.has_table(table.name), table.name
            found = {c["name"] for c in inspector.get_columns(table.name)}
            assert found >= {c.name for c in table.columns}, table.name
        version = conn.execute(sa.text("SELECT max(version) FROM harvester_schema")).scalar()
    assert version == latest_version()
    store.close()


def test_reopening_migrates_nothing_twice(database_url):
    open_store(database_url, "ada").close()
    store = open_store(database_url, "ada")
    with store.engine.connect() as conn:
        versions = [r[0] for r in conn.execute(sa.text("SELECT version FROM harvester_schema ORDER BY version"))]
    assert versions == sorted(set(versions))
    store.close()


def test_a_newer_database_is_refused_with_a_clear_message(tmp_path):
    from harvester.errors import StoreError

    url = f"sqlite:///{tmp_path / 'new.db'}"
    open_store(url, "ada").close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO harvester_schema (version, applied_at) VALUES (999, '2030-01-01')"))
    with pytest.raises(StoreError, match="Upgrade harvester"):
        open_store(url, "ada")
