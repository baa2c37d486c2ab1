"""The shared part of the rules judged on an experiment's key metric: one comparison per
campaign of my runs, against that campaign's baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping

from harvester.models import Finding, Metric
from harvester.rules.base import DetectContext, RecordGroup, Rule
from harvester.rules.metric_names import metric_direction
from harvester.rules.metric_names import metric_unit
from harvester.rules.run_table import (Comparison, campaigns, choose_key_metric, compare_campaign, group_evidence,
                                       group_frame, work_facts)
from harvester.timeutil import quarter_of


@dataclass(frozen=True)
class KeyMetricRule(Rule):
    abstract: ClassVar[bool] = True
    kinds: ClassVar[frozenset[str]] = frozenset({"run"})

    campaign_gap_days: float = 30.0
    key_metrics: dict[str, str] = field(default_factory=dict)
    preferred_metrics: tuple[str, ...] = ()
    directions: dict[str, str] = field(default_factory=dict)

    def comparisons(self, group: RecordGroup, context: DetectContext) -> Iterator[tuple[str, Comparison]]:
        """(campaign id, comparison) for each campaign of my runs that logged the key metric."""
        frame = group_frame(group, self.campaign_gap_days)
        if frame.empty or not frame["mine"].any():
            return
        preferred = [self.key_metrics[group.subject]] if group.subject in self.key_metrics else []
        metric = choose_key_metric(frame, preferred + list(self.preferred_metrics), self.directions)
        direction = metric_direction(metric, self.directions) if metric else None
        if not metric or not direction:
            return
        serving = frozenset(run for src, run in context.serving_runs if src == group.source)
        for campaign in campaigns(frame):
            cmp = compare_campaign(frame, campaign, metric, direction, serving)
            if cmp is not None:
                yield campaign, cmp

    def make_finding(self, kind: str, group: RecordGroup, campaign: str, cmp: Comparison, occurred_at,
                     facts: Mapping[str, Any], also: tuple[Metric, ...] = ()) -> Finding:
        """`also`: other metrics that moved with the key one, reported after it."""
        return Finding(
            rule=self.rule_name(), kind=kind, source=group.source, subject=group.subject,
            occurred_at=occurred_at.to_pydatetime(), period=quarter_of(occurred_at),
            metrics=(Metric(cmp.metric, cmp.before, cmp.after, metric_unit(cmp.metric)), *also),
            record_ids=tuple(cmp.runs["run_id"]),
            evidence=group_evidence(group.source, group.records, (cmp.best, "best run"), (cmp.baseline, "baseline run")),
            facts={"experiment": group.subject, "metric": cmp.metric, "direction": cmp.direction,
                   "runs": int(len(cmp.runs)), "baseline_kind": cmp.baseline_kind,
                   "improvement": round(cmp.improvement, 6), **work_facts(cmp), **facts},
            identity=(cmp.metric, campaign),
        )
