from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Iterable

from harvester.models import Finding, Metric
from harvester.timeutil import quarter_of
from harvester.rules.base import DetectContext, RecordGroup, Rule
from harvester.rules.metric_names import metric_direction
from harvester.rules.run_table import choose_key_metric, compare_campaign, campaigns, group_evidence, runs_frame, varied_params


@dataclass(frozen=True)
class ExperimentCampaignRule(Rule):
    """Many runs on one experiment in one campaign of runs that never beat the baseline: a negative result."""

    kinds: ClassVar[frozenset[str]] = frozenset({"run"})
    description: ClassVar[str] = "N or more runs in one campaign of runs that did not beat the baseline (a ruled-out idea)."

    min_runs: int = 8
    min_relative_lift: float = 0.02
    campaign_gap_days: float = 30.0
    key_metrics: dict[str, str] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        frame = runs_frame(group.records, self.campaign_gap_days)
        if frame.empty or not frame["mine"].any():
            return []
        preferred = [self.key_metrics[group.subject]] if group.subject in self.key_metrics else []
        metric = choose_key_metric(frame, preferred, self.directions)
        direction = metric_direction(metric, self.directions) if metric else None
        if not metric or not direction:
            return []
        serving = frozenset(run for src, run in context.serving_runs if src == group.source)
        findings = []
        for campaign in campaigns(frame):
            cmp = compare_campaign(frame, campaign, metric, direction, serving)
            if cmp is None or len(cmp.runs) < self.min_runs or cmp.improvement >= self.min_relative_lift:
                continue
            findings.append(Finding(
                rule=self.rule_name(), kind="experiment_campaign", source=group.source, subject=group.subject,
                occurred_at=cmp.runs["time"].max().to_pydatetime(),
                period=quarter_of(cmp.runs["time"].max()),
                metrics=(Metric(metric, cmp.before, cmp.after),),
                record_ids=tuple(cmp.runs["run_id"]),
                evidence=group_evidence(group.source, group.records, (cmp.best, "best run"),
                                        (cmp.baseline, "baseline run")),
                facts={"experiment": group.subject, "metric": metric, "direction": direction,
                       "runs": int(len(cmp.runs)), "baseline_kind": cmp.baseline_kind,
                       "explored": varied_params(cmp.runs), "improvement": round(cmp.improvement, 6)},
                identity=(campaign,),
            ))
        return findings
