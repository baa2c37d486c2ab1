"""Jira connector: the issues, epics and incidents I resolved, on Jira Cloud or Server / Data Center.

Jira Cloud removed /rest/api/*/search (410 Gone); it pages /search/jql with `nextPageToken`.
Server and Data Center still page /search with `startAt`. HTTP goes through the `jira`
package's client; parsing lives in parse.py.

One stream, "issues", harvested by an `updated >=` watermark. JQL dates have minute
precision in the API user's time zone, so each harvest overlaps the last by a few minutes
and skips issues whose (id, updated) it has already stored.

Requests per harvest: serverInfo (only when `deployment = "auto"` cannot tell from the URL,
and only until the cursor remembers it) + myself (likewise) + one per page of issues.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator, Sequence
from urllib.parse import urlparse

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow, Watermark
from harvester.connectors.jira.parse import (BASE_FIELDS, MAX_UTC_OFFSET, build_jql, dedupe_key, format_jql_time, load_zone,
                                             parse_issue, parse_jira_time, quote_jql, user_ids)
from harvester.errors import AuthError, ConfigError, ConnectorError, TransientError
from harvester.models import Cursor, Record, utcnow
from harvester.redact import quote_server_message, remember_basic_credential

DEPLOYMENTS = ("auto", "cloud", "server")


@dataclass(frozen=True)
class JiraSettings:
    url: str
    deployment: str = "auto"
    email: str = ""
    token_env: str = "JIRA_API_TOKEN"
    jql: str = ""
    projects: tuple[str, ...] = ()
    page_size: int = 100
    overlap_minutes: int = 10
    incident_types: tuple[str, ...] = ("Incident",)
    incident_priorities: tuple[str, ...] = ("Highest", "Blocker", "Critical", "High")
    bug_types: tuple[str, ...] = ("Bug",)
    epic_types: tuple[str, ...] = ("Epic",)
    epic_link_field: str = ""
    story_points_field: str = ""
    max_retries: int = 2
    max_retry_delay: int = 60
    timeout: int = 60

    def __post_init__(self):
        if urlparse(self.url).scheme not in ("http", "https") or not urlparse(self.url).netloc:
            raise ValueError(f"url must be the site's address, such as https://acme.atlassian.net (got {self.url!r})")
        if self.deployment not in DEPLOYMENTS:
            raise ValueError(f"deployment must be one of {', '.join(DEPLOYMENTS)} (got {self.deployment!r})")
        if not self.token_env:
            raise ValueError("token_env must name the environment variable holding the API token or PAT")
        if "order by" in self.jql.lower():
            raise ValueError("jql selects issues only; leave out ORDER BY (the harvest orders by updated)")
        if not 1 <= self.page_size <= 5000:
            raise ValueError("page_size must be between 1 and 5000")
        if self.overlap_minutes < 0 or self.max_retries < 0 or self.max_retry_delay < 0 or self.timeout <= 0:
            raise ValueError("overlap_minutes, max_retries and max_retry_delay must be >= 0 and timeout > 0")

    @property
    def site(self) -> str:
        return self.url.rstrip("/")

    @property
    def looks_like_cloud(self) -> bool:
        return (urlparse(self.url).hostname or "").endswith((".atlassian.net", ".jira.com"))

    @property
    def fields(self) -> list[str]:
        extra = [f for f in (self.epic_link_field, self.story_points_field) if f]
        return list(BASE_FIELDS) + extra


class JiraConnector(Connector):
    reads_for_team = True
    type_name = "jira"
    settings_class = JiraSettings
    streams = ("issues",)
    description = "Jira Cloud or Server/DC: issues, epics and incidents I resolved."

    def __init__(self, instance, settings: JiraSettings, identity):
        super().__init__(instance, settings, identity)
        self._client = None
        self._profile: dict[str, Any] = {}

    @property
    def where(self) -> str:
        return f"[connectors.{self.instance}]"

    def check(self) -> None:
        s = self.settings
        if not s.email and (s.deployment == "cloud" or (s.deployment == "auto" and s.looks_like_cloud)):
            raise ConfigError(f"{self.where}: Jira Cloud needs email = \"you@example.com\" (the account of the "
                              f"API token in {s.token_env}).")
        read_secret(s.token_env, f"{self.where} token_env")

    # client ---------------------------------------------------------------------------------

    def deployment(self) -> str:
        if self.settings.deployment != "auto":
            return self.settings.deployment
        if self._profile.get("deployment"):
            return self._profile["deployment"]
        return "cloud" if self.settings.looks_like_cloud else "auto"

    def client(self):
        if self._client is None:
            from jira import JIRA

            s = self.settings
            token = read_secret(s.token_env, f"{self.where} token_env")
            if s.email:
                remember_basic_credential(s.email, token)  # a server echoing the header gives it away
            auth = {"basic_auth": (s.email, token)} if s.email else {"token_auth": token}
            deployment = self.deployment()
            client = JIRA(server=s.site, max_retries=s.max_retries, timeout=s.timeout,
                          get_server_info=deployment == "auto", **auth)
            client._session.max_retry_delay = s.max_retry_delay
            if deployment == "cloud":
                client.deploymentType = "Cloud"  # what serverInfo would have told it
            self._profile["deployment"] = "cloud" if client.deploymentType == "Cloud" else "server"
            # Any field list makes the client fetch /field once to map names to ids; the
            # fields asked for are ids already, so give it that mapping and save the request.
            client._fields_cache_value = {f: f for f in s.fields}
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def load_profile(self, cursor: Cursor | None) -> None:
        """Who I am and my time zone: remembered in the cursor, asked of /myself otherwise."""
        saved = dict(cursor.state.get("profile") or {}) if cursor else {}
        if saved.get("url") == self.settings.site and saved.get("me"):
            self._profile = saved
            return
        self._profile = {"url": self.settings.site}
        me = self.client().myself()
        if not isinstance(me, dict) or not user_ids(me):
            raise ConnectorError(self.instance, f"Jira at {self.settings.site} answered /myself without an account "
                                                "id; check url.")
        zone = me.get("timeZone") if isinstance(me.get("timeZone"), str) else ""
        self._profile.update(me=sorted(user_ids(me)), time_zone=zone)

    # doctor -----------------------------------------------------------------------------------

    def diagnose(self, since: datetime):
        """Whom the token belongs to (/myself) and how many issues of the harvest's query were
        resolved since `since` (one page of at most page_size issues)."""
        from itertools import islice

        from harvester.doctor import Diagnosis, identity_names, looks_like

        d = Diagnosis(what="resolved issues")
        with self.translate_errors():
            me = self.client().myself()
            d.reachable = True
            if not isinstance(me, dict) or not user_ids(me):
                raise ConnectorError(self.instance, f"Jira at {self.settings.site} answered /myself without an "
                                                    "account id; check url.")
            zone_name = me.get("timeZone") if isinstance(me.get("timeZone"), str) else ""
            self._profile.update(url=self.settings.site, me=sorted(user_ids(me)), time_zone=zone_name)
            names = [me.get(k) for k in ("emailAddress", "name", "displayName") if isinstance(me.get(k), str)]
            shown = me.get("displayName") or me.get("name") or ""
            email = me.get("emailAddress") or ""
            d.identity = f"{shown}{f' <{email}>' if email else ''} ({', '.join(sorted(self._profile['me']))})"
            known = identity_names(self.identity, self.settings.email)
            if names and not any(n.strip().lower() in self.identity.all_handles or looks_like(n, known)
                                 for n in names):
                d.add_problem(f"the token in {self.settings.token_env} belongs to {shown or email!r}, who neither "
                              "matches your handles nor looks like you: the harvest would collect their issues.",
                              f"Set {self.settings.token_env} to a token of your own account (and email in "
                              f"{self.where}); if it is you, add your Jira email to [identity] handles.")
            zone = load_zone(self._profile.get("time_zone"))
            start = format_jql_time(since, zone)
            jql = build_jql(self.settings.jql, self.settings.projects, start, start)
            mine = frozenset(self._profile.get("me") or ())
            issues = list(islice(self.search(jql), self.settings.page_size))
        records = [r for r in self.parse_each(issues, lambda i: parse_issue(i, self.instance, self.settings.site,
                                                                             mine, self.settings))]
        d.matching = sum(1 for r in records if r.mine)
        d.capped = len(issues) >= self.settings.page_size
        return d

    # fetch --------------------------------------------------------------------------------

    def watermark(self, stream: str) -> Watermark:
        """The latest `updated`, re-read for `overlap_minutes` (JQL dates have minute precision);
        an issue is told apart by its id and `updated`."""
        return Watermark("updated_at", timedelta(minutes=self.settings.overlap_minutes), dedupe_key)

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        if stream != "issues":
            return
        with self.translate_errors():
            self.load_profile(cursor)
            zone = load_zone(self._profile.get("time_zone"))
            watermark = self.watermark(stream)
            jql = build_jql(self.scope(), self.settings.projects, format_jql_time(window.since, zone),
                            format_jql_time(watermark.start(cursor, window), zone))
            me = frozenset(self._profile.get("me") or ())
            parse = lambda issue: parse_issue(issue, self.instance, self.settings.site, me, self.settings)  # noqa: E731
            yield from watermark.unseen(cursor, self.parse_each(self.search(jql), parse))

    def scope(self) -> str:
        """Whose issues: the configured JQL, else for a team one query over every member's
        account (`jira` in [team]), else the token's own."""
        if self.settings.jql or not self.members:
            return self.settings.jql
        accounts = sorted({m.settings.jira for m in self.members if m.settings.jira})
        if not accounts:
            raise ConfigError(f"{self.where}: no member of the team has a Jira account. Set jira (their account id) "
                              "for each member in [team], or set jql in this table.")
        return f"assignee in ({', '.join(quote_jql(a) for a in accounts)})"

    def search(self, jql: str) -> Iterator[dict]:
        if self.deployment() == "cloud":
            yield from self.search_cloud(jql)
        else:
            yield from self.search_server(jql)

    def search_cloud(self, jql: str) -> Iterator[dict]:
        """/search/jql: follow nextPageToken until isLast (the client returns one page at a time)."""
        token = None
        while True:
            page = self.client().enhanced_search_issues(jql, nextPageToken=token, maxResults=self.settings.page_size,
                                                        fields=self.settings.fields, json_result=True)
            yield from self.issues_of(page, "/search/jql")
            token = page.get("nextPageToken")
            if not isinstance(token, str) or page.get("isLast", False) is True:
                return

    def search_server(self, jql: str) -> Iterator[dict]:
        """/search: page by startAt until total (the server may lower maxResults)."""
        start = 0
        while True:
            page = self.client().search_issues(jql, startAt=start, maxResults=self.settings.page_size,
                                               fields=self.settings.fields, json_result=True)
            issues = self.issues_of(page, "/search")
            yield from issues
            start += len(issues)
            total = page.get("total")
            if not issues or not isinstance(total, int) or start >= total:
                return

    def issues_of(self, page: Any, endpoint: str) -> list:
        """A search page's issues; a page of another shape is the source's error, in one line."""
        issues = page.get("issues") if isinstance(page, dict) else None
        if isinstance(page, dict) and issues is None:
            return []
        if not isinstance(issues, list):
            shape = type(issues if isinstance(page, dict) else page).__name__
            raise ConnectorError(self.instance, f"Jira at {self.settings.site} answered {endpoint} with "
                                                f"{'issues as a ' + shape if isinstance(page, dict) else 'a ' + shape} "
                                                "instead of a page of issues; try again later.")
        return issues

    def advance_cursor(self, stream: str, cursor: Cursor | None, page: Sequence[Record],
                       final: bool = False) -> Cursor | None:
        """Watermark = latest `updated`; seen = (id, updated) of issues the next overlap re-reads."""
        watermark = self.watermark(stream)
        latest = watermark.latest(cursor, page)
        if latest is None and not self._profile:
            return cursor
        seen = set(cursor.seen_ids) if cursor else set()
        seen |= {watermark.dedupe_key(r) for r in page}
        if latest is not None:
            horizon = watermark.horizon(latest)
            if load_zone(self._profile.get("time_zone")) is None:
                horizon -= MAX_UTC_OFFSET  # the next query reaches this much further back
            seen = {k for k in seen if (parse_jira_time(k.rpartition("@")[2]) or horizon) > horizon}
        return Cursor(source=self.instance, stream=stream, value=latest.isoformat() if latest else None,
                      seen_ids=frozenset(seen), state={"profile": dict(self._profile)}, updated_at=utcnow())

    # errors -------------------------------------------------------------------------------

    @contextmanager
    def translate_errors(self):
        try:
            yield
        except ConnectorError:
            raise
        except ConfigError:
            raise
        except Exception as exc:
            raise translate_error(self.instance, self.settings, exc) from None


def translate_error(instance: str, settings: JiraSettings, exc: Exception) -> ConnectorError:
    """One clear line for each failure a user can cause or wait out. Never str(JIRAError):
    it includes the request headers, and so the credentials."""
    import requests

    site = settings.site
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return TransientError(instance, f"cannot reach Jira at {site} ({type(exc).__name__}). "
                                        "Check url and the network; the next harvest resumes from its cursor.")
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    text = quote_server_message(getattr(exc, "text", ""))
    path = urlparse(str(getattr(exc, "url", "") or "")).path
    if status in (401, 403):
        who = f"the email {settings.email!r} with the API token in {settings.token_env}" if settings.email \
            else f"the personal access token in {settings.token_env}"
        return AuthError(instance, f"Jira at {site} refused {who} (HTTP {status}). Check the token, and that the "
                                   "account has the Browse projects permission.", status)
    if status == 410:
        return ConnectorError(instance, f"Jira at {site} answered 410 Gone for {path or 'the search API'}: "
                                        "Atlassian removed /rest/api/*/search from Jira Cloud. This is a Cloud site: "
                                        "set deployment = \"cloud\" (it uses /rest/api/2/search/jql).", status)
    if status in (429, 503) or (isinstance(status, int) and status >= 500):
        retry_after = response.headers.get("Retry-After") if response is not None else None
        wait = f", Retry-After {retry_after} s" if retry_after else ""
        return TransientError(instance, f"Jira at {site} is busy or rate limiting (HTTP {status}{wait}) after "
                                        f"{settings.max_retries} retries. Raise max_retries or harvest later; "
                                        "the next harvest resumes from its cursor.", status)
    if status == 400 and path and not path.endswith(("/search", "/search/jql")):
        return ConnectorError(instance, f"Jira at {site} rejected {path} (HTTP 400): "
                                        f"{text or 'bad request'}.", status)
    if status == 400:
        return ConnectorError(instance, f"Jira rejected the search (HTTP 400): {text or 'bad request'}. "
                                        "Check jql and projects in the connector table.", status)
    if status == 404:
        return ConnectorError(instance, f"no Jira REST API at {site}{path} (HTTP 404). Check url, including any "
                                        "context path such as /jira.", status)
    if status:
        return ConnectorError(instance, f"Jira error (HTTP {status}) at {site}: {text or 'no details'}.", status)
    if type(exc).__name__ == "JIRAError":
        return ConnectorError(instance, f"Jira error at {site}: {text or 'no details'}.")
    return ConnectorError(instance, f"Jira error at {site}: {quote_server_message(str(exc)) or type(exc).__name__}")
