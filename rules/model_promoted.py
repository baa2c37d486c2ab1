from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable

from harvester.rules.kinds import FindingKind
from harvester.models import Evidence, Finding, Metric
from harvester.records import read_model_promotion_attributes
from harvester.rules.base import DetectContext, RecordGroup, Rule
from harvester.rules.metric_names import metric_unit, rank_key_metrics
from harvester.timeutil import period_of

# Higher ranks win when one version reached several targets: one promotion, one draft.
TARGET_RANK = {"staging": 1, "candidate": 1, "challenger": 1}


@dataclass(frozen=True)
class ModelPromotedRule(Rule):
    """A version of my model moved to serving (alias or stage)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"model_promotion"})
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "model_promoted", "Models promoted to serving", family="ml", rank=1, check_in=True, needs_outcome=True,
        recap=("models_shipped",), dimensions=("model-performance", "production-mlops"), noun="promotion",
        wording="harvester.drafting.wording.ml:word_model_promoted"),)
    description: ClassVar[str] = "A version of your model moved to serving by alias or stage."

    period: str = "quarter"

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        by_version: dict[str, list] = {}
        for r in group.records:
            if r.mine:
                by_version.setdefault(str(read_model_promotion_attributes(r)["version"]), []).append(r)
        findings = []
        for version, recs in by_version.items():
            recs.sort(key=lambda r: (TARGET_RANK.get(read_model_promotion_attributes(r)["target"].lower(), 2),
                                     r.occurred_at))
            top = recs[-1]
            a = read_model_promotion_attributes(top)
            run_metrics = a["run_metrics"]
            key = rank_key_metrics(run_metrics)[:1]
            metrics = tuple(Metric(k, None, float(run_metrics[k]), metric_unit(k)) for k in key)
            evidence = [Evidence(url=top.url, label=f"{group.subject} v{version}", source=group.source)] if top.url else []
            if a["run_url"]:
                evidence.append(Evidence(url=a["run_url"], label="source run", source=group.source))
            findings.append(Finding(
                rule=self.rule_name(), kind="model_promoted", source=group.source, subject=group.subject,
                occurred_at=top.occurred_at, period=period_of(top.occurred_at, self.period), metrics=metrics,
                record_ids=tuple(r.external_id for r in recs), evidence=tuple(evidence),
                facts={"model": group.subject, "version": version, "target": a["target"], "via": a["via"],
                       # No promotion carries a key metric; the key stays so findings compare equal to stored ones.
                       "previous_version": a["previous_version"], "key_metric": None, "run_id": a["run_id"]},
                identity=(version,),
            ))
        return findings
