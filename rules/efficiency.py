"""Latency and cost wins: serving-side metrics that improved past a threshold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Iterable

from harvester.rules.kinds import FindingKind
from harvester.models import Finding, Metric
from harvester.timeutil import quarter_of
from harvester.rules.base import DetectContext, RecordGroup, Rule
from harvester.rules.metric_names import metric_direction, metric_family, metric_unit
from harvester.rules.run_table import (Comparison, campaigns, compare_campaign, group_evidence, group_frame, metric_columns,
                                       work_facts)


@dataclass(frozen=True)
class EfficiencyRule(Rule):
    abstract: ClassVar[bool] = True
    families: ClassVar[tuple[str, ...]] = ()
    finding_kind: ClassVar[str] = ""

    min_relative_improvement: float = 0.10
    campaign_gap_days: float = 30.0
    directions: dict[str, str] = field(default_factory=dict)

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        frame = group_frame(group, self.campaign_gap_days)
        if frame.empty or not frame["mine"].any():
            return []
        names = [n for n in metric_columns(frame)
                 if metric_family(n) in self.families and metric_direction(n, self.directions)]
        if not names:
            return []
        serving = frozenset(run for src, run in context.serving_runs if src == group.source)
        findings = []
        for campaign in campaigns(frame):
            wins = []
            for name in names:
                cmp = compare_campaign(frame, campaign, name, metric_direction(name, self.directions), serving)
                if cmp and cmp.best["mine"] and cmp.improvement >= self.min_relative_improvement:
                    wins.append(cmp)
            if not wins:
                continue
            wins.sort(key=lambda c: (-c.improvement, c.metric))
            head = wins[0]
            findings.append(Finding(
                rule=self.rule_name(), kind=self.finding_kind, source=group.source, subject=group.subject,
                occurred_at=head.best["time"].to_pydatetime(), period=quarter_of(head.best["time"]),
                metrics=(Metric(head.metric, head.before, head.after, metric_unit(head.metric)),
                         *same_pair_moves(head, wins[1:])),
                record_ids=tuple(head.runs["run_id"]),
                evidence=group_evidence(group.source, group.records, (head.best, "best run"),
                                        (head.baseline, "baseline run")),
                facts={"experiment": group.subject, "runs": int(len(head.runs)), "baseline_kind": head.baseline_kind,
                       "improvement": round(head.improvement, 6), "family": metric_family(head.metric),
                       "direction": head.direction, **work_facts(head)},
                identity=(campaign,),
            ))
        return findings


def same_pair_moves(head: Comparison, others: list[Comparison]) -> list[Metric]:
    """The other winning metrics as they moved between the head's own baseline and best run,
    so every number in the draft comes from one pair of runs."""
    moves = []
    for c in others:
        pair = head.pair(c.metric)
        if pair is None:
            continue
        before, after = pair
        if (after > before) if c.direction == "up" else (after < before):
            moves.append(Metric(c.metric, before, after, metric_unit(c.metric)))
    return moves


@dataclass(frozen=True)
class LatencyReductionRule(EfficiencyRule):
    """Latency (p50/p95/p99, ms) down or throughput up past a threshold."""

    families: ClassVar[tuple[str, ...]] = ("latency", "throughput")
    finding_kind: ClassVar[str] = "latency_reduction"
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "latency_reduction", "Latency cuts", family="ml", rank=2, check_in=True, needs_outcome=True,
        dimensions=("efficiency",), noun="latency cut", wording="harvester.drafting.wording.ml:word_efficiency"),)
    kinds: ClassVar[frozenset[str]] = frozenset({"run"})
    description: ClassVar[str] = "p50/p95/p99 latency down, or throughput up, by min_relative_improvement."


@dataclass(frozen=True)
class CostReductionRule(EfficiencyRule):
    """Cost or memory down past a threshold."""

    families: ClassVar[tuple[str, ...]] = ("cost", "memory")
    finding_kind: ClassVar[str] = "cost_reduction"
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "cost_reduction", "Cost reductions", family="ml", rank=3, check_in=True, needs_outcome=True,
        dimensions=("efficiency",), noun="cost cut", wording="harvester.drafting.wording.ml:word_efficiency"),)
    kinds: ClassVar[frozenset[str]] = frozenset({"run"})
    description: ClassVar[str] = "Serving or training cost, or memory, down by min_relative_improvement."
