"""A GitLab answer that echoes the token (a misconfigured proxy or debug endpoint) never puts it
in what is printed, logged or stored; see test_echoed_secrets_github_jira for the checks."""

from __future__ import annotations

import pytest
import responses

from harvester.redact import forget_secrets
from tests.connectors.test_echoed_secrets_github_jira import assert_nowhere, echo, outputs_of, secret_forms
from tests.support.cli import run_cli, write_config
from tests.support.gitlab_fake import api_pattern

GITLAB_TOKEN = "glpat-Echo7Secret9Token3xyz"


@pytest.fixture(autouse=True)
def no_remembered_secrets():
    forget_secrets()
    yield
    forget_secrets()


@pytest.mark.parametrize("status", [400, 401, 403])
@pytest.mark.parametrize("as_json", [True, False], ids=["json-body", "text-body"])
@pytest.mark.parametrize("padding", [0, 185], ids=["whole", "cut"])
def test_gitlab_error_echoing_the_token(tmp_path, database_url, isolated_home, monkeypatch, status, as_json, padding):
    monkeypatch.setenv("GITLAB_TOKEN", GITLAB_TOKEN)
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"

[store]
url = "{database_url}"

[connectors.gitlab]
type = "gitlab"
token_env = "GITLAB_TOKEN"
reviews = false
max_retries = 0
""")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.GET, api_pattern("/user"), callback=echo(status, GITLAB_TOKEN, as_json, padding))
        harvest = run_cli("--config", str(config), "harvest")
        as_json_run = run_cli("--config", str(config), "harvest", "--json")
    assert harvest.exit_code == 1 and as_json_run.exit_code == 1
    assert_nowhere(secret_forms(GITLAB_TOKEN), config, database_url, isolated_home,
                   *outputs_of(harvest), *outputs_of(as_json_run))
