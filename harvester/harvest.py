"""The harvest loop: for each connector instance and stream, fetch pages and commit each
page with its cursor; then run the rules and refresh the drafts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

from harvester.config import Config, ConnectorInstance, describe_missing_secret
from harvester.connectors.base import Connector, HarvestWindow
from harvester.drafting.redraft import DraftCounts, redraft_if_changed
from harvester.errors import ConfigError, HarvesterError, StoreError
from harvester.models import Record, utcnow
from harvester.redact import redact
from harvester.safe_text import one_line
from harvester.registry import connector_class, connector_targets, load_target
from harvester.requests_counter import count_requests
from harvester.settings import build_settings
from harvester.store import Store
from harvester.team import Team, load_team, member_config
from harvester.timeutil import parse_past, parse_since

ProgressFn = Callable[[str, str, int], None]


@dataclass
class SourceResult:
    source: str
    type: str
    records: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None
    streams: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # malformed items, by plural noun
    since: datetime | None = None  # the earliest start any of its streams read from (cursor or window)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class HarvestSummary:
    since: datetime
    sources: list[SourceResult] = field(default_factory=list)
    drafts: DraftCounts | None = None
    member_drafts: dict[str, DraftCounts] = field(default_factory=dict)  # a team's harvest, by member key

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sources)

    def as_json(self) -> dict:
        d = self.drafts or DraftCounts()
        return {
            "ok": self.ok,
            "since": self.since.isoformat(),
            "sources": [{"source": s.source, "type": s.type, "since": s.since.isoformat() if s.since else None,
                         "records": s.records, "requests": s.requests,
                         "seconds": round(s.seconds, 3), "streams": s.streams, "error": s.error,
                         "skipped_malformed": s.skipped,
                         "drafts_new": d.by_source.get((s.source, "new"), 0),
                         "drafts_updated": d.by_source.get((s.source, "updated"), 0)} for s in self.sources],
            "drafts": {"new": d.new, "updated": d.updated, "unchanged": d.unchanged, "kept": d.kept,
                       "superseded": d.superseded, "findings": d.findings, "skipped": d.skipped,
                       "held_sources": list(d.held)},
            **({"members": {key: {"new": c.new, "updated": c.updated, "unchanged": c.unchanged}
                            for key, c in self.member_drafts.items()}} if self.member_drafts else {}),
        }


def select_instances(config: Config, names: Sequence[str] | None = None,
                     where: str = "") -> list[ConnectorInstance]:
    """The connector instances a harvest reads: the named ones, else every configured one."""
    instances = config.connectors
    if not instances and config.path is None:
        raise ConfigError("No config file found (looked for --config, $HARVESTER_CONFIG, ./harvester.toml and the "
                          "app dir). Create one with `harvester init`, then add a [connectors.<name>] table.")
    if not instances:
        raise ConfigError(f"{config.label}: no [connectors.<name>] table. Add one (see config.example.toml) "
                          "or run `harvester init`.")
    missing = [n for n in names or () if n not in instances]
    if missing:
        named = f"{where}: sources names {missing[0]!r}, which is not configured" if where else \
            f"{config.label}: no connector named {missing[0]!r}"
        raise ConfigError(f"{named}. Configured: {', '.join(sorted(instances))}.")
    return [instances[n] for n in (names or sorted(instances))]


def create_connectors(config: Config, instances: Sequence[ConnectorInstance], keep_going: bool = False,
                      team: Team | None = None) -> tuple[list[Connector], dict[str, str]]:
    """Build and check the connectors. Every config problem is raised before anything is
    fetched or written, unless `keep_going`: then a connector that cannot be built (a secret
    missing under cron's bare environment, say) becomes that source's failure and the others run."""
    if not keep_going:
        check_secrets_set(instances)
    connectors, failed = [], {}
    for inst in instances:
        try:
            if keep_going:
                check_secrets_set([inst])
            connector = create_connector(inst, config, team)
            connector.check()
            connector.check_target()
        except HarvesterError as exc:
            if not keep_going:
                raise
            failed[inst.name] = str(exc)
            continue
        connectors.append(connector)
    return connectors, failed


def check_secrets_set(instances: Sequence[ConnectorInstance]) -> None:
    """Name every environment variable the selected connectors need and lack, at once."""
    import os

    missing = [(value, f"{inst.where} {key}") for inst in instances for key, value in inst.table.items()
               if key.endswith("_env") and isinstance(value, str) and value and not os.environ.get(value)]
    if len(missing) == 1:
        raise ConfigError(describe_missing_secret(*missing[0]))
    if missing:
        listed = "; ".join(f"environment variable {name} is not set ({where})" for name, where in missing)
        exports = " ".join(f"export {name}=..." for name in dict.fromkeys(name for name, _ in missing))
        raise ConfigError(f"{listed}. Export them ({exports}) or remove the keys.")


def create_connector(inst: ConnectorInstance, config: Config, team: Team | None = None) -> Connector:
    cls = connector_class(inst.type, inst.where)
    settings = build_settings(cls.settings_class, inst.table, inst.where)
    if team is None:
        return cls(inst.name, settings, config.identity)
    if not cls.reads_for_team:
        readers = ", ".join(sorted(name for name, target in connector_targets().items()
                                   if getattr(load_target(target), "reads_for_team", False)))
        raise ConfigError(f"{inst.where}: a {inst.type} connector cannot harvest for a team yet (sources that can: "
                          f"{readers}). Remove it from the team's config and let members harvest it on their own.")
    connector = cls(inst.name, settings, team.identity)
    connector.members = team.members
    return connector


def harvest_source(store: Store, connector: Connector, window: HarvestWindow, page_size: int,
                   progress: ProgressFn | None = None) -> SourceResult:
    result = SourceResult(source=connector.instance, type=connector.type_name)
    run_id = store.start_harvest_run(connector.instance)
    started = time.perf_counter()
    with count_requests() as counter:
        try:
            for stream in connector.streams:
                result.streams[stream] = harvest_stream(store, connector, stream, window, page_size, result, progress)
        except StoreError:
            raise  # the store itself failed (full, read-only, gone): no other source could be saved either
        except HarvesterError as exc:
            result.error = one_line(redact(str(exc)))
        except Exception as exc:  # a broken source must never stop the others
            result.error = one_line(redact(f"{connector.instance}: unexpected {type(exc).__name__}: {exc}"))
        finally:
            connector.close()
            result.skipped = dict(connector.skipped)
    result.requests = counter.value + connector.requests
    result.seconds = time.perf_counter() - started
    store.finish_harvest_run(run_id, "ok" if result.ok else "failed", result.records, result.requests, result.error)
    return result


def harvest_stream(store: Store, connector: Connector, stream: str, window: HarvestWindow, page_size: int,
                   result: SourceResult, progress: ProgressFn | None) -> int:
    cursor = store.load_cursor(connector.instance, stream)
    start = window.start(cursor)
    result.since = start if result.since is None else min(result.since, start)
    page: list[Record] = []
    count = 0
    for record in connector.fetch(stream, cursor, window):
        page.append(record)
        if len(page) >= page_size:
            cursor = connector.advance_cursor(stream, cursor, page)
            store.save_page(page, cursor)
            count += len(page)
            result.records += len(page)
            page = []
            if progress:
                progress(connector.instance, stream, result.records)
    cursor = connector.advance_cursor(stream, cursor, page, final=True)
    store.save_page(page, cursor)
    count += len(page)
    result.records += len(page)
    if progress:
        progress(connector.instance, stream, result.records)
    return count


@dataclass
class HarvestPlan:
    """Everything a harvest needs, validated before the store is opened or anything fetched."""

    window: HarvestWindow
    connectors: list[Connector]
    rules: list
    failed_setup: dict[str, str] = field(default_factory=dict)  # sources that could not be built
    team: Team | None = None  # a team's harvest: drafts are made for each member


def plan_harvest(config: Config, since: str | None = None, names: Sequence[str] | None = None,
                 keep_going: bool = False, where: str = "") -> HarvestPlan:
    """The one planning path of `harvest` and `nightly`: window, rules, rubric and connectors.
    `where` names the setting that chose `names`, for its error."""
    from harvester.drafting.redraft import load_rules

    now = utcnow()
    start = parse_past(since, "--since", now) if since else parse_since(config.harvest.default_since, now)
    window = HarvestWindow(since=start, forced=since is not None, started_at=now)
    rules = load_rules(config)
    config.framework  # an unreadable rubric is refused before anything is fetched
    team = load_team(config)
    instances = select_instances(config, names, where)
    connectors, failed = create_connectors(config, instances, keep_going, team)
    return HarvestPlan(window=window, connectors=connectors, rules=rules, failed_setup=failed, team=team)


def run_harvest(store: Store, config: Config, since: str | None = None, names: Sequence[str] | None = None,
                progress: ProgressFn | None = None, plan: HarvestPlan | None = None) -> HarvestSummary:
    plan = plan or plan_harvest(config, since, names)
    summary = HarvestSummary(since=plan.window.since)
    warming = warm_drafting_imports() if plan.window.forced or not store.count_records() else None
    for connector in plan.connectors:
        summary.sources.append(harvest_source(store, connector, plan.window, config.harvest.page_size, progress))
    if warming is not None:
        warming.join()
    if plan.team is None:
        summary.drafts = redraft_if_changed(store, config, now=plan.window.started_at, rules=plan.rules)
    else:
        summary.member_drafts = draft_for_members(store, config, plan.team, plan.window.started_at, plan.rules)
        summary.drafts = DraftCounts.combine(list(summary.member_drafts.values()))
    return summary


def warm_drafting_imports():
    """Import what drafting needs (pandas, about 0.8 s) on a second thread, for a backfill,
    which always drafts: it runs while the harvest waits on the server's first answers, when
    the main thread holds no lock, so the import costs the harvest no time."""
    import threading

    thread = threading.Thread(target=import_quietly, args=("pandas",), name="harvester-warm-imports")
    thread.start()
    return thread


def import_quietly(name: str) -> None:
    """An import whose failure the drafting pass meets again and reports."""
    from importlib import import_module

    try:
        import_module(name)
    except Exception:
        pass


def draft_for_members(store: Store, config: Config, team: Team, now: datetime,
                      rules: Sequence | None = None) -> dict[str, DraftCounts]:
    """Each member's drafting pass over their own records, in their own drafts."""
    return {m.key: redraft_if_changed(store.for_owner(m.key), member_config(config, m), now=now, rules=rules)
            for m in team.members}
