"""What changed since the last drafting pass: the record groups saved pages changed (marks in
changed_groups), and the findings the last pass left per group (app_state), from which a
pass over the changed groups only is completed."""

from __future__ import annotations

import json
import uuid
from typing import Any, Iterable

import sqlalchemy as sa

from harvester.models import utcnow
from harvester.store import schema
from harvester.store.upsert import upsert_rows
from harvester.store.values import dump_json

# app_state key: the last complete pass's findings per group and per rollup rule, and what they rest on.
DETECTED_KEY = "drafting.detected"

GroupKey = tuple[str, str, str]  # (source, kind, subject)


def mark_changed_groups(conn: sa.Connection, groups: Iterable[tuple[str, str, str, str]]) -> None:
    """Mark (owner, source, kind, subject) groups changed, with a token of this page."""
    token = uuid.uuid4().hex
    rows = [{"owner": o, "source": s, "kind": k, "subject": subj, "token": token}
            for o, s, k, subj in sorted(set(groups))]
    upsert_rows(conn, schema.changed_groups, rows, key=("owner", "source", "kind", "subject"))


class ChangesMixin:
    engine: sa.Engine
    owner: str

    def changed_groups(self) -> dict[GroupKey, str]:
        """(source, kind, subject) -> token of every group marked changed since the last pass."""
        t = schema.changed_groups
        q = sa.select(t.c.source, t.c.kind, t.c.subject, t.c.token).where(t.c.owner == self.owner)
        with self.engine.connect() as conn:
            return {(r.source, r.kind, r.subject): r.token for r in conn.execute(q)}

    def record_group_keys(self, sources: Iterable[str]) -> set[GroupKey]:
        """Every stored group of these sources (the group index alone answers)."""
        t = schema.records
        q = (sa.select(t.c.source, t.c.kind, t.c.subject).where(t.c.owner == self.owner, t.c.source.in_(sorted(sources)))
             .group_by(t.c.source, t.c.kind, t.c.subject))
        with self.engine.connect() as conn:
            return {(r.source, r.kind, r.subject) for r in conn.execute(q)}

    def load_detected(self) -> dict[str, Any] | None:
        t = schema.app_state
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.c.value).where(t.c.owner == self.owner, t.c.key == DETECTED_KEY)).scalar()
        return json.loads(value) if isinstance(value, str) else None

    def save_detected(self, detected: dict[str, Any], consumed: dict[GroupKey, str]) -> None:
        """Keep what this pass detected and clear the marks it consumed, in one transaction; a
        mark a page renewed while the pass ran (another token) stays for the next pass. Stored
        as JSON text, so findings come back in the order they were written on any database."""
        t = schema.changed_groups
        with self.engine.begin() as conn:
            upsert_rows(conn, schema.app_state, [{"owner": self.owner, "key": DETECTED_KEY, "value": dump_json(detected),
                                                  "updated_at": utcnow()}], key=("owner", "key"))
            if consumed:
                conn.execute(t.delete().where(t.c.owner == self.owner, t.c.source == sa.bindparam("s"),
                                              t.c.kind == sa.bindparam("k"), t.c.subject == sa.bindparam("subj"),
                                              t.c.token == sa.bindparam("tok")),
                             [{"s": s, "k": k, "subj": subj, "tok": tok} for (s, k, subj), tok in consumed.items()])
