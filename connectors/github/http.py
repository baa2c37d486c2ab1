"""HTTP for the GitHub connector: PyGithub's requester, with rate limits waited out up to a cap.

PyGithub's own retry (GithubRetry) sleeps inside urllib3 where nothing can be shown or capped
per harvest, so the connector turns it off for rate limits and handles 403/429 here: every
wait is logged, injectable (tests never sleep) and bounded by `max_rate_limit_wait`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from harvester.errors import AuthError, ConnectorError, TransientError
from harvester.redact import quote_server_message

log = logging.getLogger("harvester")

SEARCH_PER_MINUTE = 30
MAX_ATTEMPTS = 6
SECONDARY_DEFAULT_WAIT = 60.0
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any


def next_link(headers: Mapping[str, str]) -> str | None:
    """The rel="next" URL of a Link header, if any."""
    match = _NEXT_LINK.search(headers.get("link", "") or "")
    return match.group(1) if match else None


def resource_of(url: str) -> str:
    if "/search/" in url:
        return "search"
    if url.rstrip("/").endswith("graphql"):
        return "graphql"
    return "core"


class GithubHttp:
    """One PyGithub requester per harvest; `sleep` and `clock` are injectable."""

    def __init__(self, source: str, settings: Any, token: str, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        from github import Auth, Github

        from harvester.connectors.http import build_retry

        self.source = source
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        spacing = settings.seconds_between_requests or None
        # Connection errors and 502/503/504 only: rate limits are waited out in `request`.
        self.github = Github(auth=Auth.Token(token), base_url=settings.base_url.rstrip("/"), per_page=100,
                             retry=build_retry(settings.max_retries, (502, 503, 504)), timeout=settings.timeout,
                             seconds_between_requests=spacing, seconds_between_writes=spacing)
        self.requester = self.github.requester
        self.requests = 0
        self.waited = 0.0
        self._blocked_until: dict[str, float] = {}
        self._search_times: deque[float] = deque()

    def close(self) -> None:
        self.github.close()

    # public calls ---------------------------------------------------------------------

    def get(self, url: str, params: Mapping[str, Any] | None = None, etag: str | None = None) -> Response:
        headers = {"If-None-Match": etag} if etag else None
        return self.request("GET", url, params=dict(params or {}), headers=headers)

    def graphql(self, query: str, variables: Mapping[str, Any]) -> Response:
        """POST a GraphQL query; GraphQL-level errors are left in `data` for the caller."""
        return self.request("POST", self.requester.graphql_url, body={"query": query, "variables": dict(variables)})

    # the loop -------------------------------------------------------------------------

    def request(self, verb: str, url: str, params: dict | None = None, headers: dict | None = None,
                body: Any = None) -> Response:
        resource = resource_of(url)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.wait_for_quota(resource)
            response = self.send(verb, url, params, headers, body)
            wait = rate_limit_wait(response, self.clock())
            if wait is None:
                self.note_quota(resource, response.headers)
                if response.status >= 400:
                    raise self.error_for(response, url)
                return response
            kind, seconds = wait
            if attempt == MAX_ATTEMPTS:
                break
            self.wait(seconds, f"GitHub {kind} rate limit ({resource})")
        raise TransientError(self.source, f"GitHub kept answering with rate limits after {MAX_ATTEMPTS} attempts; "
                                          "what was fetched is kept and the next harvest resumes from there.")

    def send(self, verb: str, url: str, params: dict | None, headers: dict | None, body: Any) -> Response:
        import requests

        if resource_of(url) == "search":
            self._search_times.append(self.clock())
        self.requests += 1
        try:
            status, resp_headers, text = self.requester.requestJson(verb, url, parameters=params, headers=headers,
                                                                    input=body)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(self.source, f"cannot reach GitHub at {self.settings.base_url} "
                                              f"({type(exc).__name__}). Check base_url and the network.") from None
        except requests.exceptions.RetryError:
            raise TransientError(self.source, f"GitHub at {self.settings.base_url} kept failing with server errors; "
                                              "try again later.") from None
        resp_headers = {str(k).lower(): str(v) for k, v in (resp_headers or {}).items()}
        data: Any = None
        if text:
            try:
                data = json.loads(text)
            except (ValueError, RecursionError):
                data = {"message": quote_server_message(text, 200)}
        return Response(status, resp_headers, data)

    # rate limits ----------------------------------------------------------------------

    def wait(self, seconds: float, why: str) -> None:
        cap = self.settings.max_rate_limit_wait
        try:
            until = datetime.fromtimestamp(self.clock() + seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # a reset time beyond what a clock can show
            until = datetime.max.replace(tzinfo=timezone.utc)
        if seconds > cap:
            raise TransientError(
                self.source, f"{why}: GitHub asks to wait {seconds:.0f} s (until {until:%H:%M} UTC), more than "
                             f"max_rate_limit_wait = {cap:g} s. What was fetched is kept; the next harvest resumes "
                             "from there.")
        log.warning("%s: %s reached; waiting %.0f s (until %s UTC).", self.source, why, seconds,
                    f"{until:%H:%M:%S}")
        self.waited += seconds
        self.sleep(seconds)

    def wait_for_quota(self, resource: str) -> None:
        now = self.clock()
        blocked = self._blocked_until.pop(resource, 0.0)
        if blocked > now:
            self.wait(blocked - now, f"GitHub {resource} quota")
            now = self.clock()
        if resource == "search":
            while self._search_times and self._search_times[0] <= now - 60:
                self._search_times.popleft()
            if len(self._search_times) >= SEARCH_PER_MINUTE:
                self.wait(self._search_times[0] + 60 - now, f"GitHub search limit of {SEARCH_PER_MINUTE} a minute")

    def note_quota(self, resource: str, headers: Mapping[str, str]) -> None:
        """Remember an exhausted quota so the next request waits instead of failing."""
        reset = seconds_in(headers.get("x-ratelimit-reset"))
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            name = headers.get("x-ratelimit-resource") or resource
            self._blocked_until[name if name in ("search", "graphql") else "core"] = reset + 1

    # errors ---------------------------------------------------------------------------

    def error_for(self, response: Response, url: str) -> ConnectorError:
        message = quote_server_message(response.data.get("message"), 200) if isinstance(response.data, dict) else ""
        path = url.split("?", 1)[0]
        env = self.settings.token_env
        status = response.status
        if status == 401:
            return AuthError(self.source, f"GitHub at {self.settings.base_url} rejected the token in {env} "
                                          f"(HTTP 401{': ' + message if message else ''}). Create a new token and "
                                          f"export {env}=...", status)
        if status == 403:
            return AuthError(self.source, f"GitHub refused {path} (HTTP 403{': ' + message if message else ''}). "
                                          f"The token in {env} needs read access to pull requests, metadata, "
                                          "contents and deployments (see the README).", status)
        if status == 404:
            return ConnectorError(self.source, f"GitHub has no {path} (HTTP 404). Check repos and base_url in the "
                                               f"connector table, and that the token in {env} can read it.", status)
        if status >= 500:
            return TransientError(self.source, f"GitHub server error on {path} (HTTP {status}); try again later.",
                                  status)
        return ConnectorError(self.source, f"GitHub error on {path} (HTTP {status}"
                                           f"{': ' + message if message else ''}).", status)


def seconds_in(value: Any) -> float | None:
    """A header's number of seconds (Retry-After, X-RateLimit-Reset), or None when unusable."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None


def graphql_rate_limited(data: Any) -> bool:
    """GraphQL reports a primary or secondary rate limit as HTTP 200 with an error entry:
    type RATE_LIMITED, or only a message about a (secondary) rate limit."""
    errors = data.get("errors") if isinstance(data, dict) else None
    for error in errors if isinstance(errors, list) else ():
        if not isinstance(error, dict):
            continue
        message = error.get("message")
        if error.get("type") == "RATE_LIMITED" or (isinstance(message, str) and "rate limit" in message.lower()):
            return True
    return False


def rate_limit_wait(response: Response, now: float) -> tuple[str, float] | None:
    """('primary'|'secondary', seconds to wait) when a response is a rate limit, else None."""
    h = response.headers
    status = response.status
    if status == 200:
        if not graphql_rate_limited(response.data):
            return None
    elif status not in (403, 429):
        return None
    retry_after = seconds_in(h.get("retry-after"))
    if retry_after is not None:
        return "secondary", max(retry_after, 0.0)
    if h.get("retry-after"):
        return "secondary", SECONDARY_DEFAULT_WAIT
    if h.get("x-ratelimit-remaining") == "0" and h.get("x-ratelimit-reset"):
        return "primary", reset_wait(h, now, SECONDARY_DEFAULT_WAIT)
    if status == 200:
        return "secondary", SECONDARY_DEFAULT_WAIT
    message = response.data.get("message") if isinstance(response.data, dict) else None
    if isinstance(message, str) and "rate limit" in message.lower():
        return "secondary", SECONDARY_DEFAULT_WAIT
    return None


def reset_wait(headers: Mapping[str, str], now: float, default: float) -> float:
    reset = seconds_in(headers.get("x-ratelimit-reset"))
    return default if reset is None else max(reset - now, 0.0) + 1.0
