"""A small in-memory Linear GraphQL API behind `responses`.

Shapes, recorded from Linear's public sources rather than invented:
- Types, fields, connections and filters: Linear's schema, packages/sdk/src/schema.graphql in
  github.com/linear/linear (Issue: id, identifier, title, url, priority (0 none, 1 Urgent,
  2 High, 3 Medium, 4 Low), priorityLabel, estimate, createdAt/updatedAt/completedAt/canceledAt,
  state {name type}, team {key name}, project {id name url}, cycle {number name}, parent,
  assignee, labels connection; Project: id, name, url, status {name type}, lead, teams
  connection, startedAt/completedAt/canceledAt; connections as `nodes` + `pageInfo
  {hasNextPage endCursor}`; filters IssueFilter / ProjectFilter / NullableUserFilter.isMe).
- Rate limits: linear.app/developers/rate-limiting and the headers the SDK reads in
  packages/sdk/src/error.ts: X-RateLimit-Requests-Limit/-Remaining/-Reset (epoch ms) and the
  Complexity ones on every answer; over a limit, HTTP 400 with an error whose
  extensions.code is RATELIMITED.
- A rejected key: {"errors": [{"message": "Authentication required, not authenticated",
  "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR",
  "statusCode": 401, "userPresentableMessage": ...}}]}, as Linear answers it.

Filters are evaluated (the subset the connector sends), so a test sees what the API would
return. `orderBy: updatedAt` is served newest first: Linear documents no direction, and
newest-first is the order that would break a connector trusting it.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import responses

API_URL = "https://api.linear.app/graphql"
API_KEY = "lin_api_test0000000000000000000000000000000"
ME = {"id": "1f6d8a52-3c1e-4a8e-9a55-0c8e7f0b7a11", "name": "Ada Example", "email": "ada@example.com"}
OTHER = {"id": "9b0c2f4e-7d1a-4c2b-8e3f-5a6b7c8d9e0f", "name": "Grace Hopper", "email": "grace@example.com"}
PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}

AUTH_ERROR = {"errors": [{"message": "Authentication required, not authenticated",
                          "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR",
                                         "statusCode": 401, "userError": True,
                                         "userPresentableMessage": "You need to authenticate to access this "
                                                                   "operation."}}]}


def rate_limited_body() -> dict:
    return {"errors": [{"message": "Rate limit exceeded. Only 2500 requests are allowed per 1 hour.",
                        "extensions": {"code": "RATELIMITED", "statusCode": 429}}]}


def iso(value: datetime) -> str:
    """Linear's DateTime: UTC with milliseconds and a Z."""
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def make_issue(number: int, title: str, *, team: str = "ENG", completed: datetime | None = None,
               canceled: datetime | None = None, updated: datetime | None = None, created: datetime | None = None,
               assignee: dict | None = ME, project: dict | None = None, labels: tuple[str, ...] = (),
               estimate: float | None = 3, priority: int = 2, cycle: int | None = 14,
               parent: str | None = None, state: tuple[str, str] | None = None) -> dict[str, Any]:
    """An Issue node with the fields the connector's query selects."""
    done = completed or canceled
    identifier = f"{team}-{number}"
    state_name, state_type = state or (("Canceled", "canceled") if canceled else ("Done", "completed"))
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"linear-issue:{identifier}")),
        "identifier": identifier, "title": title,
        "url": f"https://linear.app/acme/issue/{identifier.lower()}/{title.lower().replace(' ', '-')[:40]}",
        "priority": priority, "priorityLabel": PRIORITY_LABELS[priority], "estimate": estimate,
        "createdAt": iso(created or (done or datetime.now(timezone.utc)).replace(day=1)),
        "updatedAt": iso(updated or done or datetime.now(timezone.utc)),
        "completedAt": iso(completed) if completed else None, "canceledAt": iso(canceled) if canceled else None,
        "state": {"name": state_name, "type": state_type},
        "team": {"key": team, "name": {"ENG": "Engineering", "OPS": "Operations"}.get(team, team.title())},
        "project": project and {k: project[k] for k in ("id", "name", "url")},
        "cycle": {"number": cycle, "name": None} if cycle is not None else None,
        "parent": {"identifier": parent} if parent else None,
        "assignee": {"id": assignee["id"]} if assignee else None,
        "labels": {"nodes": [{"name": name} for name in labels]},
    }


def make_project(name: str, *, completed: datetime | None = None, canceled: datetime | None = None,
                 started: datetime | None = None, updated: datetime | None = None, lead: dict | None = ME,
                 members: tuple[dict, ...] = (ME,), teams: tuple[str, ...] = ("ENG",),
                 slug: str = "1a2b3c4d5e6f") -> dict[str, Any]:
    """A Project node; `_members` is kept for the filter and never served."""
    done = completed or canceled
    status = ("Canceled", "canceled") if canceled else (("Completed", "completed") if completed else
                                                         ("In Progress", "started"))
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"linear-project:{name}")),
        "name": name, "url": f"https://linear.app/acme/project/{name.lower().replace(' ', '-')}-{slug}",
        "createdAt": iso((started or done or datetime.now(timezone.utc)).replace(day=1)),
        "updatedAt": iso(updated or done or datetime.now(timezone.utc)),
        "startedAt": iso(started) if started else None,
        "completedAt": iso(completed) if completed else None, "canceledAt": iso(canceled) if canceled else None,
        "status": {"name": status[0], "type": status[1]},
        "lead": {"id": lead["id"]} if lead else None,
        "teams": {"nodes": [{"key": t, "name": t.title()} for t in teams]},
        "_members": [m["id"] for m in members],
    }


def compare(value: str | None, comparator: dict) -> bool:
    for op, operand in comparator.items():
        if op == "null":
            if (value is None) != operand:
                return False
            continue
        if value is None:
            return False
        if op in ("gte", "gt", "lte", "lt", "eq") and isinstance(operand, str) and operand[:2].isdigit():
            left, right = parse(value), parse(operand)
        else:
            left, right = value, operand
        ok = {"gte": lambda: left >= right, "gt": lambda: left > right, "lte": lambda: left <= right,
              "lt": lambda: left < right, "eq": lambda: left == right, "in": lambda: left in right}[op]()
        if not ok:
            return False
    return True


@dataclass
class FakeLinear:
    issues: list[dict] = field(default_factory=list)
    projects: list[dict] = field(default_factory=list)
    viewer: dict = field(default_factory=lambda: dict(ME))
    api_key: str = API_KEY
    canned: list[tuple[int, dict, dict]] = field(default_factory=list)  # served before anything else
    remaining: int = 2500
    reset_ms: int = 0
    operations: list[str] = field(default_factory=list)
    variables: list[dict] = field(default_factory=list)

    def install(self, rsps) -> None:
        rsps.add_callback(responses.POST, API_URL, callback=self.answer)

    def headers(self) -> dict[str, str]:
        reset = self.reset_ms or int((datetime.now(timezone.utc).timestamp() + 3600) * 1000)
        return {"Content-Type": "application/json", "X-RateLimit-Requests-Limit": "2500",
                "X-RateLimit-Requests-Remaining": str(self.remaining), "X-RateLimit-Requests-Reset": str(reset),
                "X-Complexity": "1201", "X-RateLimit-Complexity-Limit": "3000000",
                "X-RateLimit-Complexity-Remaining": "2998799", "X-RateLimit-Complexity-Reset": str(reset)}

    def answer(self, request):
        body = json.loads(request.body)
        self.operations.append(body.get("operationName"))
        self.variables.append(body.get("variables") or {})
        if self.canned:
            status, headers, payload = self.canned.pop(0)
            return status, {**self.headers(), **headers}, json.dumps(payload)
        if request.headers.get("Authorization") != self.api_key:
            return 400, self.headers(), json.dumps(AUTH_ERROR)
        variables = body.get("variables") or {}
        query = body["query"]
        data: dict[str, Any] = {}
        if "viewer" in query:
            data["viewer"] = {k: self.viewer[k] for k in ("id", "name", "email")
                              if k in query.split("viewer", 1)[1].split("}", 1)[0]}
        if "issues(" in query:
            hits = [i for i in self.issues if self.issue_matches(i, variables.get("filter") or {})]
            data["issues"] = self.page(hits, variables)
        if "projects(" in query:
            hits = [p for p in self.projects if self.project_matches(p, variables.get("filter") or {})]
            data["projects"] = self.page(hits, variables)
        return 200, self.headers(), json.dumps({"data": data})

    def page(self, hits: list[dict], variables: dict) -> dict:
        hits = sorted(hits, key=lambda n: (n["updatedAt"], n["id"]), reverse=True)
        first = min(int(variables.get("first") or 50), 250)
        offset = int(base64.b64decode(variables["after"]).decode()) if variables.get("after") else 0
        chunk = [{k: v for k, v in n.items() if not k.startswith("_")} for n in hits[offset:offset + first]]
        more = offset + first < len(hits)
        end = base64.b64encode(str(offset + len(chunk)).encode()).decode() if chunk else None
        return {"nodes": chunk, "pageInfo": {"hasNextPage": more, "endCursor": end}}

    def is_me(self, user_id: str | None, comparator: dict) -> bool:
        wanted = comparator["isMe"]["eq"]
        return (user_id == self.viewer["id"]) == wanted

    def issue_matches(self, issue: dict, f: dict) -> bool:
        for key, value in f.items():
            if key == "and" and not all(self.issue_matches(issue, part) for part in value):
                return False
            if key == "or" and not any(self.issue_matches(issue, part) for part in value):
                return False
            if key == "assignee" and not self.is_me((issue["assignee"] or {}).get("id"), value):
                return False
            if key in ("updatedAt", "completedAt", "canceledAt") and not compare(issue[key], value):
                return False
            if key == "team" and not compare(issue["team"]["key"], value["key"]):
                return False
        return True

    def project_matches(self, project: dict, f: dict) -> bool:
        for key, value in f.items():
            if key == "and" and not all(self.project_matches(project, part) for part in value):
                return False
            if key == "or" and not any(self.project_matches(project, part) for part in value):
                return False
            if key == "lead" and not self.is_me((project["lead"] or {}).get("id"), value):
                return False
            if key == "members" and (self.viewer["id"] in project["_members"]) != value["some"]["isMe"]["eq"]:
                return False
            if key in ("updatedAt", "completedAt", "canceledAt") and not compare(project[key], value):
                return False
        return True
