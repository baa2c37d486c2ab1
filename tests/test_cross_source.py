"""One `harvester harvest --since 90d` over MLflow (a real server on loopback), GitHub and Jira
(their payloads, through `responses`): a lift, the PR that shipped it and the ticket it closed
come out as one draft with every source's evidence, and a second harvest adds nothing."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import responses

from tests.support import jira
from tests.support.cli import run_cli, write_config
from tests.support.github_fake import FakeGithub, pr_item
from tests.support.mlflow_server import MlflowSeeder

pytestmark = pytest.mark.mlflow_server

NOW = datetime.now(timezone.utc).replace(microsecond=0)
JQL_URL = f"{jira.CLOUD}/rest/api/2/search/jql"


def seed_lift(seeder: MlflowSeeder, experiment: str, me: str) -> str:
    """A tagged baseline and ten improving runs of mine; returns the best run's id."""
    exp = seeder.experiment(experiment)
    start = NOW - timedelta(days=60)
    seeder.run(exp, me, start, {"val_auc": 0.80}, tags={"baseline": "true"})
    best = ""
    for i in range(10):
        best = seeder.run(exp, me, start + timedelta(days=2 + i * 3), {"val_auc": 0.80 + 0.007 * (i + 1)})
    return best


def harvest(config):
    result = run_cli("--config", str(config), "harvest", "--since", "90d", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_one_harvest_over_three_sources_links_one_accomplishment(mlflow_server, mlflow_env, database_url,
                                                                 tmp_path, monkeypatch):
    uid = uuid.uuid4().hex[:8]
    me, experiment = f"ada-{uid}", f"fraud-{uid}"
    best = seed_lift(MlflowSeeder(mlflow_server.client()), experiment, me)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_cross_source")
    monkeypatch.setenv("JIRA_API_TOKEN", "atl-cross-source")
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"
handles = ["{me}"]

[store]
url = "{database_url}"

[connectors.mlflow]
type = "mlflow"
tracking_uri = "{mlflow_server.url}"
experiments = ["fraud-{uid}"]
max_retries = 0

[connectors.github]
type = "github"
reviews = false
max_retries = 0
seconds_between_requests = 0

[connectors.jira]
type = "jira"
url = "{jira.CLOUD}"
email = "ada@example.com"
token_env = "JIRA_API_TOKEN"
max_retries = 0
""")
    merged = NOW - timedelta(days=20)
    ticket = jira.issue("FRAUD-12", "Cut false negatives on card-not-present fraud", resolved=merged,
                        updated=merged + timedelta(minutes=5), created=merged - timedelta(days=10),
                        assignee=jira.cloud_user())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(mlflow_server.url)  # the real tracking server
        github = FakeGithub(rsps).install()
        github.prs = [
            pr_item(42, "Serve the focal-loss fraud model", merged=merged,
                    body=f"Implements FRAUD-12.\n\nBest run: {mlflow_server.url}/#/experiments/1/runs/{best}"),
            pr_item(43, "Fix typo in README", merged=merged + timedelta(days=1)),
        ]
        rsps.get(f"{jira.CLOUD}/rest/api/2/myself", json=jira.myself_cloud())
        rsps.get(JQL_URL, json=jira.jql_page([ticket]))

        first = harvest(config)
        assert first["ok"], first
        by_source = {s["source"]: s for s in first["sources"]}
        # other tests' models on the shared server show up as registry records, never as drafts
        assert by_source["mlflow"]["streams"]["runs"] == 11
        assert by_source["github"]["records"] == 2 and by_source["jira"]["records"] == 1

        drafts = json.loads(run_cli("--config", str(config), "drafts", "list", "--json").stdout)
        [lift] = drafts  # the typo fix drafts nothing; PR and ticket joined the lift
        assert lift["kind"] == "metric_lift" and lift["subject"] == experiment
        assert 'Merged in PR acme/fraud#42 "Serve the focal-loss fraud model" for ticket FRAUD-12.' in lift["statement"]
        assert any(best in url and url.startswith(mlflow_server.url) for url in lift["evidence"])
        assert "https://github.com/acme/fraud/pull/42" in lift["evidence"]
        assert f"{jira.CLOUD}/browse/FRAUD-12" in lift["evidence"]
        assert {(x["source"], x["kind"]) for x in lift["linked"]} == {("github", "pr_shipped"),
                                                                       ("jira", "ticket_resolved")}

        again = harvest(config)
        assert again["ok"] and again["drafts"]["new"] == 0 and again["drafts"]["updated"] == 0
    after = json.loads(run_cli("--config", str(config), "drafts", "list", "--status", "all", "--json").stdout)
    assert [d["id"] for d in after] == [lift["id"]]
