"""Retries for connectors that send HTTP through a `requests` session of their own: urllib3's
`Retry`, mounted on the session. Clients that retry by themselves (mlflow, the Jira library's
ResilientSession) keep their own.

Imported only where a session is built, so urllib3 stays out of start-up.
"""

from __future__ import annotations

from typing import Any, Callable, Collection

from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

SERVER_ERRORS = tuple(range(500, 600))


class PacedRetry(Retry):
    """A `Retry` whose waits go through an injectable `pause`: `backoff * 2**n` seconds before
    retry n (counted from 0), or the server's Retry-After in whole seconds instead, never more
    than `max_wait`; no wait at all when `backoff` is 0.

    The wait is taken when the retry is counted (`increment`) rather than in `sleep`, so a
    test double that counts retries without sleeping (`responses`) still shows every wait.
    """

    def __init__(self, *args: Any, pause: Callable[[float], None] | None = None, backoff: float = 0.0,
                 max_wait: float = 60.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pause = pause
        self.backoff = backoff
        self.max_wait = max_wait

    def new(self, **kwargs: Any) -> PacedRetry:
        kwargs.setdefault("pause", self.pause)
        kwargs.setdefault("backoff", self.backoff)
        kwargs.setdefault("max_wait", self.max_wait)
        return super().new(**kwargs)

    def increment(self, *args: Any, **kwargs: Any) -> PacedRetry:
        retry = super().increment(*args, **kwargs)  # raises MaxRetryError once the retries are used up
        retry.wait_before_retry(kwargs.get("response"))
        return retry

    def sleep(self, response: Any = None) -> None:
        """Nothing: `increment` waited already."""

    def wait_before_retry(self, response: Any) -> None:
        if self.backoff <= 0 or self.pause is None:
            return
        delay = self.backoff * (2 ** (len(self.history) - 1))
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.strip().isdigit():
            delay = float(retry_after.strip())
        self.pause(min(delay, self.max_wait))


def build_retry(max_retries: int, statuses: Collection[int], *, backoff: float = 1.0,
                pause: Callable[[float], None] | None = None, max_wait: float = 60.0) -> Retry | None:
    """Retries of connection errors, timeouts and the answers with `statuses`, for any method
    (the POSTs connectors send only read); None when `max_retries` is 0. The last answer is
    returned rather than raised, for the connector to word.

    Without `pause`, urllib3 waits by itself (exponential backoff from `backoff`, Retry-After
    not honoured); with it, waits are paced as PacedRetry says."""
    if max_retries <= 0:
        return None
    common = dict(total=max_retries, status_forcelist=tuple(statuses), allowed_methods=None, raise_on_status=False,
                  respect_retry_after_header=False)
    if pause is None:
        return Retry(backoff_factor=backoff, **common)
    return PacedRetry(backoff_factor=0, pause=pause, backoff=backoff, max_wait=max_wait, **common)


def mount_retry(session: Any, retry: Retry | None) -> None:
    """Send every request of `session` through `retry` (a no-op for None)."""
    if retry is None:
        return
    from requests.adapters import HTTPAdapter

    for prefix in ("http://", "https://"):
        session.mount(prefix, HTTPAdapter(max_retries=retry))


def transport_failure(exc: BaseException) -> str:
    """The name of what went wrong on the wire, as requests names it without retries: a read
    timeout stays a ReadTimeout after the retries gave up on it."""
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError):
        return "ReadTimeout"
    return type(exc).__name__
