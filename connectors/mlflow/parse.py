"""Pure parsing for the MLflow connector: REST-shaped JSON in, records out. No I/O.

Runs become records with the attributes the metric rules read; registry snapshots (models and
versions) are diffed against the one saved in the cursor to find versions worth keeping and
promotions, which become `model_version` and `model_promotion` records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from harvester.connectors.base import HarvestWindow
from harvester.connectors.coerce import finite_number
from harvester.connectors.mlflow.links import UiLinks, as_links
from harvester.connectors.mlflow.rest import is_digits
from harvester.connectors.mlflow.settings import MlflowSettings
from harvester.errors import MalformedItemError
from harvester.models import Record, utcnow
from harvester.records import (make_model_promotion_attributes, make_model_promotion_record,
                               make_model_version_attributes, make_model_version_record, make_registry_attributes,
                               make_run_attributes, make_run_record, read_run_attributes)
from harvester.timeutil import to_ms

NOTE_TAG = "mlflow.note.content"  # the run's description, as the MLflow UI edits it
RUN_TYPE_TAG = "mlflow.runType"  # e.g. "genai_evaluate", set by mlflow.genai.evaluate
# The plural nouns the harvest summary prints for skipped items.
RUNS, MODELS, VERSIONS = "runs", "registered models", "model versions"
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z, the last instant a datetime holds


def text(value: Any) -> str:
    """A string field as text: scalars written out, anything else (null, lists, objects) empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)) and not (isinstance(value, float) and not math.isfinite(value)):
        return str(value)
    return ""


def kv(items: Any) -> dict[str, Any]:
    """MLflow's [{"key", "value"}] lists as a dict; entries without a string key are dropped."""
    if not isinstance(items, (list, tuple)):
        return {}
    return {i["key"]: i.get("value") for i in items if isinstance(i, Mapping) and isinstance(i.get("key"), str)}


def read_ms(value: Any) -> datetime | None:
    """Epoch milliseconds (a number, or digits as proto3 JSON writes int64) as a time; None when
    absent, zero, or not a time at all."""
    if is_digits(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not (isinstance(value, int) or math.isfinite(value)) or not 0 < value <= MAX_MS:
        return None
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def run_id_of(run: Any) -> str:
    info = run.get("info") if isinstance(run, Mapping) else None
    run_id = info.get("run_id") if isinstance(info, Mapping) else None
    return run_id if isinstance(run_id, str) and run_id.strip() else ""


def parse_run(run: Any, source: str, experiments: Mapping[str, str], ui: str | UiLinks,
              handles: frozenset[str]) -> Record:
    """A runs/search element as a record. Without a run id or a start time it is malformed;
    every other field falls back to empty. `ui` is the UI's links (a bare URL: an open-source
    server's)."""
    links = as_links(ui)
    run_id = run_id_of(run)
    if not run_id:
        raise MalformedItemError(RUNS, "", "no run_id in its info")
    info = run["info"]
    started = read_ms(info.get("start_time"))
    if started is None:
        raise MalformedItemError(RUNS, run_id, f"start_time {info.get('start_time')!r:.40} is not a time")
    ended = read_ms(info.get("end_time"))
    data = run.get("data") if isinstance(run.get("data"), Mapping) else {}
    tags = {k: text(v) for k, v in kv(data.get("tags")).items()}
    actor = (tags.get("mlflow.user") or text(info.get("user_id"))).strip() or None
    exp_id = text(info.get("experiment_id"))
    metrics = {k: m for k, v in kv(data.get("metrics")).items() if (m := finite_number(v)) is not None}
    user_tags = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
    name = text(info.get("run_name"))
    attributes = make_run_attributes(
        status=text(info.get("status")).lower(), metrics=metrics,
        params={k: text(v) for k, v in kv(data.get("params")).items()}, tags=user_tags, name=name,
        experiment_id=exp_id, experiment_url=links.experiment(exp_id),
        started_at=started.isoformat(), ended_at=ended.isoformat() if ended else None,
        description=tags.get(NOTE_TAG, "").strip(), run_type=tags.get(RUN_TYPE_TAG, "").strip())
    return make_run_record(source, run_id, ended or started, experiments.get(exp_id, f"experiment {exp_id}"),
                           attributes, actor=actor, mine=bool(actor) and actor.lower() in handles,
                           title=name or run_id, url=links.run(exp_id, run_id), payload=dict(run))


def read_timestamp(value: Any) -> int | None:
    """An optional epoch-ms registry timestamp, as the int the cursor snapshot compares."""
    moment = read_ms(value)
    return int(value) if moment is not None else None


def read_registered_model(model: Any) -> dict:
    """A registered model as registry_events reads it: a name, an update time, alias -> version."""
    name = model.get("name") if isinstance(model, Mapping) else None
    if not isinstance(name, str) or not name:
        raise MalformedItemError(MODELS, "", "no name")
    aliases = model.get("aliases") or {}
    if isinstance(aliases, (list, tuple)):  # the REST shape: [{"alias", "version"}]
        aliases = {a.get("alias"): a.get("version") for a in aliases if isinstance(a, Mapping)}
    if not isinstance(aliases, Mapping):
        raise MalformedItemError(MODELS, name, "aliases is not a mapping")
    return {"name": name, "last_updated_timestamp": read_timestamp(model.get("last_updated_timestamp")),
            "aliases": {text(k): text(v) for k, v in aliases.items() if text(k) and text(v)}}


def read_model_version(version: Any) -> dict:
    """A model version with its name and number checked and its optional fields as text or None."""
    name = version.get("name") if isinstance(version, Mapping) else None
    if not isinstance(name, str) or not name:
        raise MalformedItemError(VERSIONS, "", "no model name")
    number = text(version.get("version")).strip()
    if not number:
        raise MalformedItemError(VERSIONS, name, "no version number")

    def optional(key: str) -> str | None:
        return text(version.get(key)) or None

    return {"name": name, "version": number,
            "creation_timestamp": read_timestamp(version.get("creation_timestamp")),
            "last_updated_timestamp": read_timestamp(version.get("last_updated_timestamp")),
            "current_stage": optional("current_stage"), "run_id": optional("run_id"), "source": optional("source"),
            "status": optional("status"), "user_id": optional("user_id")}


def registry_events(models: Sequence[dict], versions_by_model: Mapping[str, list[dict]],
                    previous: Mapping[str, dict], first: bool, window: HarvestWindow,
                    settings: MlflowSettings) -> list[dict]:
    """Model versions worth keeping and promotions, from registry snapshots (models and
    versions as read_registered_model and read_model_version give them).

    MLflow keeps no alias history and setting an alias touches no timestamp, so an alias
    move is found by diffing this snapshot against the one saved in the cursor.
    """
    since_ms = to_ms(window.since)
    now_ms = to_ms(window.started_at)
    serving_aliases = {a.lower() for a in settings.serving_aliases}  # Unity Catalog shows them as set: Champion
    events = []
    for m in models:
        name, aliases = m["name"], m["aliases"]
        old = previous.get(name, {})
        old_aliases = old.get("aliases", {})
        old_staged = set(old.get("staged", []))
        serving_versions = {v for a, v in aliases.items() if a.lower() in serving_aliases}
        for v in versions_by_model.get(name, []):
            version = str(v["version"])
            v_aliases = sorted(a for a, ver in aliases.items() if ver == version)
            staged = v.get("current_stage") in settings.serving_stages
            serving = version in serving_versions or staged
            was_serving = version in {ver for a, ver in old_aliases.items() if a.lower() in serving_aliases} \
                or version in old_staged
            created = v.get("creation_timestamp") or 0
            if created >= since_ms or serving or was_serving:
                events.append({"type": "version", **v, "aliases": v_aliases, "serving": serving,
                               "occurred_ms": created})
            for alias in v_aliases:
                if alias.lower() not in serving_aliases:
                    continue
                if first and created >= since_ms:
                    events.append({"type": "promotion", **v, "target": alias, "via": "alias",
                                   "previous_version": None, "occurred_ms": created})
                elif not first and old_aliases.get(alias) != version:
                    events.append({"type": "promotion", **v, "target": alias, "via": "alias",
                                   "previous_version": old_aliases.get(alias), "occurred_ms": now_ms})
            if staged:
                changed_ms = v.get("last_updated_timestamp") or created
                if (first and changed_ms >= since_ms) or (not first and version not in old_staged):
                    events.append({"type": "promotion", **v, "target": v["current_stage"], "via": "stage",
                                   "previous_version": None, "occurred_ms": changed_ms})
    return events


def parse_registry_event(event: Mapping[str, Any], run: Mapping[str, Any] | None, source: str,
                         experiments: Mapping[str, str], ui: str | UiLinks, handles: frozenset[str]) -> Record:
    name, version = event["name"], str(event["version"])
    actor, run_metrics, run_link = event.get("user_id") or None, {}, None
    if run is not None:
        try:
            parsed = parse_run(run, source, experiments, ui, handles)
        except MalformedItemError:
            parsed = None  # the version stands without its run's details
        if parsed is not None:
            actor, run_metrics, run_link = parsed.actor, dict(read_run_attributes(parsed)["metrics"]), parsed.url
    mine = bool(actor) and actor.strip().lower() in handles
    url = as_links(ui).model_version(name, version)
    occurred = read_ms(event["occurred_ms"]) or utcnow()
    registry = make_registry_attributes(model=name, version=version, run_id=event.get("run_id"), run_url=run_link,
                                        run_metrics=run_metrics, stage=event.get("current_stage"))
    envelope = {"actor": actor, "mine": mine, "url": url,
                "payload": {k: v for k, v in event.items() if k not in ("type", "occurred_ms")}}
    if event["type"] == "version":
        return make_model_version_record(
            source, f"{name}/{version}", occurred, name,
            make_model_version_attributes(registry, aliases=event["aliases"], serving=event["serving"],
                                          status=event.get("status")),
            title=f"{name} v{version}", **envelope)
    target = str(event["target"])
    return make_model_promotion_record(
        source, f"{name}/{version}/{target}", occurred, name,
        make_model_promotion_attributes(registry, target=target, via=event["via"],
                                        previous_version=event.get("previous_version")),
        title=f"{name} v{version} -> {target}", **envelope)
