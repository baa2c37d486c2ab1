"""The runs of one experiment as a pandas frame, and the baseline-vs-best comparison that
the metric rules share. Source-agnostic: MLflow and W&B runs have one shape (RunAttributes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from harvester.models import Evidence, Record
from harvester.records import read_run_attributes
from harvester.rules.metric_names import is_quality_metric, rank_key_metrics

if TYPE_CHECKING:
    import pandas as pd

    from harvester.rules.base import RecordGroup

BASELINE_TAGS = ("baseline", "harvester.baseline", "is_baseline")
TRUTHY = ("1", "true", "yes", "y")
GENAI_RUN_TYPE = "genai_evaluate"
# Names MLflow and W&B make up for a run (bold-owl-42), or a user and a number: they say nothing.
GENERATED_NAME = re.compile(r"[a-z]+(-[a-z]+)?-\d+|[0-9a-f]{32}")
# Params that differ between any two runs without being the work: seeds, paths, ids, logging.
NOISE_PARAM = re.compile(r"(^|[_.])(seed|random_state|run|id|path|dir|file|output|log|logging|checkpoint|ckpt|"
                         r"device|workers|verbose|timestamp|date|time|commit|git|host|port|uri|url|name|tags?)($|[_.])")
MAX_PARAM_TEXT = 40
MIN_ALSO_CHANGE = 0.01  # a quality metric that moved by 1% or more is reported with a lift


@dataclass(frozen=True)
class Comparison:
    metric: str
    direction: str
    baseline: Mapping[str, Any]
    baseline_kind: str
    best: Mapping[str, Any]
    runs: "pd.DataFrame"

    @property
    def before(self) -> float:
        return float(self.baseline[f"m:{self.metric}"])

    @property
    def after(self) -> float:
        return float(self.best[f"m:{self.metric}"])

    def pair(self, metric: str) -> tuple[float, float] | None:
        """Another metric's values on this comparison's baseline and best run (None if either lacks it)."""
        before, after = self.baseline.get(f"m:{metric}"), self.best.get(f"m:{metric}")
        if before is None or after is None or before != before or after != after:  # absent or NaN
            return None
        return float(before), float(after)

    @property
    def improvement(self) -> float:
        """Relative improvement in the better direction (0.05 = 5% better)."""
        if self.before == 0:
            return 0.0 if self.after == self.before else float("inf")
        change = (self.after - self.before) / abs(self.before)
        return change if self.direction == "up" else -change


def group_frame(group: "RecordGroup", gap_days: float) -> "pd.DataFrame":
    """`runs_frame` of a group, built once for every rule that reads it (callers must not modify it)."""
    key = ("runs_frame", gap_days)
    if key not in group.memo:
        group.memo[key] = runs_frame(group.records, gap_days)
    return group.memo[key]


def runs_frame(records: Sequence[Record], gap_days: float) -> "pd.DataFrame":
    """One row per finished run: run_id, time, mine, baseline, url, name, params, campaign, and
    one `m:<name>` column per metric.

    My runs are split into campaigns wherever `gap_days` pass without a run: one campaign
    of work on an experiment is one accomplishment, however many runs it took. `campaign`
    holds the id of the campaign's first run (None for other people's runs).
    """
    import pandas as pd

    rows = []
    for r in records:
        a = read_run_attributes(r)
        if a["status"] != "finished":
            continue
        tags = a["tags"]
        row = {"run_id": r.external_id, "time": r.occurred_at, "mine": r.mine, "url": r.url,
               "name": a["name"] or r.external_id, "params": a["params"], "description": a["description"].strip(),
               "run_type": a["run_type"],
               "baseline": any(str(tags.get(t, "")).lower() in TRUTHY for t in BASELINE_TAGS),
               "campaign": None}
        for k, v in a["metrics"].items():  # a number stored as JSON null (it was not finite) is left out
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
                row[f"m:{k}"] = float(v)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    mine = frame[frame["mine"]]
    if not mine.empty:
        starts = mine["time"].diff() > pd.Timedelta(days=gap_days)
        starts.iloc[0] = True
        first_ids = mine["run_id"].where(starts).ffill()
        frame.loc[mine.index, "campaign"] = first_ids
    return frame


def campaigns(frame: "pd.DataFrame") -> list[str]:
    return list(dict.fromkeys(frame["campaign"].dropna())) if not frame.empty else []


def metric_columns(frame: "pd.DataFrame") -> list[str]:
    return [c[2:] for c in frame.columns if c.startswith("m:")]


def choose_key_metric(frame: "pd.DataFrame", preferred: Iterable[str], overrides: Mapping[str, str]) -> str | None:
    """The metric a quality lift is judged on: the configured one, else the best-ranked
    quality metric that at least half of my runs logged."""
    names = metric_columns(frame)
    for name in preferred:
        if name in names:
            return name
    mine = frame[frame["mine"]]
    if mine.empty:
        return None
    covered = [n for n in names if mine[f"m:{n}"].notna().mean() >= 0.5]
    ranked = rank_key_metrics(covered, overrides)
    return ranked[0] if ranked else None


def better(direction: str, a: float, b: float) -> bool:
    return a > b if direction == "up" else a < b


def best_row(frame: "pd.DataFrame", column: str, direction: str):
    values = frame[column]
    idx = values.idxmax() if direction == "up" else values.idxmin()
    return frame.loc[idx]


def compare_campaign(frame: "pd.DataFrame", campaign: str, metric: str, direction: str,
                     serving_runs: frozenset[str]) -> Comparison | None:
    """Best of my runs in a campaign against its baseline, chosen in this order: a run
    tagged as baseline since my previous campaign, the run behind the serving model, the
    best run before the campaign, the first run of the campaign.

    Rows are chosen with boolean arrays and only the campaign's own runs are taken out as a
    frame: selecting rows of the whole frame copies every column, the costly part of drafting."""
    col = f"m:{metric}"
    if col not in frame.columns:
        return None
    values, times = frame[col], frame["time"]
    has = values.notna().to_numpy()
    ours = (frame["campaign"] == campaign).to_numpy()
    in_period = has & ours
    if not in_period.any():
        return None
    start = times[ours].min()
    earlier = (times < start).to_numpy()
    before = has & earlier
    earlier_mine = frame["mine"].to_numpy(dtype=bool) & earlier
    tagged = has & frame["baseline"].to_numpy(dtype=bool) & (times <= times[in_period].max()).to_numpy()
    if earlier_mine.any():
        tagged &= (times > times[earlier_mine].max()).to_numpy()
    serving = before & frame["run_id"].isin(serving_runs).to_numpy()
    if tagged.any():
        baseline, kind = frame.iloc[tagged.nonzero()[0][-1]], "tagged baseline"
    elif serving.any():
        baseline, kind = frame.iloc[serving.nonzero()[0][-1]], "serving model"
    elif before.any():
        baseline, kind = best_of(frame, values, before, direction), "previous best"
    else:
        baseline, kind = frame.iloc[in_period.nonzero()[0][0]], "first run"
    candidates = in_period & (frame["run_id"] != baseline["run_id"]).to_numpy()
    if not candidates.any():
        return None
    return Comparison(metric=metric, direction=direction, baseline=baseline.to_dict(), baseline_kind=kind,
                      best=best_of(frame, values, candidates, direction).to_dict(), runs=frame[in_period])


def best_of(frame: "pd.DataFrame", values: "pd.Series", rows, direction: str):
    """The row with the best value among `rows` (the first of equals, as best_row picks)."""
    chosen = values[rows]
    return frame.loc[chosen.idxmax() if direction == "up" else chosen.idxmin()]


def run_evidence(source: str, row: Mapping[str, Any], label: str) -> Evidence | None:
    url = row.get("url")
    return Evidence(url=url, label=f"{label}: {row.get('name')}", source=source) if url else None


def group_evidence(source: str, records: Sequence[Record], *rows_and_labels) -> tuple[Evidence, ...]:
    found = []
    for row, label in rows_and_labels:
        ev = run_evidence(source, row, label)
        if ev and ev.url not in {e.url for e in found}:
            found.append(ev)
    experiment_url = next((url for r in records if (url := read_run_attributes(r)["experiment_url"])), None)
    if experiment_url:
        found.append(Evidence(url=experiment_url, label="experiment", source=source))
    return tuple(found)


def varied_params(frame: "pd.DataFrame", limit: int = 3) -> list[str]:
    """Params that took more than one value across the runs: what the campaign explored."""
    values: dict[str, set] = {}
    for params in frame["params"]:
        for k, v in (params or {}).items():
            values.setdefault(k, set()).add(str(v))
    varied = sorted(k for k, v in values.items() if len(v) > 1)
    return varied[:limit]


def meaningful_name(row: Mapping[str, Any]) -> str:
    """The run's name when a person chose it ('' for generated names)."""
    name = str(row.get("name") or "").strip()
    if not name or name == row.get("run_id") or GENERATED_NAME.fullmatch(name.lower()):
        return ""
    return name


def first_line(text: str, limit: int = 160) -> str:
    line = next((x.strip() for x in str(text or "").splitlines() if x.strip()), "")
    return line[:limit]


def changed_params(baseline: Mapping[str, Any], best: Mapping[str, Any], runs: "pd.DataFrame", column: str,
                   direction: str, limit: int = 3) -> list[dict[str, Any]]:
    """The few params that differ between the baseline and the best run, most telling first:
    those whose new value the better half of the campaign's runs share more than the rest."""
    before, after = dict(baseline.get("params") or {}), dict(best.get("params") or {})
    if not after:  # a run that logged no params says nothing about what changed
        return []
    keys = [k for k in sorted(set(before) | set(after))
            if str(before.get(k, "")).strip() != str(after.get(k, "")).strip() and not NOISE_PARAM.search(k.lower())
            and len(str(before.get(k, ""))) <= MAX_PARAM_TEXT and len(str(after.get(k, ""))) <= MAX_PARAM_TEXT]
    if not keys:
        return []
    values = runs[column].dropna()
    median = values.median() if not values.empty else None
    better = runs[(runs[column] >= median) if direction == "up" else (runs[column] <= median)] if median is not None else runs

    all_params, better_params = list(runs["params"]), list(better["params"])

    def share(params: list, key) -> float:
        if not params:
            return 0.0
        wanted = str(after.get(key, ""))
        return sum(str((p or {}).get(key, "")) == wanted for p in params) / len(params)

    scored = sorted(keys, key=lambda k: (-(share(better_params, k) - share(all_params, k)), k))
    return [{"param": k, "before": before.get(k), "after": after.get(k)} for k in scored[:limit]]


def other_quality_moves(cmp: Comparison, limit: int = 4, overrides: Mapping[str, str] | None = None) -> list:
    """(name, before, after) of the quality metrics besides the key one that moved by
    MIN_ALSO_CHANGE or more between the baseline and the best run."""
    names = [c[2:] for c in cmp.best if isinstance(c, str) and c.startswith("m:") and c[2:] != cmp.metric]
    moved = []
    for name in rank_key_metrics([n for n in names if is_quality_metric(n, overrides)], overrides):
        pair = cmp.pair(name)
        if pair is None or pair[0] == 0:
            continue
        before, after = pair
        if abs(after - before) / abs(before) >= MIN_ALSO_CHANGE:
            moved.append((name, before, after))
    return moved[:limit]


def work_facts(cmp: Comparison) -> dict[str, Any]:
    """What the evidence says about the work behind a best run: the runs compared, the params
    that changed, the run's own note, its name when a person chose it."""
    best = cmp.best
    return {"best_run_id": best.get("run_id"), "baseline_run_id": cmp.baseline.get("run_id"),
            "changes": changed_params(cmp.baseline, best, cmp.runs, f"m:{cmp.metric}", cmp.direction),
            "description": first_line(best.get("description") or ""), "run_name": meaningful_name(best),
            "evaluation": "genai" if best.get("run_type") == GENAI_RUN_TYPE else ""}

