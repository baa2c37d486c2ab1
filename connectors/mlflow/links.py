"""Evidence links into the MLflow UI, in the form the server's UI serves.

An open-source server routes by fragment: `{ui}/#/experiments/{id}/runs/{run}` and
`{ui}/#/models/{name}/versions/{n}`. A Databricks workspace serves runs and experiments under
`/ml/experiments/...` (the links mlflow prints after a run there), Unity Catalog model versions
in Catalog Explorer at `/explore/data/models/{catalog}/{schema}/{model}/version/{n}`, and
workspace-registry versions at `#mlflow/models/{name}/versions/{n}` (both as mlflow's
`databricks_utils` builds them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

from harvester.connectors.mlflow.settings import MlflowSettings


@dataclass(frozen=True)
class UiLinks:
    base: str = ""  # no base, no links
    databricks: bool = False
    unity_catalog: bool = False

    def experiment(self, experiment_id: str) -> str | None:
        if not self.base:
            return None
        return f"{self.base}/ml/experiments/{experiment_id}" if self.databricks \
            else f"{self.base}/#/experiments/{experiment_id}"

    def run(self, experiment_id: str, run_id: str) -> str | None:
        experiment = self.experiment(experiment_id)
        return f"{experiment}/runs/{run_id}" if experiment else None

    def model_version(self, name: str, version: str) -> str | None:
        if not self.base:
            return None
        number = quote(version, safe="")
        if self.unity_catalog:  # catalog.schema.model, one path segment each
            return f"{self.base}/explore/data/models/{'/'.join(quote(p, safe='') for p in name.split('.'))}" \
                   f"/version/{number}"
        if self.databricks:
            return f"{self.base}#mlflow/models/{quote(name, safe='')}/versions/{number}"
        return f"{self.base}/#/models/{quote(name, safe='')}/versions/{number}"


def as_links(ui: str | UiLinks) -> UiLinks:
    """A bare base URL is an open-source server's UI."""
    return ui if isinstance(ui, UiLinks) else UiLinks(base=ui.rstrip("/"))


def build_ui_links(settings: MlflowSettings) -> UiLinks:
    """The UI behind the tracking server: ui_url when set; on Databricks the workspace host."""
    if not settings.on_databricks:
        uri = settings.tracking_uri
        base = settings.ui_url or (uri if uri.startswith(("http://", "https://")) else "")
        return UiLinks(base=base.rstrip("/"))
    base = settings.ui_url or workspace_host(settings)
    return UiLinks(base=base.rstrip("/"), databricks=True, unity_catalog=settings.unity_catalog)


def workspace_host(settings: MlflowSettings) -> str:
    """The workspace's address: the named profile's host, else DATABRICKS_HOST, else the
    DEFAULT profile's; "" when none is known."""
    uri = settings.tracking_uri.strip()
    profile = settings.profile or (uri.split("://", 1)[1].split(":", 1)[0] if "://" in uri else "")
    if profile:
        return profile_host(profile)
    return os.environ.get("DATABRICKS_HOST", "").strip() or profile_host("DEFAULT")


def profile_host(profile: str) -> str:
    from mlflow.legacy_databricks_cli.configure.provider import ProfileConfigProvider

    config = ProfileConfigProvider(profile).get_config()
    host = (config.host or "") if config is not None else ""
    if host and "://" not in host:
        host = f"https://{host}"
    return host.strip()
