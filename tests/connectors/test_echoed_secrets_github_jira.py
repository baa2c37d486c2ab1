"""A server that echoes the request's Authorization header (and the token itself) in an error
body must not get the token into anything the harvester writes: the output of `harvest` and
`status`, the log file, or the database."""

from __future__ import annotations

import base64
import json
import re

import pytest
import responses
import sqlalchemy as sa

from harvester.redact import forget_secrets
from tests.support.cli import run_cli, write_config
from tests.support.github_fake import API, ME, graphql_pattern, url_pattern
from tests.support.jira import CLOUD, SERVER, myself_cloud, myself_server

GITHUB_TOKEN = "ghp_EchoTestToken0123456789abcdefABCD"
JIRA_TOKEN = "ATATT3xFfGF0-echo-token+value/Zq9="
JIRA_PAT = "NjE2OTk1MjA3OTQ2OkEchoPersonalAccessToken"
EMAIL = "ada@example.com"


@pytest.fixture(autouse=True)
def no_remembered_secrets():
    forget_secrets()
    yield
    forget_secrets()


def secret_forms(token: str, username: str | None = None) -> list[str]:
    """The token, its Basic form, and their first halves (what a message cut short would keep)."""
    forms = [token]
    if username:
        forms.append(base64.b64encode(f"{username}:{token}".encode()).decode())
    return forms + [form[: len(form) // 2] for form in forms]


def echo(status: int, token: str, as_json: bool = True, padding: int = 0):
    """A `responses` callback answering `status` with the request's Authorization header and
    the raw token in its body, as a misconfigured proxy or debug endpoint does. `padding`
    characters come first, so that a message cut at a fixed length cuts the token."""

    def callback(request):
        header = request.headers.get("Authorization", "")
        text = "x" * padding + f"{token} Received Authorization: {header}; headers={dict(request.headers)}"
        if not as_json:
            return status, {"content-type": "text/plain"}, text
        return status, {"content-type": "application/json"}, json.dumps(
            {"message": text, "errorMessages": [text], "errors": {},
             "documentation_url": "https://docs.github.com/rest"})

    return callback


def assert_nowhere(forms: list[str], config, database_url: str, home, *outputs: str) -> None:
    status = run_cli("--config", str(config), "status")
    status_json = run_cli("--config", str(config), "status", "--json")
    texts = {"output": "\n".join(outputs), "status": status.output, "status --json": status_json.output}
    for log in home.rglob("*.log*"):
        texts[f"log {log.name}"] = log.read_text(encoding="utf-8", errors="replace")
    assert any(name.startswith("log ") for name in texts), "the harvest wrote no log to check"
    texts["database"] = dump_database(database_url)
    # The echo did arrive, and was masked, in what was printed and in harvest_runs.error.
    assert "[redacted]" in texts["output"] and "[redacted]" in texts["database"]
    for where, text in texts.items():
        for form in forms:
            assert form not in text, f"the token reached {where}"


def dump_database(url: str) -> str:
    engine = sa.create_engine(url)
    rows = []
    with engine.connect() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        for table in meta.sorted_tables:
            rows.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    engine.dispose()
    return "\n".join(rows)


def outputs_of(result) -> list[str]:
    return [result.output, result.stdout, result.stderr or ""]


# GitHub ---------------------------------------------------------------------------------------


@pytest.fixture
def github_config(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)

    def write(**table) -> object:
        extra = "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items())
        return write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"

[store]
url = "{database_url}"

[connectors.github]
type = "github"
token_env = "GITHUB_TOKEN"
max_retries = 0
seconds_between_requests = 0
pr_details = false
{extra}
""")

    return write


def empty_search(rsps):
    rsps.add(responses.GET, url_pattern("/search/issues"),
             json={"total_count": 0, "incomplete_results": False, "items": []})


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize("as_json", [True, False], ids=["json-body", "text-body"])
@pytest.mark.parametrize("padding", [0, 185], ids=["whole", "cut"])
def test_github_rest_error_echoing_the_token(github_config, database_url, isolated_home, status, as_json, padding):
    config = github_config(reviews=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.GET, url_pattern("/user"),
                          callback=echo(status, GITHUB_TOKEN, as_json, padding))
        harvest = run_cli("--config", str(config), "harvest")
        as_json_run = run_cli("--config", str(config), "harvest", "--json")
    assert harvest.exit_code == 1 and as_json_run.exit_code == 1
    assert f"HTTP {status}" in harvest.output
    assert_nowhere(secret_forms(GITHUB_TOKEN), config, database_url, isolated_home,
                   *outputs_of(harvest), *outputs_of(as_json_run))


@pytest.mark.parametrize("status", [400, 401])
def test_github_graphql_error_echoing_the_token(github_config, database_url, isolated_home, status):
    config = github_config(reviews=True, user_id=ME["id"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        empty_search(rsps)
        rsps.add_callback(responses.POST, graphql_pattern(API), callback=echo(status, GITHUB_TOKEN))
        harvest = run_cli("--config", str(config), "harvest")
        as_json_run = run_cli("--config", str(config), "harvest", "--json")
    assert harvest.exit_code == 1
    assert json.loads(as_json_run.stdout)["sources"][0]["error"]
    assert_nowhere(secret_forms(GITHUB_TOKEN), config, database_url, isolated_home,
                   *outputs_of(harvest), *outputs_of(as_json_run))


def test_github_graphql_error_entry_echoing_the_token(github_config, database_url, isolated_home):
    """A 200 whose GraphQL `errors` quote the header."""
    config = github_config(reviews=True, user_id=ME["id"])

    def callback(request):
        header = request.headers.get("Authorization", "")
        return 200, {}, json.dumps({"errors": [{"type": "FORBIDDEN", "message": f"Denied for {header}"}]})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        empty_search(rsps)
        rsps.add_callback(responses.POST, graphql_pattern(API), callback=callback)
        harvest = run_cli("--config", str(config), "harvest")
    assert harvest.exit_code == 1
    assert_nowhere(secret_forms(GITHUB_TOKEN), config, database_url, isolated_home, *outputs_of(harvest))


# Jira -----------------------------------------------------------------------------------------


def jira_config(tmp_path, database_url, site: str, email: str = "", deployment: str = "auto"):
    return write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"

[store]
url = "{database_url}"

[connectors.jira]
type = "jira"
url = "{site}"
deployment = "{deployment}"
email = "{email}"
token_env = "JIRA_API_TOKEN"
max_retries = 0
""")


@pytest.mark.parametrize("endpoint, padding", [("myself", 0), ("search/jql", 0), ("search/jql", 290)])
def test_jira_cloud_400_echoing_the_basic_credential(tmp_path, database_url, isolated_home, monkeypatch, endpoint,
                                                     padding):
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    config = jira_config(tmp_path, database_url, CLOUD, email=EMAIL)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        if endpoint != "myself":
            rsps.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(CLOUD)}/rest/api/2/{endpoint}(\?.*)?$"),
                          callback=echo(400, JIRA_TOKEN, padding=padding))
        harvest = run_cli("--config", str(config), "harvest")
        as_json_run = run_cli("--config", str(config), "harvest", "--json")
    assert harvest.exit_code == 1 and "HTTP 400" in harvest.output
    assert_nowhere(secret_forms(JIRA_TOKEN, EMAIL), config, database_url, isolated_home,
                   *outputs_of(harvest), *outputs_of(as_json_run))


def test_jira_server_400_echoing_the_personal_access_token(tmp_path, database_url, isolated_home, monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_PAT)
    config = jira_config(tmp_path, database_url, SERVER, deployment="server")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{SERVER}/rest/api/2/myself", json=myself_server())
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(SERVER)}/rest/api/2/search(\?.*)?$"),
                          callback=echo(400, JIRA_PAT))
        harvest = run_cli("--config", str(config), "harvest")
        as_json_run = run_cli("--config", str(config), "harvest", "--json")
    assert harvest.exit_code == 1 and "HTTP 400" in harvest.output
    assert "Bearer [redacted]" in harvest.output or "[redacted] Received" in harvest.output
    assert_nowhere(secret_forms(JIRA_PAT), config, database_url, isolated_home,
                   *outputs_of(harvest), *outputs_of(as_json_run))
