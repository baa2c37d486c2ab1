"""GitHub and Jira for a team, on recorded payloads in the APIs' shapes: the requests of one
team harvest (one organization search, one JQL over every member's account) against one
member's own harvest and against every member harvesting alone."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from bench.saas_cases import secret, spread
from bench.scales import Scale

ITEMS_PER_MEMBER = 4  # merged PRs and resolved issues of each member


def login(i: int) -> str:
    return f"m{i:02d}"


def account(i: int) -> str:
    return f"5b10a2844c20165700e{i:05d}"


def team_toml(members: int) -> str:
    rows = "".join(f'\n[[team.members]]\nname = "Member {i:02d}"\nemail = "{login(i)}@example.com"\n'
                   f'github = "{login(i)}"\njira = "{account(i)}"\n' for i in range(members))
    return f'[team]\nname = "bench"\n{rows}'


def single_toml(i: int) -> str:
    return f'[identity]\nname = "Member {i:02d}"\nemail = "{login(i)}@example.com"\nhandles = ["{login(i)}"]\n'


def sources_toml(site: str, team: bool) -> str:
    orgs = 'orgs = ["acme"]\n' if team else ""
    return (f'[connectors.github]\ntype = "github"\nmax_retries = 0\nseconds_between_requests = 0\n{orgs}\n'
            f'[connectors.jira]\ntype = "jira"\nurl = "{site}"\nemail = "svc@example.com"\nmax_retries = 0\n')


class RecordedTeam:
    """Every member's PRs in acme's repositories and their resolved issues, served by fakes that
    answer `author:@me` and `currentUser()` as the token's owner (`me`), as the APIs do."""

    def __init__(self, members: int):
        from tests.support import github_fake as gh
        from tests.support import jira as jira_fake

        self.gh, self.jira = gh, jira_fake
        n = members * ITEMS_PER_MEMBER
        self.users = [{"login": login(i), "id": 5000 + i, "node_id": f"U_{i:04d}", "type": "User",
                       "site_admin": False} for i in range(members)]
        self.prs = [gh.pr_item(k + 1, title=f"Improve feature pipeline step {k + 1}", repo="acme/fraud",
                               merged=spread(k, n), user=self.users[k % members]) for k in range(n)]
        self.issues = sorted((jira_fake.issue(f"ML-{k + 1}", f"Ship pipeline change {k + 1}", resolved=spread(k, n),
                                              assignee=jira_fake.cloud_user(account(k % members), f"Member {k % members:02d}"))
                              for k in range(n)), key=lambda i: i["fields"]["updated"])
        self.me = 0

    def install(self, rsps) -> None:
        import responses

        gh, jira = self.gh, self.jira
        fake = gh.FakeGithub(rsps, user=dict(self.users[self.me]))
        fake.prs.extend(self.prs)
        fake.install()
        fake.search_filter = self.github_filter
        rsps.add_callback(responses.POST, gh.url_pattern("/graphql"), callback=self.reviews, match=[gh.not_pr_details])
        rsps.get(f"{jira.CLOUD}/rest/api/2/myself", json={**jira.myself_cloud(), "accountId": account(self.me)})
        rsps.add_callback(responses.GET, f"{jira.CLOUD}/rest/api/2/search/jql", callback=self.jql)

    def github_filter(self, query: str, item: dict) -> bool:
        return "author:@me" not in query or item["user"]["login"] == login(self.me)

    def reviews(self, request):
        return 200, {"x-ratelimit-resource": "graphql"}, json.dumps(self.gh.graphql_page([], None))

    def jql(self, request):
        query = parse_qs(urlparse(request.url).query)
        jql = query["jql"][0]
        since = datetime.strptime(jql.split('updated >= "', 1)[1][:16], "%Y-%m-%d %H:%M").replace(
            tzinfo=self.jira.BERLIN)
        wanted = set(re.findall(r'"([0-9a-f]{24})"', jql)) if "assignee in" in jql else {account(self.me)}
        hits = [i for i in self.issues if i["fields"]["assignee"]["accountId"] in wanted
                and datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") >= since]
        size = int(query.get("maxResults", ["50"])[0])
        offset = int(query.get("nextPageToken", ["0"])[0])
        token = str(offset + size) if offset + size < len(hits) else None
        return 200, {}, json.dumps(self.jira.jql_page(hits[offset:offset + size], token))


def count_backfill(folder: Path, head: str, site: str, team: bool, recorded: RecordedTeam) -> tuple[int, str]:
    import responses

    from bench.saas_cases import describe_calls, own_counter
    from harvester.config import load_config
    from harvester.harvest import run_harvest
    from harvester.store import open_store

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "store.db"
    db.unlink(missing_ok=True)
    path = folder / "harvester.toml"
    path.write_text(f'{head}\n[store]\nurl = "sqlite:///{db}"\n\n{sources_toml(site, team)}', encoding="utf-8")
    config = load_config(path)
    store = open_store(config.store_url, config.identity.owner)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, own_counter():
            recorded.install(rsps)
            summary = run_harvest(store, config, since="90d")
            calls = list(rsps.calls)
    finally:
        store.close()
    failed = [s for s in summary.sources if not s.ok]
    if failed:
        raise RuntimeError(f"{failed[0].instance}: {failed[0].error}")
    return len(calls), describe_calls(calls)


def count_team_and_single(scale: Scale, folder: Path, members: int) -> tuple[int, int, int, str]:
    """(team requests, member 0's own, every member's own summed, a note)."""
    recorded = RecordedTeam(members)
    site = recorded.jira.CLOUD
    with secret("GITHUB_TOKEN", "ghp_bench0000000000000000000000000000"), secret("JIRA_API_TOKEN", "atl-bench"):
        team, team_calls = count_backfill(folder / "team", team_toml(members), site, True, recorded)
        alone = []
        for i in range(members):
            recorded.me = i
            alone.append(count_backfill(folder / f"m{i:02d}", single_toml(i), site, False, recorded))
    note = (f"backfill of {members * ITEMS_PER_MEMBER} merged PRs and as many resolved issues, "
            f"{ITEMS_PER_MEMBER} of each per member, pages of 100; team: {team_calls}; a member alone: "
            f"{alone[0][1]}")
    return team, alone[0][0], sum(n for n, _ in alone), note
