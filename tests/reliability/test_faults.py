"""The fault proxy itself: each fault is what a client meets on a real network."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bench.faults import Fault, fault_proxy

BODY = json.dumps({"runs": [{"i": i, "pad": "x" * 50} for i in range(400)]}).encode()


@pytest.fixture(scope="module")
def upstream():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_no_fault_passes_everything_through_on_one_connection(upstream):
    with fault_proxy(upstream) as proxy, requests.Session() as s:
        for _ in range(3):
            r = s.post(f"{proxy.url}/api/2.0/mlflow/runs/search", json={"a": 1}, timeout=5)
            assert r.status_code == 200 and r.content == BODY
        assert [e.path for e in proxy.log] == ["/api/2.0/mlflow/runs/search"] * 3
        assert proxy.injected == []


def test_drop_mid_body_delivers_a_short_body_then_closes(upstream):
    with fault_proxy(upstream, Fault("drop", match="runs/search", nth=2, at=0.5)) as proxy:
        assert requests.post(f"{proxy.url}/api/2.0/mlflow/runs/search", json={}, timeout=5).content == BODY
        conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=5)
        conn.request("POST", "/api/2.0/mlflow/runs/search", body=b"{}", headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and int(resp.getheader("Content-Length")) == len(BODY)
        with pytest.raises(http.client.IncompleteRead) as short:
            resp.read()
        assert len(short.value.partial) == len(BODY) // 2
        assert [e.fault is not None for e in proxy.log] == [False, True]


def test_stall_lasts_until_the_client_gives_up(upstream):
    with fault_proxy(upstream, Fault("stall", match="", nth=1, at=None, stall_seconds=30)) as proxy:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{proxy.url}/x", timeout=0.5)
        assert len(proxy.injected) == 1
        assert requests.get(f"{proxy.url}/x", timeout=5).content == BODY  # only the first


def test_reset_is_a_tcp_reset(upstream):
    with fault_proxy(upstream, Fault("reset", match="", nth=1, at=None)) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=5)
        conn.request("GET", "/x")
        with pytest.raises(ConnectionResetError):
            conn.getresponse()


def test_probability_faults_a_seeded_fraction(upstream):
    fault = Fault("drop", match="", nth=None, probability=0.5, at=0.1)
    with fault_proxy(upstream, fault, seed=3) as proxy:
        outcomes = []
        for _ in range(40):
            try:
                outcomes.append(requests.get(f"{proxy.url}/x", timeout=5).content == BODY)
            except requests.exceptions.RequestException:
                outcomes.append(False)
        assert 8 <= outcomes.count(False) <= 32
        assert len(proxy.injected) == outcomes.count(False)
