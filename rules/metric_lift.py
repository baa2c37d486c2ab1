from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable

from harvester.rules.kinds import FindingKind
from harvester.models import Finding, Metric
from harvester.rules.base import DetectContext, RecordGroup
from harvester.rules.key_metric import KeyMetricRule
from harvester.rules.metric_names import metric_unit
from harvester.rules.run_table import other_quality_moves


@dataclass(frozen=True)
class MetricLiftRule(KeyMetricRule):
    """The best of my runs in one campaign on an experiment beats its baseline on the key metric."""

    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "metric_lift", "Model metric lifts", family="ml", rank=0, check_in=True, needs_outcome=True,
        recap=("experiments",), dimensions=("model-performance", "experimentation"), noun="lift",
        wording="harvester.drafting.wording.ml:word_metric_lift"),)
    description: ClassVar[str] = ("The best of your runs in a campaign beats its baseline on the experiment's key "
                                  "metric by min_relative_lift.")

    min_relative_lift: float = 0.02
    min_absolute_lift: float = 0.0

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        findings = []
        for campaign, cmp in self.comparisons(group, context):
            if not cmp.best["mine"] or cmp.improvement < self.min_relative_lift \
                    or abs(cmp.after - cmp.before) < self.min_absolute_lift:
                continue
            also = tuple(Metric(name, before, after, metric_unit(name))
                         for name, before, after in other_quality_moves(cmp, overrides=self.directions))
            findings.append(self.make_finding("metric_lift", group, campaign, cmp, cmp.best["time"], {
                "best_run": cmp.best["name"], "baseline_run": cmp.baseline["name"]}, also))
        return findings
