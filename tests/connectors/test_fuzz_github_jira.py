"""Property tests: GitHub and Jira answers in their documented shapes, mutated (keys dropped,
values replaced by None, wrong types, huge numbers, NUL and control characters, empty strings,
nested garbage, lists cut short). Whatever arrives, a parser or a connector raises nothing but
the project's own errors, and a malformed item costs only that item."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.config import IdentitySettings
from harvester.connectors.base import HarvestWindow
from harvester.connectors.github.connector import GithubConnector
from harvester.connectors.github.graphql import graphql_field_missing, graphql_message, graphql_unsupported
from harvester.connectors.github.http import GithubHttp, Response, rate_limit_wait, seconds_in
from harvester.connectors.github.settings import GithubSettings
from harvester.redact import quote_server_message
from harvester.connectors.github.parse import (details_by_id, item_version, merge_pr_details, parse_deployment,
                                               parse_pull_request, parse_release, parse_review_contribution,
                                               parse_reviewed_pull, parse_time)
from harvester.connectors.jira.connector import JiraConnector, JiraSettings, translate_error
from harvester.connectors.coerce import finite_number
from harvester.connectors.jira.parse import (dedupe_key, load_zone, parse_issue, parse_jira_time,
                                             user_id, user_ids)
from harvester.errors import HarvesterError
from harvester.models import Record
from harvester.settings import build_settings
from tests.support.cli import run_cli, write_config
from tests.support.github_fake import (BOT, ME, OTHER, T0, FakeGithub, default_details, deployment, graphql_page, iso,
                                       pr_item, release, review_node, url_pattern)
from tests.support.jira import (CLOUD, SERVER, cloud_user, issue, jql_page, myself_cloud, myself_server,
                                parent_ref, search_page, server_user)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.data_too_large])
FEWER = settings(FUZZ, max_examples=100)  # each example runs a connector over a whole page
NOW = datetime.now(timezone.utc).replace(microsecond=0)

# mutations -------------------------------------------------------------------------------------

ODD_TEXT = st.text(st.sampled_from(["\x00", "\x01", "\x1b", "\n", "\r", "\t", "\u202e", "\ufeff", "a", "Z", "-",
                                    ":", "T", "+", "0", "9", "é", "🚀", " "]), max_size=12)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.just(""), st.just("\x00"), ODD_TEXT,
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.sampled_from([10 ** 400, -(10 ** 400), 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-13-45T99:99:99Z",
                     "not a date", "null", "Infinity", "NaN", "1e9999"]),
)
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                    max_leaves=6)
ACTIONS = ("keep",) * 6 + ("recurse",) * 3 + ("drop", "junk")


def mutate(draw, value, depth: int = 0):
    """`value` with some of its keys dropped, values swapped for junk and lists cut short."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            action = draw(st.sampled_from(ACTIONS))
            if action == "drop":
                continue
            out[key] = draw(JUNK) if action == "junk" else mutate(draw, item, depth + 1) if action == "recurse" \
                else item
        return out
    if isinstance(value, list):
        kept = value[: draw(st.integers(0, len(value)))] if value and draw(st.booleans()) else list(value)
        return [mutate(draw, item, depth + 1) for item in kept]
    return draw(JUNK) if draw(st.integers(0, 3)) == 0 else value


@st.composite
def mutated(draw, bases):
    """One of `bases`, mutated; now and then replaced whole by junk."""
    base = draw(st.sampled_from(bases))
    if draw(st.integers(0, 19)) == 0:
        return draw(JUNK)
    return mutate(draw, json.loads(json.dumps(base)))


def only_own_errors(call, *args):
    """The call's result, or None when it raised one of the project's errors. Anything else
    escapes, and hypothesis reports it."""
    try:
        return call(*args)
    except HarvesterError:
        return None


def check_record(record) -> None:
    """A record the store can keep: JSON attributes and payload, an aware time, a text id."""
    if record is None:
        return
    assert isinstance(record, Record)
    assert isinstance(record.external_id, str) and record.external_id
    assert record.occurred_at.tzinfo is not None
    assert record.url is None or isinstance(record.url, str)
    assert record.actor is None or isinstance(record.actor, str)
    json.dumps(record.attributes, allow_nan=True)
    json.dumps(record.payload, allow_nan=True)


# GitHub bases, in the documented shapes ------------------------------------------------------------

PRS = [pr_item(7, labels=("ml", "fraud")), pr_item(8, user=BOT, body=None), pr_item(9, merged=None),
       merge_pr_details(pr_item(10), default_details(pr_item(10)))]
REVIEWS = [review_node(1, T0), review_node(2, T0, ids="old"), review_node(3, T0, author=None),
           review_node(4, T0, author=BOT)]
RELEASES = [release(1, "v1.0.0", T0), release(2, "v2.0.0", T0, draft=True),
            release(3, "v3.0.0", T0 - timedelta(days=200), published=T0)]
DEPLOYMENTS = [deployment(51, "production", T0), deployment(52, "staging", T0, creator=OTHER)]
DETAILS = [default_details(pr_item(10)), {"id": "PR_x", "additions": 2, "deletions": 1, "changedFiles": 1,
                                          "reviews": {"nodes": [{"author": None}, {"author": {"login": "grace"}}]}}]


@FUZZ
@given(mutated(PRS), st.sampled_from([ME["id"], None]))
def test_pull_request_parser(item, me):
    check_record(only_own_errors(parse_pull_request, item, "github", me, 4000))
    only_own_errors(item_version, item)


@FUZZ
@given(mutated(PRS), mutated(DETAILS))
def test_pr_details_merge(item, node):
    if isinstance(item, dict):
        merged = merge_pr_details(item, node)
        check_record(only_own_errors(parse_pull_request, merged, "github", ME["id"]))
    details_by_id([node, node])
    details_by_id(node)


@FUZZ
@given(mutated(REVIEWS))
def test_review_contribution_parser(node):
    check_record(only_own_errors(parse_review_contribution, node, "github", ME["id"]))


TEAM_PRS = [{**merge_pr_details(pr_item(11), default_details(pr_item(11))), "review_nodes": [
    {"id": "PRR_kwDO000001", "fullDatabaseId": "800001", "state": "APPROVED", "submittedAt": iso(T0),
     "url": "https://github.com/acme/fraud/pull/11#pullrequestreview-800001", "author": {"login": "grace"}},
    {"id": "PRR_kwDO000002", "databaseId": 800002, "state": "COMMENTED", "submittedAt": None,
     "url": None, "author": {"login": "ada"}}]}]


@FUZZ
@given(mutated(TEAM_PRS + PRS))
def test_team_pull_parser(item):
    from types import SimpleNamespace

    from harvester.connectors.github.settings import GithubSettings
    from harvester.connectors.github.team import parse_team_pull

    connector = SimpleNamespace(instance="github", settings=GithubSettings(orgs=("acme",)),
                                skip_malformed=lambda exc: None)
    for record in only_own_errors(parse_team_pull, item, connector, frozenset({"ada", "grace"})) or []:
        check_record(record)


@FUZZ
@given(mutated(PRS))
def test_reviewed_pull_parser(item):
    check_record(only_own_errors(parse_reviewed_pull, item, "github", ME["id"]))


@FUZZ
@given(mutated(RELEASES))
def test_release_parser(item):
    check_record(only_own_errors(parse_release, item, "github", "acme/fraud", ME["id"]))


@FUZZ
@given(mutated(DEPLOYMENTS))
def test_deployment_parser(item):
    check_record(only_own_errors(parse_deployment, item, "github", "acme/fraud", ME["id"], "https://github.com"))


@FUZZ
@given(JUNK)
def test_time_and_header_readers(value):
    parse_time(value)
    parse_jira_time(value)
    seconds_in(value)
    quote_server_message(value)
    load_zone(value)
    finite_number(value)
    user_id(value)
    user_ids(value)


GRAPHQL_ERRORS = [{"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
                  {"errors": [{"path": ["query"], "extensions": {"code": "undefinedField", "fieldName": "fullDatabaseId"},
                               "message": "Field 'fullDatabaseId' doesn't exist on type 'PullRequestReview'"}]},
                  {"message": "You have exceeded a secondary rate limit.", "documentation_url": "https://docs"}]
HEADERS = {"retry-after": "42", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1800000030",
           "x-ratelimit-resource": "graphql", "etag": 'W/"1"', "link": '<https://api.github.com/x?page=2>; rel="next"'}


@FUZZ
@given(st.sampled_from([200, 304, 400, 401, 403, 404, 422, 429, 500, 502]), mutated(GRAPHQL_ERRORS),
       st.dictionaries(st.sampled_from(sorted(HEADERS)), st.one_of(st.sampled_from(list(HEADERS.values())),
                                                                 ODD_TEXT, st.sampled_from(["nan", "inf", "1e400"]))))
def test_rate_limits_and_error_messages(status, data, headers):
    response = Response(status, headers, data)
    wait = rate_limit_wait(response, 1_800_000_000.0)
    assert wait is None or (wait[1] >= 0 and wait[1] == wait[1])
    errors = data.get("errors") if isinstance(data, dict) else data
    graphql_unsupported(errors)
    graphql_field_missing(errors, "fullDatabaseId")
    assert "\n" not in graphql_message(errors)
    http = GithubHttp.__new__(GithubHttp)
    http.source, http.settings = "github", GithubSettings()
    if status >= 400:
        assert "\n" not in str(http.error_for(response, "/search/issues?q=x"))


# GitHub connector: mutated pages, no network ---------------------------------------------------------


class ScriptedHttp:
    """Stands in for GithubHttp: each GET or GraphQL call answers with the next page given."""

    def __init__(self, pages):
        self.pages = list(pages)

    def answer(self) -> Response:
        return Response(200, {}, self.pages.pop(0)) if self.pages else Response(200, {}, None)

    def get(self, url, params=None, etag=None):
        return self.answer()

    def graphql(self, query, variables):
        return self.answer()

    def close(self):
        pass


def github_connector(pages, **table) -> GithubConnector:
    table = {"user_id": ME["id"], "max_retries": 0, "seconds_between_requests": 0, "repos": ["acme/fraud"], **table}
    connector = GithubConnector("github", build_settings(GithubSettings, table, "[connectors.github]"),
                                IdentitySettings(), sleep=lambda s: None, clock=lambda: 1_800_000_000.0)
    connector._http = ScriptedHttp(pages)
    return connector


def harvest_stream(connector, stream):
    window = HarvestWindow(since=T0 - timedelta(days=400), forced=False, started_at=T0 + timedelta(days=1))
    records = only_own_errors(lambda: list(connector.fetch(stream, None, window))) or []
    for record in records:
        check_record(record)
    return records


@st.composite
def search_pages(draw):
    page = {"total_count": 3, "incomplete_results": False, "items": [pr_item(1), pr_item(2), pr_item(3)]}
    return draw(mutated([page]))


@FUZZ
@given(search_pages(), mutated([{"data": {"nodes": DETAILS}}]))
def test_pull_request_search_pages(page, details):
    harvest_stream(github_connector([page, details]), "pull_requests")


@FUZZ
@given(mutated([graphql_page(REVIEWS, "Y3Vyc29y"), graphql_page(REVIEWS[:1], None)]))
def test_review_pages(page):
    harvest_stream(github_connector([page], reviews=True), "reviews")


@FUZZ
@given(mutated([RELEASES, DEPLOYMENTS]), st.sampled_from(["releases", "deployments"]))
def test_release_and_deployment_pages(page, stream):
    harvest_stream(github_connector([page]), stream)


@FEWER
@given(st.lists(mutated(PRS), min_size=1, max_size=4))
def test_malformed_search_items_cost_only_themselves(items):
    good = pr_item(99)
    connector = github_connector([{"total_count": len(items) + 1, "items": [*items, good]}], pr_details=False)
    records = list(connector.fetch("pull_requests", None, HarvestWindow(T0 - timedelta(days=90), True, T0)))
    assert str(good["id"]) in {r.external_id for r in records}


# Jira ----------------------------------------------------------------------------------------

JIRA_SETTINGS = build_settings(JiraSettings, {"url": CLOUD, "email": "ada@example.com",
                                              "epic_link_field": "customfield_10014",
                                              "story_points_field": "customfield_10016"}, "[connectors.jira]")
ISSUES = [issue("ML-1", "Train the fraud model", assignee=cloud_user(), labels=["ml"], customfield_10016=3.0),
          issue("ML-2", "Child", parent=parent_ref("ML-40", "Fraud v2"), customfield_10014="ML-40"),
          issue("ML-40", "Fraud v2", type="Epic", priority=None, resolution=None),
          issue("OPS-7", "Outage", type="Incident", priority="Highest", assignee=server_user(site=SERVER),
                site=SERVER),
          issue("ML-5", "Sub-task", type="Sub-task", parent=parent_ref("ML-1", "Story", type="Story"))]


@FUZZ
@given(mutated(ISSUES))
def test_issue_parser(raw):
    record = only_own_errors(parse_issue, raw, "jira", CLOUD, frozenset({"5b10a2844c20165700ede21g"}), JIRA_SETTINGS)
    check_record(record)
    if record is not None:
        dedupe_key(record)


class ScriptedJira:
    """Stands in for the `jira` client: /myself and each search call answer with what is given."""

    def __init__(self, me, pages):
        self.me, self.pages = me, list(pages)

    def myself(self):
        return self.me

    def next_page(self):
        return self.pages.pop(0) if self.pages else {"issues": [], "isLast": True, "total": 0}

    def enhanced_search_issues(self, *args, **kwargs):
        return self.next_page()

    def search_issues(self, *args, **kwargs):
        return self.next_page()

    def close(self):
        pass


def jira_connector(me, pages, deployment: str) -> JiraConnector:
    site = CLOUD if deployment == "cloud" else SERVER
    table = {"url": site, "deployment": deployment, "email": "ada@example.com" if deployment == "cloud" else ""}
    connector = JiraConnector("jira", build_settings(JiraSettings, table, "[connectors.jira]"), IdentitySettings())
    connector._client = ScriptedJira(me, pages)
    return connector


@FUZZ
@given(mutated([myself_cloud(), myself_server()]),
       st.lists(mutated([jql_page(ISSUES, "tok"), jql_page(ISSUES[:2]), search_page(ISSUES, 0, 5, 10)]),
                max_size=3),
       st.sampled_from(["cloud", "server"]))
def test_jira_pages(me, pages, deployment):
    """Outside the connector's error translation, so that a crash is not hidden as a ConnectorError."""
    connector = jira_connector(me, pages, deployment)
    only_own_errors(connector.load_profile, None)
    parse = lambda i: parse_issue(i, "jira", connector.settings.site, frozenset(), connector.settings)  # noqa: E731
    for record in only_own_errors(lambda: list(connector.parse_each(connector.search("x"), parse))) or []:
        check_record(record)


@FEWER
@given(st.lists(mutated(ISSUES), min_size=1, max_size=4))
def test_malformed_issues_cost_only_themselves(raws):
    good = issue("ML-99", "Good one")
    connector = jira_connector(myself_cloud(), [jql_page([*raws, good])], "cloud")
    window = HarvestWindow(since=NOW - timedelta(days=90), forced=True, started_at=NOW)
    assert "ML-99" in {r.attributes["key"] for r in connector.fetch("issues", None, window)}


class FakeJiraError(Exception):
    def __init__(self, status_code, text, url):
        super().__init__(text)
        self.status_code, self.text, self.url, self.response = status_code, text, url, None


@FUZZ
@given(st.one_of(st.none(), st.sampled_from([400, 401, 403, 404, 410, 429, 500, 503, 999])), JUNK, JUNK)
def test_jira_error_translation(status, text, url):
    error = translate_error("jira", JIRA_SETTINGS, FakeJiraError(status, text, url))
    assert "\n" not in str(error).strip()


# the summary reports what was skipped --------------------------------------------------------------


@pytest.fixture
def cli_config(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fuzz_test_token")
    monkeypatch.setenv("JIRA_API_TOKEN", "atl-fuzz-token")
    return write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"

[store]
url = "{database_url}"

[connectors.github]
type = "github"
max_retries = 0
seconds_between_requests = 0
reviews = false

[connectors.jira]
type = "jira"
url = "{CLOUD}"
email = "ada@example.com"
max_retries = 0
""")


def serve_malformed_items(rsps) -> None:
    broken_pr = pr_item(2)
    broken_pr["pull_request"] = "merged"
    no_number = pr_item(3)
    no_number["number"] = None
    FakeGithub(rsps).install()
    items = [pr_item(1), broken_pr, no_number, pr_item(4)]
    rsps.replace(responses.GET, url_pattern("/search/issues"),
                 json={"total_count": len(items), "incomplete_results": False, "items": items})
    rsps.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    no_key = issue("ML-2", "No key")
    del no_key["key"]
    rsps.get(f"{CLOUD}/rest/api/2/search/jql", json=jql_page([issue("ML-1", "Good"), no_key, issue("ML-3", "Good")]))


def test_harvest_skips_malformed_items_and_says_so(cli_config, isolated_home, database_url):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_malformed_items(rsps)
        result = run_cli("--config", str(cli_config), "harvest", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    sources = {s["source"]: s for s in summary["sources"]}
    assert sources["github"]["records"] == 2 and sources["github"]["error"] is None
    assert sources["github"]["skipped_malformed"] == {"pull requests": 2}
    assert sources["jira"]["records"] == 2 and sources["jira"]["skipped_malformed"] == {"issues": 1}
    from harvester.nightly import default_log_path

    log = default_log_path(database_url).read_text(encoding="utf-8")
    assert "skipped malformed pull requests 900003: no usable 'number'" in log
    assert "skipped malformed issues" in log

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_malformed_items(rsps)
        text = run_cli("--config", str(cli_config), "harvest", "--since", "90d")
    assert text.exit_code == 0, text.output
    assert "github: 2 pull requests skipped as malformed, see the log" in text.stderr
    assert "jira: 1 issues skipped as malformed" in text.stderr or "jira: 1 issue skipped" in text.stderr
