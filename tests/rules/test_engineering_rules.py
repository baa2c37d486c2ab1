"""pr_shipped, docs_written and review_given over GitHub records built inline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from harvester.errors import ConfigError
from harvester.models import Record
from harvester.records import (make_pull_request_attributes, make_pull_request_record, make_review_attributes,
                               make_review_record)
from harvester.registry import build_rules
from harvester.rules.base import DetectContext, RecordGroup, detect_in_groups
from harvester.rules.engineering import DocsWrittenRule, PrShippedRule, ReviewGivenRule, classify_pull_request
from harvester.drafting.wording import word_finding

T0 = datetime(2026, 8, 3, 10, 0, tzinfo=timezone.utc)
REPO = "acme/fraud"


def pr(number: int, title: str, body: str = "", labels=(), days: float = 0, mine: bool = True, bot: bool = False,
       additions=None, deletions=None, reviewers=()) -> Record:
    merged = T0 + timedelta(days=days)
    attributes = make_pull_request_attributes(
        title=title, number=number, repo=REPO, merged_at=merged.isoformat(), updated_at=merged.isoformat(),
        labels=list(labels), body=body, author_id=101, author_login="ada", is_bot=bot, additions=additions,
        deletions=deletions, changed_files=3 if additions is not None else None, reviewers=list(reviewers))
    return make_pull_request_record("github-work", str(900000 + number), merged, REPO, attributes, actor="ada",
                                    mine=mine, title=title, url=f"https://github.com/{REPO}/pull/{number}")


def review(n: int, repo: str = "acme/serving", days: float = 0, author: int = 202, own: bool = False,
           bot: bool = False, state: str = "approved") -> Record:
    at = T0 + timedelta(days=days)
    attributes = make_review_attributes(state=state, repo=repo, pr_number=n, pr_title=f"Change {n}",
                                        pr_url=f"https://github.com/{repo}/pull/{n}", pr_author_id=author,
                                        pr_author_login=f"user{author}", pr_author_is_bot=bot, own_pr=own)
    return make_review_record("github-work", str(700000 + n), at, repo, attributes, mine=True,
                              title=f"Review of {repo}#{n}", url=f"https://github.com/{repo}/pull/{n}#r")


def group(records, kind="pull_request", subject=REPO) -> RecordGroup:
    return RecordGroup(source="github-work", kind=kind, subject=subject, records=records)


CTX = DetectContext(now=T0 + timedelta(days=30))


@pytest.mark.parametrize("title,labels,expected", [
    ("Fix typo in README", (), "trivial"),
    ("Bump scikit-learn from 1.4.0 to 1.5.1", (), "trivial"),
    ("chore(deps): update dependency torch to v2.4", (), "trivial"),
    ("Update requirements", ("dependencies",), "trivial"),
    ("docs: explain the retraining schedule", (), "docs"),
    ("Design doc: online feature store for fraud scoring", (), "docs"),
    ("Add runbook for the scoring service", (), "docs"),
    ("Add focal loss to the fraud model", (), "code"),
    ("Serve fraud-detector v7 behind a flag", ("documentation",), "docs"),
])
def test_classify_pull_requests(title, labels, expected):
    assert classify_pull_request(pr(1, title, labels=labels)) == expected


def test_one_draft_per_pr_with_size_and_reviewers_when_known():
    findings = list(PrShippedRule().detect(group([
        pr(1, "Add focal loss to the fraud model", additions=180, deletions=40, reviewers=["grace", "lin"])]), CTX))
    assert len(findings) == 1
    f = findings[0]
    assert (f.kind, f.subject, f.facts["additions"], f.facts["reviewers"]) == ("pr_shipped", REPO, 180,
                                                                                ["grace", "lin"])
    statement, prompt = word_finding(f)
    assert statement == ('Shipped "Add focal loss to the fraud model" in acme/fraud (PR #1), +180/-40 lines across '
                         '3 files, reviewed by grace, lin.')
    assert "?" in prompt


def test_noise_drafts_nothing_on_its_own():
    records = [pr(1, "Fix typo in docstring"), pr(2, "Bump numpy from 1.26.4 to 2.0.1"),
               pr(3, "Retrain nightly", bot=True), pr(4, "Tweak threshold", additions=2, deletions=1),
               pr(5, "Add the scoring endpoint", mine=False)]
    assert list(PrShippedRule().detect(group(records), CTX)) == []


def test_small_prs_of_one_feature_make_one_draft():
    records = [pr(11, "FRAUD-12: add feature extraction for device ids", days=0),
               pr(12, "Wire device features into training (FRAUD-12)", days=2),
               pr(13, "Fix typo in FRAUD-12 config", days=3),
               pr(14, "[drift-monitor] add PSI computation", days=1),
               pr(15, "[drift-monitor] alert on drift", days=4),
               pr(16, "Add calibration plot", days=5)]
    findings = {f.facts["feature"]: f for f in PrShippedRule().detect(group(records), CTX)}
    assert set(findings) == {"FRAUD-12", "[drift-monitor]", None}
    fraud = findings["FRAUD-12"]
    assert fraud.facts["count"] == 3 and fraud.record_ids == ("900011", "900012", "900013")
    assert fraud.facts["references"]["jira"] == ["FRAUD-12"]
    statement, _ = word_finding(fraud)
    assert statement == "Shipped the work for FRAUD-12 in acme/fraud across 3 merged PRs (#11, #12, #13)."
    assert word_finding(findings["[drift-monitor]"])[0].startswith("Shipped drift-monitor in acme/fraud across 2")


def test_a_new_pr_of_a_feature_keeps_the_fingerprint():
    rule = PrShippedRule()
    before = list(rule.detect(group([pr(11, "FRAUD-12: add feature extraction")]), CTX))
    after = list(rule.detect(group([pr(11, "FRAUD-12: add feature extraction"),
                                    pr(12, "FRAUD-12 wire into training", days=1)]), CTX))
    assert before[0].fingerprint == after[0].fingerprint and after[0].facts["count"] == 2


def test_docs_and_design_docs():
    records = [pr(21, "Design doc: online feature store for fraud scoring"), pr(22, "docs: explain retraining"),
               pr(23, "docs: fix typo"), pr(24, "Add focal loss")]
    docs = {f.facts["number"]: f for f in DocsWrittenRule().detect(group(records), CTX)}
    assert set(docs) == {21, 22}
    assert docs[21].facts["design_doc"] and not docs[22].facts["design_doc"]
    assert word_finding(docs[21])[0] == ('Wrote the design doc "Design doc: online feature store for fraud scoring" '
                                         'for acme/fraud (PR #21).')
    assert [f.facts["title"] for f in PrShippedRule().detect(group(records), CTX)] == ["Add focal loss"]


def test_reviews_make_one_draft_per_period_not_per_review():
    rule = ReviewGivenRule()
    serving = [review(n, days=n) for n in range(1, 6)] + [review(6, days=6, state="changes_requested")]
    platform = [review(30, repo="acme/platform", days=3, author=303), review(30, repo="acme/platform", days=4,
                                                                             author=303)]
    noise = [review(40, own=True), review(41, bot=True)]
    next_quarter = [review(50, days=70)]
    groups = [group(serving + noise, "review", "acme/serving"), group(platform, "review", "acme/platform"),
              group(next_quarter, "review", "acme/serving")]
    findings = detect_in_groups([rule], groups, CTX)
    assert len(findings) == 1  # the next quarter has one review, under min_reviews
    f = findings[0]
    assert (f.kind, f.period, f.facts["reviews"], f.facts["pull_requests"], f.facts["authors"]) == \
        ("review_given", "2026-Q3", 8, 7, 2)
    assert f.facts["repos"] == {"acme/serving": 6, "acme/platform": 1}
    statement, prompt = word_finding(f)
    assert statement == ("Reviewed 7 pull requests by 2 engineers in 2 repositories (acme/serving, acme/platform) "
                         "during 2026-Q3 (8 reviews, 1 asking for changes).")
    assert "grow" in prompt
    assert detect_in_groups([rule], [], CTX) == []  # the rule keeps nothing between passes
    assert [f.fingerprint for f in detect_in_groups([rule], groups, CTX)] == [f.fingerprint for f in findings]


def test_comments_on_a_change_also_approved_in_the_period_count_once():
    def comments(n: int, days: float) -> Record:
        attributes = make_review_attributes(state="commented", repo="acme/serving", pr_number=n, pr_title=f"Change {n}",
                                            pr_author_id=202, via="comments", forge="gitlab")
        return make_review_record("gitlab", f"review-8-{n}", T0 + timedelta(days=days), "acme/serving", attributes,
                                  mine=True)

    records = [review(1, days=1), comments(1, 0.5), comments(2, 2), comments(3, 3), review(3, days=80), comments(3, 81)]
    found = detect_in_groups([ReviewGivenRule(min_reviews=1)], [group(records, "review", "acme/serving")], CTX)
    by_period = {f.period: f for f in found}
    assert (by_period["2026-Q3"].facts["reviews"], by_period["2026-Q3"].facts["pull_requests"]) == (3, 3)
    assert "review-8-1" not in by_period["2026-Q3"].record_ids
    assert by_period["2026-Q4"].facts["reviews"] == 1  # the approval in the next quarter covers its comments there


def test_review_period_by_month():
    rule = ReviewGivenRule(period="month", min_reviews=1)
    found = detect_in_groups([rule], [group([review(1, days=0), review(2, days=40)], "review", "acme/serving")], CTX)
    assert [f.period for f in found] == ["2026-08", "2026-09"]


def test_rule_parameters_are_validated():
    with pytest.raises(ConfigError, match="period"):
        build_rules({"review_given": {"period": "fortnight"}}, "harvester.toml")
    with pytest.raises(ConfigError, match="unknown key"):
        build_rules({"pr_shipped": {"min_line": 3}}, "harvester.toml")
