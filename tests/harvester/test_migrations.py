"""Schema migrations over stores written by earlier releases.

tests/fixtures/store-0.1.0-decided.db is a store recorded by harvester 0.1.0 (schema version 6):
33 MLflow runs, a model version and a promotion, decided drafts and journal entries. Tests
work on copies of it; the fixture itself is never opened for writing.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from harvester.connectors.mlflow.parse import parse_run
from harvester.store import open_store
from harvester.store.migrations import latest_version, m006_search_index, m007_run_description_and_type, migrate

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store-0.1.0-decided.db"
NEW_KEYS = ("description", "run_type")
TABLES = ("records", "cursors", "drafts", "entries", "findings", "harvest_runs", "app_state")


def copy_fixture(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "store-0.1.0.db"
    shutil.copyfile(FIXTURE, path)
    return path


def read_tables(path: Path) -> dict[str, list[dict]]:
    """Every row of the data tables, by id or key, JSON columns parsed (plain sqlite3, no harvester)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3")] for t in TABLES}
    finally:
        conn.close()


def fixture_owner(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        [(owner,)] = conn.execute("SELECT DISTINCT owner FROM records").fetchall()
    finally:
        conn.close()
    return owner


def edit_run_payload(path: Path, record_id: int, tags: list[dict], attributes: dict | None = None) -> None:
    """Give one run of the copy extra MLflow tags (and optionally preset attributes), as 0.1.0 stored them."""
    conn = sqlite3.connect(path)
    with conn:
        payload, attrs = conn.execute("SELECT payload, attributes FROM records WHERE id = ?", (record_id,)).fetchone()
        payload = json.loads(payload)
        payload["data"]["tags"].extend(tags)
        attrs = {**json.loads(attrs), **(attributes or {})}
        conn.execute("UPDATE records SET payload = ?, attributes = ? WHERE id = ?",
                     (json.dumps(payload), json.dumps(attrs), record_id))
    conn.close()


# Columns later migrations add, empty on every row they find (migration 8: soft-deleted entries).
LATER_COLUMNS = {"entries": ("deleted_at",)}


def without_later_columns(table: str, row: dict) -> dict:
    later = LATER_COLUMNS.get(table, ())
    assert all(row[c] is None for c in later), row
    return {k: v for k, v in row.items() if k not in later}


def without_new_keys(row: dict) -> dict:
    attributes = json.loads(row["attributes"])
    return {**row, "attributes": {k: v for k, v in attributes.items() if k not in NEW_KEYS}}


def test_opening_a_0_1_0_store_adds_description_and_run_type_and_changes_nothing_else(tmp_path):
    path = copy_fixture(tmp_path)
    run_ids = [r["id"] for r in read_tables(path)["records"] if r["kind"] == "run"]
    noted, evaluated, preset = run_ids[0], run_ids[1], run_ids[2]
    edit_run_payload(path, noted, [{"key": "mlflow.note.content", "value": "  Depth 6 is the baseline.\n"}])
    edit_run_payload(path, evaluated, [{"key": "mlflow.runType", "value": "genai_evaluate"}])
    # a key already present is kept, even when the payload says otherwise
    edit_run_payload(path, preset, [{"key": "mlflow.note.content", "value": "from the payload"}],
                     attributes={"description": "kept as it was"})
    before = read_tables(path)

    store = open_store(f"sqlite:///{path}", fixture_owner(path))
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT max(version) FROM harvester_schema")).scalar() == latest_version()
    runs = {r.external_id: r for r in store.load_records("run")}
    store.close()
    after = read_tables(path)

    assert len(runs) == 33
    for record in runs.values():
        assert set(NEW_KEYS) <= set(record.attributes)
    by_id = {r["id"]: json.loads(r["attributes"]) for r in after["records"]}
    assert by_id[noted]["description"] == "Depth 6 is the baseline." and by_id[noted]["run_type"] == ""
    assert by_id[evaluated]["run_type"] == "genai_evaluate" and by_id[evaluated]["description"] == ""
    assert by_id[preset]["description"] == "kept as it was" and by_id[preset]["run_type"] == ""
    others = [i for i in run_ids if i not in (noted, evaluated, preset)]
    assert all(by_id[i]["description"] == "" and by_id[i]["run_type"] == "" for i in others)

    # every column of every record is as it was (attributes up to the two new keys, payloads byte for byte)
    assert [without_new_keys(r) for r in after["records"]] == [without_new_keys(r) for r in before["records"]]
    assert [r for r in after["records"] if r["kind"] != "run"] == [r for r in before["records"] if r["kind"] != "run"]
    # the other tables too: no new records version (app_state), drafts and entries as decided
    for table in TABLES[1:]:
        assert [without_later_columns(table, r) for r in after[table]] == before[table], table


def test_backfilled_values_are_what_the_connector_reads_from_the_same_run(tmp_path):
    """So the next harvest's overlap does not count every old run as changed."""
    path = copy_fixture(tmp_path)
    run_ids = [r["id"] for r in read_tables(path)["records"] if r["kind"] == "run"]
    edit_run_payload(path, run_ids[0], [{"key": "mlflow.note.content", "value": "Swept depth 4-8.\n"},
                                        {"key": "mlflow.runType", "value": "genai_evaluate"}])
    open_store(f"sqlite:///{path}", fixture_owner(path)).close()

    for row in read_tables(path)["records"]:
        if row["kind"] != "run":
            continue
        stored = json.loads(row["attributes"])
        parsed = parse_run(json.loads(row["payload"]), row["source"], {}, "", frozenset()).attributes
        assert {k: stored[k] for k in NEW_KEYS} == {k: parsed[k] for k in NEW_KEYS}


def test_reopening_the_migrated_store_leaves_it_as_it_is(tmp_path):
    path = copy_fixture(tmp_path)
    owner = fixture_owner(path)
    open_store(f"sqlite:///{path}", owner).close()
    migrated = read_tables(path)
    open_store(f"sqlite:///{path}", owner).close()
    assert read_tables(path) == migrated


def fixture_rows(tmp_path: Path) -> list[dict]:
    """The 0.1.0 records, JSON parsed, read from a copy of the fixture."""
    rows = read_tables(copy_fixture(tmp_path))["records"]
    for row in rows:
        row["attributes"], row["payload"] = json.loads(row["attributes"]), json.loads(row["payload"])
        row["mine"] = bool(row["mine"])
    return rows


def wandb_run_row(record_id: int, owner: str, when) -> dict:
    node = {"id": "UnVuOnYxOnIxOnByb2o6ZW50", "name": "r1", "displayName": "bright-fox-7", "state": "finished",
            "createdAt": "2026-10-01T10:00:00", "heartbeatAt": "2026-10-01T11:00:00", "tags": [],
            "user": {"username": "ada"}}
    return {"id": record_id, "owner": owner, "source": "wandb-team", "kind": "run", "external_id": "ml-team/fraud/r1",
            "subject": "ml-team/fraud", "occurred_at": when, "actor": "ada", "mine": True, "title": "bright-fox-7",
            "url": None, "attributes": {"status": "finished", "metrics": {}, "tags": {}}, "payload": node,
            "fetched_at": when}


def test_backfill_pages_through_runs_on_every_dialect(database_url, monkeypatch, tmp_path):
    """The 0.1.0 records loaded into a version-6 store of the dialect under test (JSON on SQLite,
    JSONB on PostgreSQL), migrated a few runs at a time; W&B runs are left alone."""
    from harvester.store import schema

    engine = sa.create_engine(database_url)
    migrate(engine, target=6)
    rows = fixture_rows(tmp_path / "fixture")
    owner = rows[0]["owner"]
    when = datetime(2026, 10, 1, tzinfo=timezone.utc)
    for row in rows:
        row["occurred_at"], row["fetched_at"] = when, when
    rows.append(wandb_run_row(max(r["id"] for r in rows) + 1, owner, when))
    with engine.begin() as conn:
        conn.execute(schema.records.insert(), rows)

    pages = []

    def count_pages(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "records.payload" in statement:
            pages.append(parameters)

    monkeypatch.setattr(m007_run_description_and_type, "RUN_BACKFILL_BATCH", 7)
    sa.event.listen(engine, "before_cursor_execute", count_pages)
    migrate(engine)
    sa.event.remove(engine, "before_cursor_execute", count_pages)

    runs = [r for r in rows if r["kind"] == "run"]
    ids = [r["id"] for r in rows]
    assert len(runs) == 34 and ids == list(range(1, 37))
    assert len(pages) == 6  # ids 1-36, seven at a time
    t = schema.records
    with engine.connect() as conn:
        stored = {r.id: r for r in conn.execute(sa.select(t).order_by(t.c.id))}
    engine.dispose()
    for row in rows:
        got = stored[row["id"]]
        assert got.payload == row["payload"]
        if row["kind"] == "run" and row["source"] != "wandb-team":
            assert got.attributes == {**row["attributes"], "description": "", "run_type": ""}
        else:
            assert got.attributes == row["attributes"]  # registry records and W&B runs untouched


@pytest.mark.parametrize("attributes", ["not a dict", None, {"description": "a", "run_type": "b"}])
def test_attributes_that_need_nothing_are_left_alone(attributes):
    tags = [{"key": "mlflow.note.content", "value": "n"}]
    assert m007_run_description_and_type.backfill_run_attributes(attributes, tags) is None


def test_a_run_without_tags_gets_empty_values():
    assert m007_run_description_and_type.backfill_run_attributes({"status": "running"}, None) == \
        {"status": "running", "description": "", "run_type": ""}


# Search structures of migration 6, dialect-specific and left out of schema.py by design.
SEARCH_TABLES = tuple(m006_search_index.FTS_TABLES.values())
SEARCH_INDEXES = {f"ix_{table}_search" for table in m006_search_index.PG_VECTORS}


def declared_shape(dialect: sa.Dialect) -> dict[str, dict]:
    """Tables, columns (type as the dialect writes it, nullability), keys and indexes schema.py declares."""
    from harvester.store import schema

    return {table.name: {
        "columns": {c.name: (c.type.compile(dialect=dialect), c.nullable) for c in table.columns},
        "primary key": tuple(c.name for c in table.primary_key.columns),
        "unique": {(u.name, tuple(c.name for c in u.columns)) for u in table.constraints
                   if isinstance(u, sa.UniqueConstraint)},
        "indexes": {(i.name, tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes},
        "foreign keys": {(fk.parent.name, fk.target_fullname) for fk in table.foreign_keys},
        "checks": set(),
    } for table in schema.metadata.tables.values()}


def reflected_shape(conn: sa.Connection) -> dict[str, dict]:
    inspector = sa.inspect(conn)
    shape = {}
    for name in inspector.get_table_names():
        if name.startswith(SEARCH_TABLES):
            continue
        shape[name] = {
            "columns": {c["name"]: (c["type"].compile(dialect=conn.dialect), c["nullable"])
                        for c in inspector.get_columns(name)},
            "primary key": tuple(inspector.get_pk_constraint(name)["constrained_columns"]),
            "unique": {(u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)},
            "indexes": {(i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(name)
                        if not i.get("duplicates_constraint") and i["name"] not in SEARCH_INDEXES},
            "foreign keys": {(c, f"{fk['referred_table']}.{r}") for fk in inspector.get_foreign_keys(name)
                             for c, r in zip(fk["constrained_columns"], fk["referred_columns"])},
            "checks": {(c["name"], c["sqltext"]) for c in inspector.get_check_constraints(name)},
        }
    return shape


def test_every_migration_from_empty_builds_exactly_what_schema_py_declares(database_url):
    """So neither can change without the other: a column edited in schema.py needs a migration."""
    engine = sa.create_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            found = reflected_shape(conn)
            declared = declared_shape(conn.dialect)
    finally:
        engine.dispose()
    assert sorted(found) == sorted(declared)
    for table in declared:
        for part in declared[table]:
            assert found[table][part] == declared[table][part], (table, part)
