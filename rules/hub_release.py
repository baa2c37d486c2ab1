"""Models and datasets I published or updated on the Hugging Face Hub: one draft per
repository and period, naming what changed (the commit titles) and, for a public model, its
downloads and likes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Iterable, Sequence

from harvester.models import Evidence, Finding, Metric, Record
from harvester.records import read_hub_repo_attributes
from harvester.rules.base import DetectContext, RecordGroup, RollupRule
from harvester.rules.engineering import check_period
from harvester.rules.kinds import FindingKind
from harvester.timeutil import period_of

HUB_TITLES = 3  # commit titles a finding keeps, newest first


@dataclass(frozen=True)
class HubReleaseRule(RollupRule):
    """Revisions I pushed to a model or dataset repository on the Hub."""

    kinds: ClassVar[frozenset[str]] = frozenset({"hub_repo"})
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "hub_release", "Models and datasets on the Hub", rank=3, check_in=True, needs_outcome=True,
        dimensions=("production-mlops",), noun="Hub repository",
        wording="harvester.drafting.wording.hub:word_hub_release"),)
    description: ClassVar[str] = ("Models and datasets you published or updated on the Hugging Face Hub, one draft "
                                  "per repository per period, naming your commit titles, with downloads and likes "
                                  "as the outcome of a public model.")

    period: str = "quarter"
    min_revisions: int = 1

    def __post_init__(self):
        check_period(self.period)
        if self.min_revisions < 1:
            raise ValueError("min_revisions must be at least 1")

    def bucket(self, group: RecordGroup, record: Record) -> tuple[str, str, str, str] | None:
        if not record.mine:
            return None
        repo_type = read_hub_repo_attributes(record)["repo_type"]
        return group.source, repo_type, group.subject, period_of(record.occurred_at, self.period)

    def summarise(self, key: tuple[str, str, str, str], records: Sequence[Record],
                  context: DetectContext) -> Iterable[Finding]:
        source, repo_type, repo, period = key
        unique = {r.external_id: r for r in records}
        records = sorted(unique.values(), key=lambda r: (r.occurred_at, r.external_id))
        if len(records) < self.min_revisions:
            return
        latest = max(records, key=lambda r: (read_hub_repo_attributes(r)["last_modified"], r.occurred_at))
        now = read_hub_repo_attributes(latest)
        created = parse_iso(now["created_at"])
        released = repo_type == "model" and not now["private"]
        downloads = (now["downloads_all_time"] if now["downloads_all_time"] is not None else now["downloads"]) \
            if released else None
        likes = now["likes"] if released else None
        metrics = [Metric("revisions", None, float(len(records)))]
        if downloads is not None:
            metrics.append(Metric("downloads", None, float(downloads)))
        if likes is not None:
            metrics.append(Metric("likes", None, float(likes)))
        titles = [read_hub_repo_attributes(r)["commit_title"] or r.title for r in reversed(records)]
        evidence = [Evidence(url=r.url, label=f"revision {read_hub_repo_attributes(r)['commit'][:7]} of {repo}",
                             source=source) for r in records[-5:] if r.url]
        yield Finding(
            rule=self.rule_name(), kind="hub_release", source=source, subject=repo,
            occurred_at=records[-1].occurred_at, period=period, metrics=tuple(metrics),
            record_ids=tuple(r.external_id for r in records), evidence=tuple(evidence),
            facts={"repo": repo, "repo_type": repo_type, "period": period, "revisions": len(records),
                   "titles": titles[:HUB_TITLES], "published": bool(created and period_of(created, self.period)
                                                                    == period),
                   "downloads": downloads, "likes": likes,
                   "downloads_window": "all time" if now["downloads_all_time"] is not None else "30 days",
                   "pipeline_tag": now["pipeline_tag"]},
            identity=(repo_type, period),
        )


def parse_iso(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
