"""GraphQL over one `requests` session for the Linear connector: rate limits waited out per
Linear's headers (capped), retries of lost connections and 5xx (connectors/http.py), and one
line for each failure, naming the setting to fix.

Linear's documented behaviour (linear.app/developers/rate-limiting, and the fields its SDK
reads in packages/sdk/src/error.ts): every answer carries `X-RateLimit-Requests-Limit`,
`-Remaining` and `-Reset` (UTC epoch milliseconds), and `X-RateLimit-Complexity-*` likewise;
a request over a limit is answered HTTP 400 with an error whose `extensions.code` is
RATELIMITED (the SDK also reads `extensions.type` "ratelimited"). A rejected key is an error
with code AUTHENTICATION_ERROR (HTTP 400 or 401).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

from harvester.errors import AuthError, ConnectorError, TransientError
from harvester.redact import quote_server_message

log = logging.getLogger("harvester")
MAX_ATTEMPTS = 4
DEFAULT_RATE_LIMIT_WAIT = 60.0  # a rate limit without a usable reset header
RESET_HEADERS = ("x-ratelimit-requests-reset", "x-ratelimit-complexity-reset", "x-ratelimit-endpoint-requests-reset")


class LinearGraphql:
    """A session bound to one endpoint and key; `sleep` and `clock` are injectable."""

    def __init__(self, instance: str, settings: Any, api_key: str, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        import requests

        from harvester.connectors.http import SERVER_ERRORS, build_retry, mount_retry

        self.instance = instance
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.waited = 0.0
        self._blocked_until = 0.0
        self.session = requests.Session()
        # A personal API key goes bare in Authorization; only OAuth tokens take "Bearer".
        self.session.headers.update({"Authorization": api_key, "User-Agent": "harvester (Linear reader)"})
        mount_retry(self.session, build_retry(settings.max_retries, SERVER_ERRORS, backoff=1.0,
                                              pause=lambda seconds: self.sleep(seconds), max_wait=60.0))

    def close(self) -> None:
        self.session.close()

    @property
    def where(self) -> str:
        return f"[connectors.{self.instance}]"

    def execute(self, operation: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of one operation, after waiting out rate limits."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.wait_for_quota()
            response = self.post(operation, query, variables)
            body = safe_json(response)
            if is_rate_limited(response.status_code, body):
                if attempt == MAX_ATTEMPTS:
                    break
                self.wait(rate_limit_wait(response.headers, self.clock()), f"Linear rate limit ({operation})")
                continue
            self.note_quota(response.headers)
            return self.read_data(operation, response, body)
        raise TransientError(self.instance, f"Linear kept answering {operation} with rate limits after "
                                            f"{MAX_ATTEMPTS} attempts; what was fetched is kept and the next harvest "
                                            "resumes from there.")

    def post(self, operation: str, query: str, variables: Mapping[str, Any] | None):
        import requests

        from harvester.connectors.http import transport_failure

        body = {"operationName": operation, "query": query, "variables": dict(variables or {})}
        try:
            return self.session.post(self.settings.api_url, json=body, timeout=self.settings.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(self.instance, f"cannot reach Linear at {self.settings.api_url} "
                                                f"({transport_failure(exc)}). Check api_url and the network; the "
                                                "next harvest resumes from its cursor.") from None

    def paginate(self, operation: str, query: str, connection: str, variables: Mapping[str, Any],
                 on_data: Callable[[Mapping[str, Any]], None] | None = None) -> Iterator[list[Any]]:
        """The nodes of `connection`, one page per request, following pageInfo.endCursor."""
        after: str | None = None
        while True:
            data = self.execute(operation, query, {**variables, "first": self.settings.page_size, "after": after})
            if on_data:
                on_data(data)
            page = data.get(connection)
            nodes = page.get("nodes") if isinstance(page, Mapping) else None
            info = page.get("pageInfo") if isinstance(page, Mapping) else None
            if not isinstance(nodes, list) or not isinstance(info, (Mapping, type(None))):
                raise ConnectorError(self.instance, f"Linear answered {operation} without a page of {connection} "
                                                    "(nodes and pageInfo); check api_url.")
            yield nodes
            end = (info or {}).get("endCursor")
            if (info or {}).get("hasNextPage") is not True or not isinstance(end, str) or not end or end == after:
                return
            after = end

    # rate limits ------------------------------------------------------------------------

    def wait(self, seconds: float, why: str) -> None:
        cap = self.settings.max_rate_limit_wait
        until = datetime.fromtimestamp(min(self.clock() + seconds, 32503680000), tz=timezone.utc)
        if seconds > cap:
            raise TransientError(self.instance, f"{why}: Linear asks to wait {seconds:.0f} s (until {until:%H:%M} "
                                                f"UTC), more than max_rate_limit_wait = {cap:g} s in {self.where}. "
                                                "What was fetched is kept; the next harvest resumes from there.")
        log.warning("%s: %s reached; waiting %.0f s (until %s UTC).", self.instance, why, seconds,
                    f"{until:%H:%M:%S}")
        self.waited += seconds
        self.sleep(seconds)

    def wait_for_quota(self) -> None:
        blocked, self._blocked_until = self._blocked_until, 0.0
        if blocked > self.clock():
            self.wait(blocked - self.clock(), "Linear request quota")

    def note_quota(self, headers: Mapping[str, str]) -> None:
        """An exhausted request quota: the next request waits for its reset instead of failing."""
        reset = epoch_seconds(headers.get("x-ratelimit-requests-reset"))
        if (headers.get("x-ratelimit-requests-remaining") or "").strip() == "0" and reset is not None:
            self._blocked_until = reset + 1.0

    # answers ----------------------------------------------------------------------------

    def read_data(self, operation: str, response, body: Any) -> dict[str, Any]:
        status = response.status_code
        code = error_code(body)
        if status in (401, 403) or code in ("AUTHENTICATION_ERROR", "FORBIDDEN"):
            raise self.auth_error(status if status in (401, 403) else (403 if code == "FORBIDDEN" else 401))
        if status >= 500:
            raise TransientError(self.instance, f"Linear answered HTTP {status} to {operation} after "
                                                f"{self.settings.max_retries} retries; raise max_retries in "
                                                f"{self.where} or harvest later.", status)
        message = error_message(body)
        if message or status >= 400:
            detail = quote_server_message(message or response.text, 200) or f"HTTP {status}"
            raise ConnectorError(self.instance, f"Linear rejected {operation} (HTTP {status}): {detail}. Check teams "
                                                f"and api_url in {self.where}.", status)
        if not isinstance(body, Mapping):
            raise ConnectorError(self.instance, f"Linear did not answer {operation} with JSON; is api_url "
                                                f"({self.settings.api_url}) Linear's GraphQL endpoint?")
        data = body.get("data")
        return dict(data) if isinstance(data, Mapping) else {}

    def auth_error(self, status: int) -> AuthError:
        if status == 403:
            return AuthError(self.instance, f"Linear refused the API key in {self.settings.token_env} (HTTP 403). "
                                            "Use a key of your own account with read access, set in "
                                            f"{self.settings.token_env} (token_env in {self.where}).", status)
        return AuthError(self.instance, f"Linear rejected the API key in {self.settings.token_env} (HTTP 401). Put "
                                        f"a valid personal API key in {self.settings.token_env} (token_env in "
                                        f"{self.where}); create one under Settings → Account → Security & access.",
                         status)


def safe_json(response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def first_error(body: Any) -> Mapping[str, Any]:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    return first if isinstance(first, Mapping) else {}


def error_code(body: Any) -> str:
    extensions = first_error(body).get("extensions")
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return code.upper() if isinstance(code, str) else ""


def error_message(body: Any) -> str:
    error = first_error(body)
    extensions = error.get("extensions") if isinstance(error.get("extensions"), Mapping) else {}
    message = extensions.get("userPresentableMessage") or error.get("message")
    return str(message) if message else ""


def is_rate_limited(status: int, body: Any) -> bool:
    if status == 429:
        return True
    extensions = first_error(body).get("extensions")
    if not isinstance(extensions, Mapping):
        return False
    return str(extensions.get("code") or "").upper() == "RATELIMITED" or \
        str(extensions.get("type") or "").lower() == "ratelimited"


def epoch_seconds(value: Any) -> float | None:
    """Linear's reset headers, UTC epoch milliseconds, in seconds."""
    try:
        millis = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return millis / 1000.0 if millis == millis and millis not in (float("inf"), float("-inf")) else None


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float:
    """Seconds until the limit that was hit resets: Retry-After, else the latest reset among the
    exhausted quotas (every quota's when none says 0), plus a second of slack."""
    retry_after = (headers.get("retry-after") or "").strip()
    if retry_after.replace(".", "", 1).isdigit():
        return float(retry_after)
    resets = {name: epoch_seconds(headers.get(name)) for name in RESET_HEADERS}
    exhausted = [reset for name, reset in resets.items() if reset is not None
                 and (headers.get(name.replace("-reset", "-remaining")) or "").strip() in ("0", "")]
    known = exhausted or [reset for reset in resets.values() if reset is not None]
    if not known:
        return DEFAULT_RATE_LIMIT_WAIT
    return max(max(known) - now, 0.0) + 1.0
