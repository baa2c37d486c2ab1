"""Core types. Plain frozen dataclasses; every time is timezone-aware UTC."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

# superseded: set aside by the tool (linked into another draft, or no longer found); it returns
# to pending if its finding stands on its own again. The others are the engineer's decisions.
DRAFT_STATUSES = ("pending", "confirmed", "rejected", "superseded")
DECIDED_STATUSES = ("confirmed", "rejected")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def ensure_utc(value: datetime) -> datetime:
    if value.tzinfo is timezone.utc:  # what every connector gives: no conversion to pay per record
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass(frozen=True, slots=True)
class Record:
    """One item from a source, normalised.

    `attributes` holds the source-agnostic view rules read (for runs: status, metrics,
    params, tags, name); `payload` keeps the raw source JSON so rules can change later
    without re-fetching. Natural key: (source, kind, external_id).
    """

    source: str
    kind: str
    external_id: str
    occurred_at: datetime
    subject: str
    actor: str | None = None
    mine: bool = True
    title: str = ""
    url: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.kind, self.external_id)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a (source instance, stream) got to. Saved with the page it follows."""

    source: str
    stream: str
    value: str | None = None
    seen_ids: frozenset[str] = frozenset()
    state: Mapping[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    before: float | None
    after: float | None
    unit: str = ""

    @property
    def relative_change(self) -> float | None:
        if self.before in (None, 0) or self.after is None:
            return None
        return (self.after - self.before) / abs(self.before)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": self.before, "after": self.after, "unit": self.unit}


@dataclass(frozen=True, slots=True)
class Evidence:
    url: str
    label: str
    source: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"url": self.url, "label": self.label, "source": self.source}


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule recognised. `fingerprint` identifies the accomplishment, not the run."""

    rule: str
    kind: str
    source: str
    subject: str
    occurred_at: datetime
    period: str
    metrics: tuple[Metric, ...] = ()
    record_ids: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    identity: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.source, self.subject, *self.identity)


def make_fingerprint(*parts: str) -> str:
    text = json.dumps([str(p) for p in parts], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Draft:
    """A worded accomplishment waiting for the engineer."""

    id: int | None
    fingerprint: str
    status: str
    kind: str
    source: str
    subject: str
    occurred_at: datetime
    statement: str
    impact_prompt: str
    metrics: tuple[Metric, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    tags: tuple[str, ...] = ()
    edited: bool = False
    reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    linked: tuple[Mapping[str, str], ...] = ()  # {source, kind, subject} of findings joined to the primary

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "kind": self.kind,
            "source": self.source,
            "subject": self.subject,
            "occurred_at": self.occurred_at.isoformat(),
            "statement": self.statement,
            "impact_prompt": self.impact_prompt,
            "metrics": [m.as_dict() for m in self.metrics],
            "evidence": [e.url for e in self.evidence],
            "evidence_detail": [e.as_dict() for e in self.evidence],
            "tags": list(self.tags),
            "edited": self.edited,
            "fingerprint": self.fingerprint,
            "reason": self.reason,
            "linked": [dict(x) for x in self.linked],
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry: a confirmed draft or a manual note. Never rewritten by the tool."""

    id: int | None
    text: str
    occurred_at: datetime
    kind: str = "note"
    source: str = "manual"
    subject: str = ""
    draft_id: int | None = None
    tags: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    metrics: tuple[Metric, ...] = ()
    outcome: str | None = None
    created_at: datetime | None = None
    deleted_at: datetime | None = None  # soft-deleted: out of the journal, kept in the store

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "source": self.source,
            "subject": self.subject,
            "draft_id": self.draft_id,
            "tags": list(self.tags),
            "evidence": [e.url for e in self.evidence],
            "metrics": [m.as_dict() for m in self.metrics],
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One change the engineer made to a draft or an entry (`item_type` "draft" or "entry")."""

    item_type: str
    item_id: int
    action: str
    changed_at: datetime
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    via: str

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "at": self.changed_at.isoformat(), "before": self.before,
                "after": self.after, "via": self.via}
