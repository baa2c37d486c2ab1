"""A draft or a journal entry with its history, as data: what `--json` prints and what the
MCP server answers."""

from __future__ import annotations

from typing import Any, Sequence

from harvester.models import AuditEvent, Draft, Entry


def describe_draft(draft: Draft, events: Sequence[AuditEvent]) -> dict[str, Any]:
    return {**draft.as_json(), "history": [e.as_json() for e in events]}


def describe_entry(entry: Entry, events: Sequence[AuditEvent]) -> dict[str, Any]:
    """The entry with its evidence (labels and URLs), outcome, deletion and history."""
    return {**entry.as_json(), "evidence_detail": [e.as_dict() for e in entry.evidence],
            "deleted_at": entry.deleted_at.isoformat() if entry.deleted_at else None,
            "history": [e.as_json() for e in events]}
