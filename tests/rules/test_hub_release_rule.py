"""hub_release over hub_repo records parsed from the Hub's payload shapes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from harvester.connectors.huggingface.parse import parse_commit, parse_repo
from harvester.drafting.kinds import kind_of
from harvester.drafting.wording import word_finding
from harvester.rules.base import DetectContext, RecordGroup, detect_in_groups
from harvester.rules.hub_release import HubReleaseRule
from tests.support.hf_fake import commit, repo

T0 = datetime(2026, 8, 3, 9, 0, tzinfo=timezone.utc)
WEB = "https://huggingface.co"


def revisions(item: dict, *commits: dict, repo_type: str = "model"):
    parsed = parse_repo(item, repo_type)
    return [parse_commit(c, parsed, "hf", WEB) for c in commits]


def detect(rule, *groups):
    ctx = DetectContext(now=T0 + timedelta(days=60))
    return detect_in_groups([rule], [RecordGroup("hf", "hub_repo", records[0].subject, records) for records in groups],
                            ctx)


def test_one_draft_per_model_and_quarter_naming_the_latest_titles_and_outcome():
    item = repo("acme/fraud-detector", T0 + timedelta(days=3), created=T0, downloads=310, downloads_all_time=1204,
                likes=17)
    records = revisions(item, commit(1, "Upload model", T0), commit(2, "Quantize to int8", T0 + timedelta(days=1)),
                        commit(3, "Add ONNX export", T0 + timedelta(days=3)))
    later = revisions(repo("acme/fraud-detector", T0 + timedelta(days=70), created=T0),
                      commit(4, "Retrain on October data", T0 + timedelta(days=70)))
    findings = detect(HubReleaseRule(), records + later)
    [q3, q4] = sorted(findings, key=lambda f: f.period)
    assert (q3.kind, q3.subject, q3.period) == ("hub_release", "acme/fraud-detector", "2026-Q3")
    assert q3.facts["titles"] == ["Add ONNX export", "Quantize to int8", "Upload model"]
    assert q3.facts["published"] is True and q4.facts["published"] is False
    assert [(m.name, m.after) for m in q3.metrics] == [("revisions", 3.0), ("downloads", 1204.0), ("likes", 17.0)]
    statement, prompt = word_finding(q3)
    assert statement == ('Published the model acme/fraud-detector on the Hugging Face Hub (3 revisions: '
                         '"Add ONNX export", "Quantize to int8", "Upload model"); 1,204 downloads and 17 likes so far.')
    assert "enable" in prompt
    assert word_finding(q4)[0] == ('Updated the model acme/fraud-detector on the Hugging Face Hub (1 revision: '
                                   '"Retrain on October data"); 0 downloads and 0 likes so far.')


def test_datasets_and_private_models_draft_without_outcome_numbers():
    data = revisions(repo("acme/claims", T0, created=T0 - timedelta(days=400), downloads=50, dataset=True),
                     commit(1, "Add 2026 claims", T0), repo_type="dataset")
    private = revisions(repo("acme/internal", T0, created=T0, downloads=9, likes=1, private=True),
                        commit(2, "Upload model", T0))
    by_subject = {f.subject: f for f in detect(HubReleaseRule(), data, private)}
    assert word_finding(by_subject["acme/claims"])[0] == \
        'Updated the dataset acme/claims on the Hugging Face Hub (1 revision: "Add 2026 claims").'
    assert [m.name for m in by_subject["acme/internal"].metrics] == ["revisions"]


def test_more_revisions_than_titles_shown_end_with_an_ellipsis():
    item = repo("acme/ranker", T0 + timedelta(days=5), created=T0 - timedelta(days=400), downloads=12)
    records = revisions(item, *(commit(i, f"Step {i}", T0 + timedelta(days=i)) for i in range(1, 6)))
    [f] = detect(HubReleaseRule(period="year"), records)
    assert word_finding(f)[0] == ('Updated the model acme/ranker on the Hugging Face Hub (5 revisions: "Step 5", '
                                  '"Step 4", "Step 3", ...); 12 downloads and 0 likes so far.')


def test_the_kind_asks_a_check_in_about_its_outcome():
    kind = kind_of("hub_release")
    assert kind.check_in and kind.needs_outcome and kind.dimensions == ("production-mlops",)


def test_parameters_are_checked():
    with pytest.raises(ValueError):
        HubReleaseRule(period="week")
    with pytest.raises(ValueError):
        HubReleaseRule(min_revisions=0)
