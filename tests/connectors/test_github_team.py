"""A team's GitHub harvest on the `responses` fake of GitHub's REST and GraphQL APIs: one search
of the organization's merged pull requests, attributed by author, the reviews members gave read
from the same details queries, colleagues outside the team left out."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
import sqlalchemy as sa

from tests.support.cli import run_cli, write_config
from tests.support.github_fake import API, ME, OTHER, T0, FakeGithub, iso, pr_item

BO = {"login": "bo-dev", "id": 303, "node_id": "U_kgDOAAABLw", "type": "User", "site_admin": False}


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_team_service_token")
    monkeypatch.delenv("HARVESTER_MEMBER", raising=False)


def review(n: int, user: dict, when, state: str = "APPROVED") -> dict:
    """A PullRequestReview node as the team details query asks for it."""
    return {"id": f"PRR_kwDO{n:06d}", "fullDatabaseId": str(800000 + n), "state": state, "submittedAt": iso(when),
            "url": f"https://github.com/acme/fraud/pull/{n}#pullrequestreview-{800000 + n}",
            "author": {"login": user["login"]}}


def details(item: dict, reviews: list) -> dict:
    return {"id": item["node_id"], "additions": 220, "deletions": 40, "changedFiles": 6, "reviews": {"nodes": reviews}}


def team_config(tmp_path, database_url: str, orgs: str = '["acme"]') -> str:
    return str(write_config(tmp_path / "harvester.toml", f"""
[team]
name = "ml-platform"

[[team.members]]
name = "Ada Example"
email = "ada@example.com"
github = "ada"

[[team.members]]
name = "Bo Example"
email = "bo@example.com"
github = "Bo-Dev"

[store]
url = "{database_url}"

[connectors.gh]
type = "github"
orgs = {orgs}
max_retries = 0
seconds_between_requests = 0
"""))


@pytest.fixture
def org():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeGithub(rsps).install()
        ada_pr = pr_item(1, "Add focal loss to the fraud model", merged=T0, user=ME)
        bo_pr = pr_item(2, "Cache feature lookups in the scorer", merged=T0 + timedelta(hours=2), user=BO)
        outsider_pr = pr_item(3, "Bump the base image", merged=T0 + timedelta(hours=4), user=OTHER)
        elsewhere = pr_item(4, "Not the team's organization", merged=T0, user=ME, repo="other-org/tool")
        fake.prs = [ada_pr, bo_pr, outsider_pr, elsewhere]
        fake.details = {
            ada_pr["node_id"]: details(ada_pr, [review(11, BO, T0 - timedelta(hours=3), "COMMENTED"),
                                                review(12, BO, T0 - timedelta(hours=1)),
                                                review(13, ME, T0 - timedelta(hours=2), "COMMENTED")]),
            bo_pr["node_id"]: details(bo_pr, [review(21, OTHER, T0), review(22, ME, T0 + timedelta(hours=1))]),
            outsider_pr["node_id"]: details(outsider_pr, [review(31, ME, T0 + timedelta(hours=3))]),
        }
        yield fake, rsps


def owned(database_url: str) -> dict[str, list[tuple[str, str]]]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT owner, kind, external_id FROM records ORDER BY external_id")).all()
    finally:
        engine.dispose()
    found: dict[str, list[tuple[str, str]]] = {}
    for owner, kind, external_id in rows:
        found.setdefault(owner, []).append((kind, external_id))
    return found


def test_one_search_serves_the_team_and_each_member_gets_their_prs_and_reviews(org, database_url, tmp_path):
    fake, rsps = org
    config = team_config(tmp_path, database_url)
    result = run_cli("--config", config, "harvest", "--json")
    assert result.exit_code == 0, result.output

    [query] = fake.queries  # one search for the whole team
    assert query.startswith("is:pr is:merged org:acme merged:>=") and "@me" not in query
    assert len(fake.details_asked) == 1 and len(fake.details_asked[0]) == 3  # one details query for the page
    assert not any("/user" in c.request.url for c in rsps.calls)  # a team's PRs need no "who am I"
    assert len(rsps.calls) == 2  # the search page and its details query

    records = owned(database_url)
    # ada: her PR, her review of bo's PR, her review of the outsider's; not her comment on her own PR.
    assert sorted(records["ada@example.com"]) == [("pull_request", "900001"), ("review", "800022"),
                                                  ("review", "800031")]
    # bo: his PR and both his reviews of ada's (a comment, then the approval); the outsider's review is not kept.
    assert sorted(records["bo@example.com"]) == [("pull_request", "900002"), ("review", "800011"),
                                                 ("review", "800012")]
    assert set(records) == {"ada@example.com", "bo@example.com"}  # the outsider's PR is not kept

    again = run_cli("--config", config, "harvest", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["sources"][0]["records"] == 0
    assert len(fake.details_asked) == 1  # the overlap re-read needs no details: every PR read is remembered


def test_a_team_without_organizations_is_told_to_name_them(org, tmp_path):
    config = team_config(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", orgs="[]")
    result = run_cli("--config", config, "harvest")
    assert result.exit_code != 0
    assert "[connectors.gh]: a team's GitHub harvest searches the team's organizations: set orgs" in result.output
    assert "Traceback" not in result.output


def test_an_organization_name_that_is_not_a_login_is_refused(tmp_path):
    config = team_config(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", orgs='["acme/fraud"]')
    result = run_cli("--config", config, "harvest")
    assert result.exit_code != 0 and "orgs are organization logins" in result.output


def test_members_see_their_own_github_drafts(org, database_url, tmp_path):
    config = team_config(tmp_path, database_url)
    assert run_cli("--config", config, "harvest").exit_code == 0
    for member, mine, theirs in (("ada@example.com", "focal loss", "Cache feature"),
                                 ("bo@example.com", "Cache feature", "focal loss")):
        listed = run_cli("--config", config, "--member", member, "drafts", "list", "--json")
        assert listed.exit_code == 0, listed.output
        text = json.dumps(json.loads(listed.output))
        assert mine in text and theirs not in text
        assert API not in text
