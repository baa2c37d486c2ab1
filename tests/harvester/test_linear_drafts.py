"""Linear issues and projects, harvested from recorded payloads into a store, draft through the
ticket rules unchanged, and a PR naming a Linear identifier joins the ticket it names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses

from harvester.config import parse_config
from harvester.drafting.redraft import redraft
from harvester.harvest import run_harvest
from harvester.rules.references import find_references
from tests.harvester.test_linking import pr_record
from tests.support.linear_fake import API_KEY, FakeLinear, make_issue, make_project

NOW = datetime.now(timezone.utc).replace(microsecond=0)
RANKING = make_project("Ranking v2", completed=NOW - timedelta(days=1), started=NOW - timedelta(days=30))
DRIFT = make_project("Drift monitoring", started=NOW - timedelta(days=20))  # still under way


@pytest.fixture
def config():
    return parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]},
                         "connectors": {"linear": {"type": "linear", "max_retries": 0}}}, None)


@pytest.fixture
def harvested(store, config, monkeypatch):
    monkeypatch.setenv("LINEAR_API_KEY", API_KEY)
    fake = FakeLinear(projects=[RANKING])
    fake.issues += [
        make_issue(123, "Cache ranking features in Redis", completed=NOW - timedelta(days=2),
                   created=NOW - timedelta(days=7), estimate=3),
        make_issue(124, "Backfill drift baselines", completed=NOW - timedelta(days=3), project=DRIFT, estimate=5),
        make_issue(130, "Train the v2 ranker", completed=NOW - timedelta(days=4), project=RANKING, estimate=8),
        make_issue(131, "Shadow-deploy the v2 ranker", completed=NOW - timedelta(days=2), project=RANKING),
        make_issue(140, "Try a bigger embedding model", canceled=NOW - timedelta(days=2), estimate=5),
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        summary = run_harvest(store, config, since="30d")
    assert summary.ok, summary.sources[0].error
    return store


def test_linear_identifiers_are_found_as_ticket_references():
    assert find_references("Fixes ENG-123 and OPS-7 (see ML2-40)")["jira"] == ["ENG-123", "OPS-7", "ML2-40"]


def test_a_completed_issue_drafts_a_ticket_resolved_statement_with_its_url(harvested, config):
    redraft(harvested, config, now=NOW)
    drafts = harvested.list_drafts(["pending"])
    [ticket] = [d for d in drafts if d.kind == "ticket_resolved" and "ENG-123" in d.statement]
    assert ticket.statement == 'Resolved ENG-123 "Cache ranking features in Redis" (3 story points) in 5 days.'
    assert ticket.evidence[0].url.startswith("https://linear.app/acme/issue/eng-123/")
    [rollup] = [d for d in drafts if d.kind == "ticket_resolved" and "ENG-124" in d.statement]
    assert rollup.statement == 'Resolved ENG-124 "Backfill drift baselines" toward epic Drift monitoring (5 story points).'
    assert DRIFT["url"] in [e.url for e in rollup.evidence]
    [epic] = [d for d in drafts if d.kind == "epic_completed"]
    assert epic.statement.startswith("Completed epic Ranking v2 in 4 weeks, resolving 2 issues of it myself")
    assert RANKING["url"] == epic.evidence[0].url
    assert not any("ENG-140" in d.statement for d in drafts)  # canceled: drafts nothing
    assert len(drafts) == 3


def test_a_pr_naming_the_linear_identifier_joins_the_ticket(harvested, config):
    pr = pr_record(42, "ENG-123: cache ranking features", "Moves the feature lookups to Redis.")
    harvested.save_page([pr], None)
    redraft(harvested, config, now=NOW)
    [draft] = [d for d in harvested.list_drafts(["pending"]) if "ENG-123" in d.statement]
    assert draft.kind == "ticket_resolved"
    assert draft.statement.startswith('Resolved ENG-123 "Cache ranking features in Redis"')
    assert "https://github.com/acme/fraud/pull/42" in [e.url for e in draft.evidence]
    assert [(x["source"], x["kind"]) for x in draft.linked] == [("github-work", "pr_shipped")]
