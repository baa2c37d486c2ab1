"""release_shipped over release and deployment records parsed from GitHub's payload shapes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from harvester.connectors.github.parse import parse_deployment, parse_release
from harvester.registry import build_rules
from harvester.rules.base import DetectContext, RecordGroup, detect_in_groups
from harvester.rules.releases import ReleaseShippedRule
from harvester.drafting.wording import word_finding
from tests.support.github_fake import BOT, ME, OTHER, deployment, release

T0 = datetime(2026, 8, 3, 9, 0, tzinfo=timezone.utc)
WEB = "https://github.com"


def releases(*items, repo="acme/fraud"):
    return [parse_release(i, "github-work", repo, ME["id"]) for i in items]


def staging(did, created, **kw):
    item = deployment(did, "staging", created, **kw)
    item["production_environment"] = False
    return item


def deployments(*items, repo="acme/fraud"):
    return [parse_deployment(i, "github-work", repo, ME["id"], WEB) for i in items]


def detect(rule, *groups):
    ctx = DetectContext(now=T0 + timedelta(days=60))
    return detect_in_groups([rule], [RecordGroup("github-work", kind, records[0].subject, records)
                                     for kind, records in groups], ctx)


def test_one_draft_per_repository_and_quarter_with_releases_and_production_deployments():
    rel = releases(release(1, "v1.2.0", T0), release(2, "v1.3.0", T0 + timedelta(days=20)),
                   release(3, "v1.4.0", T0 + timedelta(days=21), author=OTHER),
                   release(4, "v1.5.0", T0 + timedelta(days=22), author=BOT))
    dep = deployments(deployment(50, "production", T0 + timedelta(days=1)),
                      deployment(51, "production", T0 + timedelta(days=21)),
                      staging(52, T0 + timedelta(days=2)),
                      deployment(53, "production", T0 + timedelta(days=3), creator=BOT))
    [f] = detect(ReleaseShippedRule(), ("release", rel), ("deployment", dep))
    assert (f.kind, f.subject, f.period) == ("release_shipped", "acme/fraud", "2026-Q3")
    assert f.facts["releases"] == ["v1.2.0", "v1.3.0"] and f.facts["deployments"] == 2
    assert [m.name for m in f.metrics] == ["releases", "production deployments"]
    assert f.evidence[0].url == "https://github.com/acme/fraud/releases/tag/v1.2.0"
    statement, prompt = word_finding(f)
    assert statement == "Shipped 2 releases (v1.2.0 to v1.3.0) and 2 production deployments of acme/fraud in 2026-Q3."
    assert prompt


def test_staging_only_other_people_and_pre_releases_draft_nothing():
    pre = release(7, "v2.0.0-rc1", T0)
    pre["prerelease"] = True
    found = detect(ReleaseShippedRule(), ("release", releases(pre, release(8, "v2.0.0", T0, author=OTHER))),
                   ("deployment", deployments(staging(60, T0))))
    assert found == []


def test_quarters_and_repositories_are_separate_and_identity_is_stable():
    rule = ReleaseShippedRule()
    groups = [("release", releases(release(1, "v1", T0), release(2, "v2", T0 + timedelta(days=70)))),
              ("release", releases(release(3, "v9", T0), repo="acme/serving"))]
    first = detect(rule, *groups)
    assert sorted((f.subject, f.period) for f in first) == [("acme/fraud", "2026-Q3"), ("acme/fraud", "2026-Q4"),
                                                            ("acme/serving", "2026-Q3")]
    assert [f.fingerprint for f in detect(rule, *groups)] == [f.fingerprint for f in first]  # nothing kept between passes


def test_environment_names_and_threshold_come_from_config():
    [rule] = [r for r in build_rules({"release_shipped": {"environments": ["prd"], "min_deployments": 2}}, "harvester.toml")
              if isinstance(r, ReleaseShippedRule)]
    one = deployment(70, "prd", T0)
    one["production_environment"] = False
    assert detect(rule, ("deployment", deployments(one))) == []
    two = deployment(71, "prd", T0 + timedelta(days=1))
    two["production_environment"] = False
    [f] = detect(rule, ("deployment", deployments(one, two)))
    assert word_finding(f)[0] == "Shipped 2 production deployments of acme/fraud in 2026-Q3."
    with pytest.raises(ValueError):
        ReleaseShippedRule(min_deployments=0)
