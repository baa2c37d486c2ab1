"""The Unity Catalog model registry (`registry_uri = "databricks-uc"`): model versions and alias moves.

The endpoints and shapes are those of mlflow's own UC client
(`mlflow/store/_unity_catalog/registry/rest_store.py`, messages in
`mlflow/protos/databricks_uc_registry_messages.proto`), read here as JSON so that one odd
version is skipped rather than failing its page:

- `GET /api/2.0/mlflow/unity-catalog/registered-models/search` (`max_results`, `page_token`)
  -> `{"registered_models": [{name, creation_timestamp, last_updated_timestamp, ...}], "next_page_token"}`;
  search results carry no aliases;
- `GET .../registered-models/get` (`name`) -> `{"registered_model": {..., "aliases": [{alias, version}]}}`;
- `GET .../model-versions/search` (`filter` of one condition, `name='catalog.schema.model'`,
  `max_results`, `page_token`) -> `{"model_versions": [{name, version, creation_timestamp,
  last_updated_timestamp, user_id, source, run_id, status, ...}], "next_page_token"}`.

Requests go through mlflow's REST helper (transport.MlflowRestHttp) with the workspace's host
creds, so credentials, retries (429 and 5xx, Retry-After honoured) and TLS stay mlflow's.

UC has no stages and keeps no alias history; search results have no aliases and an alias move
touches no timestamp. So aliases are read (one `get` each) only for the models holding a version
built from one of my runs, remembered in the cursor, and diffed as for the workspace registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping

from harvester.connectors.base import HarvestWindow
from harvester.connectors.mlflow.parse import (parse_registry_event, parse_run, read_model_version,
                                               read_registered_model, registry_events)
from harvester.connectors.mlflow.rest import json_pages
from harvester.connectors.mlflow.transport import MlflowRestHttp
from harvester.errors import ConnectorError, MalformedItemError
from harvester.models import Cursor, Record

if TYPE_CHECKING:
    from harvester.connectors.mlflow.connector import MlflowConnector

UC_PREFIX = "/api/2.0/mlflow/unity-catalog"
SEARCH_MODELS = f"{UC_PREFIX}/registered-models/search"
GET_MODEL = f"{UC_PREFIX}/registered-models/get"
SEARCH_VERSIONS = f"{UC_PREFIX}/model-versions/search"
MODELS_PER_PAGE = 1000
VERSIONS_PER_PAGE = 10000  # mlflow's own default for model-versions/search


class UcRegistry:
    """Reads the three UC endpoints as JSON with mlflow's REST helper."""

    def __init__(self, host_creds, source: str):
        self.http = MlflowRestHttp(host_creds)
        self.source = source

    def pages(self, endpoint: str, params: Mapping[str, Any], key: str) -> Iterator[Any]:
        return json_pages(self.http, "GET", endpoint, key, params, self.source, "Unity Catalog")

    def registered_models(self) -> Iterator[Any]:
        return self.pages(SEARCH_MODELS, {"max_results": MODELS_PER_PAGE}, "registered_models")

    def model_versions(self, name: str) -> Iterator[Any]:
        return self.pages(SEARCH_VERSIONS, {"filter": f"name={quote_name(name)}", "max_results": VERSIONS_PER_PAGE},
                          "model_versions")

    def registered_model(self, name: str) -> Any:
        body = self.http.call("GET", GET_MODEL, params={"name": name})
        if not isinstance(body, dict):
            raise ConnectorError(self.source, f"Unity Catalog answered {GET_MODEL} with something other than a "
                                              "JSON object.")
        return body.get("registered_model")


def quote_name(name: str) -> str:
    return f'"{name}"' if "'" in name else f"'{name}'"


def uc_host_creds(registry_uri: str):
    from mlflow.utils.databricks_utils import get_databricks_host_creds

    return get_databricks_host_creds(registry_uri)


def fetch_uc_registry(connector: MlflowConnector, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
    """Versions and alias moves since the snapshot in the cursor; sets the connector's next snapshot."""
    uc = UcRegistry(uc_host_creds(connector.settings.registry_uri), connector.instance)
    previous: dict[str, dict] = dict(cursor.state.get("models", {})) if cursor else {}
    first = cursor is None
    models = {m["name"]: m for m in connector.parse_each(uc.registered_models(), read_registered_model)}
    stale = [n for n, m in models.items()
             if first or n not in previous or m["last_updated_timestamp"] != previous[n].get("updated")]
    versions = {n: read_versions(connector, uc, n) for n in stale}
    runs = connector.runs_by_id({v["run_id"] for vs in versions.values() for v in vs if v.get("run_id")})
    mine = {n for n, vs in versions.items() if any(is_mine(connector, runs.get(v.get("run_id") or "")) for v in vs)}
    mine |= {n for n in models if n not in versions and previous.get(n, {}).get("mine")}

    aliases = {}
    for name in sorted(mine):
        aliases[name] = read_aliases(connector, uc, name)
        if name not in versions and aliases[name] != previous.get(name, {}).get("aliases", {}):
            versions[name] = read_versions(connector, uc, name)
            more = {v["run_id"] for v in versions[name] if v.get("run_id") and v["run_id"] not in runs}
            runs.update(connector.runs_by_id(more))
    changed = [{**models[n], "aliases": aliases.get(n, {})} for n in versions]
    events = registry_events(changed, versions, previous, first, window, connector.settings)
    experiments = connector.experiments()
    records = [parse_registry_event(e, runs.get(e.get("run_id") or ""), connector.instance, experiments,
                                    connector.ui_links, connector.handles) for e in events]
    records.sort(key=lambda r: r.occurred_at)
    yield from records
    state = {n: previous.get(n, {}) for n in models}
    for n in versions:
        state[n] = {"updated": models[n]["last_updated_timestamp"], "aliases": aliases.get(n, {}), "mine": n in mine}
    for n in mine:
        state[n] = {**state[n], "aliases": aliases[n], "mine": True}
    connector._registry_state = {"models": state}


def read_versions(connector: MlflowConnector, uc: UcRegistry, name: str) -> list[dict]:
    return list(connector.parse_each(uc.model_versions(name), read_model_version))


def read_aliases(connector: MlflowConnector, uc: UcRegistry, name: str) -> dict[str, str]:
    """alias -> version of one model; a model that cannot be read keeps no aliases."""
    model = next(connector.parse_each([uc.registered_model(name)], read_registered_model), None)
    return model["aliases"] if model else {}


def is_mine(connector: MlflowConnector, run: Any) -> bool:
    if run is None:
        return False
    try:
        actor = parse_run(run, connector.instance, connector.experiments(), "", connector.handles).actor
    except MalformedItemError:
        return False
    return bool(actor) and actor.strip().lower() in connector.handles
