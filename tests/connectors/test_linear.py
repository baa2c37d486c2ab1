"""The Linear connector against an in-memory Linear GraphQL API (tests/support/linear_fake.py)
behind `responses`: real query text and variables, response shapes from Linear's schema."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses

from harvester.config import IdentitySettings, parse_config
from harvester.connectors.base import HarvestWindow
from harvester.connectors.linear.connector import LinearConnector
from harvester.connectors.linear.parse import parse_issue, parse_project
from harvester.connectors.linear.settings import LinearSettings
from harvester.errors import ConfigError, TransientError
from harvester.harvest import run_harvest
from harvester.records import read_issue_attributes
from tests.support.linear_fake import (API_KEY, ME, OTHER, FakeLinear, make_issue, make_project,
                                       rate_limited_body)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
SETTINGS = LinearSettings(incident_teams=("OPS",))
RANKING = make_project("Ranking v2", completed=NOW - timedelta(days=2), started=NOW - timedelta(days=40))


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("LINEAR_API_KEY", API_KEY)
    server = FakeLinear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        yield server


def make_config(page_size: int = 1000, **table) -> object:
    return parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]},
                         "harvest": {"page_size": page_size},
                         "connectors": {"linear": {"type": "linear", "max_retries": 0, **table}}}, None)


def connector(**settings) -> LinearConnector:
    return LinearConnector("linear", LinearSettings(max_retries=0, **settings), IdentitySettings(handles=("ada",)))


def window(days: int = 30) -> HarvestWindow:
    return HarvestWindow(since=NOW - timedelta(days=days), forced=True, started_at=NOW)


# parsing: Linear's fields onto the ticket rules' attributes --------------------------------------


def test_a_completed_issue_reads_as_a_ticket_under_its_project_epic():
    node = make_issue(123, "Cache ranking features", completed=NOW - timedelta(days=1),
                      created=NOW - timedelta(days=6), project=RANKING, labels=("Feature", "ml"), estimate=5,
                      priority=1, parent="ENG-100")
    record = parse_issue(node, "linear", SETTINGS)
    a = read_issue_attributes(record)
    assert (a["key"], a["summary"], a["project"], a["epic"]) == ("ENG-123", "Cache ranking features", "ENG",
                                                                 "Ranking v2")
    assert a["epic_url"] == RANKING["url"] and a["parent_key"] == "ENG-100"
    assert (a["status"], a["status_category"], a["resolution"]) == ("Done", "done", "Done")
    assert (a["priority"], a["story_points"], a["labels"]) == ("Urgent", 5.0, ["Feature", "ml"])
    assert a["assignee_is_me"] and not a["is_epic"] and not a["is_incident"] and not a["is_subtask"]
    assert record.subject == RANKING["id"] and record.url == node["url"]
    assert record.title == "ENG-123 Cache ranking features"
    assert record.payload["cycle"] == {"number": 14, "name": None}


@pytest.mark.parametrize("change, incident", [
    ({"labels": ("Incident",)}, True), ({"team": "OPS"}, True), ({"labels": ("Bug",), "priority": 1}, True),
    ({"labels": ("Bug",), "priority": 3}, False), ({}, False)])
def test_incidents_come_from_labels_teams_or_urgent_bugs(change, incident):
    node = make_issue(7, "Scoring API returns 500s", completed=NOW, **change)
    assert read_issue_attributes(parse_issue(node, "linear", SETTINGS))["is_incident"] is incident


@pytest.mark.parametrize("state, resolution", [(("Canceled", "canceled"), "Won't Do"),
                                               (("Duplicate", "canceled"), "Duplicate")])
def test_a_canceled_issue_is_resolved_as_not_done(state, resolution):
    node = make_issue(8, "Try a bigger model", canceled=NOW, state=state)
    assert read_issue_attributes(parse_issue(node, "linear", SETTINGS))["resolution"] == resolution


def test_a_completed_project_is_an_epic_led_by_me():
    record = parse_project(RANKING, "linear", ME["id"])
    a = read_issue_attributes(record)
    assert (a["key"], a["is_epic"], a["epic"], a["resolution"], a["assignee_is_me"]) == (
        "Ranking v2", True, "Ranking v2", "Done", True)
    assert record.subject == RANKING["id"] and a["project"] == "ENG"
    assert not read_issue_attributes(parse_project(RANKING, "linear", OTHER["id"]))["assignee_is_me"]


# harvesting ------------------------------------------------------------------------------------


def test_pages_are_followed_and_records_come_oldest_update_first(fake, store):
    fake.issues += [make_issue(i + 1, f"Ship change number {i + 1}", completed=NOW - timedelta(hours=300 - i))
                    for i in range(230)]
    fake.issues.append(make_issue(999, "Someone else's work", completed=NOW, assignee=OTHER))
    fake.projects.append(RANKING)
    summary = run_harvest(store, make_config(page_size=40), since="30d")
    assert summary.ok, summary.sources[0].error
    assert fake.operations == ["CompletedIssues"] * 3 + ["CompletedProjects"]
    assert [v["first"] for v in fake.variables] == [100] * 4
    assert store.count_records(kind="issue") == 231  # 230 issues of mine and the project
    cursor = store.load_cursor("linear", "issues")
    assert datetime.fromisoformat(cursor.value) == NOW - timedelta(hours=71)
    sent = fake.variables[0]["filter"]["and"]
    assert {"assignee": {"isMe": {"eq": True}}} in sent


def test_nightly_with_nothing_new_costs_one_request_a_stream_and_stores_nothing(fake, store):
    fake.issues += [make_issue(i + 1, f"Ship change number {i + 1}", completed=NOW - timedelta(days=5 - i))
                    for i in range(3)]
    fake.projects.append(RANKING)
    config = make_config()
    run_harvest(store, config, since="30d")
    count = store.count_records()
    fake.operations.clear()
    fake.variables.clear()
    nightly = run_harvest(store, config)
    assert nightly.ok and nightly.sources[0].records == 0 and store.count_records() == count
    assert fake.operations == ["CompletedIssues", "CompletedProjects"]
    start = fake.variables[0]["filter"]["and"][1]["updatedAt"]["gte"]
    assert datetime.fromisoformat(start.replace("Z", "+00:00")) == NOW - timedelta(days=3)

    fake.issues.append(make_issue(50, "Add drift alerts", completed=NOW - timedelta(minutes=5)))
    later = run_harvest(store, config)
    assert later.sources[0].records == 1 and store.count_records() == count + 1


def test_teams_narrow_the_issue_filter(fake):
    fake.issues += [make_issue(1, "Ship ranking change", completed=NOW), make_issue(2, "Rotate keys", team="OPS",
                                                                                     completed=NOW)]
    records = list(connector(teams=("OPS",)).fetch("issues", None, window()))
    assert [read_issue_attributes(r)["key"] for r in records] == ["OPS-2"]


def test_a_rate_limit_is_waited_out_until_the_documented_reset(fake):
    fake.issues.append(make_issue(1, "Ship ranking change", completed=NOW))
    reset_ms = int((NOW.timestamp() + 30) * 1000)
    fake.canned = [(400, {"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": str(reset_ms)},
                    rate_limited_body())]
    linear, waits = connector(), []
    linear.client.sleep, linear.client.clock = waits.append, NOW.timestamp
    records = list(linear.fetch("issues", None, window()))
    assert [read_issue_attributes(r)["key"] for r in records] == ["ENG-1"]
    assert waits == [31.0] and fake.operations == ["CompletedIssues", "CompletedIssues"]


def test_a_rate_limit_longer_than_the_cap_fails_in_one_line_naming_the_setting(fake):
    reset_ms = int((NOW.timestamp() + 3600) * 1000)
    fake.canned = [(400, {"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": str(reset_ms)},
                    rate_limited_body())]
    linear = connector(max_rate_limit_wait=60)
    linear.client.sleep, linear.client.clock = (lambda s: None), NOW.timestamp
    with pytest.raises(TransientError) as caught:
        list(linear.fetch("issues", None, window()))
    message = str(caught.value)
    assert "max_rate_limit_wait = 60 s in [connectors.linear]" in message and "\n" not in message


def test_an_exhausted_quota_waits_before_the_next_request(fake):
    fake.issues += [make_issue(i + 1, f"Ship change number {i + 1}", completed=NOW - timedelta(hours=i))
                    for i in range(3)]
    fake.remaining, fake.reset_ms = 0, int((NOW.timestamp() + 10) * 1000)
    linear, waits = connector(page_size=2), []
    linear.client.sleep, linear.client.clock = waits.append, NOW.timestamp
    assert len(list(linear.fetch("issues", None, window()))) == 3
    assert waits == [11.0]  # before the second page, never before the first


def test_a_rejected_key_is_one_line_naming_the_variable(fake, store, monkeypatch):
    monkeypatch.setenv("LINEAR_API_KEY", "lin_api_revoked")
    summary = run_harvest(store, make_config(), since="30d")
    error = summary.sources[0].error
    assert not summary.ok and "\n" not in error
    assert "rejected the API key in LINEAR_API_KEY (HTTP 401)" in error and "token_env" in error
    assert "lin_api_revoked" not in error


def test_a_missing_key_names_token_env(store, monkeypatch):
    monkeypatch.delenv("LINEAR_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"\[connectors.linear\] token_env: environment variable LINEAR_API_KEY"):
        run_harvest(store, make_config(), since="30d")


def test_a_malformed_issue_is_skipped_and_counted(fake, store):
    good = make_issue(1, "Ship ranking change", completed=NOW - timedelta(hours=2))
    broken = {**make_issue(2, "No identifier", completed=NOW - timedelta(hours=1)), "identifier": None}
    fake.issues += [good, broken]
    summary = run_harvest(store, make_config(projects=False), since="30d")
    assert summary.ok and summary.sources[0].skipped == {"issues": 1}
    assert store.count_records(kind="issue") == 1


def test_page_size_above_linears_maximum_is_a_config_error():
    with pytest.raises(ValueError, match="250"):
        LinearSettings(page_size=500)


def test_doctor_names_the_keys_owner_and_counts_completed_issues(fake):
    fake.issues += [make_issue(1, "Ship ranking change", completed=NOW - timedelta(days=2)),
                    make_issue(2, "Try a bigger model", canceled=NOW - timedelta(days=1))]
    d = connector().diagnose(NOW - timedelta(days=30))
    assert d.ok and d.reachable and d.identity == f"Ada Example <ada@example.com> ({ME['id']})"
    assert d.matching == 1 and not d.capped and fake.operations == ["Viewer", "CompletedIssues"]


def test_doctor_warns_when_the_key_is_someone_elses(fake):
    fake.viewer = dict(OTHER)
    d = connector().diagnose(NOW - timedelta(days=30))
    assert not d.ok and "belongs to 'Grace Hopper'" in d.problems[0].message


def test_a_server_error_is_one_line_and_commits_nothing(fake, store):
    fake.issues.append(make_issue(1, "Ship ranking change", completed=NOW))
    fake.canned = [(500, {}, {"errors": [{"message": "Internal server error"}]})]
    summary = run_harvest(store, make_config(), since="30d")
    error = summary.sources[0].error
    assert not summary.ok and "HTTP 500" in error and "max_retries" in error and "\n" not in error
    assert store.count_records() == 0 and store.load_cursor("linear", "issues") is None
    assert run_harvest(store, make_config(), since="30d").ok and store.count_records() == 1


def test_a_key_echoed_in_an_error_is_redacted(fake, store):
    fake.canned = [(400, {}, {"errors": [{"message": f"Bad header Authorization: {API_KEY}",
                                          "extensions": {"code": "INPUT_ERROR"}}]})]
    summary = run_harvest(store, make_config(), since="30d")
    assert not summary.ok and API_KEY not in summary.sources[0].error


@pytest.mark.parametrize("field", ["state", "team", "project", "labels", "priority", "estimate", "assignee",
                                   "parent", "cycle", "createdAt", "title", "url"])
@pytest.mark.parametrize("value", [None, "text", 7, [1, 2], {"nodes": "x"}, float("nan")])
def test_odd_field_values_never_crash_the_parser(field, value):
    node = {**make_issue(1, "Ship ranking change", completed=NOW), field: value}
    assert read_issue_attributes(parse_issue(node, "linear", SETTINGS))["key"] == "ENG-1"


def test_projects_are_those_i_lead_or_work_in(fake):
    fake.projects += [RANKING, make_project("Their project", completed=NOW, lead=OTHER, members=(OTHER,)),
                      make_project("Shared project", completed=NOW, lead=OTHER, members=(OTHER, ME))]
    records = list(connector().fetch("projects", None, window()))
    assert {(read_issue_attributes(r)["key"], read_issue_attributes(r)["assignee_is_me"]) for r in records} == {
        ("Ranking v2", True), ("Shared project", False)}
