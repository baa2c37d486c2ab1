"""A kind a plugin rule declares reaches the digest and the report through its declaration alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import ClassVar

import pytest

from harvester.config import Config
from harvester.rules.kinds import FindingKind
from harvester.models import Draft, Entry, utcnow
from harvester.rules.base import Rule

WHEN = datetime(2026, 8, 3, 12, tzinfo=timezone.utc)


@dataclass(frozen=True)
class PaperPublishedRule(Rule):
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "paper_published", "Papers published", rank=9, check_in=True, needs_outcome=True,
        recap=("papers_published",)),)
    description: ClassVar[str] = "A paper I co-authored was accepted."


@pytest.fixture
def paper_rule(monkeypatch):
    from harvester import registry
    from harvester.drafting.kinds import kind_registry

    builtin = registry.rule_classes()
    monkeypatch.setattr(registry, "rule_classes", lambda: {**builtin, "paper_published": PaperPublishedRule})
    kind_registry.cache_clear()
    yield
    kind_registry.cache_clear()


def draft(fingerprint: str, kind: str, statement: str) -> Draft:
    return Draft(id=None, fingerprint=fingerprint, status="pending", kind=kind, source="arxiv", subject="ranking",
                 occurred_at=utcnow() - timedelta(days=1), statement=statement, impact_prompt="")


def test_digest_groups_a_plugin_kind_under_its_title_after_the_built_in_kinds(store, paper_rule):
    from harvester.digest.build import build_digest
    from harvester.digest.model import DigestSettings
    from harvester.digest.render import render_text

    store.save_draft(draft("f-paper", "paper_published", "Paper on listwise ranking accepted at a workshop"))
    store.save_draft(draft("f-lift", "metric_lift", "Improved ndcg@10 of search-ranker"))
    digest = build_digest(store, Config(path=None), DigestSettings())
    assert [(g.kind, g.title) for g in digest.groups] == [
        ("metric_lift", "Model metric lifts"), ("paper_published", "Papers published")]
    assert "== Papers published (1) ==" in render_text(digest)


def test_check_ins_follow_the_kinds_declared_with_check_in(store, paper_rule):
    from harvester.digest.build import select_checkins
    from harvester.digest.model import DigestSettings

    paper = store.add_entry(Entry(id=None, text="Paper accepted", occurred_at=WHEN, kind="paper_published"))
    store.add_entry(Entry(id=None, text="Reviewed a PR", occurred_at=WHEN, kind="review_given"))
    due = select_checkins(store, DigestSettings(), utcnow() + timedelta(weeks=5))
    assert [e.id for e in due] == [paper.id]
    assert select_checkins(store, DigestSettings(checkin_kinds=("metric_lift",)), utcnow() + timedelta(weeks=5)) == []


def test_report_counts_titles_and_chases_the_outcome_of_a_plugin_kind(store, paper_rule):
    from harvester.report.build import build_report
    from harvester.report.formats import render_report
    from harvester.drafting.rubric import load_framework

    paper = store.add_entry(Entry(id=None, text="Paper on listwise ranking accepted", occurred_at=WHEN,
                                  kind="paper_published", tags=("partnership-mentorship",)))
    store.add_entry(Entry(id=None, text="Merged PR #12", occurred_at=WHEN, kind="pr_shipped", source="github"))
    report = build_report(store, load_framework(), since=datetime(2026, 8, 1, tzinfo=timezone.utc),
                          until=datetime(2026, 9, 1, tzinfo=timezone.utc))
    assert report.recap.labels["papers_published"] == "Papers published"
    assert report.recap.counts["papers_published"] == 1 and report.recap.counts["prs_merged"] == 1
    assert list(report.recap.labels)[-1] == "entries"  # a plugin's counter shows before the total
    assert [r.entry.id for r in report.missing_outcomes] == [paper.id]  # declared needs_outcome

    md = render_report(report, "md")
    assert "- Papers published: 1" in md
    assert "- **2026-08**: 2 entries (Papers published: 1, Pull requests shipped: 1)" in md
    html_text = render_report(report, "html")
    assert "<dt>Papers published</dt><dd>1</dd>" in html_text
    assert "Papers published: 1, Pull requests shipped: 1" in html_text
    data = json.loads(render_report(report, "json"))
    assert data["recap"]["counts"]["papers_published"] == 1
    assert data["recap"]["kind_titles"] == {"paper_published": "Papers published",
                                            "pr_shipped": "Pull requests shipped"}
