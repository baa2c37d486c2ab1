"""NUL in a value from a source: kept as it came on SQLite, stored as U+FFFD on PostgreSQL
(which cannot hold it in text or JSONB), and in both cases stored once: the same page saved
again is not counted as a change."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from harvester.models import Record
from harvester.store import schema
from harvester.store.values import NUL_STAND_IN, dump_json_for_postgresql

NAME = "fraud\x00model"


def hostile_record() -> Record:
    return Record(source="mlflow", kind="run", external_id="run\x00-1", occurred_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
                  subject=NAME, actor="ada", mine=True, title=f"run in {NAME}", url=None,
                  attributes={"name": NAME, "params": {"a\x00b": "c\x00d"}, "list": [NAME]},
                  payload={"info": {"run_name": NAME}, "escaped": "\\u0000 stays text"})


def test_nul_is_stored_once_on_either_database(store):
    record = hostile_record()
    assert store.save_page([record], None) == 1
    assert store.save_page([record], None) == 0
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(schema.records)).mappings().one()
    expected = NAME if store.engine.dialect.name == "sqlite" else NAME.replace("\x00", NUL_STAND_IN)
    assert row["subject"] == expected and row["attributes"]["name"] == expected
    assert row["attributes"]["params"] == ({"a\x00b": "c\x00d"} if expected == NAME else {"a\ufffdb": "c\ufffdd"})
    assert row["payload"]["escaped"] == "\\u0000 stays text"
    assert store.count_records("mlflow", "run") == 1


def test_the_postgresql_serializer_replaces_only_real_nul_characters():
    text = dump_json_for_postgresql({"a": "x\x00y", "b": "\\u0000", "c": "\\\x00"})
    assert "\\u0000" not in text.replace('"\\\\u0000"', "")
    assert '"x\ufffdy"' in text and '"\\\\u0000"' in text and '"\\\\\ufffd"' in text


def test_non_finite_numbers_are_stored_as_null_and_once(store):
    record = Record(source="wandb", kind="run", external_id="r1", occurred_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
                    subject="fraud", actor="ada", mine=True, title="r1", url=None,
                    attributes={"summary": {"loss": float("nan"), "best": float("inf"), "auc": 0.8}},
                    payload={"summaryMetrics": {"loss": float("nan")}})
    assert store.save_page([record], None) == 1
    assert store.save_page([record], None) == 0
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(schema.records)).mappings().one()
    assert row["attributes"]["summary"] == {"loss": None, "best": None, "auc": 0.8}
