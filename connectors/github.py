"""GitHub connector: my merged pull requests, reviews I gave, and releases and deployments
of configured repositories. HTTP lives in github_http (PyGithub's requester with rate limits
waited out), parsing in github_parse.

Pull requests come from the search API without a follow-up GET per PR, so sizes, reviewers
and changed files are unknown; the rules judge PRs by title, labels and body instead
(one search request per 100 PRs rather than one request per PR).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Mapping

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow, watermark_cursor
from harvester.connectors.github_http import GithubHttp, next_link
from harvester.connectors.github_parse import (dig, merge_pr_details, parse_deployment, parse_pull_request,
                                               parse_release, parse_review_contribution, parse_reviewed_pull,
                                               parse_time, pr_version, search_time, web_url)
from harvester.errors import ConnectorError
from harvester.models import Cursor, Record, utcnow

log = logging.getLogger("harvester")

SEARCH_CAP = 1000  # results one search query can return
CONTRIBUTIONS_SPAN = timedelta(days=365)  # contributionsCollection covers at most one year
_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")

# Search results carry no sizes or reviewers: one query per search page adds them.
PR_DETAILS_QUERY = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on PullRequest {
      id additions deletions changedFiles
      reviews(first: 50) { nodes { author { login } } }
    }
  }
}
"""
DETAILS_BATCH = 100

REVIEWS_QUERY = """
query($from: DateTime!, $to: DateTime!, $after: String) {
  viewer {
    contributionsCollection(from: $from, to: $to) {
      pullRequestReviewContributions(first: 100, after: $after, orderBy: {direction: ASC}) {
        pageInfo { hasNextPage endCursor }
        nodes {
          occurredAt
          pullRequestReview { id databaseId state submittedAt url }
          pullRequest {
            number title url
            author { __typename login ... on User { databaseId } ... on Bot { databaseId } }
            repository { nameWithOwner }
          }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class GithubSettings:
    token_env: str = "GITHUB_TOKEN"
    base_url: str = "https://api.github.com"
    repos: tuple[str, ...] = ()
    exclude_bots: bool = True
    reviews: bool = True
    max_rate_limit_wait: float = 900.0
    overlap_minutes: float = 10.0
    user_id: int = 0
    pr_details: bool = True
    body_chars: int = 4000
    max_retries: int = 2
    seconds_between_requests: float = 0.25
    timeout: int = 30

    def __post_init__(self):
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// (GitHub Enterprise: https://HOST/api/v3)")
        bad = [r for r in self.repos if not _REPO.match(r)]
        if bad:
            raise ValueError(f"repos must be written owner/name, got {bad[0]!r}")
        if self.max_rate_limit_wait < 0 or self.overlap_minutes < 0:
            raise ValueError("max_rate_limit_wait and overlap_minutes must not be negative")


class GithubConnector(Connector):
    type_name = "github"
    settings_class = GithubSettings
    streams = ("pull_requests", "reviews", "releases", "deployments")
    description = "GitHub: my merged pull requests, reviews I gave, releases and deployments of listed repos."

    def __init__(self, instance, settings: GithubSettings, identity, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        super().__init__(instance, settings, identity)
        self._sleep = sleep
        self._clock = clock
        self._http: GithubHttp | None = None
        self._me: dict[str, Any] | None = None
        self._repo_state: dict[str, dict] = {}
        self._details_unavailable = False

    def check(self) -> None:
        read_secret(self.settings.token_env, f"[connectors.{self.instance}] token_env")

    @property
    def http(self) -> GithubHttp:
        if self._http is None:
            token = read_secret(self.settings.token_env, f"[connectors.{self.instance}] token_env")
            self._http = GithubHttp(self.instance, self.settings, token, sleep=self._sleep, clock=self._clock)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    @property
    def overlap(self) -> timedelta:
        return timedelta(minutes=self.settings.overlap_minutes)

    def me(self) -> dict[str, Any]:
        """Who the token belongs to, by numeric id (logins can be renamed): from the settings,
        else remembered in a cursor (see `recall_me`), else one GET /user."""
        if self._me is None:
            if self.settings.user_id:
                self._me = {"id": self.settings.user_id, "login": None}
            else:
                data = self.http.get("/user").data or {}
                if not isinstance(data.get("id"), int):
                    raise ConnectorError(self.instance, "GitHub /user returned no numeric id; check base_url.")
                self._me = {"id": data["id"], "login": data.get("login")}
        return self._me

    def recall_me(self, cursor: Cursor | None, window: HarvestWindow) -> None:
        """Reuse the id an earlier harvest asked for. A forced harvest (--since) asks again,
        which is how a changed token is picked up."""
        saved = cursor.state.get("me") if cursor and not window.forced else None
        if self._me is None and isinstance(saved, dict) and saved.get("base_url") == self.settings.base_url \
                and isinstance(saved.get("id"), int):
            self._me = {"id": saved["id"], "login": saved.get("login")}

    def remember_recent(self, cursor: Cursor | None, page) -> Cursor | None:
        """(id, updated_at) of the stored PRs the next harvest's overlap will read again."""
        if cursor is None or cursor.value is None or not page:
            return cursor
        horizon = datetime.fromisoformat(cursor.value) - self.overlap - timedelta(minutes=1)
        recent = set(cursor.state.get("recent", ())) | {
            pr_version(r.external_id, datetime.fromisoformat(r.attributes["updated_at"])) for r in page}
        kept = sorted(v for v in recent if datetime.fromisoformat(v.split("@", 1)[1]) > horizon)
        return replace(cursor, state={**cursor.state, "recent": kept})

    def remember_me(self, stream: str, cursor: Cursor | None) -> Cursor | None:
        if self._me is None or self.settings.user_id:
            return cursor
        me = {"base_url": self.settings.base_url, **self._me}
        if cursor is None:
            return Cursor(source=self.instance, stream=stream, value=None, state={"me": me}, updated_at=utcnow())
        if cursor.state.get("me") == me:
            return cursor
        return replace(cursor, state={**cursor.state, "me": me}, updated_at=utcnow())

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        self.recall_me(cursor, window)
        if stream == "pull_requests":
            yield from self.fetch_pull_requests(cursor, window)
        elif stream == "reviews" and self.settings.reviews:
            yield from self.fetch_reviews(cursor, window)
        elif stream in ("releases", "deployments") and self.settings.repos:
            yield from self.fetch_repo_events(stream, cursor, window)

    def advance_cursor(self, stream, cursor, page, final=False):
        return self.remember_me(stream, self.advance_stream_cursor(stream, cursor, page, final))

    def advance_stream_cursor(self, stream, cursor, page, final):
        if stream == "pull_requests":
            advanced = watermark_cursor(self.instance, stream, cursor, page,
                                        lambda r: datetime.fromisoformat(r.attributes["updated_at"]))
            return self.remember_recent(advanced, page)
        if stream in ("releases", "deployments"):
            if not final or stream not in self._repo_state:
                return cursor
            return Cursor(source=self.instance, stream=stream, value=utcnow().isoformat(),
                          state={**(cursor.state if cursor else {}), "repos": self._repo_state[stream]},
                          updated_at=utcnow())
        return super().advance_cursor(stream, cursor, page, final)

    # pull requests ------------------------------------------------------------------------

    def fetch_pull_requests(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        """First harvest: merged since the window start; later: updated since the watermark."""
        me = self.me()["id"]
        first = window.forced or cursor is None or cursor.value is None
        query = "is:pr author:@me is:merged"
        if first:
            query += f" merged:>={search_time(window.since)}"
        seen: set[str] = set()
        items = self.search_issues(query, window.start(cursor, self.overlap))
        if not window.forced and cursor is not None:
            # The overlap re-reads PRs already stored; unchanged ones cost no details query.
            stored = set(cursor.state.get("recent", ()))
            items = (i for i in items if pr_version(i.get("id"), parse_time(i.get("updated_at"))) not in stored)
        if self.settings.pr_details:
            items = self.with_pr_details(items)
        for item in items:
            record = parse_pull_request(item, self.instance, me, self.settings.body_chars)
            if record is None or record.external_id in seen:
                continue
            seen.add(record.external_id)
            if self.settings.exclude_bots and record.attributes["is_bot"]:
                continue
            yield record

    def search_issues(self, query: str, since: datetime) -> Iterator[dict]:
        """Every item of an issue search, oldest update first, in pages of 100.

        A query stops at 1,000 results; when it has more, the rest is fetched as a new query
        starting at the last update seen (the date range is split where the first one ended).
        """
        lower = since
        while True:
            url: str | None = "/search/issues"
            params: dict | None = {"q": f"{query} updated:>={search_time(lower)}", "sort": "updated",
                                   "order": "asc", "per_page": 100}
            fetched, total, last = 0, 0, None
            while url and fetched < SEARCH_CAP:
                response = self.http.get(url, params)
                data = response.data if isinstance(response.data, dict) else {}
                if data.get("incomplete_results"):
                    log.warning("%s: GitHub search timed out and returned partial results; the next harvest "
                                "fetches the rest.", self.instance)
                total = int(data.get("total_count") or 0)
                items = [i for i in data.get("items") or () if isinstance(i, dict)]
                for item in items:
                    yield item
                    last = parse_time(item.get("updated_at")) or last
                fetched += len(items)
                url, params = (next_link(response.headers), None) if items else (None, None)
            if total <= fetched or last is None:
                return
            if last <= lower:
                log.warning("%s: more than %d pull requests updated at %s; some were skipped.", self.instance,
                            SEARCH_CAP, search_time(lower))
                return
            log.info("%s: search hit GitHub's %d-result cap; continuing from %s.", self.instance, SEARCH_CAP,
                     search_time(last))
            lower = last

    def with_pr_details(self, items: Iterator[dict]) -> Iterator[dict]:
        """The search items with additions, deletions, changed files and reviewers, fetched by
        node id in batches of one search page."""
        batch: list[dict] = []
        for item in items:
            batch.append(item)
            if len(batch) == DETAILS_BATCH:
                yield from self.add_pr_details(batch)
                batch = []
        if batch:
            yield from self.add_pr_details(batch)

    def add_pr_details(self, items: list[dict]) -> list[dict]:
        ids = [str(i["node_id"]) for i in items if i.get("node_id") and (i.get("pull_request") or {}).get("merged_at")]
        if not ids or self._details_unavailable:
            return items
        try:
            response = self.http.graphql(PR_DETAILS_QUERY, {"ids": ids})
        except ConnectorError as exc:
            if exc.status != 404:
                raise
            response = None
        data = response.data if response is not None and isinstance(response.data, dict) else {}
        if response is None or (data.get("errors") and graphql_unsupported(data["errors"])):
            log.warning("%s: this GitHub server has no GraphQL API; PR sizes and reviewers are left out.",
                        self.instance)
            self._details_unavailable = True
            return items
        details = {n["id"]: n for n in dig(data, "data", "nodes") or () if isinstance(n, dict) and n.get("id")}
        return [merge_pr_details(item, details.get(str(item.get("node_id")))) for item in items]

    # reviews ----------------------------------------------------------------------------------

    def fetch_reviews(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        me = self.me()["id"]
        start, end = window.start(cursor, self.overlap), window.started_at
        while start < end:
            stop = min(start + CONTRIBUTIONS_SPAN, end)
            nodes = self.review_contributions(start, stop)
            if nodes is None:  # no contributionsCollection on this server: search instead
                yield from self.fetch_reviewed_pulls(me, window.start(cursor, self.overlap))
                return
            for node in nodes:
                record = parse_review_contribution(node, self.instance, me)
                if record is not None:
                    yield record
            start = stop

    def review_contributions(self, start: datetime, stop: datetime) -> list[dict] | None:
        found: list[dict] = []
        after = None
        while True:
            variables = {"from": start.isoformat(), "to": stop.isoformat(), "after": after}
            try:
                response = self.http.graphql(REVIEWS_QUERY, variables)
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                log.warning("%s: this GitHub server has no GraphQL API; using search for reviews.", self.instance)
                return None
            data = response.data if isinstance(response.data, dict) else {}
            if data.get("errors"):
                if graphql_unsupported(data["errors"]):
                    log.warning("%s: this GitHub server has no contributionsCollection; using search for reviews.",
                                self.instance)
                    return None
                message = str(data["errors"][0].get("message", "unknown error"))[:200]
                raise ConnectorError(self.instance, f"GitHub GraphQL error while reading reviews: {message}")
            block = dig(data, "data", "viewer", "contributionsCollection", "pullRequestReviewContributions") or {}
            found.extend(n for n in block.get("nodes") or () if isinstance(n, dict))
            info = block.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return found
            after = info["endCursor"]

    def fetch_reviewed_pulls(self, me: int, since: datetime) -> Iterator[Record]:
        records = []
        for item in self.search_issues("is:pr reviewed-by:@me -author:@me", since):
            record = parse_reviewed_pull(item, self.instance, me)
            if record is not None:
                records.append(record)
        yield from sorted({r.external_id: r for r in records}.values(), key=lambda r: r.occurred_at)

    # releases and deployments ---------------------------------------------------------------------

    def fetch_repo_events(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        """Newest first per repo, stopping at what the last harvest saw; an unchanged first page
        (304 to If-None-Match) costs no rate limit."""
        me = self.me()["id"]
        web = web_url(self.settings.base_url)
        previous = dict(cursor.state.get("repos", {})) if cursor and not window.forced else {}
        state: dict[str, dict] = {}
        records: list[Record] = []
        for repo in self.settings.repos:
            old = previous.get(repo, {})
            since = parse_time(old.get("latest")) or window.since
            new = dict(old)
            url: str | None = f"/repos/{repo}/{stream}"
            params: dict | None = {"per_page": 100}
            etag, first_page = old.get("etag"), True
            while url:
                response = self.http.get(url, params, etag=etag if first_page else None)
                if response.status == 304:
                    break
                if first_page:
                    new["etag"] = response.headers.get("etag")
                first_page = False
                items = [i for i in response.data if isinstance(i, dict)] if isinstance(response.data, list) else []
                older = False
                for item in items:
                    # CI usually creates releases and deployments: bot-made ones stay, marked is_bot and not mine.
                    record = (parse_release(item, self.instance, repo, me) if stream == "releases"
                              else parse_deployment(item, self.instance, repo, me, web))
                    if record is None:
                        continue
                    created = datetime.fromisoformat(record.attributes["created_at"])
                    if created < since:
                        older = True
                        break
                    records.append(record)
                    if not new.get("latest") or created > datetime.fromisoformat(new["latest"]):
                        new["latest"] = created.isoformat()
                url, params = (None, None) if older or not items else (next_link(response.headers), None)
            state[repo] = new
        self._repo_state[stream] = state
        records.sort(key=lambda r: r.occurred_at)
        yield from records


def graphql_unsupported(errors: list) -> bool:
    text = " ".join(str(e.get("message", "")) for e in errors if isinstance(e, Mapping)).lower()
    types = {str(e.get("extensions", {}).get("code", "")) for e in errors if isinstance(e, Mapping)}
    return "undefinedfield" in {t.lower() for t in types} or (
        "doesn't exist" in text and ("contributionscollection" in text or "pullrequestreviewcontributions" in text))
