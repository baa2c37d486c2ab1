"""Version 7: MLflow run records gain `description` (the run's note) and `run_type`, read
from the run JSON stored as their payload, so rules see them on runs harvested before."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

RUN_BACKFILL_BATCH = 1000


def apply(conn: sa.Connection) -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    records = sa.table("records", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                       sa.column("attributes", json_type), sa.column("payload", json_type))
    # Only the parts of the payload needed: the tags of a run and whether it is MLflow's run JSON
    # (W&B run nodes have no info.run_id).
    run_id = records.c.payload[("info", "run_id")].as_string().label("run_id")
    tags = records.c.payload[("data", "tags")].label("tags")
    # Pages are id ranges rather than ORDER BY id LIMIT n: with stale planner statistics
    # PostgreSQL sorted every remaining row for each such page.
    page = (sa.select(records.c.id, records.c.attributes, run_id, tags)
            .where(records.c.kind == "run", records.c.id >= sa.bindparam("low"), records.c.id < sa.bindparam("high")))
    update = (records.update().where(records.c.id == sa.bindparam("row_id"))
              .values(attributes=sa.bindparam("new_attributes", type_=json_type)))
    first, last = conn.execute(sa.select(sa.func.min(records.c.id), sa.func.max(records.c.id))).one()
    if first is None:
        return
    for low in range(first, last + 1, RUN_BACKFILL_BATCH):
        changed = []
        for row in conn.execute(page, {"low": low, "high": low + RUN_BACKFILL_BATCH}):
            attributes = backfill_run_attributes(row.attributes, row.tags) if row.run_id is not None else None
            if attributes is not None:
                changed.append({"row_id": row.id, "new_attributes": attributes})
        if changed:
            conn.execute(update, changed)


def backfill_run_attributes(attributes: Any, tags: Any) -> dict[str, Any] | None:
    """The attributes with `description` and `run_type` added where missing, from an MLflow
    run's tags (a list of {"key", "value"}); None when nothing is missing.

    Kept apart from the connector's parsing on purpose: a migration must go on doing what it
    did when it shipped."""
    if not isinstance(attributes, dict) or ("description" in attributes and "run_type" in attributes):
        return None
    items = tags if isinstance(tags, list) else ()
    values = {t.get("key"): t.get("value") for t in items if isinstance(t, dict)}
    added = {"description": str(values.get("mlflow.note.content") or "").strip(),
             "run_type": str(values.get("mlflow.runType") or "").strip()}
    return {**attributes, **{k: v for k, v in added.items() if k not in attributes}}
