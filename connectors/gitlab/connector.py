"""GitLab connector: my merged merge requests, approvals I gave, and releases and deployments
of configured projects. HTTP lives in http.py (one session, rate limits waited out), parsing
in parse.py.

Plain `requests` rather than python-gitlab: the REST calls are the same either way, and
python-gitlab waits out 429s by sleeping inside its own request loop, where a wait can be
neither shown nor capped per harvest.

Requests: merge requests one per 100 (`updated_after` the watermark, oldest first; per group
when `groups` narrows them); approvals one per 100 of my `approved` events and review comments
one per 100 of my `commented` events, plus, per page, one list of the merge requests of each
project it names (their authors), shared by both: a merge request listed once in a harvest is
not asked again; per project,
releases one per 100 newest first down to the last one seen, deployments one per 100 since
the last one, and its environments once when a deployment names an environment whose tier
is not yet known (also remembered).
"""

from __future__ import annotations

import heapq
import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import quote

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow, Watermark
from harvester.connectors.coerce import id_text
from harvester.connectors.gitlab.http import PER_PAGE, GitlabHttp
from harvester.connectors.coerce import api_time, parse_time
from harvester.connectors.gitlab.parse import (as_mapping, merge_request_key, parse_approval, parse_deployment,
                                               parse_merge_request, parse_release, parse_review_comment, project_path,
                                               text_or_none)
from harvester.connectors.gitlab.settings import GitlabSettings
from harvester.errors import ConnectorError
from harvester.models import Cursor, Record, utcnow

log = logging.getLogger("harvester")
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
REVIEW_STREAMS = ("approvals", "review_comments")


def encoded(path: str) -> str:
    """A project or group path as GitLab takes it in a URL: group%2Fname."""
    return quote(path, safe="")


def updated_of(item: Any) -> datetime:
    return parse_time(as_mapping(item).get("updated_at")) or EARLIEST


class GitlabConnector(Connector):
    type_name = "gitlab"
    settings_class = GitlabSettings
    streams = ("merge_requests", "approvals", "review_comments", "releases", "deployments")
    description = ("GitLab: my merged merge requests, approvals and review comments I gave, releases and deployments "
                   "of listed projects.")

    def __init__(self, instance, settings: GitlabSettings, identity, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        super().__init__(instance, settings, identity)
        self._sleep = sleep
        self._clock = clock
        self._http: GitlabHttp | None = None
        self._me: str | None = None
        self._paths: dict[str, str] = {}
        self._project_state: dict[str, dict] = {}
        self._merge_requests: dict[tuple[str, int], Mapping[str, Any]] = {}  # listed in this harvest; {} = not found

    @property
    def where(self) -> str:
        return f"[connectors.{self.instance}] token_env"

    def check(self) -> None:
        read_secret(self.settings.token_env, self.where)

    @property
    def http(self) -> GitlabHttp:
        if self._http is None:
            token = read_secret(self.settings.token_env, self.where)
            self._http = GitlabHttp(self.instance, self.settings, token, sleep=self._sleep, clock=self._clock)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def watermark(self, stream: str) -> Watermark:
        """Merge requests: the latest `updated_at` (an MR changes after it merged); approvals
        and review comments: the latest one. All re-read the last `overlap_minutes`."""
        overlap = timedelta(minutes=self.settings.overlap_minutes)
        return Watermark("updated_at" if stream == "merge_requests" else "occurred_at", overlap)

    # who I am ---------------------------------------------------------------------------------

    def me(self) -> str:
        """My username: from the settings, else remembered in a cursor, else one GET /user."""
        if self._me is None:
            if self.settings.username:
                self._me = self.settings.username
            else:
                name = text_or_none(as_mapping(self.http.get("/user").data).get("username"))
                if name is None:
                    raise ConnectorError(self.instance, f"GitLab /user returned no username; check url in "
                                                        f"[connectors.{self.instance}] or set username there.")
                self._me = name
        return self._me

    def recall(self, cursor: Cursor | None, window: HarvestWindow) -> None:
        """What an earlier harvest asked for (my username, project paths), unless forced
        (--since), which is how a changed token is picked up."""
        if cursor is None or window.forced or cursor.state.get("url") != self.settings.url:
            return
        if self._me is None and not self.settings.username and isinstance(cursor.state.get("me"), str):
            self._me = cursor.state["me"]
        for key, path in as_mapping(cursor.state.get("paths")).items():
            if isinstance(path, str):
                self._paths.setdefault(str(key), path)

    def remember(self, stream: str, cursor: Cursor | None) -> Cursor | None:
        known = {"url": self.settings.url}
        if self._me and not self.settings.username:
            known["me"] = self._me
        if stream in REVIEW_STREAMS and self._paths:
            known["paths"] = dict(sorted(self._paths.items()))
        if cursor is None:
            return Cursor(source=self.instance, stream=stream, value=None, state=known, updated_at=utcnow())
        if all(cursor.state.get(k) == v for k, v in known.items()):
            return cursor
        return replace(cursor, state={**cursor.state, **known}, updated_at=utcnow())

    # the protocol -----------------------------------------------------------------------------

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        self.recall(cursor, window)
        if stream == "merge_requests":
            yield from self.fetch_merge_requests(cursor, window)
        elif stream == "approvals" and self.settings.reviews:
            yield from self.fetch_approvals(cursor, window)
        elif stream == "review_comments" and self.settings.reviews:
            yield from self.fetch_review_comments(cursor, window)
        elif stream in ("releases", "deployments") and self.settings.projects:
            yield from self.fetch_project_events(stream, cursor, window)

    def advance_cursor(self, stream, cursor, page, final=False):
        if stream in ("releases", "deployments"):
            if final and stream in self._project_state:
                cursor = Cursor(source=self.instance, stream=stream, value=utcnow().isoformat(),
                                state={**(cursor.state if cursor else {}), "projects": self._project_state[stream]},
                                updated_at=utcnow())
        else:
            cursor = super().advance_cursor(stream, cursor, page, final)
            if stream in REVIEW_STREAMS:
                cursor = self.remember_recent(stream, cursor, page)
        return self.remember(stream, cursor)

    def remember_recent(self, stream: str, cursor: Cursor | None, page) -> Cursor | None:
        """The ids (and times) of the reviews the next harvest's overlap will read again."""
        if cursor is None or cursor.value is None or not page:
            return cursor
        horizon = self.watermark(stream).horizon(datetime.fromisoformat(cursor.value))
        recent = {str(v) for v in cursor.state.get("recent", ())} | {f"{r.external_id}@{r.occurred_at.isoformat()}"
                                                                    for r in page}
        kept = sorted(v for v in recent if "@" in v and (parse_time(v.split("@", 1)[1]) or horizon) > horizon)
        return replace(cursor, state={**cursor.state, "recent": kept})

    # merge requests ---------------------------------------------------------------------------

    def fetch_merge_requests(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        """Merged MRs of mine updated since the watermark (the first harvest: since the window
        start, keeping those merged inside it), oldest update first."""
        me = self.me()
        first = window.forced or cursor is None or cursor.value is None
        params = {"author_username": me, "state": "merged", "order_by": "updated_at", "sort": "asc",
                  "updated_after": api_time(self.watermark("merge_requests").start(cursor, window))}
        if self.settings.groups:
            lists = [self.items(f"/groups/{encoded(g)}/merge_requests", params) for g in self.settings.groups]
            items = heapq.merge(*lists, key=updated_of)
        else:
            items = self.items("/merge_requests", {**params, "scope": "all"})
        seen: set[str] = set()
        parse = lambda i: parse_merge_request(i, self.instance, me, self.settings.body_chars)  # noqa: E731
        for record in self.parse_each(items, parse):
            if record.external_id in seen or (first and record.occurred_at < window.since):
                continue
            seen.add(record.external_id)
            if self.settings.exclude_bots and record.attributes["is_bot"]:
                continue
            yield record

    def items(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        for page in self.http.pages(path, params):
            yield from page

    # approvals --------------------------------------------------------------------------------

    def fetch_approvals(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        """My `approved` events on merge requests, oldest first. `after` takes a date and is
        exclusive, so it is the day before the start, and earlier events are dropped here."""
        start = self.watermark("approvals").start(cursor, window)
        params = {"action": "approved", "target_type": "merge_request", "sort": "asc",
                  "after": (start - timedelta(days=1)).date().isoformat()}
        web = self.settings.url.rstrip("/")
        me = self.me()
        stored = set() if window.forced or cursor is None else \
            {str(v).split("@", 1)[0] for v in cursor.state.get("recent", ())} | cursor.seen_ids
        for page in self.http.pages("/events", params):
            # What the overlap reads again is stored already: it needs no lookup of its merge requests.
            fresh = [e for e in page if not isinstance(e, Mapping) or (
                (parse_time(e.get("created_at")) or start) >= start and f"approval-{e.get('id')}" not in stored)]
            approved = self.merge_requests_of(fresh)
            parse = lambda e: parse_approval(e, self.instance, self._paths, approved, me, web)  # noqa: E731
            for record in self.parse_each(fresh, parse):
                if self.in_groups(record.subject):
                    yield record

    def fetch_review_comments(self, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        """My comments on merge requests, as one review per merge request at its latest comment.
        The events are asked without `target_type`: GitLab's `target_type=note` leaves out
        replies in threads (DiscussionNote), so comments on issues and commits are dropped here."""
        start = self.watermark("review_comments").start(cursor, window)
        params = {"action": "commented", "sort": "asc", "after": (start - timedelta(days=1)).date().isoformat()}
        web = self.settings.url.rstrip("/")
        me = self.me()
        stored = {} if window.forced or cursor is None else stored_times(cursor)
        for page in self.http.pages("/events", params):
            fresh = [e for e in page if is_unstored_comment(e, start, stored)]
            mrs = self.merge_requests_of(fresh)
            parse = lambda e: parse_review_comment(e, self.instance, self._paths, mrs, me, web)  # noqa: E731
            latest: dict[str, Record] = {}
            for record in self.parse_each(fresh, parse):
                if self.in_groups(record.subject) and (record.external_id not in latest
                                                       or record.occurred_at >= latest[record.external_id].occurred_at):
                    latest[record.external_id] = record
            yield from sorted(latest.values(), key=lambda r: r.occurred_at)

    def merge_requests_of(self, events: list) -> dict[tuple[str, int], Mapping[str, Any]]:
        """The merge requests the events are about, by (project id, iid): one list request per
        project of the page (`iids[]`), which also tells each author and the project's path; one
        already listed in this harvest is not asked again. A project whose merge requests
        cannot be listed is named by one GET /projects/:id."""
        wanted: dict[str, set[int]] = {}
        for key in {merge_request_key(e) for e in events} - set(self._merge_requests) - {None}:
            wanted.setdefault(key[0], set()).add(key[1])
        for project_id, iids in wanted.items():
            ordered = sorted(iids)
            for i in range(0, len(ordered), PER_PAGE):
                listed = self.http.get(f"/projects/{project_id}/merge_requests",
                                       {"iids[]": ordered[i:i + PER_PAGE], "per_page": PER_PAGE}).data
                for mr in listed if isinstance(listed, list) else ():
                    if isinstance(mr, Mapping) and isinstance(mr.get("iid"), int):
                        self._merge_requests[(project_id, mr["iid"])] = mr
                        self._paths.setdefault(project_id, project_path(mr))
            for iid in iids:
                self._merge_requests.setdefault((project_id, iid), {})
            if project_id not in self._paths:
                data = as_mapping(self.http.get(f"/projects/{project_id}").data)
                self._paths[project_id] = text_or_none(data.get("path_with_namespace")) or "unknown"
        return self._merge_requests

    def in_groups(self, path: str) -> bool:
        return not self.settings.groups or any(path.lower().startswith(g.lower() + "/") for g in self.settings.groups)

    # releases and deployments -----------------------------------------------------------------

    def fetch_project_events(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        me = self.me()
        previous = as_mapping(cursor.state.get("projects")) if cursor and not window.forced else {}
        state: dict[str, dict] = {}
        records: list[Record] = []
        for project in self.settings.projects:
            old = as_mapping(previous.get(project))
            new = dict(old)
            read = self.project_releases if stream == "releases" else self.project_deployments
            records.extend(read(project, old, new, window, me))
            state[project] = new
        self._project_state[stream] = state
        records.sort(key=lambda r: r.occurred_at)
        yield from records

    def project_releases(self, project: str, old: Mapping[str, Any], new: dict, window: HarvestWindow,
                         me: str) -> list[Record]:
        """Newest release first, down to the latest one the last harvest saw."""
        latest = parse_time(old.get("latest"))
        since = latest or window.since
        found: list[Record] = []
        path = f"/projects/{encoded(project)}/releases"
        for page in self.http.pages(path, {"order_by": "released_at", "sort": "desc"}):
            older = False
            for record in self.parse_each(page, lambda i: parse_release(i, self.instance, project, me)):
                if record.occurred_at < since or (latest is not None and record.occurred_at <= latest):
                    older = True
                    break
                found.append(record)
            if older:
                break
        if found:
            new["latest"] = max(r.occurred_at for r in found).isoformat()
        return found

    def project_deployments(self, project: str, old: Mapping[str, Any], new: dict, window: HarvestWindow,
                            me: str) -> list[Record]:
        """Successful deployments updated since the last one seen, oldest first."""
        latest = parse_time(old.get("latest"))
        seen = set(old.get("ids") or ())
        tiers = {str(k): v for k, v in as_mapping(old.get("tiers")).items() if isinstance(v, str)}
        path = f"/projects/{encoded(project)}"
        start = latest - self.watermark("deployments").overlap if latest else window.since
        params = {"status": "success", "order_by": "updated_at", "sort": "asc", "updated_after": api_time(start)}
        raw = [item for page in self.http.pages(f"{path}/deployments", params) for item in page]
        fresh = [i for i in raw if updated_of(i) > (latest or EARLIEST)
                 or (updated_of(i) == latest and id_text(as_mapping(i).get("id")) not in seen)]
        unknown = {id_text(as_mapping(as_mapping(i).get("environment")).get("id")) for i in fresh
                   if not as_mapping(as_mapping(i).get("environment")).get("tier")} - set(tiers) - {None}
        if unknown:
            for page in self.http.pages(f"{path}/environments", {}):
                tiers.update({id_text(e.get("id")): e["tier"] for e in page if isinstance(e, Mapping)
                              and id_text(e.get("id")) and isinstance(e.get("tier"), str)})
        web = self.settings.url.rstrip("/")
        found = list(self.parse_each(fresh, lambda i: parse_deployment(i, self.instance, project, me, tiers, web)))
        newest = max((updated_of(i) for i in fresh), default=None)
        if newest is not None and newest > EARLIEST:
            ids = {id_text(as_mapping(i).get("id")) for i in fresh if updated_of(i) == newest} - {None}
            new.update(latest=newest.isoformat(), ids=sorted(ids | (seen if newest == latest else set())))
        new["tiers"] = dict(sorted(tiers.items()))
        return found

    # doctor -----------------------------------------------------------------------------------

    def diagnose(self, since: datetime):
        """Whom the token belongs to (GET /user) and how many of their merge requests merged
        since `since` (one list request of one item: GitLab counts the rest in x-total)."""
        from harvester.doctor import Diagnosis, identity_names, looks_like

        where = f"[connectors.{self.instance}]"
        d = Diagnosis(what="merged merge requests")
        data = as_mapping(self.http.get("/user").data)
        d.reachable = True
        login = text_or_none(data.get("username")) or ""
        d.identity = f"{login or '(no username)'} (id {data.get('id')})"
        token = self.settings.token_env
        if self.settings.username and login.lower() != self.settings.username.lower():
            d.add_problem(f"the token in {token} belongs to {login!r}, not to username {self.settings.username!r} "
                          f"in {where}.", f"Set {token} to a token of your own account, or fix username in {where}.")
        elif login and login.lower() not in self.identity.all_handles \
                and not looks_like(login, identity_names(self.identity)):
            d.add_problem(f"the token in {token} belongs to {login!r}, who is neither in your handles nor looks "
                          "like you: the harvest would collect their merge requests and approvals.",
                          f"Set {token} to a token of your own account; if {login!r} is you, add \"{login}\" "
                          "to [identity] handles.")
        found = self.http.get("/merge_requests", {"scope": "all", "author_username": self.settings.username or login,
                                                  "state": "merged", "updated_after": api_time(since), "per_page": 1})
        total = (found.headers.get("x-total") or "").strip()
        d.matching = int(total) if total.isdigit() else None
        return d


def stored_times(cursor: Cursor) -> dict[str, datetime]:
    """Review id -> the latest time stored under it, of the reviews the overlap reads again."""
    times: dict[str, datetime] = {}
    for entry in cursor.state.get("recent", ()):
        record_id, _, moment = str(entry).partition("@")
        at = parse_time(moment)
        if at is not None and (record_id not in times or at > times[record_id]):
            times[record_id] = at
    return times


def is_unstored_comment(event: Any, start: datetime, stored: Mapping[str, datetime]) -> bool:
    """A comment event inside the read and newer than its merge request's stored review (what
    cannot be read is kept, for the parser to count)."""
    if not isinstance(event, Mapping):
        return True
    at = parse_time(event.get("created_at"))
    if at is None:
        return True
    key = merge_request_key(event)
    seen = stored.get(f"review-{key[0]}-{key[1]}") if key else None
    return at >= start and (seen is None or at > seen)
