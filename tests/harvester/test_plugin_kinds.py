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


# -- registration through entry points ---------------------------------------------------------

PLUGIN_MODULES = {
    "paper_rules/__init__.py": "",
    "paper_rules/papers.py": '''
from dataclasses import dataclass
from typing import ClassVar

from harvester.rules.base import Rule


@dataclass(frozen=True)
class VenueRule(Rule):
    abstract: ClassVar[bool] = True


@dataclass(frozen=True)
class PaperPublishedRule(VenueRule):
    description: ClassVar[str] = "A paper I co-authored was accepted."


@dataclass(frozen=True)
class MetricLiftRule(Rule):
    description: ClassVar[str] = "A plugin's rule with a built-in's name."
''',
    "paper_rules/talks.py": '''
from dataclasses import dataclass

from harvester.rules.base import Rule
from paper_rules.papers import PaperPublishedRule  # registered once, from the module defining it


@dataclass(frozen=True)
class TalkGivenRule(Rule):
    pass
''',
}


@pytest.fixture
def fresh_registry():
    from harvester import registry
    from harvester.drafting.kinds import kind_registry

    registry.rule_classes.cache_clear(), registry.connector_targets.cache_clear(), kind_registry.cache_clear()
    yield registry
    registry.rule_classes.cache_clear(), registry.connector_targets.cache_clear(), kind_registry.cache_clear()


def install_rules_plugin(folder, monkeypatch, entry_point: str) -> None:
    """A plugin distribution on sys.path whose `harvester.rules` entry point is `entry_point`."""
    import sys

    for name, text in PLUGIN_MODULES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    info = folder / "paper_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: paper-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[harvester.rules]\npapers = {entry_point}\n")
    monkeypatch.syspath_prepend(str(folder))
    for module in ("paper_rules", "paper_rules.papers", "paper_rules.talks"):
        monkeypatch.delitem(sys.modules, module, raising=False)


def test_the_built_ins_are_the_entry_points_pyproject_declares(fresh_registry):
    import tomllib
    from pathlib import Path

    import harvester.rules

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"]
    assert fresh_registry.connector_targets() == declared["harvester.connectors"]
    assert declared["harvester.rules"] == {"builtin": "harvester.rules"}
    classes = fresh_registry.rule_classes()
    assert {"metric_lift", "pr_shipped", "ticket_resolved"} <= set(classes)
    assert all(cls.__module__.startswith("harvester.rules.") for cls in classes.values())
    assert fresh_registry.rule_classes_in(harvester.rules) == list(classes.values())


def test_a_plugin_package_registers_the_rules_of_every_module_in_it(fresh_registry, tmp_path, monkeypatch):
    builtin = fresh_registry.rule_classes()
    fresh_registry.rule_classes.cache_clear()
    install_rules_plugin(tmp_path, monkeypatch, "paper_rules")
    classes = fresh_registry.rule_classes()
    assert set(classes) == set(builtin) | {"paper_published", "talk_given"}  # not the abstract VenueRule
    assert classes["paper_published"].__module__ == "paper_rules.papers"
    assert classes["talk_given"].__module__ == "paper_rules.talks"
    assert classes["metric_lift"] is builtin["metric_lift"]  # a plugin never replaces a built-in


def test_a_plugin_module_registers_the_rules_defined_in_it(fresh_registry, tmp_path, monkeypatch):
    install_rules_plugin(tmp_path, monkeypatch, "paper_rules.talks")
    classes = fresh_registry.rule_classes()
    assert "talk_given" in classes and "paper_published" not in classes  # imported there, not defined


def test_a_plugin_class_entry_point_registers_that_class(fresh_registry, tmp_path, monkeypatch):
    install_rules_plugin(tmp_path, monkeypatch, "paper_rules.papers:PaperPublishedRule")
    classes = fresh_registry.rule_classes()
    assert "paper_published" in classes and "talk_given" not in classes


def test_without_harvester_s_entry_points_the_registry_names_the_fix(fresh_registry, monkeypatch):
    from harvester.errors import HarvesterError

    monkeypatch.setattr(fresh_registry, "distributions", lambda **_: [])
    with pytest.raises(HarvesterError, match=r"not registered .*: pip install -e \.$"):
        fresh_registry.connector_targets()
    with pytest.raises(HarvesterError, match=r"pip install -e \.$"):
        fresh_registry.rule_classes()
