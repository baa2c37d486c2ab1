"""The workspace model registry of an MLflow server: registered models and their versions, read
as a snapshot and diffed against the one the cursor keeps (parse.registry_events), over the
server's REST API or, for a file or database store, mlflow's client. Unity Catalog has its
own reader (unity_catalog.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from harvester.connectors.base import HarvestWindow
from harvester.connectors.mlflow.filters import ID_CHUNK, chunks, quote_value
from harvester.connectors.mlflow.parse import (parse_registry_event, read_model_version, read_registered_model,
                                               registry_events)
from harvester.connectors.mlflow.rest import json_pages
from harvester.connectors.mlflow.transport import API
from harvester.models import Cursor, Record

if TYPE_CHECKING:
    from harvester.connectors.mlflow.connector import MlflowConnector


def fetch_registry(connector: MlflowConnector, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
    previous = dict(cursor.state.get("models", {})) if cursor else {}
    first = cursor is None
    models = list(connector.parse_each(registered_models(connector), read_registered_model))
    changed = [m for m in models
               if first or m["name"] not in previous
               or m["last_updated_timestamp"] != previous[m["name"]].get("updated")
               or m["aliases"] != previous[m["name"]].get("aliases")]
    versions_by_model: dict[str, list[dict]] = {}
    for chunk in chunks([m["name"] for m in changed], ID_CHUNK):
        for v in connector.parse_each(model_versions(connector, chunk), read_model_version):
            versions_by_model.setdefault(v["name"], []).append(v)
    events = registry_events(changed, versions_by_model, previous, first, window, connector.settings)
    runs = connector.runs_by_id({e["run_id"] for e in events if e.get("run_id")})
    experiments = connector.experiments()
    records = [parse_registry_event(e, runs.get(e.get("run_id") or ""), connector.instance, experiments,
                                    connector.ui_links, connector.handles) for e in events]
    if connector.members:  # a team keeps its members' models, not every colleague's on the server
        records = [r for r in records if r.mine]
    records.sort(key=lambda r: r.occurred_at)
    yield from records
    state = {m["name"]: previous.get(m["name"], {}) for m in models}
    for m in changed:
        vs = versions_by_model.get(m["name"], [])
        state[m["name"]] = {"updated": m["last_updated_timestamp"], "aliases": m["aliases"],
                            "staged": sorted(str(v["version"]) for v in vs
                                             if v.get("current_stage") in connector.settings.serving_stages)}
    connector._registry_state = {"models": state}

def registered_models(connector: MlflowConnector) -> Iterator[dict]:
    if connector.registry_http is not None:
        yield from json_pages(connector.registry_http, "GET", f"{API}/registered-models/search", "registered_models",
                              {"max_results": 1000}, connector.instance)
        return
    token = None
    while True:
        page = connector.client.search_registered_models(max_results=1000, page_token=token)
        for m in page:
            yield {"name": m.name, "last_updated_timestamp": m.last_updated_timestamp, "aliases": m.aliases}
        token = page.token
        if not token:
            break

def model_versions(connector: MlflowConnector, names: Sequence[str]) -> Iterator[dict]:
    names_sql = ", ".join(quote_value(n) for n in names)
    if connector.registry_http is not None:
        yield from json_pages(connector.registry_http, "GET", f"{API}/model-versions/search", "model_versions",
                              {"filter": f"name IN ({names_sql})", "max_results": 200000}, connector.instance)
        return
    token = None
    while True:
        page = connector.client.search_model_versions(f"name IN ({names_sql})", max_results=200000, page_token=token)
        for v in page:
            yield {"name": v.name, "version": v.version, "creation_timestamp": v.creation_timestamp,
                   "last_updated_timestamp": v.last_updated_timestamp, "current_stage": v.current_stage,
                   "run_id": v.run_id, "source": v.source, "status": v.status, "user_id": v.user_id}
        token = page.token
        if not token:
            break
