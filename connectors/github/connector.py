"""GitHub connector: my merged pull requests, reviews I gave, and releases and deployments
of configured repositories. HTTP lives in http.py (PyGithub's requester with rate limits
waited out), the GraphQL queries in graphql.py, parsing in parse.py.

Pull requests come from the search API (one request per 100 PRs); their sizes, changed files
and reviewers are added by one GraphQL query per search page (`pr_details`, on by default),
not by a GET per PR. A server without GraphQL leaves them out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Mapping

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow, Watermark
from harvester.connectors.github.details import PrDetailsReader
from harvester.connectors.github.graphql import (REVIEWS_QUERY, REVIEWS_QUERY_OLD_IDS, graphql_field_missing,
                                                graphql_message, graphql_unsupported)
from harvester.connectors.github.http import GithubHttp, next_link
from harvester.connectors.coerce import api_time
from harvester.connectors.github.parse import (PULL_REQUESTS, REVIEWS, as_mapping, dig, int_or_none,
                                               item_version, parse_deployment,
                                               parse_pull_request, parse_release, parse_review_contribution,
                                               parse_reviewed_pull, parse_time, pr_version, shape_of, web_url)
from harvester.connectors.github.settings import GithubSettings
from harvester.connectors.github.team import (TEAM_PR_DETAILS_QUERY, TEAM_PR_DETAILS_QUERY_OLD_IDS,
                                              TeamSearchProgress, attribute_to_members, check_team_scope,
                                              fetch_team_pull_requests)
from harvester.errors import ConnectorError, MalformedItemError
from harvester.models import Cursor, Record, utcnow

log = logging.getLogger("harvester")

SEARCH_CAP = 1000  # results one search query can return
CONTRIBUTIONS_SPAN = timedelta(days=365)  # contributionsCollection covers at most one year
# How far before the watermark, by commit date, the releases list is read (see fetch_repo_events).
RELEASE_LOOKBACK = timedelta(days=365)


class GithubConnector(Connector):
    type_name = "github"
    settings_class = GithubSettings
    streams = ("pull_requests", "reviews", "releases", "deployments")
    description = "GitHub: my merged pull requests, reviews I gave, releases and deployments of listed repos."
    reads_for_team = True  # one search per organization, attributed by author

    def __init__(self, instance, settings: GithubSettings, identity, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        super().__init__(instance, settings, identity)
        self._sleep = sleep
        self._clock = clock
        self._http: GithubHttp | None = None
        self._me: dict[str, Any] | None = None
        self._repo_state: dict[str, dict] = {}
        self.details = PrDetailsReader(self)
        self.team_read = TeamSearchProgress()
        self._reviews_query = REVIEWS_QUERY

    def check(self) -> None:
        read_secret(self.settings.token_env, f"[connectors.{self.instance}] token_env")
        if self.members:
            check_team_scope(self)
            self.details = PrDetailsReader(self, TEAM_PR_DETAILS_QUERY, TEAM_PR_DETAILS_QUERY_OLD_IDS,
                                           keep_reviews=True)

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

    def watermark(self, stream: str) -> Watermark:
        """Pull requests: the latest `updated_at` (a PR changes after it merged); reviews: the
        latest review. Both re-read the last `overlap_minutes`."""
        overlap = timedelta(minutes=self.settings.overlap_minutes)
        return Watermark("updated_at" if stream == "pull_requests" else "occurred_at", overlap)

    def me(self) -> dict[str, Any]:
        """Who the token belongs to, by numeric id (logins can be renamed): from the settings,
        else remembered in a cursor (see `recall_me`), else one GET /user."""
        if self._me is None:
            if self.settings.user_id:
                self._me = {"id": self.settings.user_id, "login": None}
            else:
                data = as_mapping(self.http.get("/user").data)
                if int_or_none(data.get("id")) is None:
                    raise ConnectorError(self.instance, "GitHub /user returned no numeric id; check base_url.")
                login = data.get("login") if isinstance(data.get("login"), str) else None
                self._me = {"id": data["id"], "login": login}
        return self._me

    def recall_me(self, cursor: Cursor | None, window: HarvestWindow) -> None:
        """Reuse the id an earlier harvest asked for. A forced harvest (--since) asks again,
        which is how a changed token is picked up."""
        saved = cursor.state.get("me") if cursor and not window.forced else None
        if self._me is None and isinstance(saved, dict) and saved.get("base_url") == self.settings.base_url \
                and int_or_none(saved.get("id")) is not None:
            self._me = {"id": saved["id"], "login": saved.get("login")}

    def remember_recent(self, cursor: Cursor | None, page) -> Cursor | None:
        """(id, updated_at) of the stored PRs the next harvest's overlap will read again."""
        if cursor is None or cursor.value is None or not page:
            return cursor
        watermark = self.watermark("pull_requests")
        horizon = watermark.horizon(datetime.fromisoformat(cursor.value))
        recent = set(cursor.state.get("recent", ())) | {pr_version(r.external_id, watermark.time_of(r)) for r in page
                                                         if r.kind == "pull_request"}
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
        if self.members:
            if stream == "pull_requests":  # with the reviews members gave on those PRs
                yield from fetch_team_pull_requests(self, cursor, window)
            elif stream in ("releases", "deployments") and self.settings.repos:
                yield from attribute_to_members(self, self.fetch_repo_events(stream, cursor, window))
            return
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
            cursor = self.remember_recent(super().advance_cursor(stream, cursor, page, final), page)
            return self.team_read.advance(self, cursor) if self.members and final else cursor
        if stream in ("releases", "deployments"):
            if not final or stream not in self._repo_state:
                return cursor
            return Cursor(source=self.instance, stream=stream, value=utcnow().isoformat(),
                          state={**(cursor.state if cursor else {}), "repos": self._repo_state[stream]},
                          updated_at=utcnow())
        return super().advance_cursor(stream, cursor, page, final)

    # doctor -----------------------------------------------------------------------------------

    def diagnose(self, since: datetime):
        """Whom the token belongs to (GET /user) and how many of their pull requests merged
        since `since` (one search request of one result: GitHub counts the rest)."""
        from harvester.doctor import Diagnosis, identity_names, looks_like

        where = f"[connectors.{self.instance}]"
        d = Diagnosis(what="merged pull requests")
        data = as_mapping(self.http.get("/user").data)
        d.reachable = True
        login, user_id = data.get("login") if isinstance(data.get("login"), str) else "", int_or_none(data.get("id"))
        d.identity = f"{login or '(no login)'} (id {user_id})"
        token = self.settings.token_env
        if self.settings.user_id and user_id != self.settings.user_id:
            d.add_problem(f"the token in {token} belongs to {login!r} (id {user_id}), not to user_id "
                          f"{self.settings.user_id} in {where}.",
                          f"Set {token} to a token of your own account, or fix user_id in {where}.")
        elif login and login.lower() not in self.identity.all_handles \
                and not looks_like(login, identity_names(self.identity)):
            d.add_problem(f"the token in {token} belongs to {login!r}, who is neither in your handles nor looks "
                          "like you: the harvest would collect their pull requests and reviews.",
                          f"Set {token} to a token of your own account; if {login!r} is you, add \"{login}\" "
                          "to [identity] handles.")
        found = self.http.get("/search/issues", {"q": f"is:pr author:@me is:merged merged:>={api_time(since)}",
                                                 "per_page": 1}).data
        d.matching = int_or_none(as_mapping(found).get("total_count"))
        return d

    # pull requests ------------------------------------------------------------------------

    def fetch_pull_requests(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        """First harvest: merged since the window start; later: updated since the watermark."""
        me = self.me()["id"]
        first = window.forced or cursor is None or cursor.value is None
        query = "is:pr author:@me is:merged"
        if first:
            query += f" merged:>={api_time(window.since)}"
        seen: set[str] = set()
        items = self.search_issues(query, self.watermark("pull_requests").start(cursor, window), PULL_REQUESTS)
        if not window.forced and cursor is not None:
            # The overlap re-reads PRs already stored; unchanged ones cost no details query.
            stored = set(cursor.state.get("recent", ()))
            items = (i for i in items if item_version(i) not in stored)
        if self.settings.pr_details:
            items = self.details.add_to(items)
        for record in self.parse_each(items, lambda i: parse_pull_request(i, self.instance, me,
                                                                          self.settings.body_chars)):
            if record.external_id in seen:
                continue
            seen.add(record.external_id)
            if self.settings.exclude_bots and record.attributes["is_bot"]:
                continue
            yield record

    def search_issues(self, query: str, since: datetime, what: str) -> Iterator[dict]:
        """Every item of an issue search, oldest update first, in pages of 100. Items that are
        not objects are counted as malformed `what`.

        A query stops at 1,000 results; when it has more, the rest is fetched as a new query
        starting at the last update seen (the date range is split where the first one ended).
        """
        lower = since
        while True:
            url: str | None = "/search/issues"
            params: dict | None = {"q": f"{query} updated:>={api_time(lower)}", "sort": "updated",
                                   "order": "asc", "per_page": 100}
            fetched, total, last = 0, 0, None
            while url and fetched < SEARCH_CAP:
                response = self.http.get(url, params)
                data = response.data
                if not isinstance(data, Mapping) or not isinstance(data.get("items") or [], list):
                    shape = shape_of(data) if not isinstance(data, Mapping) else "items that are not a list"
                    raise ConnectorError(self.instance, f"GitHub search answered with {shape} instead of a page "
                                                        "of results; try again later.")
                if data.get("incomplete_results"):
                    log.warning("%s: GitHub search timed out and returned partial results; the next harvest "
                                "fetches the rest.", self.instance)
                total = int_or_none(data.get("total_count")) or 0
                items = data.get("items") or []
                for item in items:
                    if not isinstance(item, dict):
                        self.skip_malformed(MalformedItemError(what, "", f"expected an object, got "
                                                                         f"{type(item).__name__}"))
                        continue
                    yield item
                    last = parse_time(item.get("updated_at")) or last
                fetched += len(items)
                url, params = (next_link(response.headers), None) if items else (None, None)
            if total <= fetched or last is None:
                return
            if last <= lower:
                log.warning("%s: more than %d pull requests updated at %s; some were skipped.", self.instance,
                            SEARCH_CAP, api_time(lower))
                return
            log.info("%s: search hit GitHub's %d-result cap; continuing from %s.", self.instance, SEARCH_CAP,
                     api_time(last))
            lower = last

    # reviews ----------------------------------------------------------------------------------

    def fetch_reviews(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        me = self.me()["id"]
        start, end = self.watermark("reviews").start(cursor, window), window.started_at
        while start < end:
            stop = min(start + CONTRIBUTIONS_SPAN, end)
            nodes = self.review_contributions(start, stop)
            if nodes is None:  # no contributionsCollection on this server: search instead
                yield from self.fetch_reviewed_pulls(me, self.watermark("reviews").start(cursor, window))
                return
            yield from self.parse_each(nodes, lambda n: parse_review_contribution(n, self.instance, me))
            start = stop

    def review_contributions(self, start: datetime, stop: datetime) -> list | None:
        """The contribution nodes of one window (any item shape: the parser judges them)."""
        found: list = []
        after = None
        while True:
            variables = {"from": start.isoformat(), "to": stop.isoformat(), "after": after}
            try:
                response = self.http.graphql(self._reviews_query, variables)
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                log.warning("%s: this GitHub server has no GraphQL API; using search for reviews.", self.instance)
                return None
            data = response.data
            if not isinstance(data, Mapping):
                raise ConnectorError(self.instance, f"GitHub GraphQL answered with {shape_of(data)} instead of an "
                                                    "object while reading reviews; try again later.")
            errors = data.get("errors")
            if errors:
                if self._reviews_query is REVIEWS_QUERY and graphql_field_missing(errors, "fullDatabaseId"):
                    self._reviews_query = REVIEWS_QUERY_OLD_IDS
                    continue
                if graphql_unsupported(errors):
                    log.warning("%s: this GitHub server has no contributionsCollection; using search for reviews.",
                                self.instance)
                    return None
                raise ConnectorError(self.instance, f"GitHub GraphQL error while reading reviews: "
                                                    f"{graphql_message(errors)}")
            block = dig(data, "data", "viewer", "contributionsCollection", "pullRequestReviewContributions")
            if not isinstance(block, Mapping) or not isinstance(block.get("nodes", []), list):
                raise ConnectorError(self.instance, "GitHub GraphQL answered without a list of review contributions; "
                                                    "try again later.")
            found.extend(block.get("nodes") or [])
            info = as_mapping(block.get("pageInfo"))
            if info.get("hasNextPage") is not True or not isinstance(info.get("endCursor"), str) \
                    or not info["endCursor"]:
                return found
            after = info["endCursor"]

    def fetch_reviewed_pulls(self, me: int, since: datetime) -> Iterator[Record]:
        items = self.search_issues("is:pr reviewed-by:@me -author:@me", since, REVIEWS)
        records = list(self.parse_each(items, lambda i: parse_reviewed_pull(i, self.instance, me)))
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
            old = as_mapping(previous.get(repo))
            new = dict(old)
            records.extend(self.fetch_repo_stream(stream, repo, old, new, window, me, web))
            state[repo] = new
        self._repo_state[stream] = state
        records.sort(key=lambda r: r.occurred_at)
        yield from records

    def fetch_repo_stream(self, stream: str, repo: str, old: Mapping[str, Any], new: dict, window: HarvestWindow,
                          me: int, web: str) -> list[Record]:
        """One repo's new releases or deployments; `new` receives the etag and watermark to keep.

        Both lists come newest `created_at` first. A deployment happens when it is created, so
        the first one older than the watermark ends the scan. A release happens when it is
        published, at or after its `created_at` (the date of its commit), and a draft cut from
        an old commit can be published long after: no release's time bounds those listed after
        it. So releases are read on past the watermark for RELEASE_LOOKBACK of commit dates, and
        kept when published after the watermark. Left out: a release published more than that
        long after its commit, and one published on a later page while the first page is
        unchanged (its 304 ends the scan)."""
        watermark = parse_time(old.get("latest"))
        since = watermark or window.since
        stop_before = since - RELEASE_LOOKBACK if stream == "releases" else since
        parse = (lambda i: parse_release(i, self.instance, repo, me)) if stream == "releases" \
            else (lambda i: parse_deployment(i, self.instance, repo, me, web))
        found: list[Record] = []
        url: str | None = f"/repos/{repo}/{stream}"
        params: dict | None = {"per_page": 100}
        etag = old.get("etag") if isinstance(old.get("etag"), str) else None
        first_page = True
        while url:
            response = self.http.get(url, params, etag=etag if first_page else None)
            if response.status == 304:
                break
            if first_page:
                new["etag"] = response.headers.get("etag")
            first_page = False
            if not isinstance(response.data, list):
                raise ConnectorError(self.instance, f"GitHub answered /repos/{repo}/{stream} with "
                                                    f"{shape_of(response.data)} instead of a list; try again later.")
            older = False
            for record in self.parse_each(response.data, parse):
                created = datetime.fromisoformat(record.attributes["created_at"])
                if created < stop_before:
                    older = True
                    break
                # CI usually creates releases and deployments: bot-made ones stay, marked is_bot and not mine.
                happened = record.occurred_at
                if happened < since or (stream == "releases" and watermark is not None and happened <= watermark):
                    continue
                found.append(record)
                if not new.get("latest") or happened > (parse_time(new["latest"]) or happened):
                    new["latest"] = happened.isoformat()
            url, params = (None, None) if older or not response.data else (next_link(response.headers), None)
        return found
