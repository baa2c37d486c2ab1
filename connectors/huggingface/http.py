"""HTTP for the Hugging Face Hub connector: one `requests` session with the token as a Bearer
header (none for public repositories), connection errors and 502/503/504 retried through
connectors/http.py, and rate limits (HTTP 429) waited out here, visibly and up to
`max_rate_limit_wait`.

The Hub's documented behaviour (huggingface.co/docs/hub/rate-limits, and what huggingface_hub
reads in utils/_http.py `parse_ratelimit_headers`): limits are counted over 5-minute windows;
every answer carries `RateLimit: "api";r=<remaining>;t=<seconds until reset>` and
`RateLimit-Policy: "fixed window";"api";q=<quota>;w=300`; a request over the limit is answered
429, sometimes with `Retry-After`. List endpoints page with a `Link: <url>; rel="next"` header
whose URL carries the query (huggingface_hub utils/_pagination.py, huggingface.js list-models.ts).
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

from harvester.errors import AuthError, ConnectorError, TransientError
from harvester.redact import quote_server_message

log = logging.getLogger("harvester")

MAX_ATTEMPTS = 6
DEFAULT_WAIT = 60.0
RATELIMIT = re.compile(r'"(?P<bucket>\w+)"\s*;\s*r\s*=\s*(?P<remaining>\d+)\s*;\s*t\s*=\s*(?P<reset>\d+)')


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any
    next_url: str | None


class HubHttp:
    """A session bound to one Hub and token. `sleep` and `clock` are injectable so tests never wait."""

    def __init__(self, source: str, settings: Any, token: str | None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        import requests

        from harvester.connectors.http import build_retry, mount_retry

        self.source = source
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.waited = 0.0
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["User-Agent"] = "harvester (Hugging Face Hub reader)"
        mount_retry(self.session, build_retry(settings.max_retries, (502, 503, 504)))

    @property
    def where(self) -> str:
        return f"[connectors.{self.source}]"

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, params: Mapping[str, Any] | None = None, *, what: str = "") -> Response:
        """One answer after waiting out rate limits; `url` is a path under the API or a `next` link."""
        full = url if url.startswith(("http://", "https://")) else self.settings.api + url
        what = what or url.split("?", 1)[0]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = self.send(full, params)
            if response.status != 429:
                if response.status >= 400:
                    raise self.error_for(response, what)
                return response
            if attempt == MAX_ATTEMPTS:
                break
            self.wait(rate_limit_wait(response.headers), f"Hub rate limit on {what}")
        raise TransientError(self.source, f"the Hub kept answering HTTP 429 after {MAX_ATTEMPTS} attempts; what was "
                                          "fetched is kept and the next harvest resumes from there.", 429)

    def pages(self, path: str, params: Mapping[str, Any], *, what: str = "") -> Iterator[list]:
        """Every page of a list endpoint, following the Link header's `next`. The caller may stop
        early: the pages it does not ask for are never requested."""
        response = self.get(path, params, what=what)
        while True:
            if not isinstance(response.data, list):
                raise ConnectorError(self.source, f"the Hub answered {what or path} with {shape_of(response.data)} "
                                                  f"instead of a list; check endpoint in {self.where}.")
            yield response.data
            if not response.next_url or not response.data:
                return
            response = self.get(response.next_url, what=what or path)

    def send(self, url: str, params: Mapping[str, Any] | None) -> Response:
        import requests

        from harvester.connectors.http import transport_failure

        try:
            answer = self.session.get(url, params=params, timeout=self.settings.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(self.source, f"cannot reach the Hub at {self.settings.endpoint} "
                                              f"({transport_failure(exc)}). Check endpoint in {self.where} and the "
                                              "network.") from None
        headers = {str(k).lower(): str(v) for k, v in answer.headers.items()}
        try:
            data = answer.json() if answer.content else None
        except ValueError:
            data = {"error": quote_server_message(answer.text, 200)}
        next_url = (answer.links.get("next") or {}).get("url")
        return Response(answer.status_code, headers, data, next_url if next_url and next_url != url else None)

    def wait(self, seconds: float, why: str) -> None:
        cap = self.settings.max_rate_limit_wait
        try:
            until = datetime.fromtimestamp(self.clock() + seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            until = datetime.max.replace(tzinfo=timezone.utc)
        if seconds > cap:
            raise TransientError(
                self.source, f"{why}: the Hub asks to wait {seconds:.0f} s (until {until:%H:%M} UTC), more than "
                             f"max_rate_limit_wait = {cap:g} s in {self.where}. What was fetched is kept; the next "
                             "harvest resumes from there.", 429)
        log.warning("%s: %s reached; waiting %.0f s (until %s UTC).", self.source, why, seconds, f"{until:%H:%M:%S}")
        self.waited += seconds
        self.sleep(seconds)

    def error_for(self, response: Response, what: str) -> ConnectorError:
        data = response.data
        said = data.get("error") or data.get("message") if isinstance(data, dict) else None
        said = said or response.headers.get("x-error-message")
        detail = f": {quote_server_message(said, 200)}" if said else ""
        env, status = self.settings.token_env, response.status
        if status == 401 and "Authorization" in self.session.headers:
            return AuthError(self.source, f"the Hub at {self.settings.endpoint} rejected the token in {env} (HTTP 401"
                                          f"{detail}). Create a read token at huggingface.co/settings/tokens and "
                                          f"export {env}=..., or set token_env in {self.where} to the variable "
                                          "holding it.", status)
        if status in (401, 403, 404):
            return ConnectorError(self.source, f"the Hub has no {what} it will show (HTTP {status}{detail}). Check "
                                               f"authors and endpoint in {self.where}; a private repository needs a "
                                               f"read token in {env}.", status)
        if status >= 500:
            return TransientError(self.source, f"Hub server error on {what} (HTTP {status}); try again later.", status)
        return ConnectorError(self.source, f"the Hub refused {what} (HTTP {status}{detail}); check {self.where}.",
                              status)


def seconds_in(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None


def rate_limit_wait(headers: Mapping[str, str]) -> float:
    """Seconds to wait after a 429: the reset of an exhausted `RateLimit` bucket (plus a second,
    as huggingface_hub adds), else Retry-After, else a minute."""
    match = RATELIMIT.search(headers.get("ratelimit") or "")
    if match and int(match["remaining"]) == 0:
        return float(match["reset"]) + 1.0
    retry_after = seconds_in(headers.get("retry-after"))
    if retry_after is not None:
        return max(retry_after, 0.0)
    return DEFAULT_WAIT


def shape_of(data: Any) -> str:
    if data is None:
        return "nothing"
    if isinstance(data, dict):
        return "an object"
    return "a list" if isinstance(data, list) else f"a JSON {type(data).__name__}"
