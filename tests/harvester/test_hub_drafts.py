"""Models and datasets on the Hugging Face Hub, harvested from recorded payloads into a store,
draft one statement per repository and period, with a check-in asking what the model enabled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses

from harvester.config import parse_config
from harvester.drafting.redraft import redraft
from harvester.harvest import run_harvest
from tests.support.hf_fake import TOKEN, FakeHub, commit, repo, system_commit

NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAY = timedelta(hours=1)  # the revisions are hours apart


def quarter_safe_now() -> datetime:
    """NOW, or just before the current quarter began when three hours back would cross into
    the previous one: the revisions must share a quarter, as the draft is one per quarter."""
    from harvester.timeutil import period_bounds, period_of

    start = period_bounds(period_of(NOW, "quarter"))[0]
    return NOW if NOW - 3 * DAY >= start else start - timedelta(minutes=1)


AT = quarter_safe_now()


@pytest.fixture
def config():
    return parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]},
                         "connectors": {"hf": {"type": "huggingface", "authors": ["acme"], "max_retries": 0}}}, None)


@pytest.fixture
def harvested(store, config, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeHub(mock)
        fake.models = [repo("acme/fraud-detector", AT - DAY, created=AT - 3 * DAY, downloads=310,
                            downloads_all_time=1204, likes=17)]
        fake.commits["model:acme/fraud-detector"] = [
            system_commit(AT - 3 * DAY), commit(1, "Upload model", AT - 3 * DAY + timedelta(minutes=1)),
            commit(2, "Quantize to int8", AT - 2 * DAY), commit(3, "Update README", AT - 2 * DAY, user="grace"),
            commit(4, "Add ONNX export", AT - DAY)]
        fake.install()
        summary = run_harvest(store, config, since="30d")
    assert summary.ok, summary.sources[0].error
    return store


def test_a_model_i_pushed_drafts_one_statement_with_its_titles_downloads_and_likes(harvested, config):
    redraft(harvested, config, now=NOW)
    [draft] = [d for d in harvested.list_drafts(["pending"]) if d.kind == "hub_release"]
    assert draft.statement == ('Published the model acme/fraud-detector on the Hugging Face Hub (3 revisions: '
                               '"Add ONNX export", "Quantize to int8", "Upload model"); 1,204 downloads and 17 likes '
                               'so far.')
    assert draft.impact_prompt.startswith("What did this model enable")
    assert {(m.name, m.after) for m in draft.metrics} == {("revisions", 3.0), ("downloads", 1204.0), ("likes", 17.0)}
    assert "production-mlops" in draft.tags
    assert all(e.url.startswith("https://huggingface.co/acme/fraud-detector/commit/") for e in draft.evidence)
