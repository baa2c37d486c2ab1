"""The Jira connector against hand-written REST payloads (Cloud /search/jql, Server /search)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses

from harvester.config import IdentitySettings
from harvester.connectors.base import HarvestWindow
from harvester.connectors.jira.connector import JiraConnector, JiraSettings
from harvester.connectors.jira.parse import build_jql, format_jql_time, load_zone, parse_issue
from harvester.errors import AuthError, ConfigError, ConnectorError, MalformedItemError, TransientError
from harvester.harvest import harvest_source
from harvester.settings import build_settings
from tests.support.jira import (CLOUD, ME_ACCOUNT, OTHER_ACCOUNT, REMOVED_SEARCH, SERVER, cloud_user, field_list, issue,
                                jira_time, jql_page, myself_cloud, myself_server, parent_ref, query_of, search_page,
                                server_info, server_user)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
TOKEN = "atl-secret-token-value"
JQL_URL = f"{CLOUD}/rest/api/2/search/jql"
SEARCH_URL = f"{SERVER}/rest/api/2/search"


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)


@pytest.fixture
def mock():
    """HTTP mocked for the whole test; `mock.reset()` starts a new phase (next harvest)."""
    m = responses.RequestsMock(assert_all_requests_are_fired=False)
    m.start()
    yield m
    m.stop()
    m.reset()


def make_connector(**table) -> JiraConnector:
    table = {"url": CLOUD, "email": "ada@example.com", "max_retries": 0, **table}
    connector = JiraConnector("jira", build_settings(JiraSettings, table, "[connectors.jira]"), IdentitySettings())
    connector.check()
    return connector


def window(days: int = 90, forced: bool = False) -> HarvestWindow:
    return HarvestWindow(since=NOW - timedelta(days=days), forced=forced, started_at=NOW)


def fetch(connector, cursor=None, win=None) -> list:
    return list(connector.fetch("issues", cursor, win or window()))


def called(mock, path: str) -> int:
    return sum(1 for c in mock.calls if c.request.url.split("?")[0].endswith(path))


# Cloud ---------------------------------------------------------------------------------------


def test_cloud_follows_next_page_token_until_is_last(mock):
    mine = cloud_user()
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(f"{CLOUD}/rest/api/2/field", json=field_list())
    mock.get(JQL_URL, json=jql_page([issue("ML-1", "Train the fraud model", assignee=mine),
                                     issue("ML-2", "Ship the scorer", assignee=mine)], "CAEaAggD"),
             match=[responses.matchers.query_param_matcher({"maxResults": "2"}, strict_match=False)])
    mock.get(JQL_URL, json=jql_page([issue("ML-3", "Monitor drift", assignee=cloud_user(OTHER_ACCOUNT))]),
             match=[responses.matchers.query_param_matcher({"nextPageToken": "CAEaAggD"}, strict_match=False)])
    records = fetch(make_connector(page_size=2, deployment="cloud"))

    assert [r.attributes["key"] for r in records] == ["ML-1", "ML-2", "ML-3"]
    # myself + two pages: no serverInfo (deployment is explicit), no /field (ids need no mapping)
    assert [c.request.url.split("?")[0].rsplit("/api/2/", 1)[1] for c in mock.calls] == \
        ["myself", "search/jql", "search/jql"]
    first, second = (query_of(c) for c in mock.calls[1:])
    assert "nextPageToken" not in first and second["nextPageToken"] == ["CAEaAggD"]
    assert set(first["fields"]) == {"summary", "status", "resolution", "resolutiondate", "issuetype", "priority",
                                    "assignee", "reporter", "parent", "labels", "updated", "created", "project"}
    jql = first["jql"][0]
    assert "currentUser()" in jql and "statusCategory = Done" in jql and jql.endswith("ORDER BY updated ASC, key ASC")
    # the window is written in the API user's zone (Europe/Berlin), at minute precision
    since_local = (NOW - timedelta(days=90)).astimezone(load_zone("Europe/Berlin")).strftime("%Y-%m-%d %H:%M")
    assert f'updated >= "{since_local}"' in jql
    assert mock.calls[1].request.headers["Authorization"] == \
        "Basic " + base64.b64encode(f"ada@example.com:{TOKEN}".encode()).decode()
    assert records[0].attributes["assignee_is_me"] and not records[2].attributes["assignee_is_me"]
    assert records[0].url == f"{CLOUD}/browse/ML-1"


def test_cloud_site_is_recognised_from_its_address_without_server_info(mock):
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(JQL_URL, json=jql_page([]))
    assert fetch(make_connector()) == []
    assert called(mock, "serverInfo") == 0 and called(mock, "search/jql") == 1


@pytest.mark.parametrize("deployment,endpoint", [("Cloud", "search/jql"), ("Server", "search")])
def test_auto_detects_the_deployment_once_and_remembers_it(deployment, endpoint, mock):
    site = "https://jira.acme.example"
    connector = make_connector(url=site, email="" if deployment == "Server" else "ada@example.com")
    page = jql_page([issue("ML-7", "Retrain ranking model", site=site)]) if endpoint == "search/jql" \
        else search_page([issue("ML-7", "Retrain ranking model", site=site)], 0, 100, 1)
    mock.get(f"{site}/rest/api/2/serverInfo", json=server_info(deployment, site))
    mock.get(f"{site}/rest/api/2/myself", json=myself_cloud(site) if deployment == "Cloud" else myself_server(site))
    mock.get(f"{site}/rest/api/2/{endpoint}", json=page)
    records = fetch(connector)
    cursor = connector.advance_cursor("issues", None, records, final=True)
    connector.close()
    assert called(mock, "serverInfo") == 1 and called(mock, endpoint) == 1

    # the next harvest knows the deployment and the user: one request, the search
    mock.calls.reset()
    nightly = make_connector(url=site, email="" if deployment == "Server" else "ada@example.com")
    assert [r.attributes["key"] for r in fetch(nightly, cursor)] == []
    assert [c.request.url.split("?")[0].rsplit("/api/2/", 1)[1] for c in mock.calls] == [endpoint]
    assert [r.attributes["key"] for r in records] == ["ML-7"]


# Server / Data Center --------------------------------------------------------------------------


def test_server_pages_by_start_at_with_a_personal_access_token(mock):
    me = server_user()
    mock.get(f"{SERVER}/rest/api/2/myself", json=myself_server())
    # the server may lower maxResults; paging follows what it returned
    mock.get(SEARCH_URL, json=search_page([issue("DS-1", "Backfill labels", assignee=me, site=SERVER),
                                           issue("DS-2", "Tune the sampler", site=SERVER)], 0, 2, 3),
             match=[responses.matchers.query_param_matcher({"startAt": "0"}, strict_match=False)])
    mock.get(SEARCH_URL, json=search_page([issue("DS-3", "Add a holdout set", assignee=me, site=SERVER)], 2, 2, 3),
             match=[responses.matchers.query_param_matcher({"startAt": "2"}, strict_match=False)])
    records = fetch(make_connector(url=SERVER, deployment="server", email="", page_size=50))

    assert [r.attributes["key"] for r in records] == ["DS-1", "DS-2", "DS-3"]
    assert mock.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert query_of(mock.calls[1])["maxResults"] == ["50"]
    assert called(mock, "serverInfo") == 0 and called(mock, "field") == 0
    # identity by name/key on Server
    assert records[0].attributes["assignee_is_me"] and records[0].actor == "JIRAUSER10100"
    assert not records[1].attributes["assignee_is_me"]
    # New York is five hours behind UTC in winter: the watermark is written in that zone
    assert format_jql_time(NOW - timedelta(days=90), load_zone("America/New_York")) in query_of(mock.calls[1])["jql"][0]
    assert records[0].url == f"{SERVER}/browse/DS-1"


def test_server_with_no_results_makes_one_search(mock):
    mock.get(f"{SERVER}/rest/api/2/myself", json=myself_server())
    mock.get(SEARCH_URL, json=search_page([], 0, 100, 0))
    assert fetch(make_connector(url=SERVER, deployment="server", email="")) == []
    assert called(mock, "search") == 1


# errors ------------------------------------------------------------------------------------------


def harvest_error(connector, store) -> str:
    result = harvest_source(store, connector, window(), 1000)
    assert not result.ok
    return result.error


def test_cloud_site_configured_as_server_explains_the_removed_endpoint(store, mock):
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(f"{CLOUD}/rest/api/2/search", status=410, json=REMOVED_SEARCH)
    error = harvest_error(make_connector(deployment="server"), store)
    assert "410 Gone" in error and "/rest/api/2/search" in error and 'deployment = "cloud"' in error
    assert "removed" in error and TOKEN not in error


def test_old_endpoint_gone_raises_a_connector_error(mock):
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(f"{CLOUD}/rest/api/2/search", status=410, json=REMOVED_SEARCH)
    with pytest.raises(ConnectorError) as err:
        fetch(make_connector(deployment="server"))
    assert err.value.status == 410 and not isinstance(err.value, (AuthError, TransientError))


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_name_the_variable_and_the_site(status, store, mock):
    mock.get(f"{CLOUD}/rest/api/2/myself", status=status,
             json={"errorMessages": ["You are not authenticated. Authentication required to perform this "
                                     "operation."], "errors": {}})
    connector = make_connector()
    with pytest.raises(AuthError) as err:
        fetch(connector)
    error = harvest_error(make_connector(), store)
    for text in (str(err.value), error):
        assert "JIRA_API_TOKEN" in text and CLOUD in text and f"HTTP {status}" in text
        assert TOKEN not in text and base64.b64encode(f"ada@example.com:{TOKEN}".encode()).decode() not in text


def test_rate_limit_is_waited_out_without_sleeping(monkeypatch, mock):
    waits = []
    monkeypatch.setattr("jira.resilientsession.time.sleep", waits.append)
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(JQL_URL, status=429, headers={"Retry-After": "3"}, json={"errorMessages": ["Rate limit exceeded."]})
    mock.get(JQL_URL, json=jql_page([issue("ML-1", "Train the fraud model")]))
    records = fetch(make_connector(max_retries=1))
    assert [r.attributes["key"] for r in records] == ["ML-1"]
    assert called(mock, "search/jql") == 2
    assert len(waits) == 1 and 3 <= waits[0] <= 6  # Retry-After honoured (the client doubles it, with jitter)


def test_rate_limit_beyond_the_retries_is_transient(monkeypatch, mock):
    monkeypatch.setattr("jira.resilientsession.time.sleep", lambda s: pytest.fail("slept"))
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(JQL_URL, status=429, headers={"Retry-After": "30"}, json={"errorMessages": ["Rate limit exceeded."]})
    with pytest.raises(TransientError) as err:
        fetch(make_connector(max_retries=0))
    assert "HTTP 429" in str(err.value) and "Retry-After 30" in str(err.value) and "max_retries" in str(err.value)


def test_unreachable_site_is_transient(mock):
    mock.get(f"{CLOUD}/rest/api/2/myself", body=requests.ConnectionError("connection refused"))
    with pytest.raises(TransientError) as err:
        fetch(make_connector())
    assert "cannot reach Jira at https://acme.atlassian.net" in str(err.value)


def test_bad_jql_names_the_setting(mock):
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(JQL_URL, status=400, json={"errorMessages": ["Field 'sprint2' does not exist or you do not have "
                                                          "permission to view it."], "errors": {}})
    with pytest.raises(ConnectorError) as err:
        fetch(make_connector(jql="sprint2 = 5"))
    assert "Field 'sprint2' does not exist" in str(err.value) and "jql" in str(err.value)
    assert query_of(mock.calls[1])["jql"][0].startswith("(sprint2 = 5) AND statusCategory = Done")


@pytest.mark.parametrize("table,message", [
    ({"email": ""}, "Jira Cloud needs email"),
    ({"deployment": "datacenter"}, "deployment must be one of auto, cloud, server"),
    ({"url": "acme.atlassian.net"}, "url must be the site's address"),
    ({"jql": "assignee = currentUser() ORDER BY created"}, "leave out ORDER BY"),
    ({"token_env": "NO_SUCH_JIRA_TOKEN"}, "NO_SUCH_JIRA_TOKEN is not set"),
    ({"page": 5}, "unknown key 'page'"),
])
def test_bad_settings_are_config_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        make_connector(**table)


# parsing -------------------------------------------------------------------------------------------


def test_malformed_and_unusual_issues_parse_or_are_skipped():
    long_summary = "Réduire la latence du modèle de fraude 🚀 " * 60
    issues = [
        {"id": "1", "self": f"{CLOUD}/rest/api/2/issue/1", "fields": {"summary": "no key"}},  # malformed
        {"id": "2", "key": "ML-2"},  # no fields, so no time at all: malformed
        {"id": "22", "key": "ML-22", "fields": {"updated": jira_time(NOW)}},  # only a time
        {"id": ["3"], "key": "ML-23", "fields": {"updated": jira_time(NOW)}},  # an id of the wrong type: malformed
        "junk",
        issue("ML-3", None, assignee=None, priority=None, resolution=None),
        issue("ML-4", long_summary, labels=["ünïcode", "fraud"]),
        issue("ML-5", "Child of a story", type="Sub-task", parent=parent_ref("ML-4", "Story", type="Story")),
        issue("ML-6", "Ranking work", parent=parent_ref("ML-40", "Ranking v2")),
        issue("ML-40", "Ranking v2", type="Epic", assignee=cloud_user()),
        issue("OPS-1", "Scoring down", type="Incident", priority="Highest"),
        issue("ML-7", "NaN scores", type="Bug", priority="High"),
        issue("ML-8", "Slow export", type="Bug", priority="Low"),
    ]
    settings = build_settings(JiraSettings, {"url": CLOUD, "email": "a@b.c"}, "t")
    records, malformed = {}, []
    for raw in issues:
        try:
            record = parse_issue(raw, "jira", CLOUD, frozenset({ME_ACCOUNT}), settings)
        except MalformedItemError as exc:
            malformed.append(exc)
            continue
        records[record.attributes["key"]] = record
    assert sorted(records) == ["ML-22", "ML-3", "ML-4", "ML-40", "ML-5", "ML-6", "ML-7", "ML-8", "OPS-1"]
    assert [(e.what, e.item_id) for e in malformed] == [("issues", "1"), ("issues", "ML-2"), ("issues", "ML-23"),
                                                        ("issues", "")]
    assert records["ML-22"].subject == "ML" and records["ML-22"].title == "ML-22"
    bare = records["ML-3"].attributes
    assert bare["assignee_id"] is None and not bare["assignee_is_me"] and bare["priority"] is None
    assert bare["resolution"] is None and bare["resolved_at"] == bare["updated_at"]  # done without a resolution
    assert records["ML-4"].attributes["summary"] == long_summary.strip()
    assert records["ML-4"].attributes["labels"] == ["ünïcode", "fraud"]
    assert records["ML-5"].attributes["is_subtask"] and records["ML-5"].attributes["epic"] is None
    assert records["ML-6"].subject == "ML-40" and records["ML-6"].attributes["epic_summary"] == "Ranking v2"
    assert records["ML-6"].attributes["epic_url"] == f"{CLOUD}/browse/ML-40"
    assert records["ML-40"].subject == "ML-40" and records["ML-40"].attributes["is_epic"]
    assert records["ML-40"].attributes["assignee_is_me"]
    assert [k for k, r in sorted(records.items()) if r.attributes["is_incident"]] == ["ML-7", "OPS-1"]


@pytest.mark.parametrize("page", [[issue("ML-1", "x")], {"issues": {"ML-1": {}}, "isLast": True}])
def test_a_search_page_of_the_wrong_shape_is_one_clear_line(mock, page):
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(JQL_URL, json=page)
    with pytest.raises(ConnectorError, match=r"answered /search/jql with .* instead of a page of issues") as info:
        fetch(make_connector())
    assert "\n" not in str(info.value) and "attribute" not in str(info.value)


def test_server_epic_link_and_story_points_fields():
    settings = build_settings(JiraSettings, {"url": SERVER, "epic_link_field": "customfield_10101",
                                             "story_points_field": "customfield_10106"}, "t")
    raw = issue("DS-9", "Feature parity checks", site=SERVER, customfield_10101="DS-1", customfield_10106=5.0)
    record = parse_issue(raw, "jira", SERVER, frozenset(), settings)
    assert record.subject == "DS-1" and record.attributes["epic"] == "DS-1"
    assert record.attributes["story_points"] == 5.0
    assert "customfield_10101" in settings.fields and "customfield_10106" in settings.fields


def test_jql_quotes_projects_and_keeps_a_custom_scope():
    jql = build_jql('assignee = currentUser() AND labels = "ml"', ["ML", 'A"B'], "2026-08-01 00:00",
                    "2026-11-20 09:50")
    assert jql == ('(assignee = currentUser() AND labels = "ml") AND project in ("ML", "A\\"B") AND '
                   'statusCategory = Done AND (resolved >= "2026-08-01 00:00" OR resolution IS EMPTY) AND '
                   'updated >= "2026-11-20 09:50" ORDER BY updated ASC, key ASC')


def test_unknown_time_zone_widens_the_window_by_the_largest_offset():
    at = datetime(2026, 11, 20, 12, 34, 56, tzinfo=timezone.utc)
    assert format_jql_time(at, load_zone("Asia/Kolkata")) == "2026-11-20 18:04"
    assert format_jql_time(at, load_zone("Not/AZone")) == "2026-11-19 22:34"


# incremental ------------------------------------------------------------------------------------------


def test_incremental_harvest_overlaps_the_watermark_and_skips_what_it_has(store, mock):
    mine = cloud_user()
    t1, t2 = NOW - timedelta(days=2), NOW - timedelta(days=1, hours=3)
    first_page = [issue("ML-1", "Train fraud model", assignee=mine, updated=t1),
                  issue("ML-2", "Ship fraud scorer", assignee=mine, updated=t2)]
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(JQL_URL, json=jql_page(first_page))
    first = harvest_source(store, make_connector(), window(), 1000)
    assert first.ok and first.records == 2
    cursor = store.load_cursor("jira", "issues")
    assert datetime.fromisoformat(cursor.value) == t2.replace(microsecond=0)

    t3 = NOW - timedelta(hours=2)
    # Jira returns ML-2 again (inside the overlap, unchanged), ML-1 changed since, and a new ML-3.
    second_page = [first_page[1], issue("ML-1", "Train fraud model (v2 features)", assignee=mine, updated=t3),
                   issue("ML-3", "Monitor drift", assignee=mine, updated=t3)]
    mock.reset()
    mock.get(JQL_URL, json=jql_page(second_page))
    second = harvest_source(store, make_connector(), window(), 1000)
    jql = query_of(mock.calls[0])["jql"][0]
    assert second.ok and second.records == 2  # ML-1 (new updated) and ML-3; ML-2 skipped
    assert len(mock.calls) == 1  # no myself: the cursor remembers who I am
    expected = format_jql_time(t2 - timedelta(minutes=10), load_zone("Europe/Berlin"))
    assert f'updated >= "{expected}"' in jql
    assert store.count_records("jira", "issue") == 3
    assert [r.title for r in store.load_records("issue", "jira") if r.attributes["key"] == "ML-1"] == \
        ["ML-1 Train fraud model (v2 features)"]

    mock.reset()
    mock.get(JQL_URL, json=jql_page(second_page[1:]))
    third = harvest_source(store, make_connector(), window(), 1000)
    assert third.ok and third.records == 0 and store.count_records("jira", "issue") == 3


def test_forced_window_still_skips_unchanged_issues(store, mock):
    page = [issue("ML-1", "Train fraud model", updated=NOW - timedelta(hours=5))]
    mock.get(f"{CLOUD}/rest/api/2/myself", json=myself_cloud())
    mock.get(JQL_URL, json=jql_page(page))
    assert harvest_source(store, make_connector(), window(), 1000).records == 1
    mock.reset()
    mock.get(JQL_URL, json=jql_page(page))
    again = harvest_source(store, make_connector(), window(30, forced=True), 1000)
    assert f'updated >= "{format_jql_time(NOW - timedelta(days=30), load_zone("Europe/Berlin"))}"' in \
        query_of(mock.calls[0])["jql"][0]
    assert again.ok and again.records == 0


def test_jira_time_format_round_trips():
    at = datetime(2026, 11, 20, 12, 34, 56, 789000, tzinfo=timezone.utc)
    assert jira_time(at) == "2026-11-20T13:34:56.789+0100"
    settings = build_settings(JiraSettings, {"url": CLOUD}, "t")
    record = parse_issue(issue("ML-1", "x y z", updated=at, resolved=at), "jira", CLOUD, frozenset(), settings)
    assert record.occurred_at == at and record.attributes["updated_at"] == at.isoformat()
