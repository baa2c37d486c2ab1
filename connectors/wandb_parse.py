"""Pure parsing for the W&B connector: GraphQL nodes in, records out.

Runs become records with exactly the attributes MLflow runs have (status, metrics, params,
tags, name, experiment_id, experiment_url, started_at, ended_at, description, run_type), so
the metric rules read both sources the same way. The description is the run's notes; W&B
has no run type. Registry versions and alias moves become `model_version` and
`model_promotion` records with the MLflow registry attributes.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote, urlsplit

from harvester.models import Record, ensure_utc, utcnow

REGISTRY_PREFIX = "wandb-registry-"
HIDDEN_CONFIG_KEYS = ("wandb_version",)
DONE_STATES = ("finished", "crashed", "failed", "killed", "preempted")


# values ---------------------------------------------------------------------------------------


def load_json_field(value: Any) -> dict[str, Any]:
    """`config` and `summaryMetrics` arrive as JSON strings; tolerate dicts and junk."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (str, bytes)) and value:
        try:
            parsed = json.loads(value, strict=False)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def parse_time(value: str | None) -> datetime | None:
    """W&B sends naive ISO strings in UTC ("2026-11-01T10:00:00"); some servers add a zone."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def format_time(value: datetime) -> str:
    """The ISO form W&B filters compare against (UTC, no zone): numbers are rejected."""
    return ensure_utc(value).astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def config_params(config: Any) -> dict[str, str]:
    """Run config as MLflow-style string params: {"lr": {"value": 0.01, "desc": null}} -> {"lr": "0.01"}."""
    params = {}
    for key, item in load_json_field(config).items():
        if key.startswith("_") or key in HIDDEN_CONFIG_KEYS:
            continue
        value = item.get("value") if isinstance(item, Mapping) and "value" in item else item
        params[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return params


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
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            found[prefix] = float(value)

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


def parse_run(node: Mapping[str, Any], entity: str, project: str, source: str, ui: str,
              handles: frozenset[str], subject_by: str = "project") -> Record:
    name = str(node.get("name") or node.get("id"))
    state = str(node.get("state") or "").lower()
    actor = ((node.get("user") or {}).get("username") or None)
    started = parse_time(node.get("createdAt")) or utcnow()
    ended = parse_time(node.get("heartbeatAt")) if state in DONE_STATES else None
    subject, experiment_path = run_subject(entity, project, node.get("group"), subject_by)
    display = node.get("displayName") or name
    tags = {str(t): "true" for t in node.get("tags") or ()}
    return Record(
        source=source, kind="run", external_id=run_key(entity, project, name), occurred_at=ended or started,
        subject=subject, actor=actor, mine=bool(actor) and actor.strip().lower() in handles, title=display,
        url=path_url(ui, entity, project, "runs", name),
        attributes={"status": state, "metrics": summary_metrics(node.get("summaryMetrics")),
                    "params": config_params(node.get("config")), "tags": tags, "name": display,
                    "experiment_id": subject, "experiment_url": path_url(ui, *experiment_path),
                    "started_at": started.isoformat(), "ended_at": ended.isoformat() if ended else None,
                    "description": str(node.get("notes") or "").strip(), "run_type": ""},
        payload=dict(node),
    )


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
        index = (node.get("artifact") or {}).get("versionIndex")
    return str(index)


def model_key(node: Mapping[str, Any]) -> str:
    """registry/collection, e.g. "model/fraud-detector"."""
    collection = node.get("artifactCollection") or {}
    project = (collection.get("project") or {}).get("name") or ""
    return f"{registry_name(project)}/{collection.get('name')}"


def version_key(node: Mapping[str, Any]) -> str:
    return f"{model_key(node)}/{version_of(node)}"


def aliases_of(node: Mapping[str, Any]) -> list[str]:
    return sorted(str(a.get("alias")) for a in node.get("aliases") or () if a and a.get("alias"))


def linked_at(node: Mapping[str, Any]) -> datetime | None:
    return parse_time(node.get("createdAt")) or parse_time((node.get("artifact") or {}).get("createdAt"))


def registry_events(changed: Iterable[Mapping[str, Any]], serving: Iterable[Mapping[str, Any]],
                    previous: Mapping[str, Any], first: bool, since: datetime, now: datetime,
                    serving_aliases: Sequence[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Version and promotion events, and the alias snapshot to keep for next time.

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
    creator = (node.get("artifact") or {}).get("createdBy") or {}
    return creator if creator.get("__typename") == "Run" else None


def parse_registry_event(event: Mapping[str, Any], source: str, ui: str, handles: frozenset[str]) -> Record:
    node = event["node"]
    collection = node.get("artifactCollection") or {}
    artifact = node.get("artifact") or {}
    name, version = str(collection.get("name")), version_of(node)
    key = version_key(node)
    creator = (artifact.get("createdBy") or {})
    run = creator_run(node)
    run_id = run_link = None
    run_metrics: dict[str, float] = {}
    if run is not None:
        project = run.get("project") or {}
        entity = (project.get("entity") or {}).get("name") or ""
        run_id = run_key(entity, project.get("name") or "", run.get("name") or "")
        run_link = path_url(ui, entity, project.get("name") or "", "runs", run.get("name") or "")
        run_metrics = summary_metrics(run.get("summaryMetrics"))
        actor = (run.get("user") or {}).get("username") or None
    else:
        actor = creator.get("username") or None
    registry_project = collection.get("project") or {}
    url = path_url(ui, (registry_project.get("entity") or {}).get("name") or "", registry_project.get("name") or "",
                   "artifacts", (artifact.get("artifactType") or {}).get("name") or "model", name, f"v{version}")
    common = {"model": name, "version": version, "run_id": run_id, "run_url": run_link, "run_metrics": run_metrics,
              "stage": None}
    mine = bool(actor) and actor.strip().lower() in handles
    payload = {k: v for k, v in event.items() if k not in ("type", "occurred_at")}
    if event["type"] == "version":
        return Record(source=source, kind="model_version", external_id=key, occurred_at=event["occurred_at"],
                      subject=name, actor=actor, mine=mine, title=f"{name} v{version}", url=url,
                      attributes={**common, "aliases": list(event["aliases"]), "serving": bool(event["serving"]),
                                  "status": str(artifact.get("state") or "").lower() or None},
                      payload=payload)
    target = str(event["target"])
    return Record(source=source, kind="model_promotion", external_id=f"{key}/{target}",
                  occurred_at=event["occurred_at"], subject=name, actor=actor, mine=mine,
                  title=f"{name} v{version} -> {target}", url=url,
                  attributes={**common, "target": target, "via": "alias",
                              "previous_version": event.get("previous_version")},
                  payload=payload)
