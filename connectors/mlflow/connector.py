"""MLflow connector: my runs (one search over all experiments) and model-registry events.

An http(s) tracking server is read over its REST API with the connector's own transport
(transport.py), so a harvest imports no mlflow; a Databricks workspace goes through mlflow's
REST helper, and a file or database store through mlflow's client. runs/search is streamed
(rest.py); parsing lives in pure `parse_*` functions fed with REST-shaped JSON (parse.py), so
tests can use recorded payloads; client errors become one line in errors.py.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow, Watermark
from harvester.connectors.mlflow.errors import translate_error
from harvester.connectors.mlflow.filters import ID_CHUNK, chunks, quote_value
from harvester.connectors.mlflow.links import UiLinks, build_ui_links
from harvester.connectors.mlflow.parse import kv, parse_run, run_id_of, text
from harvester.connectors.mlflow.registry import fetch_registry
from harvester.connectors.mlflow.rest import PageToken, json_pages, rest_host_creds, run_to_json, stream_runs_page
from harvester.connectors.mlflow.settings import MlflowSettings, databricks_env, missing_file_store
from harvester.connectors.mlflow.transport import API, MlflowRestHttp, ServerHttp, serves_plain_http
from harvester.connectors.mlflow.unity_catalog import fetch_uc_registry
from harvester.errors import ConnectorError
from harvester.models import Cursor, Record, utcnow
from harvester.records import read_run_attributes
from harvester.redact import remember_basic_credential
from harvester.timeutil import to_ms

# Runs are read from the start time every handle reached, less an overlap.
RUNS_WATERMARK = Watermark("started_at", overlap=timedelta(minutes=10))
TEAM_MARK = "*"  # the cursor mark of a team's one runs query
RUN_ORDER = ("attributes.start_time ASC", "attributes.run_id ASC")
DIAGNOSE_RUNS = 1000  # runs `harvester doctor` reads to see who logs them


class MlflowConnector(Connector):
    reads_for_team = True
    type_name = "mlflow"
    settings_class = MlflowSettings
    streams = ("runs", "registry")
    description = "MLflow tracking server: my runs, model versions, stage transitions and alias moves."

    def __init__(self, instance, settings: MlflowSettings, identity):
        super().__init__(instance, settings, identity)
        self._client = None
        self._http: Any = None  # not decided yet; False for a store mlflow's client reads itself
        self._experiments: dict[str, str] | None = None
        self._registry_state: dict[str, Any] | None = None
        self._ui: UiLinks | None = None

    # set-up ---------------------------------------------------------------------------

    @property
    def handles(self) -> frozenset[str]:
        return self.identity.all_handles | {h.strip().lower() for h in self.settings.handles if h.strip()}

    @property
    def ui_links(self) -> UiLinks:
        if self._ui is None:
            self._ui = build_ui_links(self.settings)
        return self._ui

    def check_target(self) -> None:
        missing = missing_file_store(self.settings.tracking_uri)
        if missing is not None:
            from harvester.errors import ConfigError

            raise ConfigError(f"[connectors.{self.instance}]: tracking_uri points to the folder {missing}, which does "
                              "not exist. Give the mlruns folder MLflow writes, or the server's http(s):// address.")

    def check(self) -> None:
        where = f"[connectors.{self.instance}]"
        if not self.handles:
            from harvester.errors import ConfigError

            raise ConfigError(f"{where}: no identity to match runs against. Set [identity] handles "
                              "(the mlflow.user values that are you) or handles in this table.")
        self._env()  # raises when a named secret is missing

    def _env(self) -> dict[str, str]:
        where = f"[connectors.{self.instance}]"
        env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(self.settings.max_retries),
               "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1" if self.settings.max_retries else "0",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": str(self.settings.timeout),
               "MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_TRACKING_URI": self.settings.tracking_uri}
        if self.settings.on_databricks:
            env.update(databricks_env(self.settings, where))
        elif self.settings.token_env:
            env["MLFLOW_TRACKING_TOKEN"] = read_secret(self.settings.token_env, f"{where} token_env")
        if self.settings.username_env:
            env["MLFLOW_TRACKING_USERNAME"] = read_secret(self.settings.username_env, f"{where} username_env")
        if self.settings.password_env:
            env["MLFLOW_TRACKING_PASSWORD"] = read_secret(self.settings.password_env, f"{where} password_env")
        if "MLFLOW_TRACKING_PASSWORD" in env:
            # mlflow sends Basic base64(user:password); a server echoing that header gives the password away.
            remember_basic_credential(env.get("MLFLOW_TRACKING_USERNAME", ""), env["MLFLOW_TRACKING_PASSWORD"])
        return env

    @contextmanager
    def _scoped_env(self):
        """mlflow reads credentials and retry settings from the environment at request time."""
        env = self._env()
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    @property
    def client(self):
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.settings.tracking_uri,
                                        registry_uri=self.settings.registry_uri or self.settings.tracking_uri)
        return self._client

    @property
    def http(self) -> ServerHttp | MlflowRestHttp | None:
        """The REST transport of the tracking server (read inside _scoped_env, whose variables it
        takes); None for a file or database store."""
        if self._http is None:
            if serves_plain_http(self.settings.tracking_uri, self.settings.registry_uri, os.environ):
                self._http = ServerHttp(self.settings.tracking_uri, os.environ, max_retries=self.settings.max_retries,
                                        timeout=self.settings.timeout)
            else:
                creds = rest_host_creds(self.client)
                self._http = MlflowRestHttp(creds) if creds is not None else False
        return self._http or None

    @property
    def registry_http(self) -> ServerHttp | MlflowRestHttp | None:
        """The REST transport of the model registry when it is the tracking server's."""
        registry = self.settings.registry_uri.strip()
        return self.http if not registry or registry == self.settings.tracking_uri.strip() else None

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        with self._scoped_env(), self._translate_errors():
            if stream == "runs":
                yield from self.fetch_runs(cursor, window)
            elif stream == "registry" and self.settings.registry and self.settings.unity_catalog:
                yield from fetch_uc_registry(self, cursor, window)
            elif stream == "registry" and self.settings.registry:
                yield from fetch_registry(self, cursor, window)

    @contextmanager
    def _translate_errors(self):
        try:
            yield
        except ConnectorError:
            raise
        except Exception as exc:
            raise translate_error(self.instance, self.settings, exc) from None

    # experiments and runs -------------------------------------------------------------------

    def experiments(self) -> dict[str, str]:
        """experiment id -> name, for the active experiments the config selects."""
        if self._experiments is None:
            found = {}
            for experiment_id, name in self.search_experiments():
                if select_experiment(name, self.settings.experiments, self.settings.exclude_experiments):
                    found[experiment_id] = name
            self._experiments = found
        return self._experiments

    def search_experiments(self) -> Iterator[tuple[str, str]]:
        """(id, name) of every active experiment."""
        if self.http is not None:
            query = {"max_results": 1000, "view_type": "ACTIVE_ONLY"}
            for e in json_pages(self.http, "POST", f"{API}/experiments/search", "experiments", query, self.instance):
                if isinstance(e, Mapping) and text(e.get("experiment_id")) and isinstance(e.get("name"), str):
                    yield text(e["experiment_id"]), e["name"]
            return
        from mlflow.entities import ViewType

        token = None
        while True:
            page = self.client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
            yield from ((e.experiment_id, e.name) for e in page)
            token = page.token
            if not token:
                break

    def search_runs(self, filter_string: str) -> Iterator[dict]:
        """Every page of one runs query, oldest first, as REST-shaped JSON, run by run."""
        ids = list(self.experiments())
        if not ids:
            return
        http = self.http
        page_token = None
        while True:
            token = PageToken()
            if http is not None:
                yield from stream_runs_page(http, ids, filter_string, self.settings.max_results, RUN_ORDER,
                                            page_token, token, self.instance)
            else:  # a file or database store: no HTTP, nothing to stream
                page = self.client.search_runs(ids, filter_string=filter_string, max_results=self.settings.max_results,
                                               order_by=list(RUN_ORDER), page_token=page_token)
                yield from (run_to_json(run) for run in page)
                token.value = page.token
            page_token = token.value
            if not page_token:
                break

    def fetch_runs(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        experiments, handles = self.experiments(), self.handles

        def parse(run):
            return parse_run(run, self.instance, experiments, self.ui_links, handles)

        running = list(cursor.state.get("running", [])) if cursor else []
        for chunk in chunks(running, ID_CHUNK):
            ids = ", ".join(quote_value(i) for i in chunk)
            yield from self.parse_each(self.search_runs(f"attributes.run_id IN ({ids})"), parse)
        if self.members:
            # MLflow filters allow neither OR nor IN on tags: for a team, one query in the window
            # costs fewer requests than one per member's handle, and other people's runs are dropped.
            start_ms = to_ms(handle_start(TEAM_MARK, cursor, window))
            runs = self.parse_each(self.search_runs(f"attributes.start_time >= {start_ms}"), parse)
            yield from (r for r in runs if r.mine)
            return
        # OR is not allowed in MLflow filters: one query per handle, one after the other (a
        # stream open per handle could stall a server with few workers). Each handle keeps its
        # own mark in the cursor until the stream is done, so a crash resumes every handle from
        # where it got to.
        for handle in sorted(self.handles):
            start_ms = to_ms(handle_start(handle, cursor, window))
            yield from self.parse_each(self.search_runs(f"attributes.start_time >= {start_ms} "
                                                        f"and tags.`mlflow.user` = {quote_value(handle)}"), parse)

    def advance_cursor(self, stream, cursor, page, final=False):
        if stream == "registry":
            if not final or self._registry_state is None:
                return cursor
            return Cursor(source=self.instance, stream=stream, value=utcnow().isoformat(),
                          state=self._registry_state, updated_at=utcnow())
        # Runs: a watermark on start time that every handle has reached (`value`), the marks of
        # handles read further in an unfinished harvest, and the runs still RUNNING.
        state = dict(cursor.state) if cursor else {}
        running = set(state.get("running", []))
        marks = dict(state.get("marks", {}))
        rereads = frozenset(running)
        for r in page:
            run = read_run_attributes(r)
            (running.add if run["status"] == "running" else running.discard)(r.external_id)
            handle, started = (r.actor or "").strip().lower(), run["started_at"]
            if self.members and r.mine:
                handle = TEAM_MARK
            if (handle in self.handles or handle == TEAM_MARK) and started and r.external_id not in rereads:
                marks[handle] = latest_time(marks.get(handle), started)
        value = cursor.value if cursor else None
        if final:
            for mark in marks.values():
                value = latest_time(value, mark)
            marks = {}
        if value is None and not running and not marks:
            return cursor
        return Cursor(source=self.instance, stream=stream, value=value,
                      state={"running": sorted(running), "marks": marks}, updated_at=utcnow())

    # doctor -------------------------------------------------------------------------------------

    def diagnose(self, since: datetime):
        """Who logged the runs started since `since`: one runs search over every selected
        experiment, newest first and bounded by DIAGNOSE_RUNS, counted by mlflow.user."""
        from harvester.doctor import Diagnosis, find_near_misses, identity_names, report_near_misses

        where = f"[connectors.{self.instance}]"
        d = Diagnosis(what="runs")
        missing = missing_file_store(self.settings.tracking_uri)
        if missing is not None:  # mlflow would create the folder, and report an empty store
            d.reachable = False
            d.add_problem(f"tracking_uri points to the folder {missing}, which does not exist.",
                          f"Fix tracking_uri in {where}: an MLflow file store is the folder holding your "
                          "experiments (often ./mlruns).")
            return d
        d.identity = os.environ.get(self.settings.username_env, "") if self.settings.username_env else ""
        with self._scoped_env(), self._translate_errors():
            runs = self.sample_runs(f"attributes.start_time >= {to_ms(since)}", DIAGNOSE_RUNS)
        d.reachable = True
        if not self._experiments:
            d.notes.append("no active experiment is selected (check experiments and exclude_experiments)")
        owners: dict[str, int] = {}
        for run in runs:
            run = run if isinstance(run, Mapping) else {}
            tags = kv(run["data"].get("tags")) if isinstance(run.get("data"), Mapping) else {}
            info = run["info"] if isinstance(run.get("info"), Mapping) else {}
            owner = (text(tags.get("mlflow.user")) or text(info.get("user_id"))).strip()
            if owner:
                owners[owner] = owners.get(owner, 0) + 1
        d.matching = sum(n for owner, n in owners.items() if owner.lower() in self.handles)
        d.capped = len(runs) >= DIAGNOSE_RUNS
        d.near_misses = find_near_misses(owners, self.handles, identity_names(self.identity, *self.settings.handles))
        report_near_misses(d, where, "runs", since)
        if runs and not d.matching and not d.near_misses:
            seen = ", ".join(sorted(owners, key=lambda o: -owners[o])[:5]) or "none"
            d.add_problem(f"none of the {len(runs)} runs since {since:%Y-%m-%d} is logged by your handles "
                          f"({', '.join(sorted(self.handles))}); their mlflow.user values: {seen}.",
                          "Add the mlflow.user value of your runs to [identity] handles.")
        return d

    def sample_runs(self, filter_string: str, limit: int) -> list[dict]:
        """The newest `limit` runs matching a filter, in one request."""
        ids = list(self.experiments())
        if not ids:
            return []
        order = ("attributes.start_time DESC",)
        if self.http is not None:
            return list(stream_runs_page(self.http, ids, filter_string, limit, order, None, PageToken(), self.instance))
        page = self.client.search_runs(ids, filter_string=filter_string, max_results=limit, order_by=list(order))
        return [run_to_json(run) for run in page]

    # the runs behind registry versions (registry.py, unity_catalog.py) ------------------------------

    def runs_by_id(self, run_ids: Iterable[str]) -> dict[str, dict]:
        """The runs behind registry versions; one that cannot be read leaves its version without run details."""
        found = {}
        for chunk in chunks(sorted(run_ids), ID_CHUNK):
            ids = ", ".join(quote_value(i) for i in chunk)
            for run in self.search_runs(f"attributes.run_id IN ({ids})"):
                run_id = run_id_of(run)
                if run_id:
                    found[run_id] = run
        return found


# pure helpers -------------------------------------------------------------------------------------


def latest_time(a: str | None, b: str) -> str:
    return b if a is None or datetime.fromisoformat(b) > datetime.fromisoformat(a) else a


def handle_start(handle: str, cursor: Cursor | None, window: HarvestWindow) -> datetime:
    """Where one handle's runs query starts: its own mark from an interrupted harvest, else the
    watermark all handles reached, less an overlap (or --since / the first-harvest default)."""
    mark = cursor.state.get("marks", {}).get(handle) if cursor and not window.forced else None
    if mark:
        return datetime.fromisoformat(mark) - RUNS_WATERMARK.overlap
    return RUNS_WATERMARK.start(cursor, window)


def select_experiment(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(name, p) for p in include):
        return False
    return not any(fnmatch.fnmatchcase(name, p) for p in exclude)
