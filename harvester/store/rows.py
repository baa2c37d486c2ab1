"""Rows to models and back: Record, Draft and Entry from result rows, and the column values
of a draft and a finding. Imports no query module, so every one of them can use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from harvester.models import Draft, Entry, Evidence, Finding, Metric, Record, ensure_utc


def differs(old: Any, new: Any) -> bool:
    """A stored value and a new one differ (datetimes compared in UTC, whatever the dialect gave back)."""
    if isinstance(old, datetime) and isinstance(new, datetime):
        return ensure_utc(old) != ensure_utc(new)
    return old != new


def finding_body(f: Finding) -> dict[str, Any]:
    return {
        "metrics": [m.as_dict() for m in f.metrics], "record_ids": list(f.record_ids),
        "evidence": [e.as_dict() for e in f.evidence], "facts": dict(f.facts), "identity": list(f.identity),
    }


def finding_json(f: Finding) -> dict[str, Any]:
    """A finding whole, as JSON values (`finding_from_json` reads it back)."""
    return {"rule": f.rule, "kind": f.kind, "source": f.source, "subject": f.subject,
            "occurred_at": ensure_utc(f.occurred_at).isoformat(), "period": f.period, **finding_body(f)}


def finding_from_json(d: dict[str, Any]) -> Finding:
    return Finding(rule=d["rule"], kind=d["kind"], source=d["source"], subject=d["subject"],
                   occurred_at=ensure_utc(datetime.fromisoformat(d["occurred_at"])), period=d["period"],
                   metrics=metrics_from(d["metrics"]), record_ids=tuple(d["record_ids"]),
                   evidence=evidence_from(d["evidence"]), facts=d["facts"], identity=tuple(d["identity"]))


def draft_row(d: Draft) -> dict[str, Any]:
    return {
        "kind": d.kind, "source": d.source, "subject": d.subject, "occurred_at": ensure_utc(d.occurred_at),
        "statement": d.statement, "impact_prompt": d.impact_prompt,
        "metrics": [m.as_dict() for m in d.metrics], "evidence": [e.as_dict() for e in d.evidence],
        "tags": list(d.tags), "linked": [dict(x) for x in d.linked] or None,
    }


def metrics_from(items: Iterable[dict]) -> tuple[Metric, ...]:
    return tuple(Metric(m["name"], m.get("before"), m.get("after"), m.get("unit", "")) for m in items or ())


def evidence_from(items: Iterable[dict]) -> tuple[Evidence, ...]:
    return tuple(Evidence(e["url"], e.get("label", ""), e.get("source", "")) for e in items or ())


def row_to_record(row: Any) -> Record:
    return Record(source=row["source"], kind=row["kind"], external_id=row["external_id"],
                  occurred_at=ensure_utc(row["occurred_at"]), subject=row["subject"], actor=row["actor"],
                  mine=bool(row["mine"]), title=row["title"], url=row["url"], attributes=row["attributes"] or {},
                  payload=row.get("payload") or {})


def row_to_draft(row: Any) -> Draft:
    return Draft(id=row["id"], fingerprint=row["fingerprint"], status=row["status"], kind=row["kind"],
                 source=row["source"], subject=row["subject"], occurred_at=ensure_utc(row["occurred_at"]),
                 statement=row["statement"], impact_prompt=row["impact_prompt"], metrics=metrics_from(row["metrics"]),
                 evidence=evidence_from(row["evidence"]), tags=tuple(row["tags"] or ()), edited=bool(row["edited"]),
                 reason=row["reason"], created_at=ensure_utc(row["created_at"]),
                 updated_at=ensure_utc(row["updated_at"]), linked=tuple(row["linked"] or ()))


def row_to_entry(row: Any) -> Entry:
    return Entry(id=row["id"], text=row["text"], occurred_at=ensure_utc(row["occurred_at"]), kind=row["kind"],
                 source=row["source"], subject=row["subject"], draft_id=row["draft_id"],
                 tags=tuple(row["tags"] or ()), evidence=evidence_from(row["evidence"]),
                 metrics=metrics_from(row["metrics"]), outcome=row["outcome"], created_at=ensure_utc(row["created_at"]),
                 deleted_at=ensure_utc(row["deleted_at"]) if row["deleted_at"] else None)
