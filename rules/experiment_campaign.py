from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable

from harvester.rules.kinds import FindingKind
from harvester.models import Finding
from harvester.rules.base import DetectContext, RecordGroup
from harvester.rules.key_metric import KeyMetricRule
from harvester.rules.run_table import varied_params


@dataclass(frozen=True)
class ExperimentCampaignRule(KeyMetricRule):
    """Many runs in one campaign on an experiment that never beat the baseline: a negative result."""

    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "experiment_campaign", "Ideas ruled out", family="ml", rank=4, recap=("experiments", "negative_results"),
        dimensions=("experimentation",), noun="negative result",
        wording="harvester.drafting.wording.ml:word_experiment_campaign"),)
    description: ClassVar[str] = ("min_runs or more runs in a campaign that never beat the baseline: a ruled-out idea "
                                  '("ruled out X after N runs").')

    min_runs: int = 8
    min_relative_lift: float = 0.02

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        findings = []
        for campaign, cmp in self.comparisons(group, context):
            if len(cmp.runs) < self.min_runs or cmp.improvement >= self.min_relative_lift:
                continue
            findings.append(self.make_finding("experiment_campaign", group, campaign, cmp, cmp.runs["time"].max(),
                                              {"explored": varied_params(cmp.runs), "bar": self.min_relative_lift}))
        return findings
