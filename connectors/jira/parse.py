"""Pure helpers for the Jira connector: JQL building, time formats and issue parsing.

No HTTP here; tests feed these functions with issue JSON in the REST API's shape.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from harvester.connectors.coerce import finite_number, id_text
from harvester.errors import MalformedItemError
from harvester.models import Record, ensure_utc
from harvester.records import make_issue_attributes, make_issue_record, read_issue_attributes

# The fields a harvest asks for. A short list keeps pages small; Jira lowers maxResults
# for heavy fields such as description and comments.
BASE_FIELDS = ("summary", "status", "resolution", "resolutiondate", "issuetype", "priority", "assignee",
               "reporter", "parent", "labels", "updated", "created", "project")

DEFAULT_SCOPE = "assignee = currentUser() OR resolution CHANGED BY currentUser()"

# JQL dates carry no offset: Jira reads them in the API user's profile time zone. When that
# zone is unknown, widen the window by the largest UTC offset so nothing is missed.
MAX_UTC_OFFSET = timedelta(hours=14)
ISSUES = "issues"


def parse_jira_time(value: Any) -> datetime | None:
    """'2026-11-20T14:03:12.000+0100' (Jira's format) -> aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return ensure_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        return None


def load_zone(name: Any) -> tzinfo | None:
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
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
    return frozenset(filter(None, (id_text(user.get(k)) for k in ("accountId", "key", "name"))))


def user_id(user: Any) -> str | None:
    if not isinstance(user, Mapping):
        return None
    for k in ("accountId", "key", "name"):
        if id_text(user.get(k)):
            return id_text(user.get(k))
    return None


def text_of(value: Any) -> str:
    """A string field; '' for anything else. NUL is kept: the store holds it as the database can."""
    return value if isinstance(value, str) else ""


def name_of(value: Any) -> str:
    """The `name` of a Jira object (status, priority, issuetype, resolution), or ''."""
    return text_of(value.get("name")) if isinstance(value, Mapping) else ""


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in names if n and n.strip())


def is_epic_type(issuetype: Any, epic_types: frozenset[str]) -> bool:
    if not isinstance(issuetype, Mapping):
        return False
    return name_of(issuetype).lower() in epic_types or issuetype.get("hierarchyLevel") == 1


def browse_url(site: str, key: str) -> str:
    return f"{site.rstrip('/')}/browse/{key}"


def parse_issue(issue: Any, source: str, site: str, me: frozenset[str], settings: Any) -> Record:
    """One issue from /search or /search/jql -> a Record of kind "issue".

    `subject` groups an epic with its children: the epic's key for an epic and for an issue
    whose parent (or epic link) is an epic, else the project key. Rules read `attributes`.
    Every issue the search returns is mine (`mine=True`): the JQL scope selects my work, and
    `assignee_is_me` tells the issues assigned to me from those I only resolved.

    An issue without a key, with an id that is not a string or number, or with no time at
    all raises MalformedItemError.
    """
    if not isinstance(issue, Mapping):
        raise MalformedItemError(ISSUES, "", f"expected an object, got {type(issue).__name__}")
    key = id_text(issue.get("key"))
    raw_id = issue.get("id")
    if key is None:
        raise MalformedItemError(ISSUES, id_text(raw_id) or "", "no usable 'key'")
    if raw_id is not None and id_text(raw_id) is None:
        raise MalformedItemError(ISSUES, key, "an 'id' that is neither a string nor a number")
    fields = as_mapping(issue.get("fields"))
    epic_types = lowered(settings.epic_types)
    issuetype = as_mapping(fields.get("issuetype"))
    type_name = name_of(issuetype)
    priority = name_of(fields.get("priority"))
    project = as_mapping(fields.get("project"))
    project_key = text_of(project.get("key")) or key.rsplit("-", 1)[0]
    status = as_mapping(fields.get("status"))
    category = as_mapping(status.get("statusCategory"))

    parent = as_mapping(fields.get("parent"))
    parent_key = id_text(parent.get("key"))
    parent_fields = as_mapping(parent.get("fields"))
    is_epic = is_epic_type(issuetype, epic_types)
    epic_key, epic_summary = None, None
    if is_epic:
        epic_key = key
    elif parent_key and is_epic_type(parent_fields.get("issuetype"), epic_types):
        epic_key, epic_summary = parent_key, text_of(parent_fields.get("summary")) or None
    elif settings.epic_link_field:
        epic_key = id_text(fields.get(settings.epic_link_field))

    assignee = fields.get("assignee")
    updated = parse_jira_time(fields.get("updated"))
    created = parse_jira_time(fields.get("created"))
    resolved = parse_jira_time(fields.get("resolutiondate"))
    done_at = resolved or updated or created
    if done_at is None:
        raise MalformedItemError(ISSUES, key, "no usable 'resolutiondate', 'updated' or 'created'")
    summary = text_of(fields.get("summary")).strip()
    bug_types, incident_types = lowered(settings.bug_types), lowered(settings.incident_types)
    high = lowered(settings.incident_priorities)
    is_incident = type_name.lower() in incident_types or (type_name.lower() in bug_types and priority.lower() in high)
    labels = [text_of(x) for x in fields.get("labels") or () if isinstance(x, str)] \
        if isinstance(fields.get("labels"), list) else []
    points = finite_number(fields.get(settings.story_points_field)) if settings.story_points_field else None
    url = browse_url(site, key)
    attributes = make_issue_attributes(
        key=key, summary=summary, type=type_name, is_subtask=issuetype.get("subtask") is True,
        status=name_of(status), status_category=text_of(category.get("key")),
        resolution=name_of(fields.get("resolution")) or None, resolved_at=done_at.isoformat(),
        created_at=created.isoformat() if created else None, updated_at=updated.isoformat() if updated else None,
        priority=priority or None, assignee_id=user_id(assignee), assignee_is_me=bool(user_ids(assignee) & me),
        reporter_id=user_id(fields.get("reporter")), parent_key=parent_key, epic=epic_key, epic_summary=epic_summary,
        epic_url=browse_url(site, epic_key) if epic_key else None, labels=labels, project=project_key,
        story_points=points, is_epic=is_epic, is_incident=is_incident)
    return make_issue_record(source, id_text(raw_id) or key, done_at, epic_key or project_key, attributes,
                             actor=user_id(assignee), mine=True, title=f"{key} {summary}".strip(), url=url,
                             payload=dict(issue))


def dedupe_key(record: Record) -> str:
    """An issue is new to us when its (id, fields.updated) pair is."""
    return f"{record.external_id}@{read_issue_attributes(record)['updated_at'] or ''}"
