"""One `harvester harvest` over MLflow (a real server on loopback), GitLab and Linear (their
payloads, through `responses`): a GitLab merge request naming a Linear issue and the best MLflow
run joins the metric lift and the ticket into one draft with every source's evidence."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import responses

from tests.support import gitlab_fake, linear_fake
from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import MlflowSeeder
from tests.test_cross_source import NOW, harvest, seed_lift

pytestmark = pytest.mark.mlflow_server


def test_a_merge_request_naming_a_linear_issue_and_a_run_joins_the_lift(mlflow_server, mlflow_env, database_url,
                                                                        tmp_path, monkeypatch):
    uid = uuid.uuid4().hex[:8]
    me, experiment = f"ada-{uid}", f"fraud-{uid}"
    best = seed_lift(MlflowSeeder(mlflow_server.client()), experiment, me)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-cross-source")
    monkeypatch.setenv("LINEAR_API_KEY", linear_fake.API_KEY)
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"
handles = ["{me}", "ada"]

[store]
url = "{database_url}"

[connectors.mlflow]
type = "mlflow"
tracking_uri = "{mlflow_server.url}"
experiments = ["fraud-{uid}"]
max_retries = 0

[connectors.gitlab]
type = "gitlab"
username = "ada"
reviews = false
max_retries = 0

[connectors.linear]
type = "linear"
max_retries = 0
""")
    merged = NOW - timedelta(days=20)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(mlflow_server.url)  # the real tracking server
        gitlab = gitlab_fake.FakeGitlab(rsps).install()
        gitlab.mrs = [gitlab_fake.merge_request(
            7, "Serve the focal-loss fraud model", merged=merged,
            description=f"Closes ENG-123.\n\nBest run: {mlflow_server.url}/#/experiments/1/runs/{best}")]
        linear = linear_fake.FakeLinear()
        linear.issues = [linear_fake.make_issue(123, "Cut false negatives on card-not-present fraud",
                                                completed=merged + timedelta(hours=2),
                                                created=merged - timedelta(days=10))]
        linear.install(rsps)

        first = harvest(config)
        assert first["ok"], first
        by_source = {s["source"]: s for s in first["sources"]}
        assert by_source["gitlab"]["records"] == 1 and by_source["linear"]["records"] == 1

        drafts = json.loads(run_cli("--config", str(config), "drafts", "list", "--json").stdout)
        [lift] = drafts  # the merge request and the issue joined the lift
        assert lift["kind"] == "metric_lift" and lift["subject"] == experiment
        assert 'Merged in MR acme/fraud!7 "Serve the focal-loss fraud model" for ticket ENG-123.' in lift["statement"]
        assert any(best in url and url.startswith(mlflow_server.url) for url in lift["evidence"])
        assert "https://gitlab.com/acme/fraud/-/merge_requests/7" in lift["evidence"]
        assert any(url.startswith("https://linear.app/acme/issue/eng-123/") for url in lift["evidence"])
        assert {(x["source"], x["kind"]) for x in lift["linked"]} == {("gitlab", "pr_shipped"),
                                                                       ("linear", "ticket_resolved")}

        again = harvest(config)
        assert again["ok"] and again["drafts"]["new"] == 0 and again["drafts"]["updated"] == 0
