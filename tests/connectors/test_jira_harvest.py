"""`harvester harvest` with a Jira Cloud connector configured: drafts out, nothing twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import responses

from tests.support.cli import run_cli, write_config
from tests.support.jira import (CLOUD, cloud_user, issue, jql_page, myself_cloud, parent_ref, query_of)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
JQL_URL = f"{CLOUD}/rest/api/2/search/jql"
ME = cloud_user()


def done(key, summary, days_ago, **kw):
    resolved = NOW - timedelta(days=days_ago)
    kw.setdefault("created", resolved - timedelta(days=3))
    kw.setdefault("assignee", ME)
    return issue(key, summary, resolved=resolved, updated=resolved + timedelta(minutes=5), **kw)


def quarter_of_work() -> list[dict]:
    """A quarter of Jira work, oldest update first, as /search/jql would page it."""
    epic = parent_ref("ML-40", "Fraud model v2")
    migration = parent_ref("ML-50", "Feature store migration")
    issues = [
        done("ML-41", "Build merchant-level features for fraud v2", 60, parent=epic),
        done("ML-42", "Train and evaluate the fraud v2 candidate", 45, parent=epic),
        done("ML-40", "Fraud model v2", 30, type="Epic", created=NOW - timedelta(days=72)),
        done("ML-51", "Port the user features to the new store", 28, parent=migration),
        done("ML-52", "Backfill ninety days of features", 21, parent=migration),
        done("ML-60", "Add drift alerts to the scoring service", 14),
        done("ML-61", "Write the alert runbook", 14, type="Sub-task", parent=parent_ref("ML-60", "x", type="Story")),
        done("ML-62", "Bump numpy to 2.1", 12, type="Task"),
        done("OPS-7", "Feature store lag broke fraud scoring", 9, type="Incident", priority="Highest",
             created=NOW - timedelta(days=9, hours=2)),
        done("ML-70", "Scores are NaN for new merchants", 7, type="Bug", priority="High"),
        done("ML-71", "Retrain on the wrong week", 6, resolution="Duplicate"),
        done("ML-80", "Réduire la latence du modèle de fraude 🚀 " * 30, 3, assignee=None, priority=None),
    ]
    return sorted(issues, key=lambda i: i["fields"]["updated"])


@pytest.fixture
def config(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", "atl-token")
    return write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"

[store]
url = "{database_url}"

[connectors.jira]
type = "jira"
url = "{CLOUD}"
email = "ada@example.com"
token_env = "JIRA_API_TOKEN"
page_size = 5
max_retries = 0
""")


def cli_json(*args):
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def serve_pages(mock, issues, size):
    pages = [issues[i:i + size] for i in range(0, len(issues), size)] or [[]]
    for n, page in enumerate(pages):
        token = f"tok{n + 1}" if n + 1 < len(pages) else None
        match = [responses.matchers.query_param_matcher({"nextPageToken": f"tok{n}"}, strict_match=False)] if n \
            else []
        mock.get(JQL_URL, json=jql_page(page, token), match=match)


def test_harvest_drafts_tickets_epics_and_incidents_once(config):
    issues = quarter_of_work()
    with responses.RequestsMock() as mock:
        mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
        serve_pages(mock, issues, 5)
        summary = cli_json("--config", str(config), "harvest", "--since", "90d", "--json")
        assert len(mock.calls) == 1 + 3  # myself + ceil(12 / 5) pages; no serverInfo, no /field
    assert summary["ok"], summary
    [source] = summary["sources"]
    assert source["source"] == "jira" and source["records"] == 12 and source["error"] is None

    drafts = {(d["kind"], d["subject"]): d for d in cli_json("--config", str(config), "drafts", "list", "--json")}
    assert sorted(drafts) == [("epic_completed", "ML-40"), ("incident_resolved", "ML-70"),
                              ("incident_resolved", "OPS-7"), ("ticket_resolved", "ML-50"),
                              ("ticket_resolved", "ML-60"), ("ticket_resolved", "ML-80")]
    epic = drafts[("epic_completed", "ML-40")]
    assert epic["statement"] == 'Completed epic ML-40 "Fraud model v2" in 6 weeks, resolving 2 issues of it myself.'
    assert epic["evidence"] == [f"{CLOUD}/browse/ML-40", f"{CLOUD}/browse/ML-41", f"{CLOUD}/browse/ML-42"]
    assert "business-impact" in epic["tags"]
    rollup = drafts[("ticket_resolved", "ML-50")]
    assert rollup["statement"] == ('Resolved 2 tickets toward epic ML-50 "Feature store migration" '
                                   '(ML-51, ML-52).')
    assert drafts[("ticket_resolved", "ML-60")]["evidence"] == [f"{CLOUD}/browse/ML-60"]
    outage = drafts[("incident_resolved", "OPS-7")]
    assert outage["statement"] == ('Resolved Highest-priority incident OPS-7 "Feature store lag broke fraud scoring" '
                                   'within 2 hours of it being raised.')
    assert "production-mlops" in outage["tags"] and outage["impact_prompt"]
    assert drafts[("ticket_resolved", "ML-80")]["statement"].startswith('Resolved ML-80 "Réduire la latence')

    # Nightly: one search from the watermark; Jira repeats the last issue (overlap) and nothing is added.
    with responses.RequestsMock() as mock:
        mock.get(JQL_URL, json=jql_page(issues[-1:]))
        again = cli_json("--config", str(config), "harvest", "--json")
        assert len(mock.calls) == 1
        jql = query_of(mock.calls[0])["jql"][0]
    assert again["ok"] and again["sources"][0]["records"] == 0
    assert again["drafts"]["new"] == 0 and again["drafts"]["updated"] == 0
    assert len(cli_json("--config", str(config), "drafts", "list", "--status", "all", "--json")) == 6
    last = datetime.fromisoformat(issues[-1]["fields"]["updated"])
    assert (last - timedelta(minutes=10)).astimezone(timezone(timedelta(hours=1))).strftime("%Y-%m-%d %H:%M") in jql


def test_a_failing_jira_does_not_stop_the_run_summary(config, tmp_path):
    with responses.RequestsMock() as mock:
        mock.get(f"{CLOUD}/rest/api/2/myself", status=401, json={"errorMessages": ["Unauthorized"], "errors": {}})
        result = run_cli("--config", str(config), "harvest", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert not summary["ok"] and "JIRA_API_TOKEN" in summary["sources"][0]["error"]
    assert "atl-token" not in result.output


def test_cloud_without_email_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", "atl-token")
    config = write_config(tmp_path / "harvester.toml", f"""
[connectors.jira]
type = "jira"
url = "{CLOUD}"
""")
    result = run_cli("--config", str(config), "harvest")
    assert result.exit_code == 2
    assert "[connectors.jira]" in result.output and "email" in result.output and "Traceback" not in result.output
