"""GitHub connector against a `responses` fake of the REST and GraphQL APIs (no network, no sleeping)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import responses

from harvester.config import IdentitySettings, parse_config
from harvester.connectors.base import HarvestWindow
from harvester.connectors.github.connector import GithubConnector
from harvester.connectors.github.settings import GithubSettings
from harvester.drafting.redraft import load_rules
from harvester.errors import AuthError, ConfigError
from harvester.harvest import HarvestPlan, run_harvest
from harvester.models import utcnow
from harvester.timeutil import parse_since
from harvester.settings import build_settings
from tests.support.github_fake import (API, BOT, ME, OTHER, T0, FakeGithub, deployment, graphql_page,
                                       graphql_pattern, iso, not_pr_details, pr_item, release, review_node,
                                       url_pattern)


class FakeClock:
    """Time that moves only when the connector sleeps."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test_token")


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


@pytest.fixture
def fake(rsps):
    return FakeGithub(rsps).install()


def make_connector(clock: FakeClock | None = None, name: str = "github-work", **table) -> GithubConnector:
    table = {"max_retries": 0, "seconds_between_requests": 0, "reviews": False, **table}
    settings = build_settings(GithubSettings, table, f"[connectors.{name}]")
    clock = clock or FakeClock()
    return GithubConnector(name, settings, IdentitySettings(name="Ada", handles=("ada",)), sleep=clock.sleep,
                           clock=clock)


def harvest(store, *connectors, since=None, page_size=1000):
    """`harvester harvest` with these connector objects (so the test can inject sleep and clock)."""
    config = parse_config({"harvest": {"page_size": page_size}}, None)
    now = utcnow()
    window = HarvestWindow(since=parse_since(since or "90d", now), forced=since is not None, started_at=now)
    plan = HarvestPlan(window=window, connectors=list(connectors), rules=load_rules(config))
    return run_harvest(store, config, plan=plan)


def no_graphql(rsps):
    rsps.add(responses.POST, url_pattern("/graphql"), json=graphql_page([], None), match=[not_pr_details])


# pull requests ------------------------------------------------------------------------------------


def test_first_harvest_reads_every_page_of_merged_prs(store, fake):
    fake.prs = [pr_item(n, merged=T0 + timedelta(hours=n)) for n in range(1, 251)]
    fake.prs.append(pr_item(999, merged=None))  # open PR: not searched for, never stored
    summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    assert store.count_records("github-work", "pull_request") == 250
    assert len(fake.queries) == 3  # pages of 100
    assert len(fake.rsps.calls) == 7  # GET /user, three search pages, one details query per page
    assert [len(ids) for ids in fake.details_asked] == [100, 100, 50]
    assert "is:merged" in fake.queries[0] and "merged:>=" in fake.queries[0] and "author:@me" in fake.queries[0]
    pr = next(r for r in store.load_records("pull_request") if r.attributes["number"] == 7)
    assert (pr.subject, pr.url, pr.mine) == ("acme/fraud", "https://github.com/acme/fraud/pull/7", True)
    assert (pr.attributes["additions"], pr.attributes["deletions"], pr.attributes["changed_files"]) == (120, 30, 4)
    assert pr.attributes["reviewers"] == ["grace"]  # the author's own comments are not a review
    assert pr.attributes["author_id"] == ME["id"] and pr.occurred_at == T0 + timedelta(hours=7)
    cursor = store.load_cursor("github-work", "pull_requests")
    assert cursor.value == (T0 + timedelta(hours=250, minutes=5)).isoformat()


def test_search_over_1000_results_continues_from_the_last_update(store, fake):
    fake.prs = [pr_item(n, merged=T0 + timedelta(minutes=n)) for n in range(1, 1151)]
    summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    assert store.count_records("github-work", "pull_request") == 1150
    updated_filters = sorted({q.split("updated:>=")[1] for q in fake.queries})
    assert len(updated_filters) == 2  # the window was split once, where the first query ended
    assert updated_filters[1] == iso(T0 + timedelta(minutes=1000 + 5))
    assert len(fake.queries) == 10 + 2  # ten capped pages, then 151 results from the later range


def test_second_harvest_adds_nothing_and_asks_only_for_updates(store, fake):
    fake.prs = [pr_item(n, merged=T0 + timedelta(hours=n)) for n in range(1, 6)]
    first = harvest(store, make_connector())
    drafts_before = len(store.list_drafts())
    fake.queries.clear()
    second = harvest(store, make_connector())
    assert first.ok and second.ok
    assert store.count_records("github-work") == 5
    assert second.drafts.new == 0 and len(store.list_drafts()) == drafts_before
    assert len(fake.queries) == 1 and "merged:>=" not in fake.queries[0]
    watermark = T0 + timedelta(hours=5, minutes=5) - timedelta(minutes=10)
    assert f"updated:>={iso(watermark)}" in fake.queries[0]
    assert len(fake.details_asked) == 1  # the overlap's re-read of PR 5, unchanged, asks no details again


def test_a_pr_updated_since_the_last_harvest_gets_fresh_details(store, fake):
    fake.prs = [pr_item(n, merged=T0 + timedelta(hours=n)) for n in range(1, 6)]
    harvest(store, make_connector())
    fake.prs[4] = pr_item(5, merged=T0 + timedelta(hours=5), updated=T0 + timedelta(hours=5, minutes=7))
    fake.details[fake.prs[4]["node_id"]] = {"id": fake.prs[4]["node_id"], "additions": 300, "deletions": 9,
                                            "changedFiles": 7, "reviews": {"nodes": []}}
    assert harvest(store, make_connector()).ok
    assert fake.details_asked[-1] == [fake.prs[4]["node_id"]]
    pr = next(r for r in store.load_records("pull_request") if r.attributes["number"] == 5)
    assert pr.attributes["additions"] == 300


def user_calls(fake) -> int:
    return sum(1 for c in fake.rsps.calls if c.request.url.split("?")[0].endswith("/user"))


def test_user_id_is_remembered_in_the_cursor_and_asked_again_when_forced(store, fake, rsps):
    fake.prs = [pr_item(n, merged=T0 + timedelta(hours=n)) for n in range(1, 4)]
    no_graphql(rsps)
    first = harvest(store, make_connector(reviews=True))
    assert first.ok, first.sources[0].error
    assert user_calls(fake) == 1
    me = {"base_url": "https://api.github.com", "id": ME["id"], "login": ME["login"]}
    assert store.load_cursor("github-work", "pull_requests").state["me"] == me
    assert store.load_cursor("github-work", "reviews").state["me"] == me  # kept even with no reviews yet

    nightly = harvest(store, make_connector(reviews=True))
    assert nightly.ok, nightly.sources[0].error
    assert user_calls(fake) == 1  # nightly: the token's id came from the cursor

    forced = harvest(store, make_connector(), since="30d")
    assert forced.ok and user_calls(fake) == 2  # --since asks again, so a new token is picked up
    assert store.count_records("github-work", "pull_request") == 3


def test_remembered_user_id_is_not_reused_for_another_server(store, fake, rsps):
    harvest(store, make_connector())
    FakeGithub(rsps, base="https://ghe.example.com/api/v3").install()
    moved = harvest(store, make_connector(base_url="https://ghe.example.com/api/v3"))
    assert moved.ok, moved.sources[0].error
    assert sum(1 for c in rsps.calls if urlparse(c.request.url).hostname == "ghe.example.com"
               and c.request.url.split("?")[0].endswith("/user")) == 1


def test_pr_updated_after_merge_is_refreshed_not_duplicated(store, fake):
    fake.prs = [pr_item(1, body="first text")]
    harvest(store, make_connector())
    fake.prs = [pr_item(1, body="Closes FRAUD-12", updated=T0 + timedelta(days=2))]
    harvest(store, make_connector())
    records = store.load_records("pull_request")
    assert len(records) == 1 and records[0].attributes["body"] == "Closes FRAUD-12"


def test_bot_prs_are_excluded(store, fake):
    fake.prs = [pr_item(1), pr_item(2, title="Bump numpy from 1.26 to 2.1", user=BOT),
                pr_item(3, title="Update lockfile", user={**ME, "login": "renovate[bot]", "type": "User", "id": 5})]
    harvest(store, make_connector())
    assert [r.attributes["number"] for r in store.load_records("pull_request")] == [1]


def test_malformed_items_are_skipped_or_kept_safely(store, fake, rsps):
    long_title = "Réduire la latence p99 du modèle — 詐欺検知 " * 200
    broken = pr_item(4)
    del broken["pull_request"]
    no_id = pr_item(5)
    del no_id["id"]
    items = [pr_item(1, title=long_title), pr_item(2, user=None, body=None, labels=("ml",)),
             pr_item(3, merged=None), broken, no_id, {**pr_item(6), "title": None, "labels": None}, "junk"]
    rsps.remove(responses.GET, url_pattern("/search/issues"))
    rsps.add(responses.GET, url_pattern("/search/issues"),
             json={"total_count": len(items), "incomplete_results": False, "items": items})
    summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    assert summary.sources[0].skipped == {"pull requests": 3}  # no pull_request, no id, not an object
    records = {r.attributes["number"]: r for r in store.load_records("pull_request")}
    assert sorted(records) == [1, 2, 6]
    assert records[1].title.startswith("Réduire la latence p99 du modèle — 詐欺検知")
    assert len(records[1].title) <= 300 and records[1].title.endswith("…")
    assert records[2].actor is None and records[2].attributes["labels"] == ["ml"]
    assert records[6].title == "#6" and records[6].attributes["labels"] == []


@pytest.mark.parametrize("page", [[pr_item(1)], {"total_count": 1, "items": {"0": pr_item(1)}}, "busy"],
                         ids=["a list", "items not a list", "a string"])
def test_a_search_page_of_the_wrong_shape_is_one_clear_line(store, fake, rsps, page):
    rsps.replace(responses.GET, url_pattern("/search/issues"), json=page)
    summary = harvest(store, make_connector())
    error = summary.sources[0].error
    assert not summary.ok and "GitHub search answered with" in error and "\n" not in error
    assert "unexpected" not in error


def test_a_releases_page_that_is_not_a_list_is_one_clear_line(store, fake, rsps):
    rsps.add(responses.GET, url_pattern("/repos/acme/fraud/releases"), json={"message": "Moved"})
    summary = harvest(store, make_connector(repos=["acme/fraud"]))
    assert "GitHub answered /repos/acme/fraud/releases with an object instead of a list" in summary.sources[0].error


def test_empty_search_results(store, fake):
    summary = harvest(store, make_connector())
    assert summary.ok and summary.sources[0].records == 0
    cursor = store.load_cursor("github-work", "pull_requests")
    assert cursor.value is None and set(cursor.state) == {"me"}  # no watermark yet, only who I am


# rate limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_is_waited_out(store, fake, rsps, status, caplog):
    fake.prs = [pr_item(1)]
    limited = responses.Response(responses.GET, url_pattern("/search/issues"), status=status,
                                 json={"message": "You have exceeded a secondary rate limit. Please wait a few "
                                                  "minutes before you try again.",
                                       "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
                                 headers={"retry-after": "42"})
    rsps.remove(responses.GET, url_pattern("/search/issues"))  # the limited answer comes first
    rsps.add(limited)
    rsps.add_callback(responses.GET, url_pattern("/search/issues"), callback=fake.search)
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="harvester"):
        summary = harvest(store, make_connector(clock))
    assert summary.ok, summary.sources[0].error
    assert clock.sleeps == [42.0]
    assert store.count_records("github-work", "pull_request") == 1
    assert "secondary rate limit" in caplog.text and "waiting 42 s" in caplog.text


def test_primary_rate_limit_waits_until_reset(store, fake, rsps):
    fake.prs = [pr_item(1)]
    clock = FakeClock()
    rsps.remove(responses.GET, url_pattern("/user"))
    rsps.add(responses.GET, url_pattern("/user"), status=403,
             json={"message": "API rate limit exceeded for user ID 101.",
                   "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
             headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                      "x-ratelimit-reset": str(int(clock.now) + 30), "x-ratelimit-resource": "core"})
    rsps.add(responses.GET, url_pattern("/user"), json=ME)
    summary = harvest(store, make_connector(clock))
    assert summary.ok, summary.sources[0].error
    assert clock.sleeps == [31.0]
    assert store.count_records("github-work") == 1


def test_rate_limit_beyond_the_cap_fails_clearly_keeps_the_committed_page_and_others_run(store, fake, rsps):
    fake.prs = [pr_item(n, merged=T0 + timedelta(hours=n)) for n in range(1, 151)]
    clock = FakeClock()
    rsps.remove(responses.GET, url_pattern("/search/issues"))

    def search(request):
        if "page=2" in request.url:
            return 403, {"retry-after": "3600"}, json.dumps({"message": "You have exceeded a secondary rate limit."})
        return fake.search(request)

    rsps.add_callback(responses.GET, url_pattern("/search/issues"), callback=search)
    other = FakeGithub(rsps, base="https://ghe.example.com/api/v3")
    rsps.add(responses.GET, url_pattern("/user", other.base), json=ME)
    rsps.add(responses.GET, url_pattern("/search/issues", other.base),
             json={"total_count": 1, "incomplete_results": False,
                   "items": [pr_item(5, repo="platform/features")]})
    limited = make_connector(clock, max_rate_limit_wait=600)
    enterprise = make_connector(name="github-ghe", base_url="https://ghe.example.com/api/v3", pr_details=False)
    summary = harvest(store, limited, enterprise, page_size=100)
    failed, ok = summary.sources
    assert not failed.ok and ok.ok
    assert "rate limit" in failed.error and "max_rate_limit_wait = 600" in failed.error
    assert "\n" not in failed.error and clock.sleeps == []
    assert store.count_records("github-work") == 100  # the first page was committed with its cursor
    assert store.load_cursor("github-work", "pull_requests").value == (T0 + timedelta(hours=100, minutes=5)).isoformat()
    assert store.count_records("github-ghe") == 1


def test_search_is_paced_to_30_a_minute(fake):
    fake.prs = [pr_item(n, merged=T0 + timedelta(minutes=n)) for n in range(1, 3101)]
    clock = FakeClock()
    connector = make_connector(clock)
    window_start = T0 - timedelta(days=1)
    records = list(connector.fetch("pull_requests", None, HarvestWindow(window_start, True, T0 + timedelta(days=9))))
    # three capped queries of ten pages, then 103 results (each range repeats its boundary PR): two pages
    assert len(records) == 3100 and len(fake.queries) == 32
    assert len(clock.sleeps) == 1 and clock.sleeps[0] == pytest.approx(60.0)


# errors -------------------------------------------------------------------------------------------


def test_bad_token_is_an_auth_error_naming_the_variable(store, rsps):
    rsps.add(responses.GET, url_pattern("/user"), status=401,
             json={"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
    summary = harvest(store, make_connector())
    assert "GITHUB_TOKEN" in summary.sources[0].error and "401" in summary.sources[0].error
    assert "ghp_test_token" not in summary.sources[0].error
    connector = make_connector()
    with pytest.raises(AuthError):
        list(connector.fetch("pull_requests", None, HarvestWindow(T0, True, T0)))


def test_missing_token_is_a_config_error(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        make_connector().check()


def test_unknown_repo_is_one_clear_line(store, fake, rsps):
    rsps.add(responses.GET, url_pattern("/repos/acme/nope/releases"), status=404,
             json={"message": "Not Found", "documentation_url": "https://docs.github.com/rest/releases"})
    summary = harvest(store, make_connector(repos=["acme/nope"]))
    error = summary.sources[0].error
    assert "acme/nope" in error and "404" in error and "repos" in error and "\n" not in error


def test_settings_reject_bad_values():
    with pytest.raises(ConfigError, match="owner/name"):
        build_settings(GithubSettings, {"repos": ["just-a-name"]}, "[connectors.gh]")
    with pytest.raises(ConfigError, match="unknown key 'tokn_env'"):
        build_settings(GithubSettings, {"tokn_env": "X"}, "[connectors.gh]")


# reviews ------------------------------------------------------------------------------------------


def test_reviews_come_from_graphql_contributions_in_pages(store, fake, rsps):
    nodes = [review_node(n, T0 + timedelta(hours=n)) for n in range(1, 151)]
    bodies = []

    def graphql(request):
        body = json.loads(request.body)
        bodies.append(body)
        if body["variables"]["after"] is None:
            return 200, {}, json.dumps(graphql_page(nodes[:100], "Y3Vyc29yOjEwMA=="))
        return 200, {}, json.dumps(graphql_page(nodes[100:], None))

    rsps.add_callback(responses.POST, url_pattern("/graphql"), callback=graphql, match=[not_pr_details])
    summary = harvest(store, make_connector(reviews=True))
    assert summary.ok, summary.sources[0].error
    reviews = store.load_records("review")
    assert len(reviews) == 150 and len(bodies) == 2
    assert "pullRequestReviewContributions(first: 100" in bodies[0]["query"]
    r = next(x for x in reviews if x.attributes["pr_number"] == 3)
    assert (r.subject, r.attributes["pr_author_login"], r.attributes["own_pr"]) == ("acme/serving", "grace", False)


def test_review_windows_longer_than_a_year_are_split(store, fake, rsps):
    windows = []

    def graphql(request):
        windows.append(json.loads(request.body)["variables"])
        return 200, {}, json.dumps(graphql_page([], None))

    rsps.add_callback(responses.POST, url_pattern("/graphql"), callback=graphql, match=[not_pr_details])
    harvest(store, make_connector(reviews=True), since="500d")
    assert len(windows) == 2
    assert windows[0]["to"] == windows[1]["from"]


def test_reviews_fall_back_to_search_without_contributions(store, fake, rsps):
    rsps.add(responses.POST, url_pattern("/graphql"), match=[not_pr_details], json={"errors": [{
        "path": ["query", "viewer", "contributionsCollection"],
        "extensions": {"code": "undefinedField", "typeName": "User", "fieldName": "contributionsCollection"},
        "locations": [{"line": 4, "column": 5}],
        "message": "Field 'contributionsCollection' doesn't exist on type 'User'"}]})
    fake.reviewed = [pr_item(8, user=OTHER, repo="acme/serving"), pr_item(9, user=BOT, repo="acme/serving")]
    summary = harvest(store, make_connector(reviews=True))
    assert summary.ok, summary.sources[0].error
    reviews = store.load_records("review")
    assert {r.attributes["pr_number"] for r in reviews} == {8, 9}
    assert any("reviewed-by:@me" in q for q in fake.queries)
    assert {r.attributes["via"] for r in reviews} == {"search"}


# releases and deployments ---------------------------------------------------------------------------


def test_releases_and_deployments_stop_at_the_watermark_and_use_etags(store, fake, rsps):
    no_graphql(rsps)
    old = T0 - timedelta(days=200)
    releases = [release(3, "v1.3.0", T0 + timedelta(days=2)), release(2, "v1.2.0", T0, author=BOT),
                release(9, "v1.4.0-draft", T0 + timedelta(days=3), draft=True), release(1, "v1.0.0", old)]
    deployments = [deployment(51, "production", T0 + timedelta(days=1)),
                   deployment(50, "staging", T0, creator=OTHER), deployment(40, "staging", old)]
    seen_headers = []

    def serve(payload, etag):
        def callback(request):
            seen_headers.append(request.headers.get("If-None-Match"))
            if request.headers.get("If-None-Match") == etag:
                return 304, {"etag": etag}, ""
            return 200, {"etag": etag}, json.dumps(payload)
        return callback

    rsps.add_callback(responses.GET, url_pattern("/repos/acme/fraud/releases"), callback=serve(releases, 'W/"r1"'))
    rsps.add_callback(responses.GET, url_pattern("/repos/acme/fraud/deployments"),
                      callback=serve(deployments, 'W/"d1"'))
    connector = make_connector(repos=["acme/fraud"], reviews=True)
    summary = harvest(store, connector)
    assert summary.ok, summary.sources[0].error
    tags = sorted(r.attributes["tag"] for r in store.load_records("release"))
    assert tags == ["v1.2.0", "v1.3.0"]  # draft skipped, the old one is before the window
    deploys = {r.attributes["environment"]: r for r in store.load_records("deployment")}
    assert set(deploys) == {"production", "staging"}
    assert deploys["production"].mine and not deploys["staging"].mine
    assert deploys["production"].url == "https://github.com/acme/fraud/deployments/production"
    cursor = store.load_cursor("github-work", "releases")
    assert cursor.state["repos"]["acme/fraud"]["etag"] == 'W/"r1"'

    calls_before = len(rsps.calls)
    second = harvest(store, make_connector(repos=["acme/fraud"], reviews=True))
    assert second.ok and second.sources[0].streams["releases"] == 0 and second.sources[0].streams["deployments"] == 0
    assert seen_headers[-2:] == ['W/"r1"', 'W/"d1"']  # 304s: nothing new, no rate limit spent
    assert len(rsps.calls) - calls_before == 4  # one search, one GraphQL query, two 304s
    assert store.count_records("github-work", "release") == 2


def test_enterprise_base_url(store, rsps):
    base = "https://ghe.example.com/api/v3"
    fake = FakeGithub(rsps, base=base).install()
    fake.prs = [pr_item(1)]
    rsps.add(responses.POST, url_pattern("/api/graphql", "https://ghe.example.com"), match=[not_pr_details],
             json=graphql_page([review_node(1, T0)], None))
    summary = harvest(store, make_connector(base_url=base, reviews=True))
    assert summary.ok, summary.sources[0].error
    assert store.count_records(kind="pull_request") == 1 and store.count_records(kind="review") == 1


# sizes and reviewers ------------------------------------------------------------------------------


def test_sizes_and_reviewers_make_the_statement_and_tiny_prs_draft_nothing(store, fake):
    fake.prs = [pr_item(7, "Add focal loss to the fraud model"), pr_item(8, "Tune the alert threshold")]
    fake.details[fake.prs[1]["node_id"]] = {"id": fake.prs[1]["node_id"], "additions": 2, "deletions": 1,
                                            "changedFiles": 1, "reviews": {"nodes": []}}
    summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    [draft] = store.list_drafts()  # the three-line change is below min_lines
    assert draft.statement == ('Shipped "Add focal loss to the fraud model" in acme/fraud (PR #7), '
                               '+120/-30 lines across 4 files, reviewed by grace.')
    assert [(m.name, m.after) for m in draft.metrics] == [("lines changed", 150.0)]


def test_without_graphql_prs_are_kept_without_sizes(store, fake, rsps, caplog):
    fake.prs = [pr_item(7)]
    rsps.replace(responses.POST, graphql_pattern(API), status=404, json={"message": "Not Found"})
    with caplog.at_level(logging.WARNING, logger="harvester"):
        summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    [pr] = store.load_records("pull_request")
    assert pr.attributes["additions"] is None and pr.attributes["reviewers"] == []
    assert "PR sizes and reviewers are left out" in caplog.text
    assert len(store.list_drafts()) == 1  # judged by its title, as before


def test_details_can_be_turned_off(store, fake):
    fake.prs = [pr_item(7)]
    assert harvest(store, make_connector(pr_details=False)).ok
    assert fake.details_asked == []


def test_a_pr_graphql_cannot_resolve_keeps_its_search_fields(store, fake, rsps):
    fake.prs = [pr_item(7), pr_item(8)]
    known = {"id": fake.prs[0]["node_id"], "additions": 40, "deletions": 4, "changedFiles": 2,
             "reviews": {"nodes": [{"author": None}, {"author": {"login": "grace"}}, {"author": {"login": "grace"}}]}}
    rsps.replace(responses.POST, graphql_pattern(API), match=[], json={
        "data": {"nodes": [known, None]},
        "errors": [{"type": "NOT_FOUND", "path": ["nodes", 1],
                    "message": f"Could not resolve to a node with the global id of '{fake.prs[1]['node_id']}'"}]})
    assert harvest(store, make_connector()).ok
    by_number = {r.attributes["number"]: r.attributes for r in store.load_records("pull_request")}
    assert (by_number[7]["additions"], by_number[7]["reviewers"]) == (40, ["grace"])
    assert (by_number[8]["additions"], by_number[8]["reviewers"]) == (None, [])


# releases by publication time -----------------------------------------------------------------------


def serve_releases(rsps, pages: dict):
    """GET /repos/acme/fraud/releases from `pages` (page number -> (etag, items)), honouring
    If-None-Match and linking each page to the next; records the pages asked for."""
    asked = []

    def callback(request):
        page = int((dict(p.split("=") for p in urlparse(request.url).query.split("&") if "=" in p)).get("page", 1))
        asked.append(page)
        etag, items = pages[page]
        if page == 1 and request.headers.get("If-None-Match") == etag:
            return 304, {"etag": etag}, ""
        headers = {"etag": etag}
        if page + 1 in pages:
            headers["link"] = f'<{API}/repositories/1/releases?per_page=100&page={page + 1}>; rel="next"'
        return 200, headers, json.dumps(items)

    rsps.add_callback(responses.GET, url_pattern("/repos/acme/fraud/releases"), callback=callback)
    rsps.add(responses.GET, url_pattern("/repos/acme/fraud/deployments"), json=[])
    rsps.add_callback(responses.GET, url_pattern("/repositories/1/releases"), callback=callback)
    return asked


def test_a_release_counts_when_published_not_when_its_commit_was_made(store, fake, rsps):
    # Listed newest commit first. v2.0-lts was drafted from a commit 200 days before the
    # watermark and published after it; v1.9 came from an even older commit and was published
    # before the watermark; v0.1 is older than the look-back, so the scan stops there.
    current, backport = release(3, "v1.3.0", T0 + timedelta(days=2)), release(2, "v1.2.0", T0)
    lts_draft = release(5, "v2.0-lts", T0 - timedelta(days=200), draft=True)
    v19 = release(6, "v1.9-legacy", T0 - timedelta(days=250), published=T0 + timedelta(days=1))
    ancient = release(1, "v0.1", T0 - timedelta(days=400))
    asked = serve_releases(rsps, {1: ('W/"a"', [current, backport, lts_draft, v19, ancient])})
    first = harvest(store, make_connector(repos=["acme/fraud"]))
    assert first.ok, first.sources[0].error
    assert first.sources[0].streams["releases"] == 3  # v1.3.0, v1.2.0, v1.9-legacy; the draft waits
    watermark = store.load_cursor("github-work", "releases").state["repos"]["acme/fraud"]["latest"]
    assert watermark == (T0 + timedelta(days=2, minutes=3)).isoformat()  # published_at, not created_at

    lts = release(5, "v2.0-lts", T0 - timedelta(days=200), published=T0 + timedelta(days=6))
    newest = release(4, "v1.4.0", T0 + timedelta(days=5))
    rsps.remove(responses.GET, url_pattern("/repos/acme/fraud/releases"))
    rsps.remove(responses.GET, url_pattern("/repos/acme/fraud/deployments"))
    rsps.remove(responses.GET, url_pattern("/repositories/1/releases"))
    asked = serve_releases(rsps, {1: ('W/"b"', [newest, current, backport, lts, v19, ancient]),
                                  2: ('W/"b2"', [release(0, "v0.0.1", T0 - timedelta(days=500))])})
    second = harvest(store, make_connector(repos=["acme/fraud"]))
    assert second.ok, second.sources[0].error
    assert second.sources[0].streams["releases"] == 2  # v1.4.0 and v2.0-lts; nothing re-stored as new
    assert asked == [1]  # v0.1 is beyond the look-back: page 2 is never read
    by_tag = {r.attributes["tag"]: r for r in store.load_records("release")}
    assert sorted(by_tag) == ["v1.2.0", "v1.3.0", "v1.4.0", "v1.9-legacy", "v2.0-lts"]
    assert by_tag["v2.0-lts"].occurred_at == T0 + timedelta(days=6)
    assert by_tag["v2.0-lts"].attributes["created_at"] == (T0 - timedelta(days=200)).isoformat()
    latest = store.load_cursor("github-work", "releases").state["repos"]["acme/fraud"]["latest"]
    assert latest == (T0 + timedelta(days=6)).isoformat()


# review ids ---------------------------------------------------------------------------------------


def test_review_ids_come_from_full_database_id_and_match_reviews_stored_by_database_id(store, fake, rsps):
    """An Enterprise server without fullDatabaseId gets the query with databaseId; once the
    server has it, the same review keeps its external_id."""
    server = {"full_ids": False}
    queries = []

    def graphql(request):
        query = json.loads(request.body)["query"]
        queries.append(query)
        if "fullDatabaseId" in query and not server["full_ids"]:
            return 200, {}, json.dumps({"errors": [{
                "path": ["query", "viewer", "contributionsCollection", "pullRequestReviewContributions", "nodes",
                         "pullRequestReview", "fullDatabaseId"],
                "extensions": {"code": "undefinedField", "typeName": "PullRequestReview",
                               "fieldName": "fullDatabaseId"},
                "locations": [{"line": 9, "column": 33}],
                "message": "Field 'fullDatabaseId' doesn't exist on type 'PullRequestReview'"}]})
        node = review_node(1, T0, ids="full" if server["full_ids"] else "old")
        return 200, {}, json.dumps(graphql_page([node], None))

    rsps.add_callback(responses.POST, url_pattern("/graphql"), callback=graphql, match=[not_pr_details])
    old = harvest(store, make_connector(reviews=True))
    assert old.ok, old.sources[0].error
    assert "pullRequestReview { id databaseId" in queries[-1] and "fullDatabaseId" not in queries[-1]
    assert [r.external_id for r in store.load_records("review")] == ["700001"]

    server["full_ids"] = True
    queries.clear()
    upgraded = harvest(store, make_connector(reviews=True))
    assert upgraded.ok, upgraded.sources[0].error
    assert len(queries) == 1 and "pullRequestReview { id fullDatabaseId state" in queries[0]
    assert [r.external_id for r in store.load_records("review")] == ["700001"]  # no duplicate


def test_full_database_id_beyond_32_bits_is_kept_exactly():
    from harvester.connectors.github.parse import parse_review_contribution

    node = review_node(1, T0)
    node["pullRequestReview"]["fullDatabaseId"] = "9007199254740993"  # more than a float holds exactly
    assert parse_review_contribution(node, "github-work", ME["id"]).external_id == "9007199254740993"


# GraphQL rate limits in a 200 -----------------------------------------------------------------------


@pytest.mark.parametrize("errors, headers, wait", [
    ([{"type": "RATE_LIMITED", "message": "API rate limit already exceeded for user ID 101."}],
     {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-resource": "graphql"}, 31.0),
    ([{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                  "If you reach out to GitHub Support for help, please include the request ID 9C31:8954C."}],
     {"retry-after": "42"}, 42.0),
    ([{"type": "RATE_LIMITED", "message": "You have exceeded a secondary rate limit."}], {}, 60.0),
], ids=["primary", "secondary-retry-after", "secondary-default"])
def test_graphql_rate_limit_answered_with_200_is_waited_out(store, fake, rsps, errors, headers, wait):
    clock = FakeClock()
    if "x-ratelimit-remaining" in headers:
        headers = {**headers, "x-ratelimit-reset": str(int(clock.now) + 30)}
    answers = [(200, headers, json.dumps({"data": None, "errors": errors})),
               (200, {}, json.dumps(graphql_page([review_node(1, T0)], None)))]
    rsps.add_callback(responses.POST, url_pattern("/graphql"), callback=lambda request: answers.pop(0),
                      match=[not_pr_details])
    summary = harvest(store, make_connector(clock, reviews=True))
    assert summary.ok, summary.sources[0].error
    assert clock.sleeps == [wait]
    assert store.count_records("github-work", "review") == 1
