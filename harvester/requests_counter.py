"""Count the HTTP requests made through `requests` while a harvest runs.

Every connector built on `requests` (MLflow's client, PyGithub, jira) goes through
HTTPAdapter.send, so one wrapper there counts them all, per thread.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

_local = threading.local()
_lock = threading.Lock()
_installed = False


class RequestCount:
    def __init__(self) -> None:
        self.value = 0


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from requests.adapters import HTTPAdapter

        original = HTTPAdapter.send
        if getattr(original, "counts_requests", False):  # wrapped already, by a flag reset since
            _installed = True
            return

        def counting_send(self, request, *args, **kwargs):
            counter = getattr(_local, "counter", None)
            if counter is not None:
                counter.value += 1
            return original(self, request, *args, **kwargs)

        counting_send.counts_requests = True
        HTTPAdapter.send = counting_send
        _installed = True


@contextmanager
def count_requests() -> Iterator[RequestCount]:
    _install()
    counter = RequestCount()
    previous = getattr(_local, "counter", None)
    _local.counter = counter
    try:
        yield counter
    finally:
        _local.counter = previous
