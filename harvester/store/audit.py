"""The audit trail: every change the engineer makes to a draft or a journal entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from harvester.models import AuditEvent, ensure_utc, utcnow
from harvester.store import schema


def record_change(conn: sa.Connection, owner: str, item_type: str, item_id: int, action: str,
                  before: dict[str, Any] | None, after: dict[str, Any] | None, via: str,
                  now: datetime | None = None) -> None:
    """Add one event to the trail, in the transaction of the change itself."""
    conn.execute(schema.audit_events.insert().values(
        owner=owner, item_type=item_type, item_id=item_id, action=action, changed_at=now or utcnow(),
        before_values=before, after_values=after, via=via))


class AuditMixin:
    engine: sa.Engine
    owner: str

    def history(self, item_type: str, item_id: int) -> list[AuditEvent]:
        """The changes made to one draft or entry (`item_type` "draft" or "entry"), oldest first."""
        t = schema.audit_events
        q = (sa.select(t).where(t.c.owner == self.owner, t.c.item_type == item_type, t.c.item_id == item_id)
             .order_by(t.c.changed_at, t.c.id))
        with self.engine.connect() as conn:
            return [AuditEvent(item_type=r["item_type"], item_id=r["item_id"], action=r["action"],
                               changed_at=ensure_utc(r["changed_at"]), before=r["before_values"],
                               after=r["after_values"], via=r["via"]) for r in conn.execute(q).mappings()]
