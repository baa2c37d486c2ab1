"""GitLab connector against a `responses` fake of the REST API (no network, no sleeping)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import responses

from harvester.config import IdentitySettings, parse_config
from harvester.connectors.base import HarvestWindow
from harvester.connectors.gitlab.connector import GitlabConnector
from harvester.connectors.gitlab.settings import GitlabSettings
from harvester.drafting.redraft import load_rules
from harvester.errors import ConfigError
from harvester.harvest import HarvestPlan, run_harvest
from harvester.models import utcnow
from harvester.settings import build_settings
from harvester.timeutil import parse_since
from tests.support.gitlab_fake import (ME, OTHER, T0, FakeGitlab, api_pattern, approval_event, comment_event,
                                       deployment, environment, merge_request, release)


class FakeClock:
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
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-test-token")


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


@pytest.fixture
def fake(rsps):
    return FakeGitlab(rsps).install()


def make_connector(clock: FakeClock | None = None, name: str = "gitlab", **table) -> GitlabConnector:
    table = {"max_retries": 0, "reviews": False, **table}
    settings = build_settings(GitlabSettings, table, f"[connectors.{name}]")
    clock = clock or FakeClock()
    return GitlabConnector(name, settings, IdentitySettings(name="Ada", handles=("ada",)), sleep=clock.sleep,
                           clock=clock)


def harvest(store, *connectors, since=None, page_size=1000):
    config = parse_config({"harvest": {"page_size": page_size}}, None)
    now = utcnow()
    window = HarvestWindow(since=parse_since(since or "90d", now), forced=since is not None, started_at=now)
    plan = HarvestPlan(window=window, connectors=list(connectors), rules=load_rules(config))
    return run_harvest(store, config, plan=plan)


def asked(fake, path: str) -> list[dict]:
    return [params for p, params in fake.asked if p == path]


# merge requests --------------------------------------------------------------------------------


def test_first_harvest_reads_every_page_of_my_merged_merge_requests(store, fake):
    fake.mrs = [merge_request(n, merged=T0 + timedelta(hours=n)) for n in range(1, 251)]
    fake.mrs.append(merge_request(999, merged=None))  # open: never stored
    fake.mrs.append(merge_request(998, author=OTHER))  # someone else's
    summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    assert store.count_records("gitlab", "pull_request") == 250
    pages = asked(fake, "/merge_requests")
    assert [p["page"] for p in pages] == ["1", "2", "3"] and len(fake.rsps.calls) == 4  # GET /user + 3 pages
    assert pages[0]["scope"] == "all" and pages[0]["author_username"] == "ada" and pages[0]["state"] == "merged"
    assert (pages[0]["order_by"], pages[0]["sort"], pages[0]["per_page"]) == ("updated_at", "asc", "100")
    mr = next(r for r in store.load_records("pull_request") if r.attributes["number"] == 7)
    assert (mr.subject, mr.url, mr.mine) == ("acme/fraud", "https://gitlab.com/acme/fraud/-/merge_requests/7", True)
    assert mr.attributes["reviewers"] == ["grace"] and mr.attributes["additions"] is None
    assert mr.occurred_at == T0 + timedelta(hours=7)
    cursor = store.load_cursor("gitlab", "merge_requests")
    assert cursor.value == (T0 + timedelta(hours=250, minutes=5)).isoformat() and cursor.state["me"] == "ada"


def test_second_harvest_with_nothing_new_makes_one_request(store, fake):
    fake.mrs = [merge_request(n, merged=T0 + timedelta(hours=n)) for n in range(1, 6)]
    first = harvest(store, make_connector())
    drafts_before = len(store.list_drafts())
    calls = len(fake.rsps.calls)
    second = harvest(store, make_connector())
    assert first.ok and second.ok
    assert len(fake.rsps.calls) - calls == 1  # the username is remembered: no GET /user
    assert store.count_records("gitlab") == 5 and second.drafts.new == 0 and len(store.list_drafts()) == drafts_before
    watermark = T0 + timedelta(hours=5, minutes=5) - timedelta(minutes=10)
    assert asked(fake, "/merge_requests")[-1]["updated_after"] == watermark.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_groups_narrow_merge_requests_and_merge_in_time_order(store, fake):
    fake.mrs = [merge_request(1, merged=T0 + timedelta(hours=2), project_id=7),
                merge_request(2, merged=T0 + timedelta(hours=1), project_id=8),
                merge_request(3, merged=T0, project_id=9)]
    connector = make_connector(groups=["acme"], username="ada")
    records = list(connector.fetch("merge_requests", None, HarvestWindow(T0 - timedelta(days=1), False, utcnow())))
    assert [r.attributes["number"] for r in records] == [2, 1]  # labs/other is outside the group
    assert [p for p, _ in fake.asked] == ["/groups/acme/merge_requests"]


def test_a_malformed_merge_request_is_skipped_and_counted(store, fake):
    broken = merge_request(2)
    del broken["merged_at"]
    fake.mrs = [merge_request(1), broken, merge_request(3, merged=T0 + timedelta(hours=1))]
    connector = make_connector()
    summary = harvest(store, connector)
    assert summary.ok, summary.sources[0].error
    assert sorted(r.attributes["number"] for r in store.load_records("pull_request")) == [1, 3]
    assert connector.skipped["merge requests"] == 1


def test_rate_limit_is_waited_out_per_retry_after(store, fake, caplog):
    fake.mrs = [merge_request(1)]
    clock = FakeClock()
    fake.throttled = [{"Retry-After": "42", "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(clock.now) + 42)}]
    with caplog.at_level(logging.WARNING, logger="harvester"):
        summary = harvest(store, make_connector(clock, username="ada"))
    assert summary.ok, summary.sources[0].error
    assert clock.sleeps == [42.0] and "GitLab rate limit" in caplog.text and "waiting 42 s" in caplog.text
    assert store.count_records("gitlab", "pull_request") == 1


def test_a_rate_limit_longer_than_the_cap_fails_the_source_in_one_line(store, fake):
    fake.throttled = [{"Retry-After": "3600"}]
    summary = harvest(store, make_connector(username="ada"))
    error = summary.sources[0].error
    assert not summary.ok and "max_rate_limit_wait" in error and "\n" not in error


def test_a_rejected_token_is_one_line_naming_the_token_setting(store, fake, rsps):
    rsps.replace(responses.GET, api_pattern("/user"), status=401, json={"message": "401 Unauthorized"})
    summary = harvest(store, make_connector())
    error = summary.sources[0].error
    assert not summary.ok and "GITLAB_TOKEN" in error and "token_env" in error and "\n" not in error
    assert "glpat-test-token" not in error


def test_settings_refuse_a_url_without_scheme():
    with pytest.raises(ConfigError, match="url must start with https://"):
        build_settings(GitlabSettings, {"url": "gitlab.example.com"}, "[connectors.gitlab]")


# approvals -------------------------------------------------------------------------------------


def test_approvals_become_reviews_and_project_paths_are_asked_once(store, fake):
    fake.events = [approval_event(n, T0 + timedelta(hours=n), iid=n) for n in range(1, 4)]
    fake.events.append(approval_event(9, T0 - timedelta(days=200)))  # before the window
    fake.others = [merge_request(n, "Speed up feature joins", author=OTHER, project_id=8, reviewers=())
                   for n in range(1, 4)]
    summary = harvest(store, make_connector(reviews=True))
    assert summary.ok, summary.sources[0].error
    reviews = sorted(store.load_records("review"), key=lambda r: r.occurred_at)
    assert [r.attributes["pr_number"] for r in reviews] == [1, 2, 3]
    assert reviews[0].attributes["state"] == "approved" and reviews[0].subject == "acme/ranking"
    assert reviews[0].url == "https://gitlab.com/acme/ranking/-/merge_requests/1"
    assert reviews[0].attributes["pr_author_login"] == "grace" and reviews[0].attributes["own_pr"] is False
    [lookup] = asked(fake, "/projects/8/merge_requests")  # one list names the three authors
    assert lookup["iids[]"] == ["1", "2", "3"]
    [draft] = [d for d in store.list_drafts() if d.statement.startswith("Reviewed")]
    assert draft.statement.startswith("Reviewed 3 merge requests by 1 engineer in acme/ranking during ")
    assert draft.statement.endswith("(3 reviews).")
    before = len(fake.rsps.calls)
    assert harvest(store, make_connector(reviews=True)).ok
    # one page of merge requests, one of approvals, one of comments; no lookups
    assert len(fake.rsps.calls) - before == 3


def reviewed(n: int, author=OTHER) -> dict:
    return merge_request(n, f"Speed up feature joins {n}", author=author, project_id=8, reviewers=())


def test_comments_on_a_merge_request_are_one_review_and_are_paged(store, fake):
    fake.others = [reviewed(n) for n in range(1, 4)]
    fake.events = [comment_event(n, T0 + timedelta(minutes=n), iid=1 + n % 3,
                                 target_type=("Note", "DiffNote", "DiscussionNote")[n % 3]) for n in range(1, 151)]
    fake.events.append(comment_event(200, T0, iid=9, noteable_type="Issue"))  # a comment on an issue
    summary = harvest(store, make_connector(reviews=True, username="ada"))
    assert summary.ok, summary.sources[0].error
    pages = [q for q in asked(fake, "/events") if q.get("action") == "commented"]
    assert [q["page"] for q in pages] == ["1", "2"] and "target_type" not in pages[0]
    reviews = {r.external_id: r for r in store.load_records("review")}
    assert sorted(reviews) == ["review-8-1", "review-8-2", "review-8-3"]
    one = reviews["review-8-2"]
    assert (one.attributes["state"], one.attributes["via"], one.attributes["pr_author_login"]) == \
        ("commented", "comments", "grace")
    assert one.url == "https://gitlab.com/acme/ranking/-/merge_requests/2" and one.subject == "acme/ranking"
    assert one.occurred_at == T0 + timedelta(minutes=148)  # the latest comment
    [lookup] = asked(fake, "/projects/8/merge_requests")  # the second page's are listed already
    assert lookup["iids[]"] == ["1", "2", "3"]
    [draft] = [d for d in store.list_drafts() if d.statement.startswith("Reviewed")]
    assert draft.statement.startswith("Reviewed 3 merge requests by 1 engineer in acme/ranking during ")


def test_a_malformed_comment_is_skipped_and_own_merge_requests_count_for_nothing(store, fake):
    fake.others = [reviewed(n) for n in range(1, 4)]
    fake.mrs = [reviewed(n, author=ME) for n in range(4, 7)]
    broken = comment_event(9, T0, iid=1)
    del broken["note"]["noteable_iid"]
    fake.events = [broken] + [comment_event(n, T0 + timedelta(hours=n), iid=n) for n in range(1, 7)]
    connector = make_connector(reviews=True, username="ada")
    summary = harvest(store, connector)
    assert summary.ok, summary.sources[0].error
    assert connector.skipped["review comments"] == 1
    reviews = store.load_records("review")
    assert sorted(r.attributes["own_pr"] for r in reviews) == [False] * 3 + [True] * 3
    [draft] = [d for d in store.list_drafts() if d.statement.startswith("Reviewed")]
    assert "(3 reviews)" in draft.statement  # my own three merge requests are not reviews


def test_an_approval_and_comments_on_one_merge_request_draft_one_review(store, fake):
    fake.others = [reviewed(n) for n in range(1, 4)]
    fake.events = [approval_event(n, T0 + timedelta(hours=n), iid=n) for n in range(1, 4)]
    fake.events += [comment_event(10 + n, T0 + timedelta(hours=n, minutes=-5), iid=n) for n in range(1, 4)]
    summary = harvest(store, make_connector(reviews=True, username="ada"))
    assert summary.ok, summary.sources[0].error
    assert store.count_records("gitlab", "review") == 6
    assert len(asked(fake, "/projects/8/merge_requests")) == 1  # the comments reuse the approvals' list
    [draft] = [d for d in store.list_drafts() if d.statement.startswith("Reviewed")]
    assert draft.statement.startswith("Reviewed 3 merge requests by 1 engineer") and "(3 reviews)" in draft.statement


def test_comments_already_stored_are_neither_looked_up_nor_stored_again(store, fake):
    fake.others = [reviewed(n) for n in range(1, 4)]
    fake.events = [comment_event(n, T0 + timedelta(minutes=n), iid=1 + n % 3) for n in range(1, 7)]
    assert harvest(store, make_connector(reviews=True, username="ada")).ok
    cursor = store.load_cursor("gitlab", "review_comments")
    assert cursor.value == (T0 + timedelta(minutes=6)).isoformat()
    before, drafts = len(fake.rsps.calls), len(store.list_drafts())
    second = harvest(store, make_connector(reviews=True, username="ada"))
    assert second.ok and second.drafts.new == 0 and len(store.list_drafts()) == drafts
    assert len(fake.rsps.calls) - before == 3  # merge requests, approvals, comments: one page each
    assert store.count_records("gitlab", "review") == 3
    fake.events.append(comment_event(7, T0 + timedelta(minutes=7), iid=2))
    assert harvest(store, make_connector(reviews=True, username="ada")).ok
    [moved] = [r for r in store.load_records("review") if r.external_id == "review-8-2"]
    assert moved.occurred_at == T0 + timedelta(minutes=7) and store.count_records("gitlab", "review") == 3


# releases and deployments --------------------------------------------------------------------


def test_releases_and_production_deployments(store, fake):
    fake.releases["acme/fraud"] = [release("v1.2.0", T0 + timedelta(days=1)), release("v1.3.0", T0 + timedelta(days=2)),
                                   release("v2.0.0", T0 + timedelta(days=30), upcoming=True)]
    fake.deployments["acme/fraud"] = [deployment(1, T0 + timedelta(hours=3)),
                                      deployment(2, T0 + timedelta(hours=4), environment_id=10, env_name="review/x")]
    fake.environments["acme/fraud"] = [environment(9, "production", "production"),
                                       environment(10, "review/x", "development")]
    summary = harvest(store, make_connector(projects=["acme/fraud"]))
    assert summary.ok, summary.sources[0].error
    assert sorted(r.attributes["tag"] for r in store.load_records("release")) == ["v1.2.0", "v1.3.0"]
    deployments = {r.external_id: r for r in store.load_records("deployment")}
    assert (deployments["1"].attributes["production"], deployments["2"].attributes["production"]) == (True, False)
    assert any("v1.3.0" in d.statement or "release" in d.statement.lower() for d in store.list_drafts())
    before = len(fake.rsps.calls)
    second = harvest(store, make_connector(projects=["acme/fraud"]))
    assert second.ok and second.drafts.new == 0
    # merge requests, releases and deployments: one page each; the environments' tiers are remembered
    assert len(fake.rsps.calls) - before == 3
    assert store.count_records("gitlab", "deployment") == 2 and store.count_records("gitlab", "release") == 2


# drafting --------------------------------------------------------------------------------------


def test_merge_requests_draft_through_the_engineering_rules(store, fake):
    fake.mrs = [merge_request(7, "Add focal loss to the fraud model", description="Closes ENG-123."),
                merge_request(8, "docs: runbook for the fraud model retraining", merged=T0 + timedelta(hours=1))]
    summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    drafts = {d.statement: d for d in store.list_drafts()}
    shipped = next(d for s, d in drafts.items() if "Add focal loss" in s)
    assert shipped.statement.startswith('Shipped "Add focal loss to the fraud model" in acme/fraud (MR !7)')
    assert ("https://gitlab.com/acme/fraud/-/merge_requests/7", "MR acme/fraud!7") in \
        [(e.url, e.label) for e in shipped.evidence]
    docs = next(d for s, d in drafts.items() if "runbook" in s)
    assert docs.statement.endswith("in acme/fraud (MR !8).")


def test_a_merge_request_naming_a_jira_key_joins_the_ticket_in_one_draft(store, fake):
    from harvester.records import make_issue_attributes, make_issue_record

    resolved = T0 + timedelta(hours=2)
    ticket = make_issue_record(
        "jira", "10123", resolved, "ENG", make_issue_attributes(
            key="ENG-123", summary="Cut false negatives on card-not-present fraud", type="Story", status="Done",
            status_category="done", resolution="Done", resolved_at=resolved.isoformat(), assignee_is_me=True,
            project="ENG"),
        mine=True, title="ENG-123 Cut false negatives on card-not-present fraud",
        url="https://acme.atlassian.net/browse/ENG-123")
    store.save_page([ticket], None)
    fake.mrs = [merge_request(7, "ENG-123: add focal loss to the fraud model", description="Trains with focal loss.")]
    summary = harvest(store, make_connector())
    assert summary.ok, summary.sources[0].error
    [draft] = [d for d in store.list_drafts() if "focal loss" in d.statement]
    urls = [e.url for e in draft.evidence]
    assert "https://gitlab.com/acme/fraud/-/merge_requests/7" in urls
    assert "https://acme.atlassian.net/browse/ENG-123" in urls


def test_doctor_names_the_account_and_counts_merged_merge_requests(fake):
    from datetime import datetime, timezone

    fake.mrs = [merge_request(n) for n in range(1, 4)]
    diagnosis = make_connector().diagnose(datetime.now(timezone.utc) - timedelta(days=90))
    assert diagnosis.ok and diagnosis.identity == "ada (id 101)" and diagnosis.matching == 3
    assert asked(fake, "/merge_requests")[0]["per_page"] == "1"
