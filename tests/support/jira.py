"""Hand-written Jira REST v2 payloads (Cloud and Server/DC shapes) for `responses`-based tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse
from zlib import crc32

CLOUD = "https://acme.atlassian.net"
SERVER = "https://jira.corp.example/jira"
ME_ACCOUNT = "5b10a2844c20165700ede21g"
OTHER_ACCOUNT = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
BERLIN = timezone(timedelta(hours=1))

TYPES = {
    "Epic": {"id": "10000", "name": "Epic", "subtask": False, "hierarchyLevel": 1},
    "Story": {"id": "10001", "name": "Story", "subtask": False, "hierarchyLevel": 0},
    "Task": {"id": "10002", "name": "Task", "subtask": False, "hierarchyLevel": 0},
    "Bug": {"id": "10004", "name": "Bug", "subtask": False, "hierarchyLevel": 0},
    "Sub-task": {"id": "10003", "name": "Sub-task", "subtask": True, "hierarchyLevel": -1},
    "Incident": {"id": "10010", "name": "Incident", "subtask": False, "hierarchyLevel": 0},
}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}


def issue_number(key: str) -> str:
    return str(10000 + crc32(key.encode()) % 90000)


def jira_time(value: datetime) -> str:
    """Jira's timestamp format: milliseconds and a +hhmm offset."""
    return value.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + \
        value.astimezone(BERLIN).strftime("%z")


def cloud_user(account_id: str = ME_ACCOUNT, name: str = "Ada Example", site: str = CLOUD) -> dict:
    return {"self": f"{site}/rest/api/2/user?accountId={account_id}", "accountId": account_id,
            "avatarUrls": {"48x48": "https://avatar-management.example/48.png"}, "displayName": name,
            "active": True, "timeZone": "Europe/Berlin", "accountType": "atlassian"}


def server_user(name: str = "ada", key: str = "JIRAUSER10100", site: str = SERVER) -> dict:
    return {"self": f"{site}/rest/api/2/user?username={name}", "name": name, "key": key,
            "emailAddress": f"{name}@corp.example", "avatarUrls": {"48x48": f"{site}/secure/useravatar?avatarId=1"},
            "displayName": name.title(), "active": True, "timeZone": "America/New_York"}


def myself_cloud(site: str = CLOUD, time_zone: str = "Europe/Berlin") -> dict:
    return {**cloud_user(site=site), "emailAddress": "ada@example.com", "timeZone": time_zone, "locale": "en_US",
            "groups": {"size": 2, "items": []}, "applicationRoles": {"size": 1, "items": []},
            "expand": "groups,applicationRoles"}


def myself_server(site: str = SERVER) -> dict:
    return {**server_user(site=site), "deleted": False, "locale": "en_US", "groups": {"size": 1, "items": []},
            "applicationRoles": {"size": 1, "items": []}, "expand": "groups,applicationRoles"}


def server_info(deployment: str, site: str) -> dict:
    version = [1001, 0, 0] if deployment == "Cloud" else [9, 12, 15]
    return {"baseUrl": site, "displayUrl": site, "version": ".".join(map(str, version)), "versionNumbers": version,
            "deploymentType": deployment, "buildNumber": 100289, "buildDate": "2026-11-10T00:00:00.000+0000",
            "serverTime": "2026-11-21T10:00:00.000+0000", "scmInfo": "6e3f1b9c2a", "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"}}


def field_list() -> list[dict]:
    return [
        {"id": "summary", "key": "summary", "name": "Summary", "custom": False, "orderable": True,
         "navigable": True, "searchable": True, "clauseNames": ["summary"],
         "schema": {"type": "string", "system": "summary"}},
        {"id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate", "custom": True,
         "orderable": True, "navigable": True, "searchable": True,
         "clauseNames": ["cf[10016]", "Story point estimate"],
         "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points", "customId": 10016}},
    ]


def status(name: str = "Done", category: str = "done", site: str = CLOUD) -> dict:
    cat = {"done": (3, "green", "Done"), "indeterminate": (4, "yellow", "In Progress"), "new": (2, "blue-gray", "To Do")}
    cid, color, cname = cat[category]
    return {"self": f"{site}/rest/api/2/status/10002", "description": "", "iconUrl": f"{site}/", "name": name,
            "id": "10002", "statusCategory": {"self": f"{site}/rest/api/2/statuscategory/{cid}", "id": cid,
                                              "key": category, "colorName": color, "name": cname}}


def issue(key: str, summary: str | None, *, type: str = "Story", resolved: datetime | None = None,
          updated: datetime | None = None, created: datetime | None = None, priority: str | None = "Medium",
          assignee: dict | None = None, parent: dict | None = None, resolution: str | None = "Done",
          labels: list[str] | None = None, site: str = CLOUD, issue_id: str | None = None, **extra: Any) -> dict:
    """One issue as /search and /search/jql return it with the connector's field list."""
    resolved = resolved or datetime.now(timezone.utc) - timedelta(days=5)
    updated = updated or resolved
    created = created or resolved - timedelta(days=4)
    project = key.rsplit("-", 1)[0]
    number = issue_id or issue_number(key)
    fields = {
        "summary": summary,
        "status": status(site=site),
        "resolution": {"self": f"{site}/rest/api/2/resolution/10000", "id": "10000",
                       "description": "Work has been completed on this issue.", "name": resolution}
        if resolution else None,
        "resolutiondate": jira_time(resolved) if resolution else None,
        "issuetype": {"self": f"{site}/rest/api/2/issuetype/{TYPES[type]['id']}", "description": "",
                      "iconUrl": f"{site}/images/icons/{type}.svg", "avatarId": 10315, **TYPES[type]},
        "priority": {"self": f"{site}/rest/api/2/priority/{PRIORITIES[priority]}", "name": priority,
                     "iconUrl": f"{site}/images/icons/priorities/{priority.lower()}.svg",
                     "id": PRIORITIES[priority]} if priority else None,
        "assignee": assignee,
        "reporter": cloud_user(OTHER_ACCOUNT, "Grace Lead", site) if site == CLOUD else server_user("grace", "JIRAUSER10001", site),
        "labels": labels or [],
        "updated": jira_time(updated),
        "created": jira_time(created),
        "project": {"self": f"{site}/rest/api/2/project/10000", "id": "10000", "key": project,
                    "name": f"{project} project", "projectTypeKey": "software", "simplified": False,
                    "avatarUrls": {"48x48": f"{site}/secure/projectavatar?pid=10000"}},
        **extra,
    }
    if parent is not None:
        fields["parent"] = parent
    return {"expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields", "id": number,
            "self": f"{site}/rest/api/2/issue/{number}", "key": key, "fields": fields}


def parent_ref(key: str, summary: str, type: str = "Epic", site: str = CLOUD) -> dict:
    """The `parent` field: a few fields of the parent issue inline."""
    return {"id": issue_number(key), "key": key, "self": f"{site}/rest/api/2/issue/{key}",
            "fields": {"summary": summary, "status": status("In Progress", "indeterminate", site),
                       "priority": {"self": f"{site}/rest/api/2/priority/3", "name": "Medium", "id": "3"},
                       "issuetype": {"self": f"{site}/rest/api/2/issuetype/{TYPES[type]['id']}",
                                     "description": "", **TYPES[type]}}}


def jql_page(issues: list[dict], next_token: str | None = None) -> dict:
    """A /rest/api/2/search/jql page (Cloud)."""
    page: dict[str, Any] = {"issues": issues, "isLast": next_token is None}
    if next_token:
        page["nextPageToken"] = next_token
    return page


def search_page(issues: list[dict], start_at: int, max_results: int, total: int) -> dict:
    """A /rest/api/2/search page (Server / Data Center)."""
    return {"expand": "schema,names", "startAt": start_at, "maxResults": max_results, "total": total,
            "issues": issues}


REMOVED_SEARCH = {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                                    "API. A full migration guideline is available at "
                                    "https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}}


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)
