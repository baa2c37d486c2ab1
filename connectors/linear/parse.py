"""Pure parsers for the Linear connector: issue and project nodes (in the shape of the queries
in queries.py) into records of kind `issue`, which the ticket rules read as they read Jira's.

The mapping onto Jira's model: an issue's key is its identifier (ENG-123) and its `project`
attribute the team key (the identifier's prefix, as a Jira key's is its project); a Linear
project plays the epic, keyed by its name, so the issues under one project roll up as under an
epic and a completed project drafts `epic_completed`. A canceled issue or project is resolved
as "Won't Do" ("Duplicate" in a state of that name), which the ticket rules never draft.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from harvester.connectors.coerce import finite_number, parse_time
from harvester.errors import MalformedItemError
from harvester.models import Record
from harvester.records import make_issue_attributes, make_issue_record, read_issue_attributes

ISSUES, PROJECTS = "issues", "projects"
# Linear's priority numbers (the `priority` field of Issue): 0 is "No priority".
PRIORITIES = {1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def node_names(connection: Any, field: str = "name") -> list[str]:
    nodes = mapping(connection).get("nodes")
    return [text(n.get(field)) for n in nodes if isinstance(n, Mapping) and text(n.get(field))] \
        if isinstance(nodes, list) else []


def lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in names if n and n.strip())


def priority_of(issue: Mapping[str, Any]) -> str | None:
    number = finite_number(issue.get("priority"))
    if number is not None and int(number) in PRIORITIES:
        return PRIORITIES[int(number)]
    label = text(issue.get("priorityLabel")).strip()
    return label if label and label.lower() != "no priority" else None


def resolution_of(state_type: str, state_name: str) -> str:
    if state_type == "canceled":
        return "Duplicate" if state_name.strip().lower() == "duplicate" else "Won't Do"
    return "Done"


def parse_issue(issue: Any, source: str, settings: Any) -> Record:
    if not isinstance(issue, Mapping):
        raise MalformedItemError(ISSUES, "?", f"an issue node that is a {type(issue).__name__}")
    raw_id, key = text(issue.get("id")), text(issue.get("identifier")).strip()
    if not raw_id or not key:
        raise MalformedItemError(ISSUES, key or raw_id or "?", "no 'id' or 'identifier'")
    updated, created = parse_time(issue.get("updatedAt")), parse_time(issue.get("createdAt"))
    done_at = parse_time(issue.get("completedAt")) or parse_time(issue.get("canceledAt")) or updated
    if updated is None or done_at is None:
        raise MalformedItemError(ISSUES, key, "no usable 'updatedAt'")
    state, team, project = mapping(issue.get("state")), mapping(issue.get("team")), mapping(issue.get("project"))
    state_type, state_name = text(state.get("type")), text(state.get("name"))
    team_key = text(team.get("key")) or key.rsplit("-", 1)[0]
    labels = node_names(issue.get("labels"))
    priority = priority_of(issue)
    label_set = lowered(labels)
    is_bug = bool(label_set & lowered(settings.bug_labels))
    is_incident = bool(label_set & lowered(settings.incident_labels)) \
        or bool(lowered([team_key, text(team.get("name"))]) & lowered(settings.incident_teams)) \
        or (is_bug and (priority or "").lower() in lowered(settings.incident_priorities))
    epic = text(project.get("name")).strip() or None
    summary = text(issue.get("title")).strip()
    assignee = text(mapping(issue.get("assignee")).get("id")) or None
    attributes = make_issue_attributes(
        key=key, summary=summary, type="Incident" if is_incident else ("Bug" if is_bug else ""),
        status=state_name, status_category="done", resolution=resolution_of(state_type, state_name),
        resolved_at=done_at.isoformat(), created_at=created.isoformat() if created else None,
        updated_at=updated.isoformat(), priority=priority, assignee_id=assignee, assignee_is_me=True,
        parent_key=text(mapping(issue.get("parent")).get("identifier")) or None, epic=epic,
        epic_url=text(project.get("url")) or None, labels=labels, project=team_key,
        story_points=finite_number(issue.get("estimate")), is_incident=is_incident)
    cycle = mapping(issue.get("cycle"))
    payload = {**dict(issue), "cycle": dict(cycle) if cycle else None}
    return make_issue_record(source, raw_id, done_at, text(project.get("id")) or team_key, attributes,
                             actor=assignee, mine=True, title=f"{key} {summary}".strip(),
                             url=text(issue.get("url")) or None, payload=payload)


def parse_project(project: Any, source: str, viewer_id: str | None) -> Record:
    if not isinstance(project, Mapping):
        raise MalformedItemError(PROJECTS, "?", f"a project node that is a {type(project).__name__}")
    raw_id, name = text(project.get("id")), text(project.get("name")).strip()
    if not raw_id or not name:
        raise MalformedItemError(PROJECTS, name or raw_id or "?", "no 'id' or 'name'")
    updated, created = parse_time(project.get("updatedAt")), parse_time(project.get("createdAt"))
    done_at = parse_time(project.get("completedAt")) or parse_time(project.get("canceledAt")) or updated
    if updated is None or done_at is None:
        raise MalformedItemError(PROJECTS, name, "no usable 'updatedAt'")
    status = mapping(project.get("status"))
    canceled = text(status.get("type")) == "canceled" or (not project.get("completedAt") and project.get("canceledAt"))
    lead = text(mapping(project.get("lead")).get("id")) or None
    teams = node_names(project.get("teams"), "key")
    attributes = make_issue_attributes(
        key=name, summary="", type="Project", status=text(status.get("name")), status_category="done",
        resolution="Won't Do" if canceled else "Done", resolved_at=done_at.isoformat(),
        created_at=(parse_time(project.get("startedAt")) or created or done_at).isoformat(),
        updated_at=updated.isoformat(), assignee_id=lead, assignee_is_me=bool(lead and lead == viewer_id),
        epic=name, epic_url=text(project.get("url")) or None, project=teams[0] if teams else "", is_epic=True)
    return make_issue_record(source, raw_id, done_at, raw_id, attributes, actor=lead, mine=True, title=name,
                             url=text(project.get("url")) or None, payload=dict(project))


def updated_of(record: Record) -> str:
    return read_issue_attributes(record)["updated_at"] or ""


def dedupe_key(record: Record) -> str:
    """An issue or project is new to us when its (id, updatedAt) pair is."""
    return f"{record.external_id}@{updated_of(record)}"
