"""Hugging Face Hub connector against a `responses` fake of the Hub API (no network, no sleeping)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import responses

from harvester.config import IdentitySettings, parse_config
from harvester.connectors.base import HarvestWindow
from harvester.connectors.huggingface.connector import HuggingfaceConnector
from harvester.connectors.huggingface.settings import HuggingfaceSettings
from harvester.drafting.redraft import load_rules
from harvester.errors import ConfigError
from harvester.harvest import HarvestPlan, run_harvest
from harvester.models import utcnow
from harvester.settings import build_settings
from harvester.timeutil import parse_since
from tests.support.hf_fake import T0, TOKEN, FakeHub, commit, iso, repo, system_commit


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
    monkeypatch.setenv("HF_TOKEN", TOKEN)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


@pytest.fixture
def fake(rsps):
    return FakeHub(rsps).install()


def make_connector(clock: FakeClock | None = None, name: str = "hf", **table) -> HuggingfaceConnector:
    table = {"max_retries": 0, **table}
    settings = build_settings(HuggingfaceSettings, table, f"[connectors.{name}]")
    clock = clock or FakeClock()
    return HuggingfaceConnector(name, settings, IdentitySettings(name="Ada", handles=("ada",)), sleep=clock.sleep,
                                clock=clock)


def harvest(store, *connectors, since=None):
    config = parse_config({}, None)
    now = utcnow()
    window = HarvestWindow(since=parse_since(since or "90d", now), forced=since is not None, started_at=now)
    plan = HarvestPlan(window=window, connectors=list(connectors), rules=load_rules(config))
    return run_harvest(store, config, plan=plan)


def paths(fake) -> list[str]:
    return [p for p, _ in fake.asked]


def a_model(n: int, hours: int, **kw) -> dict:
    return repo(f"ada/model-{n}", T0 + timedelta(hours=hours), created=T0 - timedelta(days=200), **kw)


def test_first_harvest_pages_repositories_and_commits_by_the_link_header(store, fake):
    fake.models = [a_model(n, n) for n in range(1, 6)]
    for n in range(1, 6):
        fake.commits[f"model:ada/model-{n}"] = [commit(n * 10, f"Tune model {n}", T0 + timedelta(hours=n))]
    fake.commits["model:ada/model-5"] += [commit(50 + i, f"Step {i}", T0 + timedelta(hours=4, minutes=i))
                                          for i in range(1, 5)]
    fake.commits["model:ada/model-5"].append(system_commit(T0 - timedelta(days=200)))
    summary = harvest(store, make_connector(page_size=2, datasets=False))
    assert summary.ok, summary.sources[0].error
    lists = [q for p, q in fake.asked if p == "/models"]
    assert len(lists) == 3 and lists[1]["cursor"] == "2" and lists[2]["cursor"] == "4"
    assert (lists[0]["author"], lists[0]["sort"], lists[0]["direction"], lists[0]["limit"]) == ("ada", "lastModified",
                                                                                              "-1", "2")
    assert {"lastModified", "downloadsAllTime", "likes", "pipeline_tag"} <= set(lists[0]["expand"])
    commit_pages = [q.get("p", "0") for p, q in fake.asked if p == "/models/ada/model-5/commits/main"]
    assert commit_pages == ["0", "1", "2"]  # 5 commits of mine then the system commit: stops at the window
    assert paths(fake)[0] == "/whoami-v2" and len(fake.rsps.calls) == 1 + 3 + 4 + 3
    records = sorted(store.load_records("hub_repo"), key=lambda r: r.occurred_at)
    assert len(records) == 9 and all(r.mine for r in records)
    first = next(r for r in records if r.subject == "ada/model-1")
    assert first.attributes["commit_title"] == "Tune model 1" and first.attributes["repo_type"] == "model"
    assert first.url == f"https://huggingface.co/ada/model-1/commit/{10:040x}"
    cursor = store.load_cursor("hf", "models")
    assert cursor.value == (T0 + timedelta(hours=5)).isoformat() and cursor.state["me"] == "ada"


def test_second_harvest_with_nothing_new_makes_one_request_per_stream(store, fake):
    fake.models = [a_model(1, 1)]
    fake.datasets = [repo("ada/claims", T0 + timedelta(hours=2), dataset=True)]
    fake.commits["model:ada/model-1"] = [commit(1, "Upload model", T0 + timedelta(hours=1))]
    fake.commits["dataset:ada/claims"] = [commit(2, "Add 2026 claims", T0 + timedelta(hours=2))]
    first = harvest(store, make_connector())
    calls = len(fake.rsps.calls)
    second = harvest(store, make_connector())
    assert first.ok and second.ok, (first.sources[0].error, second.sources[0].error)
    assert store.count_records("hf", "hub_repo") == 2
    assert paths(fake)[calls:] == ["/models", "/datasets"]  # who I am is remembered; nothing changed
    assert second.drafts.new == 0


def test_a_repository_someone_else_changed_is_not_read_again(store, fake):
    fake.models = [a_model(1, 3)]
    fake.commits["model:ada/model-1"] = [commit(1, "Fix typo in card", T0 + timedelta(hours=3), user="grace")]
    harvest(store, make_connector(datasets=False))
    assert store.count_records("hf", "hub_repo") == 0
    calls = len(fake.rsps.calls)
    harvest(store, make_connector(datasets=False))
    assert paths(fake)[calls:] == ["/models"]


def test_rate_limit_is_waited_out_per_the_ratelimit_header(store, fake, caplog):
    fake.models = [a_model(1, 1)]
    fake.commits["model:ada/model-1"] = [commit(1, "Upload model", T0 + timedelta(hours=1))]
    fake.throttled = [{"RateLimit": '"api";r=0;t=55', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}]
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="harvester"):
        summary = harvest(store, make_connector(clock, datasets=False))
    assert summary.ok, summary.sources[0].error
    assert clock.sleeps == [56.0] and "waiting 56 s" in caplog.text
    assert store.count_records("hf", "hub_repo") == 1


def test_a_rate_limit_longer_than_the_cap_fails_the_source_in_one_line(store, fake):
    fake.models = [a_model(1, 1)]
    fake.throttled = [{"RateLimit": '"api";r=0;t=1800'}]
    summary = harvest(store, make_connector(max_rate_limit_wait=60, datasets=False))
    error = summary.sources[0].error
    assert not summary.ok and "max_rate_limit_wait" in error and "\n" not in error


def test_a_rejected_token_is_one_line_naming_the_token_setting(store, fake, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrongTokenZyxwvutsrqponmlkjihg")
    summary = harvest(store, make_connector())
    error = summary.sources[0].error
    assert not summary.ok and "HF_TOKEN" in error and "token_env" in error and "HTTP 401" in error
    assert "\n" not in error and "hf_wrongToken" not in error


def test_a_malformed_repository_and_commit_are_skipped_and_counted(store, fake):
    broken = a_model(2, 2)
    del broken["lastModified"]
    fake.models = [a_model(1, 1), broken, "not a repository", a_model(3, 3)]
    fake.commits["model:ada/model-1"] = [commit(1, "Upload model", T0 + timedelta(hours=1))]
    no_id = {"title": "no id", "authors": [{"user": "ada"}], "date": iso(T0 + timedelta(hours=2))}
    fake.commits["model:ada/model-3"] = [commit(3, "Upload model", T0 + timedelta(hours=3)), no_id]
    connector = make_connector(datasets=False)
    summary = harvest(store, connector)
    assert summary.ok, summary.sources[0].error
    assert sorted(r.subject for r in store.load_records("hub_repo")) == ["ada/model-1", "ada/model-3"]
    assert connector.skipped["models"] == 2 and connector.skipped["revisions"] == 1


def test_public_repositories_need_no_token_when_username_is_set(store, fake, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    fake.public_only = True
    fake.models = [a_model(1, 1)]
    fake.commits["model:ada/model-1"] = [commit(1, "Upload model", T0 + timedelta(hours=1))]
    summary = harvest(store, make_connector(username="ada", datasets=False))
    assert summary.ok, summary.sources[0].error
    assert "/whoami-v2" not in paths(fake) and store.count_records("hf", "hub_repo") == 1
    assert all("Authorization" not in c.request.headers for c in fake.rsps.calls)


def test_without_token_or_username_the_error_names_both(monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(ConfigError, match="HF_TOKEN.*username"):
        make_connector().check()


def test_authors_read_an_organisation_and_count_only_my_commits(store, fake):
    fake.models = [repo("acme/fraud-detector", T0 + timedelta(hours=2))]
    fake.commits["model:acme/fraud-detector"] = [commit(1, "Add ONNX export", T0 + timedelta(hours=1)),
                                                 commit(2, "Update README", T0 + timedelta(hours=2), user="grace")]
    summary = harvest(store, make_connector(authors=["acme"], datasets=False))
    assert summary.ok, summary.sources[0].error
    assert [q["author"] for p, q in fake.asked if p == "/models"] == ["acme"]
    assert [r.attributes["commit_title"] for r in store.load_records("hub_repo")] == ["Add ONNX export"]


def test_settings_refuse_a_bad_author_and_endpoint():
    with pytest.raises(ConfigError, match="authors and username"):
        build_settings(HuggingfaceSettings, {"authors": ["acme/x"]}, "[connectors.hf]")
    with pytest.raises(ConfigError, match="endpoint must be"):
        build_settings(HuggingfaceSettings, {"endpoint": "huggingface.co"}, "[connectors.hf]")


def test_doctor_names_the_token_owner_and_counts_models_changed_since(fake):
    fake.models = [a_model(1, 1), repo("ada/old", T0 - timedelta(days=300))]
    d = make_connector().diagnose(T0 - timedelta(days=1))
    assert d.reachable and d.identity == "ada" and d.matching == 1 and not d.problems
    assert paths(fake) == ["/whoami-v2", "/models"]


def test_doctor_flags_a_token_of_someone_else(fake):
    fake.user = {**fake.user, "name": "grace"}
    d = make_connector().diagnose(T0)
    assert d.problems and "HF_TOKEN" in d.problems[0].fix
