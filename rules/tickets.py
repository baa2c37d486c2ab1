"""Ticket rules: issues, epics and incidents I resolved (records of kind "issue").

Convention other code relies on: every ticket finding has `subject` = an issue key
("ML-42"), facts["key"] = that key, facts["summary"], and the issue's browse URL first
in its evidence.

Noise budget: trivial tickets (sub-tasks, chores, tiny estimates, typo-sized summaries)
draft nothing on their own; the tickets under one epic make one draft for the epic, and
none at all once the epic itself is resolved (the epic's draft counts them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Iterable, Sequence

from harvester.rules.kinds import FindingKind
from harvester.models import Evidence, Finding, Record
from harvester.records import read_issue_attributes
from harvester.rules.base import DetectContext, RecordGroup, Rule
from harvester.timeutil import quarter_of

NOT_DONE = ("Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined", "Rejected", "Incomplete",
            "Obsolete")


def normal(text: Any) -> str:
    return str(text or "").replace("\u2019", "'").strip().lower()


def resolved_at(r: Record) -> datetime:
    value = read_issue_attributes(r)["resolved_at"]
    return datetime.fromisoformat(value) if value else r.occurred_at


def days_open(r: Record) -> float | None:
    created = read_issue_attributes(r)["created_at"]
    if not created:
        return None
    return max((resolved_at(r) - datetime.fromisoformat(created)).total_seconds() / 86400, 0.0)


def issue_evidence(r: Record, label: str = "") -> Evidence | None:
    return Evidence(url=r.url, label=label or read_issue_attributes(r)["key"], source=r.source) if r.url else None


def points_of(records: Iterable[Record]) -> float | None:
    known = [float(points) for r in records if (points := read_issue_attributes(r)["story_points"]) is not None]
    return sum(known) if known else None


@dataclass(frozen=True)
class TicketRule(Rule):
    """Shared parameters and filters; not registered."""

    abstract: ClassVar[bool] = True
    kinds: ClassVar[frozenset[str]] = frozenset({"issue"})

    ignored_resolutions: tuple[str, ...] = NOT_DONE

    def done(self, r: Record) -> bool:
        """Mine, and closed as done rather than as a duplicate or won't-do."""
        ignored = {normal(x) for x in self.ignored_resolutions}
        return r.mine and normal(read_issue_attributes(r)["resolution"]) not in ignored

    def finding(self, kind: str, r: Record | None, records: Sequence[Record], evidence: Sequence[Evidence | None],
                key: str | None = None, summary: str | None = None, **facts: Any) -> Finding:
        """A finding about issue `r` (or, for a roll-up, about `key`), resting on `records`."""
        a = read_issue_attributes(r) if r is not None else None
        key = key or (a["key"] if a else "")
        rest = ([r] if r is not None else []) + list(records)
        when = max(resolved_at(x) for x in rest)
        return Finding(
            rule=self.rule_name(), kind=kind, source=rest[0].source, subject=key, occurred_at=when,
            period=quarter_of(when), record_ids=tuple(dict.fromkeys(x.external_id for x in rest)),
            evidence=tuple(e for e in evidence if e is not None),
            facts={"key": key, "summary": (a["summary"] if a else "") if summary is None else summary,
                   "type": a["type"] if a else None,
                   "project": (a["project"] if a else "") or read_issue_attributes(rest[0])["project"],
                   "labels": list(a["labels"]) if a else [], **facts},
        )


@dataclass(frozen=True)
class TicketResolvedRule(TicketRule):
    """A ticket I resolved; the tickets under one epic roll up into one draft for the epic."""

    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "ticket_resolved", "Tickets resolved", family="ticket", rank=2, recap=("tickets_closed",), noun="ticket",
        wording="harvester.drafting.wording.work:word_ticket_resolved"),)
    description: ClassVar[str] = ("A Jira issue you resolved; the issues under one epic make one draft for the epic "
                                  "(none once the epic itself is done); sub-tasks, chores, estimates under "
                                  "min_story_points, typo-sized summaries and won't-do or duplicate resolutions draft "
                                  "nothing on their own.")

    trivial_types: tuple[str, ...] = ("Sub-task", "Subtask", "Chore")
    trivial_words: tuple[str, ...] = ("typo", "bump", "lint", "linting", "formatting", "whitespace", "readme",
                                      "cleanup", "clean up", "rename")
    min_summary_words: int = 2
    min_story_points: float = 1.0
    roll_up_epics: bool = True
    min_trivial_rollup: int = 3

    def trivial(self, r: Record) -> bool:
        a = read_issue_attributes(r)
        if a["is_subtask"] or normal(a["type"]) in {normal(t) for t in self.trivial_types}:
            return True
        points = a["story_points"]
        if points is not None and float(points) < self.min_story_points:
            return True
        summary = normal(a["summary"])
        if len(summary.split()) < self.min_summary_words:
            return True
        return any(re.search(rf"\b{re.escape(normal(w))}\b", summary) for w in self.trivial_words if w.strip())

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        done = [r for r in group.records if self.done(r)]
        epics_done = {issue["key"] for r in done if (issue := read_issue_attributes(r))["is_epic"]}
        tickets = [r for r in done if not (issue := read_issue_attributes(r))["is_epic"] and not issue["is_incident"]]
        by_epic: dict[str, list[Record]] = {}
        findings = []
        for r in tickets:
            a = read_issue_attributes(r)
            epic = a["epic"]
            if epic and self.roll_up_epics:
                by_epic.setdefault(str(epic), []).append(r)
            elif not self.trivial(r):
                findings.append(self.finding("ticket_resolved", r, [r], [issue_evidence(r)],
                                             priority=a["priority"], story_points=a["story_points"],
                                             days=round_or_none(days_open(r)), tickets=1))
        for epic, children in sorted(by_epic.items()):
            if epic in epics_done:
                continue
            substantive = [c for c in children if not self.trivial(c)]
            if not substantive and len(children) < self.min_trivial_rollup:
                continue
            findings.append(self.rollup(epic, sorted(children, key=resolved_at)))
        return findings

    def rollup(self, epic: str, children: list[Record]) -> Finding:
        first = children[0]
        a = read_issue_attributes(first)
        issues = [read_issue_attributes(c) for c in children]
        summary = next((c["epic_summary"] for c in issues if c["epic_summary"]), "")
        evidence = [Evidence(url=a["epic_url"], label=f"epic {epic}", source=first.source) if a["epic_url"]
                    else None] + [issue_evidence(c) for c in children]
        return self.finding("ticket_resolved", None, children, evidence, key=epic, summary=summary,
                            tickets=len(children), keys=[c["key"] for c in issues],
                            titles=[c["summary"] for c in issues],
                            story_points=points_of(children), epic=epic, rollup=True)


@dataclass(frozen=True)
class EpicCompletedRule(TicketRule):
    """An epic resolved, mine or with child issues I resolved."""

    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "epic_completed", "Epics completed", family="ticket", rank=0, needs_outcome=True, recap=("tickets_closed",),
        dimensions=("business-impact",), noun="epic",
        wording="harvester.drafting.wording.work:word_epic_completed"),)
    description: ClassVar[str] = ("An epic resolved that is yours or has child issues you resolved, with their count "
                                  "and how long it took.")

    min_children: int = 1

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        done = [r for r in group.records if self.done(r)]
        findings = []
        for epic in (r for r in done if read_issue_attributes(r)["is_epic"]):
            a = read_issue_attributes(epic)
            children = sorted((r for r in done if (issue := read_issue_attributes(r))["epic"] == a["key"]
                               and not issue["is_epic"]), key=resolved_at)
            if not a["assignee_is_me"] and len(children) < self.min_children:
                continue
            issues = [read_issue_attributes(c) for c in children]
            findings.append(self.finding(
                "epic_completed", epic, children, [issue_evidence(epic), *(issue_evidence(c) for c in children)],
                children=len(children), keys=[c["key"] for c in issues],
                incidents=sum(1 for c in issues if c["is_incident"]),
                story_points=points_of(children), days=round_or_none(days_open(epic)),
                owner=bool(a["assignee_is_me"])))
        return findings


@dataclass(frozen=True)
class IncidentResolvedRule(TicketRule):
    """An incident, or a bug of high priority, that I resolved."""

    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "incident_resolved", "Incidents resolved", family="ticket", rank=1, recap=("tickets_closed",),
        dimensions=("production-mlops",), noun="incident",
        wording="harvester.drafting.wording.work:word_incident_resolved"),)
    description: ClassVar[str] = "An incident, or a bug of high priority, you resolved, with the hours it took."

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        findings = []
        for r in group.records:
            a = read_issue_attributes(r)
            if not self.done(r) or not a["is_incident"] or a["is_epic"]:
                continue
            days = days_open(r)
            findings.append(self.finding("incident_resolved", r, [r], [issue_evidence(r)],
                                         priority=a["priority"],
                                         hours=round(days * 24, 1) if days is not None else None))
        return findings


def round_or_none(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
