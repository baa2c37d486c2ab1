"""A fake GitHub REST + GraphQL API on `responses`: hand-written payloads in GitHub's shapes,
served with real search semantics (updated:>= filter, sort=updated asc, pages of per_page,
the 1,000-result cap, Link headers)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlparse

import responses

API = "https://api.github.com"
ME = {"login": "ada", "id": 101, "node_id": "U_kgDOAAAAZQ", "type": "User", "site_admin": False}
OTHER = {"login": "grace", "id": 202, "node_id": "U_kgDOAAAAyg", "type": "User", "site_admin": False}
BOT = {"login": "dependabot[bot]", "id": 49699333, "node_id": "MDM6Qm90NDk2OTkzMzM=", "type": "Bot",
       "site_admin": False}
T0 = (datetime.now(timezone.utc) - timedelta(days=20)).replace(hour=9, minute=0, second=0, microsecond=0)


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def url_pattern(path: str, base: str = API) -> re.Pattern:
    host = re.escape(base.split("://", 1)[1].split("/", 1)[0])
    prefix = re.escape("/" + base.split("://", 1)[1].split("/", 1)[1]) if "/" in base.split("://", 1)[1] else ""
    return re.compile(rf"https://{host}(:443)?{prefix}{re.escape(path)}(\?.*)?$")


def pr_item(number: int, title: str = "Add focal loss to the fraud model", merged: datetime | None = T0,
            updated: datetime | None = None, user=ME, repo: str = "acme/fraud", labels=(), body: str | None = "",
            item_id: int | None = None) -> dict:
    """One /search/issues item for a pull request."""
    updated = updated or (merged + timedelta(minutes=5) if merged else T0)
    return {
        "url": f"{API}/repos/{repo}/issues/{number}",
        "repository_url": f"{API}/repos/{repo}",
        "labels_url": f"{API}/repos/{repo}/issues/{number}/labels{{/name}}",
        "html_url": f"https://github.com/{repo}/pull/{number}",
        "id": item_id if item_id is not None else 900000 + number,
        "node_id": f"PR_kwDO{number:08d}",
        "number": number,
        "title": title,
        "user": user,
        "labels": [{"id": 10 + i, "node_id": f"LA_{i}", "name": name, "color": "ededed", "default": False}
                   for i, name in enumerate(labels)],
        "state": "closed",
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 2,
        "created_at": iso((merged or T0) - timedelta(days=1)),
        "updated_at": iso(updated),
        "closed_at": iso(merged) if merged else None,
        "author_association": "MEMBER",
        "active_lock_reason": None,
        "draft": False,
        "pull_request": {
            "url": f"{API}/repos/{repo}/pulls/{number}",
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "diff_url": f"https://github.com/{repo}/pull/{number}.diff",
            "patch_url": f"https://github.com/{repo}/pull/{number}.patch",
            "merged_at": iso(merged) if merged else None,
        },
        "body": body,
        "reactions": {"url": f"{API}/repos/{repo}/issues/{number}/reactions", "total_count": 0},
        "timeline_url": f"{API}/repos/{repo}/issues/{number}/timeline",
        "performed_via_github_app": None,
        "state_reason": None,
        "score": 1.0,
    }


def _search_since(q: str, key: str) -> datetime | None:
    m = re.search(rf"{key}:>=(\S+)", q)
    return datetime.fromisoformat(m.group(1).replace("Z", "+00:00")) if m else None


@dataclass
class FakeGithub:
    """Serves search, /user, GraphQL reviews, releases and deployments; records every query."""

    rsps: responses.RequestsMock
    base: str = API
    prs: list = field(default_factory=list)
    reviewed: list = field(default_factory=list)
    queries: list = field(default_factory=list)
    user: dict = field(default_factory=lambda: dict(ME))
    details: dict = field(default_factory=dict)  # node id -> PullRequest node; default_details otherwise
    details_asked: list = field(default_factory=list)
    search_filter: Callable[[str, dict], bool] | None = None  # (query, item) -> served?

    def install(self) -> "FakeGithub":
        self.rsps.add_callback(responses.POST, graphql_pattern(self.base), callback=self.pr_details,
                               match=[asks_for_pr_details])
        self.rsps.add(responses.GET, url_pattern("/user", self.base), json=self.user,
                      headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999"})
        self.rsps.add_callback(responses.GET, url_pattern("/search/issues", self.base), callback=self.search)
        return self

    def search(self, request):
        params = parse_qs(urlparse(request.url).query)
        q = params["q"][0]
        self.queries.append(q)
        page, per_page = int(params.get("page", ["1"])[0]), int(params.get("per_page", ["30"])[0])
        pool = self.reviewed if "reviewed-by:@me" in q else self.prs
        updated, merged = _search_since(q, "updated"), _search_since(q, "merged")
        org = re.search(r"\borg:(\S+)", q)
        hits = []
        for i in pool:
            if org and not i["repository_url"].startswith(f"{self.base}/repos/{org.group(1)}/"):
                continue
            if self.search_filter is not None and not self.search_filter(q, i):
                continue
            merged_at = (i.get("pull_request") or {}).get("merged_at")
            if updated and datetime.fromisoformat(i["updated_at"].replace("Z", "+00:00")) < updated:
                continue
            if ("is:merged" in q or merged) and not merged_at:
                continue
            if merged and datetime.fromisoformat(merged_at.replace("Z", "+00:00")) < merged:
                continue
            hits.append(i)
        hits.sort(key=lambda i: i["updated_at"])
        reachable = hits[:1000]
        chunk = reachable[(page - 1) * per_page: page * per_page]
        headers = {"x-ratelimit-limit": "30", "x-ratelimit-remaining": "29", "x-ratelimit-resource": "search",
                   "cache-control": "no-cache"}
        if page * per_page < len(reachable):
            base = self.base.rstrip("/")
            nxt = f"{base}/search/issues?" + urlencode({"q": q, "sort": "updated", "order": "asc",
                                                        "per_page": per_page, "page": page + 1})
            last = -(-len(reachable) // per_page)
            headers["link"] = (f'<{nxt}>; rel="next", <{nxt.rsplit("page=", 1)[0]}page={last}>; rel="last"')
        body = {"total_count": len(hits), "incomplete_results": False, "items": chunk}
        return 200, headers, json.dumps(body)


    def pr_details(self, request):
        ids = json.loads(request.body)["variables"]["ids"]
        self.details_asked.append(ids)
        known = {i["node_id"]: i for i in self.prs + self.reviewed}
        nodes = [self.details.get(i) or default_details(known[i]) if i in known else None for i in ids]
        errors = [{"type": "NOT_FOUND", "path": ["nodes", n], "message": f"Could not resolve to a node with the global id of '{i}'"}
                  for n, i in enumerate(ids) if i not in known]
        return 200, {"x-ratelimit-resource": "graphql"}, json.dumps({"data": {"nodes": nodes},
                                                                     **({"errors": errors} if errors else {})})


def graphql_pattern(base: str) -> re.Pattern:
    return url_pattern("/graphql") if base == API else url_pattern("/api/graphql", base.split("/api/v3")[0])


def asks_for_pr_details(request) -> tuple[bool, str]:
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    return "nodes(ids:" in body, "not a PR details query"


def not_pr_details(request) -> tuple[bool, str]:
    """For a test's own GraphQL responses (reviews): responses hands a request that several
    registrations match to the first and then drops it, so theirs must not match PR details."""
    return not asks_for_pr_details(request)[0], "a PR details query"


def default_details(item: dict) -> dict:
    """A PullRequest node: 120 lines added, 30 removed over 4 files, reviewed by grace."""
    return {"id": item["node_id"], "additions": 120, "deletions": 30, "changedFiles": 4,
            "reviews": {"nodes": [{"author": {"login": OTHER["login"]}}, {"author": {"login": item["user"]["login"]
                                                                                     if item.get("user") else "x"}}]}}


def review_node(n: int, occurred: datetime, author=OTHER, repo: str = "acme/serving", state: str = "APPROVED",
                ids: str = "full") -> dict:
    """A pullRequestReviewContributions node. `ids="full"`: the review's `fullDatabaseId`, a
    BigInt GitHub sends as a string; `ids="old"`: the deprecated Int `databaseId` of older
    Enterprise servers."""
    database_id = {"fullDatabaseId": str(700000 + n)} if ids == "full" else {"databaseId": 700000 + n}
    return {
        "occurredAt": iso(occurred),
        "pullRequestReview": {"id": f"PRR_kwDO{n:06d}", **database_id, "state": state,
                              "submittedAt": iso(occurred),
                              "url": f"https://github.com/{repo}/pull/{n}#pullrequestreview-{700000 + n}"},
        "pullRequest": {"number": n, "title": f"Change {n}", "url": f"https://github.com/{repo}/pull/{n}",
                        "author": None if author is None else {
                            "__typename": "Bot" if author.get("type") == "Bot" else "User",
                            "login": author["login"], "databaseId": author["id"]},
                        "repository": {"nameWithOwner": repo}},
    }


def graphql_page(nodes: list, end_cursor: str | None) -> dict:
    return {"data": {"viewer": {"contributionsCollection": {"pullRequestReviewContributions": {
        "pageInfo": {"hasNextPage": end_cursor is not None, "endCursor": end_cursor}, "nodes": nodes}}}}}


def release(rid: int, tag: str, created: datetime, author=ME, draft: bool = False, repo: str = "acme/fraud",
            published: datetime | None = None) -> dict:
    """A release; `created` is the date of its commit, and it is published three minutes
    later unless `published` says when (drafts are never published)."""
    return {
        "url": f"{API}/repos/{repo}/releases/{rid}",
        "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
        "assets_url": f"{API}/repos/{repo}/releases/{rid}/assets",
        "id": rid, "node_id": f"RE_{rid}", "tag_name": tag, "target_commitish": "main", "name": f"Release {tag}",
        "draft": draft, "prerelease": False, "created_at": iso(created),
        "published_at": None if draft else iso(published or created + timedelta(minutes=3)),
        "author": author, "assets": [], "body": "Changes: fraud model v7 behind the flag.",
    }


def deployment(did: int, env: str, created: datetime, creator=ME, repo: str = "acme/fraud") -> dict:
    return {
        "url": f"{API}/repos/{repo}/deployments/{did}", "id": did, "node_id": f"DE_{did}",
        "sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d", "ref": "main", "task": "deploy", "payload": {},
        "original_environment": env, "environment": env, "description": "Deploy fraud-detector v7",
        "creator": creator, "created_at": iso(created), "updated_at": iso(created),
        "statuses_url": f"{API}/repos/{repo}/deployments/{did}/statuses",
        "repository_url": f"{API}/repos/{repo}", "transient_environment": False, "production_environment": True,
    }
