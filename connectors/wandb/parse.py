"""Pure parsing for the W&B connector: GraphQL nodes in, records out.

Runs become records of the run shape MLflow runs have (harvester.records.RunAttributes), so
the metric rules read both sources the same way. The description is the run's notes; W&B
has no run type. Registry versions and alias moves become `model_version` and
`model_promotion` records of the shapes MLflow's registry events have.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote, urlsplit

from harvester.connectors.coerce import finite_number, parse_time
from harvester.errors import MalformedItemError
from harvester.models import Record, ensure_utc
from harvester.records import (make_model_promotion_attributes, make_model_promotion_record,
                               make_model_version_attributes, make_model_version_record, make_registry_attributes,
                               make_run_attributes, make_run_record)

REGISTRY_PREFIX = "wandb-registry-"
# The plural nouns the harvest summary prints for skipped items.
RUNS, PROJECTS, VERSIONS = "runs", "projects", "artifact versions"
HIDDEN_CONFIG_KEYS = ("wandb_version",)
DONE_STATES = ("finished", "crashed", "failed", "killed", "preempted")


# values ---------------------------------------------------------------------------------------


def mapping(value: Any) -> Mapping[str, Any]:
    """An object field, or an empty one when the server sent null or something else."""
    return value if isinstance(value, Mapping) else {}


def dig(node: Any, *keys: str) -> Any:
    """node[k1][k2]... through objects only; None as soon as one is missing or not an object."""
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def text(value: Any) -> str:
    """A string field as text: numbers written out, anything else (null, lists, objects) empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    return ""


def load_json_field(value: Any) -> dict[str, Any]:
    """`config` and `summaryMetrics` arrive as JSON strings; tolerate dicts and junk."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (str, bytes)) and value:
        try:
            parsed = json.loads(value, strict=False)
        except (ValueError, RecursionError):
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def format_time(value: datetime) -> str:
    """The ISO form W&B filters compare against (UTC, no zone): numbers are rejected."""
    return ensure_utc(value).astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def config_params(config: Any) -> dict[str, str]:
    """Run config as MLflow-style string params: {"lr": {"value": 0.01, "desc": null}} -> {"lr": "0.01"}."""
    params = {}
    for key, item in load_json_field(config).items():
        key = str(key)
        if key.startswith("_") or key in HIDDEN_CONFIG_KEYS:
            continue
        value = item.get("value") if isinstance(item, Mapping) and "value" in item else item
        params[key] = value if isinstance(value, str) else dump_value(value)
    return params


def dump_value(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):  # keys of mixed types cannot be sorted
        return str(value)


def summary_metrics(summary: Any) -> dict[str, float]:
    """Numeric summary values; nested dicts flattened with '.', media and internal keys dropped."""
    found: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            if "_type" in value:  # histograms, tables, images
                return
            for k, v in value.items():
                if not str(k).startswith("_"):
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif (number := finite_number(value)) is not None:
            found[prefix] = number

    walk("", load_json_field(summary))
    return found


def ui_base(base_url: str, ui_url: str = "") -> str:
    """Where people look at runs: wandb.ai for the cloud API, the same host for W&B Server."""
    if ui_url:
        return ui_url.rstrip("/")
    parts = urlsplit(base_url)
    if parts.hostname == "api.wandb.ai":
        return "https://wandb.ai"
    return base_url.rstrip("/")


def path_url(ui: str, *parts: str) -> str | None:
    return "/".join([ui, *(quote(str(p), safe="") for p in parts)]) if ui else None


# runs --------------------------------------------------------------------------------------------


def run_key(entity: str, project: str, name: str) -> str:
    """A run's id in the store: unique across projects, and what registry records point at."""
    return f"{entity}/{project}/{name}"


def run_filters(usernames: Sequence[str], since: datetime) -> dict[str, Any]:
    """Runs of these users created or still reporting after `since` (ISO strings, not epochs)."""
    stamp = format_time(since)
    who: dict[str, Any] = {"username": usernames[0]} if len(usernames) == 1 else {"username": {"$in": list(usernames)}}
    return {"$and": [who, {"$or": [{"createdAt": {"$gt": stamp}}, {"heartbeatAt": {"$gt": stamp}}]}]}


def run_subject(entity: str, project: str, group: str | None, subject_by: str) -> tuple[str, tuple[str, ...]]:
    """(subject, UI path parts of the experiment): the project, or the run group within it."""
    if subject_by == "group" and group:
        return f"{entity}/{project}/{group}", (entity, project, "groups", group)
    return f"{entity}/{project}", (entity, project)


def parse_run(node: Any, entity: str, project: str, source: str, ui: str,
              handles: frozenset[str], subject_by: str = "project") -> Record:
    """A Run node as a record. Without a name (or id) or a readable createdAt it is malformed;
    every other field falls back to empty."""
    if not isinstance(node, Mapping):
        raise MalformedItemError(RUNS, "", f"a run node in {entity}/{project} is not an object")
    name = text(node.get("name")).strip() or text(node.get("id")).strip()
    if not name:
        raise MalformedItemError(RUNS, "", f"a run in {entity}/{project} has no name or id")
    key = run_key(entity, project, name)
    started = parse_time(node.get("createdAt"))
    if started is None:
        raise MalformedItemError(RUNS, key, f"createdAt {node.get('createdAt')!r:.40} is not a time")
    state = text(node.get("state")).lower()
    actor = text(dig(node, "user", "username")).strip() or None
    ended = parse_time(node.get("heartbeatAt")) if state in DONE_STATES else None
    group = text(node.get("group")) or None
    subject, experiment_path = run_subject(entity, project, group, subject_by)
    display = text(node.get("displayName")) or name
    raw_tags = node.get("tags")
    tags = {text(t): "true" for t in raw_tags if text(t)} if isinstance(raw_tags, (list, tuple)) else {}
    attributes = make_run_attributes(
        status=state, metrics=summary_metrics(node.get("summaryMetrics")), params=config_params(node.get("config")),
        tags=tags, name=display, experiment_id=subject, experiment_url=path_url(ui, *experiment_path),
        started_at=started.isoformat(), ended_at=ended.isoformat() if ended else None,
        description=text(node.get("notes")).strip(), run_type="")
    return make_run_record(source, key, ended or started, subject, attributes, actor=actor,
                           mine=bool(actor) and actor.lower() in handles, title=display,
                           url=path_url(ui, entity, project, "runs", name), payload=dict(node))


def read_project(node: Any, entity: str) -> tuple[str, str]:
    """(entity, project) of a node of the project listing."""
    name = text(dig(node, "name")).strip()
    if not name:
        raise MalformedItemError(PROJECTS, "", f"a project of {entity} has no name")
    return text(dig(node, "entityName")).strip() or entity, name


# registry ----------------------------------------------------------------------------------------


def registry_name(project: str) -> str:
    return project[len(REGISTRY_PREFIX):] if project.startswith(REGISTRY_PREFIX) else project


def registry_filter(registries: Sequence[str]) -> dict[str, Any] | None:
    """Registry projects are named wandb-registry-<name> on the server."""
    names = [n if n.startswith(REGISTRY_PREFIX) else REGISTRY_PREFIX + n for n in registries]
    if not names:
        return None
    return {"name": names[0]} if len(names) == 1 else {"name": {"$in": names}}


def version_of(node: Mapping[str, Any]) -> str:
    index = node.get("versionIndex")
    if index is None:
        index = dig(node, "artifact", "versionIndex")
    return text(index)


def model_key(node: Mapping[str, Any]) -> str:
    """registry/collection, e.g. "model/fraud-detector"."""
    project = text(dig(node, "artifactCollection", "project", "name"))
    return f"{registry_name(project)}/{text(dig(node, 'artifactCollection', 'name'))}"


def version_key(node: Mapping[str, Any]) -> str:
    return f"{model_key(node)}/{version_of(node)}"


def read_membership(node: Any) -> Mapping[str, Any]:
    """A registry membership node, checked for what names it: its collection, the collection's
    registry project and a version number."""
    if not isinstance(node, Mapping):
        raise MalformedItemError(VERSIONS, "", "a registry version node is not an object")
    item_id = text(node.get("id"))
    if not text(dig(node, "artifactCollection", "name")):
        raise MalformedItemError(VERSIONS, item_id, "no artifactCollection name")
    if not text(dig(node, "artifactCollection", "project", "name")):
        raise MalformedItemError(VERSIONS, item_id, "no registry project name")
    index = node.get("versionIndex")
    if index is None:
        index = dig(node, "artifact", "versionIndex")
    if isinstance(index, bool) or not (isinstance(index, int) and index >= 0
                                       or isinstance(index, str) and index.isascii() and index.isdigit()):
        raise MalformedItemError(VERSIONS, item_id, f"versionIndex {index!r:.40} is not a version number")
    return node


def aliases_of(node: Mapping[str, Any]) -> list[str]:
    aliases = node.get("aliases")
    if not isinstance(aliases, (list, tuple)):
        return []
    return sorted({text(a.get("alias")) for a in aliases if isinstance(a, Mapping) and text(a.get("alias"))})


def linked_at(node: Mapping[str, Any]) -> datetime | None:
    return parse_time(node.get("createdAt")) or parse_time(dig(node, "artifact", "createdAt"))


def changed_at(node: Mapping[str, Any]) -> datetime | None:
    """When the artifact behind a membership last changed, as the server's `updated_at` filter reads it."""
    return parse_time(dig(node, "artifact", "updatedAt")) or linked_at(node)


def registry_events(changed: Iterable[Mapping[str, Any]], serving: Iterable[Mapping[str, Any]],
                    previous: Mapping[str, Any], first: bool, since: datetime, now: datetime,
                    serving_aliases: Sequence[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Version and promotion events, and the alias snapshot to keep for next time (nodes as
    read_membership passes them).

    Moving an alias leaves no history, so a promotion is found by diffing which version
    holds each serving alias now against the snapshot saved in the cursor.
    """
    serving = list(serving)
    nodes: dict[str, Mapping[str, Any]] = {}
    for node in [*changed, *serving]:
        nodes[version_key(node)] = node
    old_serving: Mapping[str, Mapping[str, str]] = previous.get("serving", {})
    old_nodes: Mapping[str, Mapping[str, Any]] = previous.get("nodes", {})
    now_serving: dict[str, dict[str, str]] = {}
    for node in serving:
        for alias in aliases_of(node):
            if alias in serving_aliases:
                now_serving.setdefault(model_key(node), {})[alias] = version_of(node)
    serving_keys = {f"{m}/{v}" for m, held in now_serving.items() for v in held.values()}
    events: list[dict[str, Any]] = []
    for key, node in nodes.items():
        aliases = aliases_of(node)
        if key not in serving_keys:
            aliases = [a for a in aliases if a not in serving_aliases]
        events.append({"type": "version", "node": node, "aliases": aliases, "serving": key in serving_keys,
                       "occurred_at": linked_at(node) or now})
    for m, held in old_serving.items():
        for version in held.values():
            key = f"{m}/{version}"
            if key not in serving_keys and key not in nodes and key in old_nodes:
                node = old_nodes[key]
                events.append({"type": "version", "node": node, "serving": False, "occurred_at": linked_at(node) or now,
                               "aliases": [a for a in aliases_of(node) if a not in serving_aliases]})
    for m, held in now_serving.items():
        for alias, version in sorted(held.items()):
            node = nodes[f"{m}/{version}"]
            linked = linked_at(node) or now
            if first:
                if linked >= since:
                    events.append({"type": "promotion", "node": node, "target": alias, "previous_version": None,
                                   "occurred_at": linked})
            elif old_serving.get(m, {}).get(alias) != version:
                events.append({"type": "promotion", "node": node, "target": alias,
                               "previous_version": old_serving.get(m, {}).get(alias), "occurred_at": now})
    snapshot = {"serving": now_serving, "nodes": {k: dict(nodes[k]) for k in sorted(serving_keys)}}
    return events, snapshot


def creator_run(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    creator = mapping(dig(node, "artifact", "createdBy"))
    return creator if creator.get("__typename") == "Run" else None


def parse_registry_event(event: Mapping[str, Any], source: str, ui: str, handles: frozenset[str]) -> Record:
    node = event["node"]
    artifact = mapping(node.get("artifact"))
    name, version = text(dig(node, "artifactCollection", "name")), version_of(node)
    key = version_key(node)
    run = creator_run(node)
    run_id = run_link = None
    run_metrics: dict[str, float] = {}
    if run is not None:
        project = text(dig(run, "project", "name"))
        entity = text(dig(run, "project", "entity", "name"))
        run_name = text(run.get("name"))
        run_id = run_key(entity, project, run_name)
        run_link = path_url(ui, entity, project, "runs", run_name)
        run_metrics = summary_metrics(run.get("summaryMetrics"))
        actor = text(dig(run, "user", "username")).strip() or None
    else:
        actor = text(dig(artifact, "createdBy", "username")).strip() or None
    registry_project = mapping(dig(node, "artifactCollection", "project"))
    url = path_url(ui, text(dig(registry_project, "entity", "name")), text(registry_project.get("name")),
                   "artifacts", text(dig(artifact, "artifactType", "name")) or "model", name, f"v{version}")
    registry = make_registry_attributes(model=name, version=version, run_id=run_id, run_url=run_link,
                                        run_metrics=run_metrics, stage=None)
    envelope = {"actor": actor, "mine": bool(actor) and actor.lower() in handles, "url": url,
                "payload": {k: v for k, v in event.items() if k not in ("type", "occurred_at")}}
    if event["type"] == "version":
        return make_model_version_record(
            source, key, event["occurred_at"], name,
            make_model_version_attributes(registry, aliases=list(event["aliases"]), serving=bool(event["serving"]),
                                          status=text(artifact.get("state")).lower() or None),
            title=f"{name} v{version}", **envelope)
    target = str(event["target"])
    return make_model_promotion_record(
        source, f"{key}/{target}", event["occurred_at"], name,
        make_model_promotion_attributes(registry, target=target, via="alias",
                                        previous_version=event.get("previous_version")),
        title=f"{name} v{version} -> {target}", **envelope)
