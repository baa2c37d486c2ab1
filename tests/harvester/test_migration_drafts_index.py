"""Migration 11: the drafts index becomes (owner, status, occurred_at, id), on SQLite and
PostgreSQL; a version-10 store with drafts keeps them, and `drafts list` reads one status in
order from the index."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from harvester.store import open_store, schema
from harvester.store.migrations import migrate

OWNER = "ada@example.com"
START = datetime(2026, 7, 1, tzinfo=timezone.utc)


def draft_rows(n: int) -> list[dict]:
    return [{"owner": OWNER, "fingerprint": f"f{i:03d}", "status": ("pending", "rejected")[i % 2],
             "kind": "metric_lift", "source": "mlflow-prod", "subject": f"exp-{i}",
             "occurred_at": START + timedelta(days=i), "statement": f"Raised recall {i}", "impact_prompt": "Why?",
             "metrics": [], "evidence": [], "tags": [], "edited": False, "created_at": START, "updated_at": START}
            for i in range(n)]


def drafts_indexes(conn: sa.Connection) -> dict[str, tuple[str, ...]]:
    return {i["name"]: tuple(i["column_names"]) for i in sa.inspect(conn).get_indexes("drafts")
            if i["name"].startswith("ix_drafts_status")}


def test_a_version_10_store_gets_the_new_index_and_keeps_its_drafts(database_url):
    engine = sa.create_engine(database_url)
    try:
        migrate(engine, target=10)
        with engine.begin() as conn:
            conn.execute(schema.drafts.insert(), draft_rows(12))
            assert drafts_indexes(conn) == {"ix_drafts_status": ("owner", "status")}
        assert migrate(engine) == 11
        with engine.connect() as conn:
            assert drafts_indexes(conn) == {"ix_drafts_status_time": ("owner", "status", "occurred_at", "id")}
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.drafts)).scalar() == 12
    finally:
        engine.dispose()
    store = open_store(database_url, OWNER)
    try:
        listed = store.list_drafts(["pending"])
    finally:
        store.close()
    assert [d.fingerprint for d in listed] == [f"f{i:03d}" for i in range(10, -1, -2)]  # newest first


def test_on_sqlite_one_status_is_listed_from_the_index_without_a_sort(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = sa.create_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(schema.drafts.insert(), draft_rows(40))
    captured = []
    store = open_store(url, OWNER)
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, params, context, many: captured.append((statement, params)))
    try:
        store.list_drafts(["pending"])
        store.list_drafts(["pending"], since=START + timedelta(days=20))
    finally:
        store.close()
    listing = [(s, p) for s, p in captured if s.lstrip().startswith("SELECT") and "FROM drafts" in s]
    assert len(listing) == 2
    with engine.connect() as conn:
        for statement, params in listing:
            plan = " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            assert "USING INDEX ix_drafts_status_time" in plan and "TEMP B-TREE" not in plan, plan
    engine.dispose()
