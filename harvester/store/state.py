"""The harvest run log and the app state (small values by key) of one owner."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from harvester.models import utcnow
from harvester.store import schema
from harvester.store.upsert import upsert_rows

# app_state keys: a token that changes with every saved page that changes a record, and what
# the last complete drafting pass was computed from (that token and the rules' signature).
RECORDS_VERSION_KEY = "records.version"
DRAFTED_INPUTS_KEY = "drafting.inputs"


class RunLogMixin:
    engine: sa.Engine
    owner: str
    harvest_owner: str

    def start_harvest_run(self, source: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(schema.harvest_runs.insert().values(
                owner=self.harvest_owner, source=source, started_at=utcnow(), status="running", records=0, requests=0))
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
                  .where(t.c.owner == self.harvest_owner).group_by(t.c.source).subquery())
        q = sa.select(t).join(latest, t.c.id == latest.c.id).order_by(t.c.source)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def unfinished_sources(self) -> set[str]:
        """Sources whose latest harvest did not complete (failed, or cut off while running)."""
        return {run["source"] for run in self.last_harvest_runs() if run["status"] != "ok"}

    def get_state(self, key: str, default: Any = None, owner: str | None = None) -> Any:
        t = schema.app_state
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.c.value).where(t.c.owner == (owner or self.owner), t.c.key == key)).scalar()
        return default if value is None else value

    def records_version(self) -> Any:
        """A token that changes whenever a harvest changes a record rules read."""
        return self.get_state(RECORDS_VERSION_KEY, owner=self.harvest_owner)

    def set_state(self, key: str, value: Any) -> None:
        with self.engine.begin() as conn:
            upsert_rows(conn, schema.app_state,
                        [{"owner": self.owner, "key": key, "value": value, "updated_at": utcnow()}],
                        key=("owner", "key"))
