"""Build run records inline with the constructors the connectors use."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

from harvester.models import Record
from harvester.records import make_run_attributes, make_run_record

T0 = datetime(2026, 9, 1, tzinfo=timezone.utc)
_ids = count(1)


def run(day: float, metrics: dict, mine: bool = True, status: str = "finished", tags: dict | None = None,
        params: dict | None = None, subject: str = "fraud", source: str = "mlflow") -> Record:
    rid = f"r{next(_ids):04d}"
    when = T0 + timedelta(days=day)
    attributes = make_run_attributes(status=status, metrics=metrics, params=params, tags=tags, name=rid,
                                     experiment_id="1", experiment_url="http://mlflow/#/experiments/1",
                                     started_at=when.isoformat(), ended_at=when.isoformat())
    return make_run_record(source, rid, when, subject, attributes, actor="ada" if mine else "bob", mine=mine,
                           title=rid, url=f"http://mlflow/#/runs/{rid}")
