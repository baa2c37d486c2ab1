"""Hugging Face Hub connector: the models and datasets of the configured authors that changed,
and in each the revisions I pushed with their commit titles. HTTP lives in http.py (one session,
rate limits waited out), parsing in parse.py.

Plain `requests` rather than huggingface_hub's HfApi: the endpoints are the same, but HfApi
sends them through its own httpx client (which `responses` cannot stand in for) and waits out
429s inside its own retry loop, where a wait can be neither shown nor capped per harvest; and
`list_repo_commits` always reads a repository's whole history, where the harvest stops at the
first commit older than its watermark.

Two streams, `models` and `datasets`, each a watermark on the repositories' `lastModified`.
Requests per harvest and author: one per page of repositories, newest change first
(`sort=lastModified&direction=-1`), stopping at the first one older than the watermark; then,
per repository changed since, one per page of its commits on main, newest first, stopping at
the first older than the watermark. A nightly harvest with nothing new costs one request per
author and stream; who I am (GET /api/whoami-v2, once) is remembered in the cursor.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Iterator
from urllib.parse import quote

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow, Watermark
from harvester.connectors.huggingface.http import HubHttp
from harvester.connectors.huggingface.parse import (PLURALS, HubRepo, commit_time, dedupe_key, is_mine,
                                                    parse_commit, parse_repo)
from harvester.connectors.huggingface.settings import HuggingfaceSettings
from harvester.errors import ConfigError, ConnectorError, MalformedItemError
from harvester.models import Cursor, Record, utcnow

log = logging.getLogger("harvester")
STREAM_TYPES = {"models": "model", "datasets": "dataset"}
# What the listing must carry: /api/models and /api/datasets return only a few fields unless
# asked (huggingface_hub's ExpandModelProperty_T / ExpandDatasetProperty_T name the choices).
FIELDS = ("lastModified", "createdAt", "downloads", "downloadsAllTime", "likes", "tags", "private")
EXPAND = {"model": (*FIELDS, "pipeline_tag"), "dataset": FIELDS}


class HuggingfaceConnector(Connector):
    type_name = "huggingface"
    settings_class = HuggingfaceSettings
    streams = ("models", "datasets")
    description = "Hugging Face Hub: models and datasets I pushed, with the titles of my new revisions."

    def __init__(self, instance, settings: HuggingfaceSettings, identity, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        super().__init__(instance, settings, identity)
        self._sleep = sleep
        self._clock = clock
        self._http: HubHttp | None = None
        self._me: str | None = None
        self._listed: dict[str, tuple[datetime, set[str]]] = {}

    @property
    def where(self) -> str:
        return f"[connectors.{self.instance}]"

    def token(self) -> str | None:
        """The token, when its variable is set: public repositories need none."""
        if not os.environ.get(self.settings.token_env):
            return None
        return read_secret(self.settings.token_env, f"{self.where} token_env")

    def check(self) -> None:
        if self.token() is None and not self.settings.username:
            raise ConfigError(f"{self.where}: environment variable {self.settings.token_env} is not set. Export a "
                              f"read token (export {self.settings.token_env}=...), or set username (and authors) "
                              "to read public repositories without one.")

    @property
    def http(self) -> HubHttp:
        if self._http is None:
            self._http = HubHttp(self.instance, self.settings, self.token(), sleep=self._sleep, clock=self._clock)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def watermark(self, stream: str) -> Watermark:
        return Watermark("last_modified", dedupe_key=dedupe_key)

    # who I am ---------------------------------------------------------------------------------

    def me(self) -> str:
        if self._me is None:
            if self.settings.username:
                self._me = self.settings.username
            else:
                self.check()
                data = self.http.get("/whoami-v2").data
                name = data.get("name") if isinstance(data, dict) else None
                if not isinstance(name, str) or not name:
                    raise ConnectorError(self.instance, f"the Hub's whoami named no user; check endpoint in "
                                                        f"{self.where} or set username there.")
                self._me = name
        return self._me

    def recall(self, cursor: Cursor | None, window: HarvestWindow) -> None:
        if cursor is None or window.forced or cursor.state.get("endpoint") != self.settings.endpoint:
            return
        if self._me is None and not self.settings.username and isinstance(cursor.state.get("me"), str):
            self._me = cursor.state["me"]

    # the protocol -----------------------------------------------------------------------------

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        repo_type = STREAM_TYPES.get(stream)
        if repo_type is None or not getattr(self.settings, stream):
            return
        self.recall(cursor, window)
        me = self.me()
        watermark = self.watermark(stream)
        start = watermark.start(cursor, window)
        seen = frozenset() if window.forced or cursor is None else cursor.seen_ids
        changed = [r for r in self.changed_repos(stream, repo_type, start) if r.key not in seen]
        web = self.settings.endpoint.rstrip("/")
        records: list[Record] = []
        for repo in changed:
            records.extend(self.parse_each(self.my_commits(repo, me, start),
                                           lambda c, repo=repo: parse_commit(c, repo, self.instance, web)))
        records.sort(key=lambda r: (watermark.time_of(r), r.occurred_at, r.external_id))
        yield from records

    def changed_repos(self, stream: str, repo_type: str, start: datetime) -> list[HubRepo]:
        """The repositories of every author changed at or after `start`, newest change first,
        reading no page past the first older one."""
        found: list[HubRepo] = []
        for author in self.settings.authors or (self.me(),):
            params = {"author": author, "sort": "lastModified", "direction": -1, "limit": self.settings.page_size,
                      "expand": list(EXPAND[repo_type])}
            for page in self.http.pages(f"/{stream}", params, what=f"/api/{stream}?author={author}"):
                repos = list(self.parse_each(page, lambda item: parse_repo(item, repo_type)))
                found.extend(r for r in repos if r.last_modified >= start)
                if any(r.last_modified < start for r in repos):
                    break
        if found:
            newest = max(r.last_modified for r in found)
            self._listed[stream] = (newest, {r.key for r in found if r.last_modified == newest})
        return found

    def my_commits(self, repo: HubRepo, me: str, start: datetime) -> Iterator[Any]:
        """My commits on main at or after `start`, newest first (the Hub's order)."""
        path = f"/{PLURALS[repo.repo_type]}/{quote(repo.repo, safe='/')}/commits/main"
        try:
            for page in self.http.pages(path, {"limit": self.settings.page_size}, what=f"commits of {repo.repo}"):
                for commit in page:
                    when = commit_time(commit)
                    if when is not None and when < start:
                        return
                    if when is None or is_mine(commit, me):
                        yield commit
        except ConnectorError as exc:
            if exc.status != 404:
                raise
            self.skip_malformed(MalformedItemError(PLURALS[repo.repo_type], repo.repo, "no main branch to read"))

    def advance_cursor(self, stream, cursor, page, final=False):
        cursor = super().advance_cursor(stream, cursor, page, final)
        if final and stream in self._listed:
            cursor = self.past_listed(stream, cursor)
        return self.remember(stream, cursor)

    def past_listed(self, stream: str, cursor: Cursor | None) -> Cursor:
        """Past every repository listed, with commits of mine or not: a repository someone else
        changed is not read again."""
        newest, keys = self._listed[stream]
        old = datetime.fromisoformat(cursor.value) if cursor and cursor.value else None
        if old is not None and old > newest:
            return cursor
        seen = set(keys) | (set(cursor.seen_ids) if cursor and old == newest else set())
        state = dict(cursor.state) if cursor else {}
        return Cursor(source=self.instance, stream=stream, value=newest.isoformat(), seen_ids=frozenset(seen),
                      state=state, updated_at=utcnow())

    def remember(self, stream: str, cursor: Cursor | None) -> Cursor | None:
        known = {"endpoint": self.settings.endpoint}
        if self._me and not self.settings.username:
            known["me"] = self._me
        if cursor is None:
            return Cursor(source=self.instance, stream=stream, value=None, state=known, updated_at=utcnow())
        if all(cursor.state.get(k) == v for k, v in known.items()):
            return cursor
        return replace(cursor, state={**cursor.state, **known}, updated_at=utcnow())

    # doctor -----------------------------------------------------------------------------------

    def diagnose(self, since: datetime):
        """Whom the token belongs to (whoami) and how many of the first author's models changed
        since `since` (one page of at most page_size)."""
        from harvester.doctor import Diagnosis, identity_names, looks_like

        d = Diagnosis(what="models changed")
        me = self.me()
        d.reachable = True
        d.identity = me
        if me.lower() not in self.identity.all_handles and not looks_like(me, identity_names(self.identity)):
            d.add_problem(f"the Hub user {me!r} is neither in your handles nor looks like you: the harvest would "
                          "collect their revisions.",
                          f"Set {self.settings.token_env} to a token of your own account or fix username in "
                          f"{self.where}; if {me!r} is you, add \"{me}\" to [identity] handles.")
        author = (self.settings.authors or (me,))[0]
        params = {"author": author, "sort": "lastModified", "direction": -1, "limit": self.settings.page_size,
                  "expand": list(EXPAND["model"])}
        page = next(self.http.pages("/models", params), [])
        repos = list(self.parse_each(page, lambda item: parse_repo(item, "model")))
        d.matching = sum(1 for r in repos if r.last_modified >= since)
        d.capped = d.matching >= self.settings.page_size
        return d
