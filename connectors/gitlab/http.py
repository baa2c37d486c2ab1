"""HTTP for the GitLab connector: one `requests` session with the token in PRIVATE-TOKEN,
connection errors and 502/503/504 retried through connectors/http.py, and rate limits (HTTP
429) waited out here, visibly and up to `max_rate_limit_wait`.

GitLab answers a rate-limited request with 429 and `Retry-After` (seconds), plus
`RateLimit-Reset` (a Unix time) on most endpoints. Pages follow `x-next-page` (empty on the
last page); /merge_requests, /events, releases and deployments offer no keyset pagination.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

from harvester.errors import AuthError, ConnectorError, TransientError
from harvester.redact import quote_server_message

log = logging.getLogger("harvester")

MAX_ATTEMPTS = 6
DEFAULT_WAIT = 60.0
PER_PAGE = 100


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any


class GitlabHttp:
    """A session bound to one GitLab server and token. Make one per harvest; `sleep` and
    `clock` are injectable so tests never wait."""

    def __init__(self, source: str, settings: Any, token: str, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        import requests

        from harvester.connectors.http import build_retry, mount_retry

        self.source = source
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self.waited = 0.0
        self.session = requests.Session()
        self.session.headers["PRIVATE-TOKEN"] = token
        self.session.headers["User-Agent"] = "harvester (GitLab REST reader)"
        mount_retry(self.session, build_retry(settings.max_retries, (502, 503, 504)))

    def close(self) -> None:
        self.session.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Response:
        url = self.settings.api + path
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = self.send(url, params)
            if response.status != 429:
                if response.status >= 400:
                    raise self.error_for(response, path)
                return response
            if attempt == MAX_ATTEMPTS:
                break
            self.wait(rate_limit_wait(response.headers, self.clock()), f"GitLab rate limit on {path}")
        raise TransientError(self.source, f"GitLab kept answering HTTP 429 after {MAX_ATTEMPTS} attempts; what was "
                                          "fetched is kept and the next harvest resumes from there.", 429)

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list]:
        """Every page of a list endpoint, following `x-next-page`. A page that is not a list is
        a one-line error."""
        page: str | None = "1"
        while page:
            response = self.get(path, {**params, "per_page": PER_PAGE, "page": page})
            if not isinstance(response.data, list):
                raise ConnectorError(self.source, f"GitLab answered {path} with {shape_of(response.data)} instead "
                                                  "of a list; check url in the connector table.")
            yield response.data
            following = (response.headers.get("x-next-page") or "").strip()
            page = following if following.isdigit() and following != page and response.data else None

    def send(self, url: str, params: Mapping[str, Any] | None) -> Response:
        import requests

        from harvester.connectors.http import transport_failure

        self.requests += 1
        try:
            answer = self.session.get(url, params=dict(params or {}), timeout=self.settings.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(self.source, f"cannot reach GitLab at {self.settings.url} ({transport_failure(exc)})."
                                              " Check url and the network.") from None
        headers = {str(k).lower(): str(v) for k, v in answer.headers.items()}
        try:
            data = answer.json() if answer.content else None
        except ValueError:
            data = {"message": quote_server_message(answer.text, 200)}
        return Response(answer.status_code, headers, data)

    def wait(self, seconds: float, why: str) -> None:
        cap = self.settings.max_rate_limit_wait
        try:
            until = datetime.fromtimestamp(self.clock() + seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            until = datetime.max.replace(tzinfo=timezone.utc)
        if seconds > cap:
            raise TransientError(
                self.source, f"{why}: GitLab asks to wait {seconds:.0f} s (until {until:%H:%M} UTC), more than "
                             f"max_rate_limit_wait = {cap:g} s. What was fetched is kept; the next harvest resumes "
                             "from there.", 429)
        log.warning("%s: %s reached; waiting %.0f s (until %s UTC).", self.source, why, seconds, f"{until:%H:%M:%S}")
        self.waited += seconds
        self.sleep(seconds)

    def error_for(self, response: Response, path: str) -> ConnectorError:
        data = response.data
        said = data.get("message") or data.get("error") if isinstance(data, dict) else None
        message = quote_server_message(said, 200) if said else ""
        detail = f"{': ' + message if message else ''}"
        env, status = self.settings.token_env, response.status
        where = path.split("?", 1)[0]
        if status == 401:
            return AuthError(self.source, f"GitLab at {self.settings.url} rejected the token in {env} (HTTP 401"
                                          f"{detail}). Create a personal access token with the read_api scope and "
                                          f"export {env}=..., or set token_env to the variable holding it.", status)
        if status == 403:
            return AuthError(self.source, f"GitLab refused {where} (HTTP 403{detail}). The token in {env} needs the "
                                          "read_api scope and access to the listed projects.", status)
        if status == 404:
            return ConnectorError(self.source, f"GitLab has no {where} (HTTP 404). Check projects, groups and url in "
                                               f"the connector table, and that the token in {env} can read them.",
                                  status)
        if status >= 500:
            return TransientError(self.source, f"GitLab server error on {where} (HTTP {status}); try again later.",
                                  status)
        return ConnectorError(self.source, f"GitLab error on {where} (HTTP {status}{detail}).", status)


def seconds_in(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float:
    """Seconds to wait after a 429: Retry-After, else until RateLimit-Reset, else a minute."""
    retry_after = seconds_in(headers.get("retry-after"))
    if retry_after is not None:
        return max(retry_after, 0.0)
    reset = seconds_in(headers.get("ratelimit-reset"))
    if reset is not None:
        return max(reset - now, 0.0) + 1.0
    return DEFAULT_WAIT


def shape_of(data: Any) -> str:
    if data is None:
        return "nothing"
    if isinstance(data, dict):
        return "an object"
    return "a list" if isinstance(data, list) else f"a JSON {type(data).__name__}"
