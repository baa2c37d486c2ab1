"""A small in-memory W&B GraphQL API behind `responses`.

It answers the operations the connector sends (Viewer, Projects, Runs, FetchOrgInfoFromEntity,
RegistryVersions) in W&B's response shapes: runs as `project.runs.edges[].node` with `config`
and `summaryMetrics` as JSON strings, relay `pageInfo` cursors, naive ISO UTC times. Run and
registry filters are evaluated (the Mongo-style subset W&B accepts), so a test sees what a
real server would return for the filter the connector sent. Like GraphQL, a run node carries
only the fields the query's run fragment asks for.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import responses

REGISTRY_PREFIX = "wandb-registry-"
# The version filter fields of W&B's "advanced" (ClickHouse-backed) registry search, with the
# aliases the wandb client accepts for them (wandb/apis/public/registries/_utils.py): no updated_at.
ADVANCED_VERSION_FIELDS = ("alias", "aliases", "artifact_created_at", "artifact_id", "artifact_metadata",
                           "artifact_size", "created_at", "id", "metadata", "tag", "tags", "version", "version_index")


class FilterRefused(Exception):
    """A filter the organization's registry search does not accept."""


def filter_fields(query: Any) -> set[str]:
    """The field names a Mongo-style filter names, through $and/$or/$nor/$not."""
    fields: set[str] = set()
    if isinstance(query, dict):
        for key, value in query.items():
            if key in ("$and", "$or", "$nor"):
                for part in value:
                    fields |= filter_fields(part)
            elif key == "$not":
                fields |= filter_fields(value)
            elif not key.startswith("$"):
                fields.add(key.partition(".")[0])
    return fields


def iso(value: datetime) -> str:
    """W&B's time format: naive ISO in UTC."""
    return value.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0).isoformat()


def make_run(name: str, user: str, created: datetime, *, state: str = "finished", heartbeat: datetime | None = None,
             summary: dict | None = None, config: dict | None = None, tags: list[str] | None = None,
             group: str | None = None, display: str | None = None, user_name: str = "",
             notes: str | None = None) -> dict[str, Any]:
    """A Run node as W&B returns it: config wrapped in {"value", "desc"}, both as JSON strings;
    `notes` is the run's free-text description (a nullable String in the W&B schema)."""
    wrapped = {k: {"value": v, "desc": None} for k, v in (config or {}).items()}
    wrapped["_wandb"] = {"value": {"cli_version": "0.31.0", "python_version": "3.11.9"}, "desc": None}
    summary_full = {"_runtime": 812.4, "_step": 99, "_timestamp": 1.7e9, "_wandb": {"runtime": 812}, **(summary or {})}
    return {
        "id": base64.b64encode(f"Run:v1:{name}:proj:ent".encode()).decode(),
        "name": name, "displayName": display or f"{name}-display", "state": state,
        "config": json.dumps(wrapped), "group": group, "jobType": "train",
        "createdAt": iso(created), "heartbeatAt": iso(heartbeat or created),
        "summaryMetrics": json.dumps(summary_full), "tags": list(tags or []), "notes": notes,
        "user": {"name": user_name or user.title(), "username": user},
    }


def make_membership(collection: str, version: int, *, created: datetime, updated: datetime | None = None,
                    aliases: tuple[str, ...] = (), run: tuple[str, str, str, str] | None = None,
                    run_summary: dict | None = None, registry: str = "model", org_entity: str = "acme-org",
                    uploader: str = "") -> dict[str, Any]:
    """An ArtifactCollectionMembership node; `run` is (entity, project, run name, username)."""
    if run:
        entity, project, run_name, username = run
        creator: dict[str, Any] = {"__typename": "Run", "name": run_name, "displayName": f"{run_name}-display",
                                   "summaryMetrics": json.dumps(run_summary or {}), "user": {"username": username},
                                   "project": {"name": project, "entity": {"name": entity}}}
    else:
        creator = {"__typename": "User", "username": uploader}
    return {
        "id": base64.b64encode(f"ArtifactCollectionMembership:{collection}:{version}".encode()).decode(),
        "versionIndex": version, "createdAt": iso(created),
        "aliases": [{"alias": a} for a in aliases],
        "artifactCollection": {"name": collection, "project": {"name": REGISTRY_PREFIX + registry,
                                                               "entity": {"name": org_entity}}},
        "artifact": {"id": base64.b64encode(f"Artifact:{collection}{version}".encode()).decode(),
                     "versionIndex": version, "createdAt": iso(created), "updatedAt": iso(updated or created),
                     "state": "COMMITTED", "artifactType": {"name": "model"}, "createdBy": creator},
    }


def fragment_fields(query: str, fragment: str) -> set[str]:
    """The top-level field names a named fragment in the query text selects."""
    match = re.search(rf"fragment {fragment} on \w+ {{", query)
    if match is None:
        raise ValueError(f"the query has no fragment {fragment}")
    fields, depth = set(), 1
    for token in re.findall(r"[{}]|\w+", query[match.end():]):
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                return fields
        elif depth == 1:
            fields.add(token)
    raise ValueError(f"fragment {fragment} is not closed")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _compare(actual: Any, condition: Any, is_time: bool) -> bool:
    if not isinstance(condition, dict):
        return actual == condition
    for op, expected in condition.items():
        if op == "$in":
            ok = actual in expected if not isinstance(actual, list) else bool(set(actual) & set(expected))
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            if is_time and not isinstance(expected, str):
                raise ValueError("time filters take ISO strings")  # W&B answers 500 to epochs
            a, b = (_time(actual), _time(expected)) if is_time else (actual, expected)
            ok = {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]
        elif op == "$eq":
            ok = actual == expected
        else:
            raise ValueError(f"unsupported operator {op}")
        if not ok:
            return False
    return True


def matches(fields: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, condition in query.items():
        if key == "$and":
            if not all(matches(fields, q) for q in condition):
                return False
        elif key == "$or":
            if not any(matches(fields, q) for q in condition):
                return False
        elif not _compare(fields.get(key), condition, key.endswith("At") or key.endswith("_at")):
            return False
    return True


def _page(nodes: list[dict], after: str | None, first: int, with_cursor: bool) -> dict[str, Any]:
    start = int(base64.b64decode(after).decode().split(":")[1]) + 1 if after else 0
    chunk = nodes[start:start + first]
    cursors = [base64.b64encode(f"cursor:{start + i}".encode()).decode() for i in range(len(chunk))]
    edges = [{"node": n, "cursor": c} if with_cursor else {"node": n} for n, c in zip(chunk, cursors)]
    return {"edges": edges, "pageInfo": {"__typename": "PageInfo", "endCursor": cursors[-1] if cursors else None,
                                         "hasNextPage": start + len(chunk) < len(nodes)}}


@dataclass
class FakeWandb:
    base_url: str = "https://api.wandb.ai"
    api_key: str = "wandb-test-key-0123456789"
    viewer: dict[str, Any] = field(default_factory=lambda: {"id": "VXNlcjox", "username": "ada", "entity": "ada"})
    organization: str | None = "acme"
    projects: dict[str, list[str]] = field(default_factory=dict)
    runs: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    memberships: list[dict] = field(default_factory=list)
    advanced_search: bool = False  # the organization's registry search refuses updated_at
    refusal_status: int = 200  # how the refusal comes: a GraphQL error in a 200, or in a 400
    failures: dict[int, int | tuple[int, dict]] = field(default_factory=dict)  # request no. -> status[, headers]
    bodies: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)  # every request, rejected ones too

    def add_run(self, entity: str, project: str, node: dict[str, Any]) -> dict[str, Any]:
        self.projects.setdefault(entity, [])
        if project not in self.projects[entity]:
            self.projects[entity].append(project)
        runs = self.runs.setdefault((entity, project), [])
        runs[:] = [r for r in runs if r["name"] != node["name"]] + [node]
        return node

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, f"{self.base_url}/graphql", callback=self.handle,
                          content_type="application/json")

    def operations(self) -> list[str]:
        return [b["operationName"] for b in self.bodies]

    # the server --------------------------------------------------------------------------------

    def handle(self, request):
        self.requests.append(request)
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return 401, {}, json.dumps({"errors": [{"message": "user is not logged in"}]})
        body = json.loads(request.body)
        self.bodies.append(body)
        failure = self.failures.get(len(self.bodies))
        if failure:
            status, headers = failure if isinstance(failure, tuple) else (failure, {})
            return status, headers, json.dumps({"errors": [{"message": "Internal Server Error"}]})
        op, variables, query = body["operationName"], body.get("variables") or {}, body["query"]
        assert f"query {op}" in query, f"operationName {op} does not match the query text"
        try:
            data = getattr(self, f"answer_{op}")(variables, query)
        except ValueError as exc:
            return 500, {}, json.dumps({"errors": [{"message": str(exc)}]})
        except LookupError as exc:  # GraphQL reports these in the body of a 200
            return 200, {}, json.dumps({"data": None, "errors": [{"message": exc.args[0], "path": ["q0"]}]})
        except FilterRefused as exc:
            return self.refusal_status, {}, json.dumps({"data": None, "errors": [
                {"message": exc.args[0], "path": ["q0", "orgEntity", "artifactMemberships"]}]})
        return 200, {}, json.dumps({"data": data})

    def answer_Viewer(self, variables, query):
        return {"viewer": dict(self.viewer)}

    def answer_FetchOrgInfoFromEntity(self, variables, query):
        org = {"name": self.organization, "orgEntity": {"name": f"{self.organization}-org"}} \
            if self.organization else None
        return {"entity": {"organization": org, "user": None}}

    def aliases(self, variables, prefix: str) -> list[int]:
        return sorted(int(m.group(1)) for k in variables if (m := re.fullmatch(rf"{prefix}(\d+)", k)))

    def answer_Projects(self, variables, query):
        data = {}
        for i in self.aliases(variables, "entity"):
            assert f"q{i}: models(entityName: $entity{i}" in query
            entity = variables[f"entity{i}"]
            nodes = [{"id": base64.b64encode(f"Project:{entity}/{p}".encode()).decode(), "name": p,
                      "entityName": entity, "createdAt": "2026-01-05T09:00:00"} for p in self.projects.get(entity, [])]
            data[f"q{i}"] = _page(nodes, variables.get(f"cursor{i}"), variables.get("perPage") or 50, False)
        return data

    def answer_Runs(self, variables, query):
        filters = json.loads(variables.get("filters") or "{}")
        assert variables.get("order") == "+created_at"
        asked = fragment_fields(query, "RunFields")
        data = {}
        for i in self.aliases(variables, "project"):
            assert f"q{i}: project(name: $project{i}, entityName: $entity{i})" in query
            key = (variables[f"entity{i}"], variables[f"project{i}"])
            if key not in self.runs and key[1] not in self.projects.get(key[0], []):
                data[f"q{i}"] = None
                continue
            nodes = sorted(self.runs.get(key, []), key=lambda r: r["createdAt"])
            nodes = [{k: v for k, v in n.items() if k in asked} for n in nodes
                     if matches({"username": n["user"]["username"], "createdAt": n["createdAt"],
                                 "heartbeatAt": n["heartbeatAt"], "state": n["state"]}, filters)]
            data[f"q{i}"] = {"name": key[1], "entityName": key[0],
                             "runs": _page(nodes, variables.get(f"cursor{i}"), variables.get("perPage") or 50, True)}
        return data

    def answer_RegistryVersions(self, variables, query):
        if variables.get("organization") != self.organization:
            raise LookupError(f"organization {variables.get('organization')!r} not found")
        registry = json.loads(variables.get("registryFilter") or "{}")
        data = {}
        for i in self.aliases(variables, "filter"):
            filters = json.loads(variables[f"filter{i}"] or "{}")
            invalid = sorted(filter_fields(filters) - set(ADVANCED_VERSION_FIELDS)) if self.advanced_search else []
            if invalid:
                raise FilterRefused(f"Invalid filter fields: {', '.join(map(repr, invalid))}; must be one of: "
                                    f"{', '.join(map(repr, ADVANCED_VERSION_FIELDS))}")
            nodes = [m for m in self.memberships
                     if matches({"name": m["artifactCollection"]["project"]["name"]}, registry)
                     and matches({"alias": [a["alias"] for a in m["aliases"]], "created_at": m["createdAt"],
                                  "updated_at": m["artifact"]["updatedAt"]}, filters)]
            data[f"q{i}"] = {"orgEntity": {"name": f"{self.organization}-org", "artifactMemberships":
                                           _page(nodes, variables.get(f"cursor{i}"), variables.get("perPage") or 50,
                                                 False)}}
        return data
