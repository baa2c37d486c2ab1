from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable

from harvester.models import Finding
from harvester.rules.base import DetectContext, RecordGroup
from harvester.rules.key_metric import KeyMetricRule


@dataclass(frozen=True)
class MetricLiftRule(KeyMetricRule):
    """The best of my runs in one campaign on an experiment beats its baseline on the key metric."""

    description: ClassVar[str] = "Best run of an experiment beats its baseline on the key metric by a threshold."

    min_relative_lift: float = 0.02
    min_absolute_lift: float = 0.0

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        findings = []
        for campaign, cmp in self.comparisons(group, context):
            if not cmp.best["mine"] or cmp.improvement < self.min_relative_lift \
                    or abs(cmp.after - cmp.before) < self.min_absolute_lift:
                continue
            findings.append(self.make_finding("metric_lift", group, campaign, cmp, cmp.best["time"], {
                "best_run": cmp.best["name"], "baseline_run": cmp.baseline["name"]}))
        return findings
