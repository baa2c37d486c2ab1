"""Building blocks of the statement corpus: source payloads in their real shapes (MLflow REST
runs and registry events, GitHub search items, Jira issues) parsed by the connectors' own
parsers, and a checker that every number a statement states is one of its evidence."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any

from harvester.connectors.github.parse import parse_pull_request
from harvester.connectors.jira.connector import JiraSettings
from harvester.connectors.jira.parse import parse_issue
from harvester.connectors.mlflow.parse import parse_registry_event, parse_run
from harvester.models import Draft, Record
from harvester.settings import build_settings
from harvester.drafting.wording.numbers import MINUS
from tests.support.github_fake import ME as GITHUB_ME
from tests.support.github_fake import pr_item
from tests.support.jira import CLOUD, ME_ACCOUNT, cloud_user, issue, parent_ref

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
UI = "http://mlflow.internal"
HANDLES = frozenset({"ada"})
_ids = count(1)
_experiments: dict[str, str] = {}


def experiment_id(name: str) -> str:
    return _experiments.setdefault(name, str(100 + len(_experiments)))


def mlflow_run(experiment: str, day: float, metrics: dict[str, float], params: dict[str, Any] | None = None,
               user: str = "ada", tags: dict[str, str] | None = None, name: str | None = None,
               status: str = "FINISHED", run_id: str | None = None, source: str = "mlflow") -> Record:
    """A run as MLflow's REST API returns it (runs/search), parsed by the connector."""
    rid = run_id or f"{next(_ids):032x}"
    start = NOW - timedelta(days=60) + timedelta(days=day)
    ms = int(start.timestamp() * 1000)
    all_tags = {"mlflow.user": user, "mlflow.runName": name or f"bold-owl-{next(_ids)}", **(tags or {})}
    payload = {
        "info": {"run_id": rid, "run_uuid": rid, "experiment_id": experiment_id(experiment),
                 "run_name": all_tags["mlflow.runName"], "user_id": user, "status": status, "start_time": ms,
                 "end_time": ms + 40 * 60_000, "artifact_uri": f"mlflow-artifacts:/{rid}/artifacts",
                 "lifecycle_stage": "active"},
        "data": {"metrics": [{"key": k, "value": v, "timestamp": ms, "step": 0} for k, v in metrics.items()],
                 "params": [{"key": k, "value": str(v)} for k, v in (params or {}).items()],
                 "tags": [{"key": k, "value": v} for k, v in all_tags.items()]},
        "inputs": {}, "outputs": {},
    }
    return parse_run(payload, source, {experiment_id(experiment): experiment}, UI, HANDLES)


def promotion(model: str, version: int, run: Record, day: float, target: str = "champion", via: str = "alias",
              previous: int | None = None, source: str = "mlflow") -> Record:
    """A registry move as the connector's snapshot diff reports it, with its source run."""
    when = NOW - timedelta(days=60) + timedelta(days=day)
    event = {"type": "promotion", "name": model, "version": str(version), "target": target, "via": via,
             "previous_version": str(previous) if previous else None, "run_id": run.external_id,
             "user_id": "ada", "current_stage": "None", "occurred_ms": int(when.timestamp() * 1000)}
    return parse_registry_event(event, run.payload, source, {experiment_id(run.subject): run.subject}, UI, HANDLES)


def pull_request(number: int, title: str, body: str = "", day: float = 58, labels=(), repo: str = "acme/fraud",
                 additions: int = 120, deletions: int = 30) -> Record:
    merged = NOW - timedelta(days=60) + timedelta(days=day)
    item = pr_item(number, title, merged=merged, body=body, labels=labels, repo=repo)
    item.update(additions=additions, deletions=deletions, changed_files=4, reviewers=["grace"])
    return parse_pull_request(item, "github", GITHUB_ME["id"])


JIRA_SETTINGS = build_settings(JiraSettings, {"url": CLOUD, "story_points_field": "customfield_10016"}, "corpus")


def jira_issue(key: str, summary: str, day: float = 57, type: str = "Story", epic: tuple[str, str] | None = None,
               points: float | None = None, **kw) -> Record:
    resolved = NOW - timedelta(days=60) + timedelta(days=day)
    extra = {"customfield_10016": points} if points is not None else {}
    raw = issue(key, summary, type=type, resolved=resolved, created=resolved - timedelta(days=9),
                assignee=cloud_user(), parent=parent_ref(*epic) if epic else None, **extra, **kw)
    return parse_issue(raw, "jira", CLOUD, frozenset({ME_ACCOUNT}), JIRA_SETTINGS)


NUMBER = re.compile(r"(?<![\w.#@-])[" + MINUS + r"+-]?\$?\d[\d,]*(?:\.\d+)?%?")


def stated_numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def literal_texts(draft: Draft, facts: list[dict[str, Any]]) -> list[str]:
    """Text a statement quotes rather than computes: names, params, titles, keys, notes."""
    texts = [draft.subject]
    for f in facts:
        for key in ("description", "run_name", "best_run", "title", "summary", "key", "model", "period", "feature"):
            if f.get(key):
                texts.append(str(f[key]))
        texts += [f"v{f[key]}" for key in ("version", "previous_version") if f.get(key)]
        for c in f.get("changes") or ():
            texts += [str(c.get("param")), str(c.get("before")), str(c.get("after"))]
        texts += [str(x) for x in f.get("explored") or ()]
        texts += [str(x) for x in f.get("keys") or ()] + [str(x) for x in f.get("titles") or ()]
        texts += [f"#{p.get('number')}" for p in f.get("prs") or ()]
    return [t for t in texts if t and not t.replace(".", "").isdigit()]


def computed_values(draft: Draft, facts: list[dict[str, Any]]) -> list[float]:
    values: list[float] = []
    for m in draft.metrics:
        values += [v for v in (m.before, m.after) if v is not None]
        if m.relative_change is not None:
            values.append(abs(m.relative_change) * 100)
    for f in facts:
        for c in f.get("changes") or ():
            values += [float(v) for v in (c.get("before"), c.get("after")) if str(v).replace(".", "").isdigit()]
        values += [float(f[k]) for k in ("version", "previous_version") if str(f.get(k) or "").isdigit()]
        for key, value in f.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values += [abs(value), abs(value) * 100]
                values += [value / 24] if key == "hours" else [value / 7] if key == "days" else []
    return values


def ungrounded_numbers(draft: Draft, facts: list[dict[str, Any]], names: list[str] = ()) -> list[str]:
    """Numbers in the statement that are neither quoted evidence nor equal to a metric value,
    a relative change or a counted fact at the precision shown."""
    text = draft.statement
    for literal in sorted(literal_texts(draft, facts) + list(names), key=len, reverse=True):
        text = text.replace(literal, " ")
    text = re.sub(r'"[^"]*"', " ", text)  # quoted titles and notes
    values = computed_values(draft, facts)
    bad = []
    for token in stated_numbers(text):
        clean = token.replace(MINUS, "").replace("+", "").replace("-", "").replace("$", "").replace("%", "")
        clean = clean.replace(",", "")
        decimals = len(clean.split(".")[1]) if "." in clean else 0
        shown = float(clean)
        if not any(abs(round(v, decimals) - shown) < 1e-9 for v in values):
            bad.append(token)
    return bad
