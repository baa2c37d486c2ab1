"""MLflow connector: my runs (one search over all experiments) and model-registry events.

HTTP goes through mlflow's own client (mlflow-skinny), except runs/search, which is streamed
through mlflow's REST helper (see mlflow_rest.py); parsing lives in pure `parse_*` functions fed
with REST-shaped JSON, so tests can use recorded payloads.
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow
from harvester.connectors.mlflow_rest import PageToken, is_digits, rest_host_creds, run_to_json, stream_runs_page
from harvester.errors import AuthError, ConnectorError, MalformedItemError, TransientError
from harvester.models import Cursor, Record, utcnow
from harvester.redact import quote_server_message, redact, remember_basic_credential
from harvester.timeutil import to_ms

RUN_OVERLAP = timedelta(minutes=10)
from harvester.connectors.coerce import finite_number
ID_CHUNK = 100
RUN_ORDER = ("attributes.start_time ASC", "attributes.run_id ASC")
NOTE_TAG = "mlflow.note.content"  # the run's description, as the MLflow UI edits it
RUN_TYPE_TAG = "mlflow.runType"  # e.g. "genai_evaluate", set by mlflow.genai.evaluate
# The plural nouns the harvest summary prints for skipped items.
RUNS, MODELS, VERSIONS = "runs", "registered models", "model versions"
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z, the last instant a datetime holds
# URI schemes MLflow's tracking client reads; a database scheme may carry a driver (postgresql+psycopg).
TRACKING_SCHEMES = ("http", "https", "file", "databricks", "sqlite", "postgresql", "mysql", "mssql")
DIAGNOSE_RUNS = 1000  # runs `harvester doctor` reads to see who logs them


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str
    registry_uri: str = ""
    ui_url: str = ""
    token_env: str = ""
    username_env: str = ""
    password_env: str = ""
    handles: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()
    exclude_experiments: tuple[str, ...] = ()
    serving_aliases: tuple[str, ...] = ("champion", "production", "prod")
    serving_stages: tuple[str, ...] = ("Production",)
    registry: bool = True
    max_results: int = 50000
    max_retries: int = 2
    timeout: int = 60

    def __post_init__(self):
        if not 1 <= self.max_results <= 50000:
            raise ValueError("max_results must be between 1 and 50000 (the MLflow server's limit)")
        check_tracking_uri(self.tracking_uri)


def check_tracking_uri(uri: str) -> None:
    """Refuse a URI MLflow cannot read."""
    from urllib.parse import urlsplit

    if not uri.strip():
        raise ValueError("tracking_uri is empty: set it to the server's address, e.g. https://mlflow.example.com")
    scheme = urlsplit(uri.strip()).scheme.lower()
    if len(scheme) > 1 and scheme.split("+")[0] not in TRACKING_SCHEMES:  # one letter: a Windows drive
        raise ValueError(f"tracking_uri {uri!r} has the unknown scheme {scheme}://. Use http(s)://, file:// or "
                         f"a database URI ({', '.join(TRACKING_SCHEMES)}).")


class MlflowConnector(Connector):
    type_name = "mlflow"
    settings_class = MlflowSettings
    streams = ("runs", "registry")
    description = "MLflow tracking server: my runs, model versions, stage transitions and alias moves."

    def __init__(self, instance, settings: MlflowSettings, identity):
        super().__init__(instance, settings, identity)
        self._client = None
        self._experiments: dict[str, str] | None = None
        self._registry_state: dict[str, Any] | None = None

    # set-up ---------------------------------------------------------------------------

    @property
    def handles(self) -> frozenset[str]:
        return self.identity.all_handles | {h.strip().lower() for h in self.settings.handles if h.strip()}

    @property
    def ui_url(self) -> str:
        if self.settings.ui_url:
            return self.settings.ui_url.rstrip("/")
        uri = self.settings.tracking_uri
        return uri.rstrip("/") if uri.startswith(("http://", "https://")) else ""

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
        if self.settings.token_env:
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

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        with self._scoped_env(), self._translate_errors():
            if stream == "runs":
                yield from self.fetch_runs(cursor, window)
            elif stream == "registry" and self.settings.registry:
                yield from self.fetch_registry(cursor, window)

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
            from mlflow.entities import ViewType

            found, token = {}, None
            while True:
                page = self.client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                                                      page_token=token)
                for e in page:
                    if select_experiment(e.name, self.settings.experiments, self.settings.exclude_experiments):
                        found[e.experiment_id] = e.name
                token = page.token
                if not token:
                    break
            self._experiments = found
        return self._experiments

    def search_runs(self, filter_string: str) -> Iterator[dict]:
        """Every page of one runs query, oldest first, as REST-shaped JSON, run by run."""
        ids = list(self.experiments())
        if not ids:
            return
        creds = rest_host_creds(self.client)
        page_token = None
        while True:
            token = PageToken()
            if creds is not None:
                yield from stream_runs_page(creds, ids, filter_string, self.settings.max_results, RUN_ORDER,
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
        experiments = self.experiments()

        def parse(run):
            return parse_run(run, self.instance, experiments, self.ui_url, self.handles)

        running = list(cursor.state.get("running", [])) if cursor else []
        for chunk in chunks(running, ID_CHUNK):
            ids = ", ".join(quote_value(i) for i in chunk)
            yield from self.parse_each(self.search_runs(f"attributes.run_id IN ({ids})"), parse)
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
            (running.add if r.attributes.get("status") == "running" else running.discard)(r.external_id)
            handle, started = (r.actor or "").strip().lower(), r.attributes.get("started_at")
            if handle in self.handles and started and r.external_id not in rereads:
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
        creds = rest_host_creds(self.client)
        if creds is not None:
            return list(stream_runs_page(creds, ids, filter_string, limit, order, None, PageToken(), self.instance))
        page = self.client.search_runs(ids, filter_string=filter_string, max_results=limit, order_by=list(order))
        return [run_to_json(run) for run in page]

    # registry ---------------------------------------------------------------------------------

    def fetch_registry(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        previous = dict(cursor.state.get("models", {})) if cursor else {}
        first = cursor is None
        models = list(self.parse_each(self.registered_models(), read_registered_model))
        changed = [m for m in models
                   if first or m["name"] not in previous
                   or m["last_updated_timestamp"] != previous[m["name"]].get("updated")
                   or m["aliases"] != previous[m["name"]].get("aliases")]
        versions_by_model: dict[str, list[dict]] = {}
        for chunk in chunks([m["name"] for m in changed], ID_CHUNK):
            for v in self.parse_each(self.model_versions(chunk), read_model_version):
                versions_by_model.setdefault(v["name"], []).append(v)
        events = registry_events(changed, versions_by_model, previous, first, window, self.settings)
        runs = self.runs_by_id({e["run_id"] for e in events if e.get("run_id")})
        experiments = self.experiments()
        records = [parse_registry_event(e, runs.get(e.get("run_id") or ""), self.instance, experiments, self.ui_url,
                                        self.handles) for e in events]
        records.sort(key=lambda r: r.occurred_at)
        yield from records
        state = {m["name"]: previous.get(m["name"], {}) for m in models}
        for m in changed:
            vs = versions_by_model.get(m["name"], [])
            state[m["name"]] = {"updated": m["last_updated_timestamp"], "aliases": m["aliases"],
                                "staged": sorted(str(v["version"]) for v in vs
                                                 if v.get("current_stage") in self.settings.serving_stages)}
        self._registry_state = {"models": state}

    def registered_models(self) -> Iterator[dict]:
        token = None
        while True:
            page = self.client.search_registered_models(max_results=1000, page_token=token)
            for m in page:
                yield {"name": m.name, "last_updated_timestamp": m.last_updated_timestamp, "aliases": m.aliases}
            token = page.token
            if not token:
                break

    def model_versions(self, names: Sequence[str]) -> Iterator[dict]:
        names_sql = ", ".join(quote_value(n) for n in names)
        token = None
        while True:
            page = self.client.search_model_versions(f"name IN ({names_sql})", max_results=200000, page_token=token)
            for v in page:
                yield {"name": v.name, "version": v.version, "creation_timestamp": v.creation_timestamp,
                       "last_updated_timestamp": v.last_updated_timestamp, "current_stage": v.current_stage,
                       "run_id": v.run_id, "source": v.source, "status": v.status, "user_id": v.user_id}
            token = page.token
            if not token:
                break

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
        return datetime.fromisoformat(mark) - RUN_OVERLAP
    return window.start(cursor, RUN_OVERLAP)


def missing_file_store(uri: str) -> str | None:
    """The folder of a file:// (or plain path) tracking URI when it does not exist."""
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme == "file":
        folder = Path(unquote(parsed.path))
    elif parsed.scheme == "" and uri:
        folder = Path(uri).expanduser()
    else:
        return None
    return None if folder.is_dir() else str(folder)


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def quote_value(value: str) -> str:
    """A string literal for an MLflow filter."""
    value = str(value)
    return f'"{value}"' if "'" in value else f"'{value}'"


def select_experiment(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(name, p) for p in include):
        return False
    return not any(fnmatch.fnmatchcase(name, p) for p in exclude)


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


def run_url(ui: str, experiment_id: str, run_id: str) -> str | None:
    return f"{ui}/#/experiments/{experiment_id}/runs/{run_id}" if ui else None


def run_id_of(run: Any) -> str:
    info = run.get("info") if isinstance(run, Mapping) else None
    run_id = info.get("run_id") if isinstance(info, Mapping) else None
    return run_id if isinstance(run_id, str) and run_id.strip() else ""


def parse_run(run: Any, source: str, experiments: Mapping[str, str], ui: str,
              handles: frozenset[str]) -> Record:
    """A runs/search element as a record. Without a run id or a start time it is malformed;
    every other field falls back to empty."""
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
    return Record(
        source=source, kind="run", external_id=run_id, occurred_at=ended or started,
        subject=experiments.get(exp_id, f"experiment {exp_id}"), actor=actor,
        mine=bool(actor) and actor.lower() in handles, title=name or run_id,
        url=run_url(ui, exp_id, run_id),
        attributes={"status": text(info.get("status")).lower(), "metrics": metrics,
                    "params": {k: text(v) for k, v in kv(data.get("params")).items()}, "tags": user_tags,
                    "name": name, "experiment_id": exp_id,
                    "experiment_url": f"{ui}/#/experiments/{exp_id}" if ui else None,
                    "started_at": started.isoformat(), "ended_at": ended.isoformat() if ended else None,
                    "description": tags.get(NOTE_TAG, "").strip(), "run_type": tags.get(RUN_TYPE_TAG, "").strip()},
        payload=dict(run),
    )


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
    events = []
    for m in models:
        name, aliases = m["name"], m["aliases"]
        old = previous.get(name, {})
        old_aliases = old.get("aliases", {})
        old_staged = set(old.get("staged", []))
        serving_versions = {v for a, v in aliases.items() if a in settings.serving_aliases}
        for v in versions_by_model.get(name, []):
            version = str(v["version"])
            v_aliases = sorted(a for a, ver in aliases.items() if ver == version)
            staged = v.get("current_stage") in settings.serving_stages
            serving = version in serving_versions or staged
            was_serving = version in {ver for a, ver in old_aliases.items() if a in settings.serving_aliases} \
                or version in old_staged
            created = v.get("creation_timestamp") or 0
            if created >= since_ms or serving or was_serving:
                events.append({"type": "version", **v, "aliases": v_aliases, "serving": serving,
                               "occurred_ms": created})
            for alias in v_aliases:
                if alias not in settings.serving_aliases:
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
                         experiments: Mapping[str, str], ui: str, handles: frozenset[str]) -> Record:
    name, version = event["name"], str(event["version"])
    actor, run_metrics, run_link = event.get("user_id") or None, {}, None
    if run is not None:
        try:
            parsed = parse_run(run, source, experiments, ui, handles)
        except MalformedItemError:
            parsed = None  # the version stands without its run's details
        if parsed is not None:
            actor, run_metrics, run_link = parsed.actor, dict(parsed.attributes["metrics"]), parsed.url
    mine = bool(actor) and actor.strip().lower() in handles
    url = f"{ui}/#/models/{quote(name, safe='')}/versions/{quote(version, safe='')}" if ui else None
    occurred = read_ms(event["occurred_ms"]) or utcnow()
    common = {"model": name, "version": version, "run_id": event.get("run_id"), "run_url": run_link,
              "run_metrics": run_metrics, "stage": event.get("current_stage")}
    if event["type"] == "version":
        return Record(source=source, kind="model_version", external_id=f"{name}/{version}", occurred_at=occurred,
                      subject=name, actor=actor, mine=mine, title=f"{name} v{version}", url=url,
                      attributes={**common, "aliases": event["aliases"], "serving": event["serving"],
                                  "status": event.get("status")},
                      payload={k: v for k, v in event.items() if k not in ("type", "occurred_ms")})
    target = str(event["target"])
    return Record(source=source, kind="model_promotion", external_id=f"{name}/{version}/{target}",
                  occurred_at=occurred, subject=name, actor=actor, mine=mine,
                  title=f"{name} v{version} -> {target}", url=url,
                  attributes={**common, "target": target, "via": event["via"],
                              "previous_version": event.get("previous_version")},
                  payload={k: v for k, v in event.items() if k not in ("type", "occurred_ms")})


def translate_error(instance: str, settings: MlflowSettings, exc: Exception) -> ConnectorError:
    """One clear line for the errors a user can cause or fix."""
    # Redacted before it is cut, so a cut never leaves part of an echoed secret behind.
    message = redact(str(exc))
    status = None
    getter = getattr(exc, "get_http_status_code", None)
    if callable(getter):
        try:
            status = int(getter())
        except (TypeError, ValueError):
            status = None
    lowered = message.lower()
    retried = re.search(r"too many (\d{3}) error responses", lowered)  # urllib3 gave up retrying a status
    if retried:
        status = int(retried.group(1))
        why = "rate limited" if status == 429 else "a server error; check the server's logs"
        return TransientError(instance, f"MLflow at {settings.tracking_uri} kept answering HTTP {status} ({why}); "
                                        "the next harvest retries.", status)
    if status in (401, 403) or "401" in lowered[:200] and "unauthorized" in lowered:
        hint = f"check the token in {settings.token_env}" if settings.token_env else \
            "set token_env in the connector table to the name of the variable holding your token"
        return AuthError(instance, f"MLflow at {settings.tracking_uri} refused the credentials (HTTP {status}); {hint}.",
                         status)
    if "incompleteread" in lowered or "connection broken" in lowered or "connection reset" in lowered \
            or "connection aborted" in lowered or "remotedisconnected" in lowered:
        # mlflow's client reports a transport error on some endpoints as HTTP 500: the server answered.
        return TransientError(instance, f"MLflow at {settings.tracking_uri} broke off its answer part-way (connection "
                                        "dropped or reset); everything saved so far is kept and the next harvest "
                                        "resumes from there.")
    connect_timeout = "connecttimeout" in lowered or "connect timeout" in lowered
    if ("timed out" in lowered or "read timeout" in lowered) and not connect_timeout:
        return TransientError(instance, f"MLflow at {settings.tracking_uri} did not answer within {settings.timeout} s; "
                                        "the next harvest resumes from the last saved page. If the server is busy, "
                                        "raise timeout in the connector table.")
    if "max retries exceeded" in lowered or "connection refused" in lowered or "failed to establish" in lowered \
            or "name or service not known" in lowered or connect_timeout:
        return TransientError(instance, f"cannot reach MLflow at {settings.tracking_uri}. Check tracking_uri "
                                        "and that the server is running.")
    said = quote_server_message(message) or type(exc).__name__
    return ConnectorError(instance, f"MLflow error{f' (HTTP {status})' if status else ''}: {said}", status)
