"""Pure helpers for the Jira connector: JQL building, time formats and issue parsing.

No HTTP here; tests feed these functions with issue JSON in the REST API's shape.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from harvester.models import Record, ensure_utc

# The fields a harvest asks for. A short list keeps pages small; Jira lowers maxResults
# for heavy fields such as description and comments.
BASE_FIELDS = ("summary", "status", "resolution", "resolutiondate", "issuetype", "priority", "assignee",
               "reporter", "parent", "labels", "updated", "created", "project")

DEFAULT_SCOPE = "assignee = currentUser() OR resolution CHANGED BY currentUser()"

# JQL dates carry no offset: Jira reads them in the API user's profile time zone. When that
# zone is unknown, widen the window by the largest UTC offset so nothing is missed.
MAX_UTC_OFFSET = timedelta(hours=14)


def parse_jira_time(value: Any) -> datetime | None:
    """'2026-11-20T14:03:12.000+0100' (Jira's format) -> aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return ensure_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def load_zone(name: Any) -> tzinfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def format_jql_time(value: datetime, zone: tzinfo | None) -> str:
    """A JQL date literal ("yyyy-MM-dd HH:mm") for `value`, floored to the minute, in the
    API user's zone; without a zone, early enough for any zone."""
    if zone is None:
        local = ensure_utc(value).astimezone(timezone.utc) - MAX_UTC_OFFSET
    else:
        local = ensure_utc(value).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M")


def quote_jql(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_jql(scope: str, projects: Sequence[str], since: str, start: str) -> str:
    """Issues done in the window: `scope` selects whose, `since` bounds the resolution date,
    `start` is the incremental `updated` watermark. Oldest update first, so pages follow the cursor."""
    parts = [f"({scope.strip() or DEFAULT_SCOPE})"]
    if projects:
        parts.append(f"project in ({', '.join(quote_jql(p) for p in projects)})")
    parts.append("statusCategory = Done")
    # Workflows that never set a resolution still count when their status is done.
    parts.append(f'(resolved >= "{since}" OR resolution IS EMPTY)')
    parts.append(f'updated >= "{start}"')
    return " AND ".join(parts) + " ORDER BY updated ASC, key ASC"


def user_ids(user: Any) -> frozenset[str]:
    """Every stable id a user object carries: accountId on Cloud, key and name on Server/DC."""
    if not isinstance(user, Mapping):
        return frozenset()
    return frozenset(str(user[k]) for k in ("accountId", "key", "name") if user.get(k))


def user_id(user: Any) -> str | None:
    if not isinstance(user, Mapping):
        return None
    for k in ("accountId", "key", "name"):
        if user.get(k):
            return str(user[k])
    return None


def name_of(value: Any) -> str:
    """The `name` of a Jira object (status, priority, issuetype, resolution), or ''."""
    if isinstance(value, Mapping):
        return str(value.get("name") or "")
    return ""


def lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in names if n and n.strip())


def is_epic_type(issuetype: Any, epic_types: frozenset[str]) -> bool:
    if not isinstance(issuetype, Mapping):
        return False
    return name_of(issuetype).lower() in epic_types or issuetype.get("hierarchyLevel") == 1


def number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def browse_url(site: str, key: str) -> str:
    return f"{site.rstrip('/')}/browse/{key}"


def parse_issue(issue: Mapping[str, Any], source: str, site: str, me: frozenset[str], settings: Any) -> Record | None:
    """One issue from /search or /search/jql -> a Record of kind "issue"; None when it has no key.

    `subject` groups an epic with its children: the epic's key for an epic and for an issue
    whose parent (or epic link) is an epic, else the project key. Rules read `attributes`.
    Every issue the search returns is mine (`mine=True`): the JQL scope selects my work, and
    `assignee_is_me` tells the issues assigned to me from those I only resolved.
    """
    key = issue.get("key") if isinstance(issue, Mapping) else None
    if not isinstance(key, str) or not key:
        return None
    fields = issue.get("fields") if isinstance(issue.get("fields"), Mapping) else {}
    epic_types = lowered(settings.epic_types)
    issuetype = fields.get("issuetype") if isinstance(fields.get("issuetype"), Mapping) else {}
    type_name = name_of(issuetype)
    priority = name_of(fields.get("priority"))
    project = fields.get("project") if isinstance(fields.get("project"), Mapping) else {}
    project_key = str(project.get("key") or key.rsplit("-", 1)[0])
    status = fields.get("status") if isinstance(fields.get("status"), Mapping) else {}
    category = status.get("statusCategory") if isinstance(status.get("statusCategory"), Mapping) else {}

    parent = fields.get("parent") if isinstance(fields.get("parent"), Mapping) else {}
    parent_key = parent.get("key") if isinstance(parent.get("key"), str) else None
    parent_fields = parent.get("fields") if isinstance(parent.get("fields"), Mapping) else {}
    is_epic = is_epic_type(issuetype, epic_types)
    epic_key, epic_summary = None, None
    if is_epic:
        epic_key = key
    elif parent_key and is_epic_type(parent_fields.get("issuetype"), epic_types):
        epic_key, epic_summary = parent_key, parent_fields.get("summary")
    elif settings.epic_link_field and isinstance(fields.get(settings.epic_link_field), str):
        epic_key = fields[settings.epic_link_field] or None

    assignee = fields.get("assignee")
    updated = parse_jira_time(fields.get("updated"))
    created = parse_jira_time(fields.get("created"))
    resolved = parse_jira_time(fields.get("resolutiondate"))
    done_at = resolved or updated or created
    summary = str(fields.get("summary") or "").strip()
    bug_types, incident_types = lowered(settings.bug_types), lowered(settings.incident_types)
    high = lowered(settings.incident_priorities)
    is_incident = type_name.lower() in incident_types or (type_name.lower() in bug_types and priority.lower() in high)
    labels = fields.get("labels") if isinstance(fields.get("labels"), list) else []
    points = number_or_none(fields.get(settings.story_points_field)) if settings.story_points_field else None
    url = browse_url(site, key)
    attributes = {
        "key": key, "summary": summary, "type": type_name, "is_subtask": bool(issuetype.get("subtask")),
        "status": name_of(status), "status_category": str(category.get("key") or ""),
        "resolution": name_of(fields.get("resolution")) or None,
        "resolved_at": done_at.isoformat() if done_at else None,
        "created_at": created.isoformat() if created else None,
        "updated_at": updated.isoformat() if updated else None,
        "priority": priority or None, "assignee_id": user_id(assignee),
        "assignee_is_me": bool(user_ids(assignee) & me),
        "reporter_id": user_id(fields.get("reporter")), "parent_key": parent_key,
        "epic": epic_key, "epic_summary": epic_summary,
        "epic_url": browse_url(site, epic_key) if epic_key else None,
        "labels": [str(x) for x in labels], "project": project_key, "story_points": points,
        "is_epic": is_epic, "is_incident": is_incident,
    }
    return Record(
        source=source, kind="issue", external_id=str(issue.get("id") or key),
        occurred_at=done_at or datetime.now(timezone.utc), subject=epic_key or project_key,
        actor=user_id(assignee), mine=True, title=f"{key} {summary}".strip(), url=url,
        attributes=attributes, payload=dict(issue),
    )


def dedupe_key(record: Record) -> str:
    """An issue is new to us when its (id, fields.updated) pair is."""
    return f"{record.external_id}@{record.attributes.get('updated_at') or ''}"
