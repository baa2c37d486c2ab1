"""Releases and production deployments of mine: one draft per repository and period.

Teams that deploy continuously create many deployments a week, so a single one is never a
draft; what counts is the period's tally per repository, with the releases named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Sequence

from harvester.rules.kinds import FindingKind
from harvester.models import Evidence, Finding, Metric, Record
from harvester.records import read_deployment_attributes, read_release_attributes
from harvester.rules.base import DetectContext, RecordGroup, RollupRule
from harvester.rules.engineering import check_period
from harvester.timeutil import period_of


@dataclass(frozen=True)
class ReleaseShippedRule(RollupRule):
    """Releases I published and deployments I made to a production environment."""

    kinds: ClassVar[frozenset[str]] = frozenset({"release", "deployment"})
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "release_shipped", "Releases and deployments", rank=2, check_in=True, dimensions=("production-mlops",),
        noun="release", wording="harvester.drafting.wording.work:word_release_shipped"),)
    description: ClassVar[str] = ("Releases you published (not pre-releases) and your deployments to a production "
                                  "environment, one draft per repository per period; deployments made by bots draft "
                                  "nothing.")

    period: str = "quarter"
    environments: tuple[str, ...] = ("production", "prod", "live")
    min_deployments: int = 1

    def __post_init__(self):
        check_period(self.period)
        if self.min_deployments < 1:
            raise ValueError("min_deployments must be at least 1")

    def counts(self, record: Record) -> bool:
        if not record.mine:
            return False
        if record.kind == "release":
            release = read_release_attributes(record)
            return not release["is_bot"] and not release["prerelease"]
        deployment = read_deployment_attributes(record)
        if deployment["is_bot"]:
            return False
        # GitHub marks an environment as production itself; names cover servers and older records.
        return deployment["production"] or \
            str(deployment["environment"] or "").strip().lower() in {e.lower() for e in self.environments}

    def bucket(self, group: RecordGroup, record: Record) -> tuple[str, str, str] | None:
        if not self.counts(record):
            return None
        return group.source, group.subject, period_of(record.occurred_at, self.period)

    def summarise(self, key: tuple[str, str, str], records: Sequence[Record],
                  context: DetectContext) -> Iterable[Finding]:
        source, repo, period = key
        records = sorted(records, key=lambda r: (r.occurred_at, r.external_id))
        releases = [r for r in records if r.kind == "release"]
        deployments = [r for r in records if r.kind == "deployment"]
        if not releases and len(deployments) < self.min_deployments:
            return
        metrics = []
        if releases:
            metrics.append(Metric("releases", None, float(len(releases))))
        if deployments:
            metrics.append(Metric("production deployments", None, float(len(deployments))))
        evidence = [Evidence(url=r.url, label=f"release {read_release_attributes(r)['tag'] or r.title}", source=source)
                    for r in releases[-5:] if r.url]
        if deployments and deployments[-1].url:
            evidence.append(Evidence(url=deployments[-1].url, label=f"deployments of {repo}", source=source))
        yield Finding(
            rule=self.rule_name(), kind="release_shipped", source=source, subject=repo,
            occurred_at=records[-1].occurred_at, period=period, metrics=tuple(metrics),
            record_ids=tuple(r.external_id for r in records), evidence=tuple(evidence),
            facts={"repo": repo, "period": period,
                   "releases": [read_release_attributes(r)["tag"] or r.title for r in releases],
                   "deployments": len(deployments),
                   "environments": sorted({str(read_deployment_attributes(r)["environment"]) for r in deployments})},
            identity=(period,),
        )
