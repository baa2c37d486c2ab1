"""The request counter wraps HTTPAdapter.send once, even when its installed flag is reset while
the wrapper is still in place (the bench resets it around each mocked harvest)."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from harvester import requests_counter
from harvester.requests_counter import count_requests


def test_each_request_is_counted_once_after_the_flag_is_reset(monkeypatch):
    sent = []
    monkeypatch.setattr(HTTPAdapter, "send", lambda self, request, *a, **k: sent.append(request.url))
    monkeypatch.setattr(requests_counter, "_installed", False)
    with count_requests():
        pass
    requests_counter._installed = False  # as bench/saas_cases.py's own_counter leaves it
    with count_requests() as counter:
        requests.Session().get_adapter("http://127.0.0.1/").send(requests.Request("GET", "http://127.0.0.1/x").prepare())
    assert sent == ["http://127.0.0.1/x"] and counter.value == 1
