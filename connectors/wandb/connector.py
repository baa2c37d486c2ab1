"""Weights & Biases connector: my runs across projects, and registry versions and alias moves.

It posts a few read-only GraphQL queries itself with `requests` (POST {base_url}/graphql,
basic auth "api" + key) instead of going through `wandb.Api`: since wandb 0.27 the SDK sends
GraphQL through its bundled wandb-core binary, which `requests`-level test doubles cannot
see, and its one-project-per-query `runs()` costs a request per project. Posting our own
queries lets one request cover many projects (GraphQL aliases), keeps config and summary
inline (no per-run follow-up), and keeps tests on real request and response shapes.
See docs/wandb.md.

Records carry the same attributes as MLflow's, so the same rules read both sources.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator, Sequence

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow
from harvester.connectors.wandb.client import (MEMBERSHIPS, ORGANIZATION_QUERY, PROJECTS, RUNS, VIEWER_QUERY,
                                               QueryRejected, WandbGraphql)
from harvester.connectors.wandb.parse import (changed_at, dig, format_time, parse_registry_event, parse_run,
                                              read_membership, read_project, registry_events, registry_filter,
                                              run_filters, text, ui_base)
from harvester.errors import ConfigError, ConnectorError
from harvester.models import Cursor, Record, utcnow

log = logging.getLogger("harvester")
RUN_OVERLAP = timedelta(minutes=10)
REGISTRY_OVERLAP = timedelta(minutes=10)
GLOB_CHARS = "*?["


@dataclass(frozen=True)
class WandbSettings:
    entities: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()
    base_url: str = "https://api.wandb.ai"
    ui_url: str = ""
    token_env: str = "WANDB_API_KEY"
    handles: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()
    subject_by: str = "project"
    per_page: int = 200
    projects_per_request: int = 10
    registry: bool = True
    organization: str = ""
    registries: tuple[str, ...] = ("model",)
    serving_aliases: tuple[str, ...] = ("champion", "production", "prod")
    max_retries: int = 3
    retry_backoff: float = 2.0
    timeout: int = 60

    def __post_init__(self):
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL such as https://api.wandb.ai, got {self.base_url!r}")
        if self.subject_by not in ("project", "group"):
            raise ValueError(f"subject_by must be \"project\" or \"group\", got {self.subject_by!r}")
        if not 1 <= self.per_page <= 1000:
            raise ValueError("per_page must be between 1 and 1000 (100-200 is safe on W&B)")
        if not 1 <= self.projects_per_request <= 50:
            raise ValueError("projects_per_request must be between 1 and 50")
        if self.max_retries < 0 or self.retry_backoff < 0 or self.timeout <= 0:
            raise ValueError("max_retries and retry_backoff must be >= 0 and timeout > 0")
        if not self.token_env:
            raise ValueError("token_env must name the variable holding your W&B API key (e.g. \"WANDB_API_KEY\")")


@dataclass
class RunProgress:
    """How far the current runs harvest got; saved in the cursor after every committed page
    so an interrupted harvest resumes with the projects it had not finished."""

    since: datetime
    started_at: datetime
    done: set[str]


class WandbConnector(Connector):
    reads_for_team = True  # one runs filter names every member's username
    type_name = "wandb"
    settings_class = WandbSettings
    streams = ("runs", "registry")
    description = "Weights & Biases: my runs across projects, registry versions and alias moves."

    def __init__(self, instance, settings: WandbSettings, identity):
        super().__init__(instance, settings, identity)
        self._client: WandbGraphql | None = None
        self._viewer: dict[str, Any] | None = None
        self._progress: RunProgress | None = None
        self._registry_state: dict[str, Any] | None = None
        self._registry_value: str | None = None
        # False once the server refused the registry's `updated_at` filter (organizations with
        # W&B's "advanced" registry search accept no such field); kept in the registry cursor.
        self._updated_filter: bool | None = None

    # set-up -----------------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"[connectors.{self.instance}]"

    def check(self) -> None:
        read_secret(self.settings.token_env, f"{self.where} token_env")

    @property
    def client(self) -> WandbGraphql:
        if self._client is None:
            s = self.settings
            self._client = WandbGraphql(self.instance, s.base_url, read_secret(s.token_env, f"{self.where} token_env"),
                                        s.token_env, timeout=s.timeout, max_retries=s.max_retries,
                                        retry_backoff=s.retry_backoff)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def ui(self) -> str:
        return ui_base(self.settings.base_url, self.settings.ui_url)

    def viewer(self) -> dict[str, Any]:
        if self._viewer is None:
            viewer = self.client.execute("Viewer", VIEWER_QUERY).get("viewer")
            self._viewer = {k: text(v) for k, v in viewer.items()} if isinstance(viewer, dict) else {}
            if not self._viewer.get("username"):
                raise ConnectorError(self.instance, f"W&B did not say who owns the key in {self.settings.token_env}; "
                                                    "set entities and handles in the connector table.")
        return self._viewer

    def diagnose(self, since: datetime):
        """Whom the API key belongs to (one viewer query), against the usernames whose runs
        the harvest fetches. Runs are not counted: that takes a request per few projects."""
        from harvester.doctor import Diagnosis, identity_names, looks_like

        d = Diagnosis()
        viewer = self.viewer()
        d.reachable = True
        username = viewer["username"]
        d.identity = f"{username} (default entity {viewer.get('entity') or '-'})"
        wanted = [n.lower() for n in self.usernames()]
        if username.lower() not in wanted and not looks_like(username, identity_names(self.identity)):
            d.add_problem(f"the key in {self.settings.token_env} belongs to {username!r}, but runs are fetched for "
                          f"{', '.join(self.usernames())}.",
                          f"Set {self.settings.token_env} to your own API key; if {username!r} is you, add "
                          f"\"{username}\" to [identity] handles.")
        elif username.lower() not in wanted:
            d.add_problem(f"runs are fetched for {', '.join(self.usernames())}, but the key belongs to {username!r}.",
                          f"Add \"{username}\" to [identity] handles (W&B matches runs by username).")
        return d

    def usernames(self) -> list[str]:
        """Usernames whose runs are fetched: my handles (else the key's user) and service accounts."""
        names = [h.strip() for h in (*self.identity.handles, *self.settings.handles) if h.strip() and "@" not in h]
        if not names:
            names = [self.viewer()["username"]]
        names += [a.strip() for a in self.settings.service_accounts if a.strip()]
        return list(dict.fromkeys(names))

    @property
    def handles(self) -> frozenset[str]:
        return frozenset(n.lower() for n in self.usernames()) | self.identity.all_handles

    def entities(self) -> list[str]:
        if self.settings.entities:
            return list(self.settings.entities)
        entity = self.viewer().get("entity")
        if not entity:
            raise ConfigError(f"{self.where}: W&B has no default entity for this key; set entities = [\"team\"].")
        return [entity]

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        if stream == "runs":
            yield from self.fetch_runs(cursor, window)
        elif stream == "registry" and self.settings.registry:
            yield from self.fetch_registry(cursor, window)

    # projects and runs -----------------------------------------------------------------------

    def projects(self) -> list[tuple[str, str]]:
        """(entity, project) pairs to read. Exact names in `projects` skip the listing request."""
        include, exclude = self.settings.projects, self.settings.exclude_projects
        entities = self.entities()
        if include and not any(c in p for p in include for c in GLOB_CHARS):
            pairs = [tuple(p.split("/", 1)) if "/" in p else (e, p) for p in include for e in entities]
            pairs = list(dict.fromkeys(pairs))
        else:
            pairs = []
            for entity, nodes, _ in self.client.paginate(PROJECTS, entities, {"perPage": self.settings.per_page},
                                                        self.settings.projects_per_request):
                pairs += self.parse_each(nodes, lambda node: read_project(node, entity))
        return [(e, p) for e, p in pairs if select_project(e, p, include, exclude)]

    def start_progress(self, cursor: Cursor | None, window: HarvestWindow) -> RunProgress:
        pending = (cursor.state.get("pending") if cursor else None) or None
        if pending and not window.forced:
            return RunProgress(since=datetime.fromisoformat(pending["since"]),
                               started_at=datetime.fromisoformat(pending["started_at"]),
                               done=set(pending.get("done", [])))
        return RunProgress(since=window.start(cursor, RUN_OVERLAP), started_at=window.started_at, done=set())

    def fetch_runs(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        progress = self._progress = self.start_progress(cursor, window)
        todo = [pair for pair in self.projects() if "/".join(pair) not in progress.done]
        if not todo:
            return
        handles = self.handles
        shared = {"filters": json.dumps(run_filters(self.usernames(), progress.since)),
                  "perPage": self.settings.per_page, "order": "+created_at"}
        for (entity, project), nodes, finished in self.client.paginate(RUNS, todo, shared,
                                                                       self.settings.projects_per_request):
            records = list(self.parse_each(nodes, lambda node: parse_run(node, entity, project, self.instance, self.ui,
                                                                         handles, self.settings.subject_by)))
            if finished and not records:
                progress.done.add(f"{entity}/{project}")
            for i, record in enumerate(records):
                if finished and i == len(records) - 1:
                    # Marked before the yield: the harvest loop reads `done` only once this
                    # record is in the page it commits.
                    progress.done.add(f"{entity}/{project}")
                yield record

    def advance_cursor(self, stream: str, cursor: Cursor | None, page: Sequence[Record],
                       final: bool = False) -> Cursor | None:
        if stream == "registry":
            if not final or self._registry_state is None:
                return cursor
            return Cursor(source=self.instance, stream=stream, value=self._registry_value,
                          state=self._registry_state, updated_at=utcnow())
        progress = self._progress
        if progress is None:
            return cursor
        old = cursor.value if cursor else None
        if not final:
            # Projects are read side by side, so no single time is safe to store yet: keep the old
            # watermark and remember which projects are complete.
            return Cursor(source=self.instance, stream=stream, value=old, updated_at=utcnow(),
                          state={"pending": {"since": progress.since.isoformat(),
                                             "started_at": progress.started_at.isoformat(),
                                             "done": sorted(progress.done)}})
        # Everything changed since `since` is stored; a forced window that started after the old
        # watermark leaves a gap, so the old watermark stays then.
        value = progress.started_at.isoformat()
        if old and progress.since > datetime.fromisoformat(old):
            value = old
        return Cursor(source=self.instance, stream=stream, value=value, state={}, updated_at=utcnow())

    # registry ---------------------------------------------------------------------------------

    def organization(self, cursor: Cursor | None) -> str | None:
        if self.settings.organization:
            return self.settings.organization
        if cursor and "organization" in cursor.state:
            return cursor.state["organization"] or None  # "" = looked up before, none found
        names: list[str] = []
        for entity in self.entities():
            found = self.client.execute("FetchOrgInfoFromEntity", ORGANIZATION_QUERY, {"entity": entity}).get("entity")
            orgs = dig(found, "user", "organizations")
            orgs = [dig(found, "organization"), *(orgs if isinstance(orgs, list) else ())]
            names += [name for o in orgs if (name := text(dig(o, "name")))]
        names = list(dict.fromkeys(names))
        if len(names) > 1:
            raise ConfigError(f"{self.where}: the key belongs to several W&B organizations ({', '.join(names)}); "
                              "set organization = \"...\" to pick the one whose registry to read.")
        return names[0] if names else None

    def fetch_registry(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        org = self.organization(cursor)
        self._registry_value = window.started_at.isoformat()
        if not org:
            # Personal accounts without an organization have no registry; remember not to ask again.
            self._registry_state = {"organization": ""}
            return
        previous = dict(cursor.state) if cursor else {}
        if self._updated_filter is None:
            self._updated_filter = previous.get("updated_filter", True) is not False
        first = "serving" not in previous
        since = window.since if first else window.start(cursor, REGISTRY_OVERLAP)
        changed, serving = self.registry_versions(org, since)
        events, snapshot = registry_events(changed, serving, previous, first, window.since, window.started_at,
                                           self.settings.serving_aliases)
        records = [parse_registry_event(e, self.instance, self.ui, self.handles) for e in events]
        records.sort(key=lambda r: r.occurred_at)
        yield from records
        self._registry_state = {**snapshot, "organization": org}
        if not self._updated_filter:
            self._registry_state["updated_filter"] = False

    def registry_versions(self, org: str, since: datetime) -> tuple[list[dict], list[dict]]:
        """(versions changed since `since`, versions holding a serving alias), in one request
        when both fit on a page. Where the server refuses the `updated_at` filter, every version
        is read and the changed ones are picked here."""
        try:
            changed, serving = self.read_memberships(org, since if self._updated_filter else None)
        except QueryRejected as exc:
            if not self._updated_filter or "updated_at" not in exc.detail.lower():
                raise
            log.info("%s: W&B refused the registry filter on updated_at (%s); reading every version and "
                     "filtering here", self.instance, exc.detail[:200])
            self._updated_filter = False
            changed, serving = self.read_memberships(org, None)
        if not self._updated_filter:
            changed = [n for n in changed if (t := changed_at(n)) is not None and t > since]
        return changed, serving

    def read_memberships(self, org: str, changed_since: datetime | None) -> tuple[list[dict], list[dict]]:
        changed_filter = json.dumps({"updated_at": {"$gt": format_time(changed_since)}}) if changed_since else None
        serving_filter = json.dumps({"alias": {"$in": list(self.settings.serving_aliases)}})
        reg = registry_filter(self.settings.registries)
        shared = {"organization": org, "registryFilter": json.dumps(reg) if reg else None,
                  "perPage": self.settings.per_page}
        changed, serving = [], []
        for (name, _), nodes, _ in self.client.paginate(MEMBERSHIPS, [("changed", changed_filter),
                                                                      ("serving", serving_filter)], shared, 2):
            (changed if name == "changed" else serving).extend(self.parse_each(nodes, read_membership))
        return changed, serving


def select_project(entity: str, project: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Patterns match the project name or entity/project."""
    def matches(pattern: str) -> bool:
        return fnmatch.fnmatchcase(project, pattern) or fnmatch.fnmatchcase(f"{entity}/{project}", pattern)

    if include and not any(matches(p) for p in include):
        return False
    return not any(matches(p) for p in exclude)
