"""ticket_resolved, epic_completed and incident_resolved over issues parsed from Jira payloads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import groupby

import pytest

from harvester.connectors.jira.connector import JiraSettings
from harvester.connectors.jira.parse import parse_issue
from harvester.errors import ConfigError
from harvester.registry import build_rules, rule_classes
from harvester.rules.base import DetectContext, RecordGroup
from harvester.rules.tickets import EpicCompletedRule, IncidentResolvedRule, TicketResolvedRule
from harvester.settings import build_settings
from harvester.drafting.wording import word_finding
from tests.support.jira import CLOUD, ME_ACCOUNT, cloud_user, issue, parent_ref

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
SETTINGS = build_settings(JiraSettings, {"url": CLOUD, "story_points_field": "customfield_10016"}, "t")
ME = cloud_user()


def records(*issues):
    return [parse_issue(i, "jira", CLOUD, frozenset({ME_ACCOUNT}), SETTINGS) for i in issues]


def detect(rule, recs):
    """Run a rule the way the drafting step does: one group per (source, kind, subject)."""
    found = []
    recs = sorted(recs, key=lambda r: (r.subject, r.occurred_at))
    for subject, group in groupby(recs, key=lambda r: r.subject):
        found.extend(rule.detect(RecordGroup("jira", "issue", subject, list(group)), DetectContext(now=NOW)))
    return found


def story(key, summary, days_ago=5, **kw):
    resolved = NOW - timedelta(days=days_ago)
    kw.setdefault("created", resolved - timedelta(days=4))
    return issue(key, summary, resolved=resolved, assignee=ME, **kw)


EPIC = parent_ref("ML-50", "Feature store migration")


def test_a_substantial_ticket_is_one_finding_keyed_by_the_issue():
    [finding] = detect(TicketResolvedRule(), records(
        story("ML-60", "Add drift alerts to the scoring service", labels=["fraud"], customfield_10016=5)))
    assert finding.kind == "ticket_resolved" and finding.subject == "ML-60"
    assert finding.facts["key"] == "ML-60" and finding.facts["summary"] == "Add drift alerts to the scoring service"
    assert [e.url for e in finding.evidence] == [f"{CLOUD}/browse/ML-60"]
    assert finding.occurred_at == NOW - timedelta(days=5)
    statement, prompt = word_finding(finding)
    assert statement == 'Resolved ML-60 "Add drift alerts to the scoring service" (Story, 5 story points) in 4 days.'
    assert "ML-60" in prompt and prompt.endswith("?")


@pytest.mark.parametrize("raw", [
    story("ML-61", "Write the eval notebook", type="Sub-task", parent=parent_ref("ML-60", "Story", type="Story")),
    story("ML-62", "Update the CI image", type="Task", customfield_10016=0.5),
    story("ML-63", "Fix typo in the README"),
    story("ML-64", "Bump numpy to 2.1"),
    story("ML-65", "Cleanup"),
], ids=["sub-task", "tiny-estimate", "typo", "bump", "one-word"])
def test_trivial_tickets_draft_nothing_on_their_own(raw):
    assert detect(TicketResolvedRule(), records(raw)) == []


def test_tickets_under_an_open_epic_roll_up_into_one_finding_for_the_epic():
    recs = records(story("ML-51", "Port the user features to the new store", parent=EPIC, days_ago=20),
                   story("ML-52", "Backfill ninety days of features", parent=EPIC, days_ago=9, customfield_10016=3),
                   story("ML-53", "Fix typo in feature names", parent=EPIC, days_ago=4, customfield_10016=1),
                   story("ML-60", "Add drift alerts to the scoring service"))
    found = {f.subject: f for f in detect(TicketResolvedRule(), recs)}
    assert sorted(found) == ["ML-50", "ML-60"]
    rollup = found["ML-50"]
    assert rollup.facts["key"] == "ML-50" and rollup.facts["summary"] == "Feature store migration"
    assert rollup.facts["keys"] == ["ML-51", "ML-52", "ML-53"] and rollup.facts["tickets"] == 3
    assert [e.url for e in rollup.evidence] == [f"{CLOUD}/browse/{k}" for k in ("ML-50", "ML-51", "ML-52", "ML-53")]
    assert rollup.occurred_at == NOW - timedelta(days=4)
    statement, _ = word_finding(rollup)
    assert statement == ('Resolved 3 tickets toward epic ML-50 "Feature store migration" '
                         '(ML-51, ML-52, ML-53; 4 story points).')


def test_a_rollup_keeps_its_fingerprint_as_tickets_are_added():
    one = detect(TicketResolvedRule(), records(story("ML-51", "Port the user features", parent=EPIC)))
    two = detect(TicketResolvedRule(), records(story("ML-51", "Port the user features", parent=EPIC),
                                               story("ML-52", "Backfill ninety days of features", parent=EPIC)))
    assert [f.fingerprint for f in one] == [f.fingerprint for f in two]
    assert word_finding(one[0])[0] == ('Resolved ML-51 "Port the user features" toward epic ML-50 '
                                       '"Feature store migration".')


def test_trivial_tickets_under_an_epic_need_several_to_roll_up():
    typo = [story(f"ML-5{i}", f"Fix typo number {i}", parent=EPIC) for i in range(1, 4)]
    assert detect(TicketResolvedRule(), records(*typo[:2])) == []
    [rollup] = detect(TicketResolvedRule(), records(*typo))
    assert rollup.subject == "ML-50" and rollup.facts["tickets"] == 3


def test_a_completed_epic_counts_its_children_and_absorbs_them():
    recs = records(story("ML-50", "Feature store migration", type="Epic", days_ago=2, created=NOW - timedelta(days=44)),
                   story("ML-51", "Port the user features to the new store", parent=EPIC, days_ago=20,
                         customfield_10016=5),
                   story("ML-52", "Backfill ninety days of features", parent=EPIC, days_ago=9, customfield_10016=3))
    [epic] = detect(EpicCompletedRule(), recs)
    assert epic.kind == "epic_completed" and epic.subject == "ML-50"
    assert epic.facts["children"] == 2 and epic.facts["keys"] == ["ML-51", "ML-52"]
    assert epic.evidence[0].url == f"{CLOUD}/browse/ML-50" and len(epic.evidence) == 3
    assert word_finding(epic)[0] == ('Completed epic ML-50 "Feature store migration" in 6 weeks, resolving 2 issues '
                                     'of it myself (8 story points).')
    assert detect(TicketResolvedRule(), recs) == []  # no separate drafts for its tickets


def test_an_epic_neither_mine_nor_worked_on_is_not_my_accomplishment():
    other = issue("ML-70", "Platform upgrade", type="Epic", assignee=cloud_user("someone-else"),
                  resolved=NOW - timedelta(days=3))
    assert detect(EpicCompletedRule(), records(other)) == []
    mine = story("ML-71", "Ranking v2", type="Epic", days_ago=3)
    [epic] = detect(EpicCompletedRule(), records(mine))
    assert epic.facts["children"] == 0 and word_finding(epic)[0].endswith("as its owner.")


def test_incidents_and_high_priority_bugs_are_incidents_not_tickets():
    recs = records(
        story("OPS-7", "Feature store lag broke fraud scoring", type="Incident", priority="Highest",
              created=NOW - timedelta(days=5, hours=3, minutes=30)),
        story("ML-80", "Scores are NaN for new merchants", type="Bug", priority="High"),
        story("ML-81", "Export button misaligned on the dashboard", type="Bug", priority="Low"))
    incidents = {f.subject: f for f in detect(IncidentResolvedRule(), recs)}
    assert sorted(incidents) == ["ML-80", "OPS-7"]
    assert incidents["OPS-7"].facts["hours"] == 3.5
    assert word_finding(incidents["OPS-7"])[0] == ('Resolved Highest-priority incident OPS-7 "Feature store lag broke '
                                                   'fraud scoring" within 3.5 hours of it being raised.')
    assert word_finding(incidents["ML-80"])[0].startswith('Resolved High-priority bug ML-80 "Scores are NaN')
    assert [f.subject for f in detect(TicketResolvedRule(), recs)] == ["ML-81"]


@pytest.mark.parametrize("resolution", ["Duplicate", "Won't Do", "Won’t Fix", "Cannot Reproduce"])
def test_closed_without_doing_it_is_not_an_accomplishment(resolution):
    recs = records(story("OPS-8", "Scoring outage", type="Incident", priority="Highest", resolution=resolution),
                   story("ML-90", "Add drift alerts to the scoring service", resolution=resolution),
                   story("ML-91", "Ranking v3", type="Epic", resolution=resolution))
    for rule in (TicketResolvedRule(), EpicCompletedRule(), IncidentResolvedRule()):
        assert detect(rule, recs) == []


def test_long_unicode_summaries_are_cut_in_the_statement():
    summary = "Réduire la latence du modèle de fraude 🚀 " * 40
    [finding] = detect(TicketResolvedRule(), records(story("ML-99", summary)))
    assert finding.facts["summary"] == summary.strip()
    statement, _ = word_finding(finding)
    assert statement.startswith('Resolved ML-99 "Réduire la latence du modèle de fraude 🚀') and "…\"" in statement
    assert len(statement) < 160


def test_rules_are_registered_and_take_parameters_from_the_config():
    classes = rule_classes()
    assert {"ticket_resolved", "epic_completed", "incident_resolved"} <= set(classes)
    assert "ticket" not in classes
    rules = {r.rule_name(): r for r in build_rules({"ticket_resolved": {"min_story_points": 3,
                                                                        "trivial_types": ["Chore", "Spike"]},
                                                    "epic_completed": {"enabled": False}}, "harvester.toml")}
    assert "epic_completed" not in rules
    tuned = rules["ticket_resolved"]
    assert tuned.min_story_points == 3 and tuned.trivial_types == ("Chore", "Spike")
    assert detect(tuned, records(story("ML-60", "Add drift alerts to the scoring service",
                                       customfield_10016=2))) == []
    with pytest.raises(ConfigError, match="min_story_point"):
        build_rules({"ticket_resolved": {"min_story_point": 3}}, "harvester.toml")
