"""The W&B client's retries over a real socket: urllib3's Retry on the session, its waits paced
through the client's `sleep` (recorded, never slept)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harvester.connectors.wandb.client import VIEWER_QUERY, WandbGraphql
from harvester.errors import TransientError

VIEWER = json.dumps({"data": {"viewer": {"id": "1", "username": "ada", "entity": "ml-team"}}}).encode()


@pytest.fixture
def server():
    """Answers each POST with the next of `answers` (status, headers) and then 200 with a viewer;
    an answer of "stall" waits longer than the client's timeout."""
    answers: list = []
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            answer = answers.pop(0) if answers else (200, {})
            if answer == "stall":
                time.sleep(0.6)
                answer = (200, {})
            status, headers = answer
            body = VIEWER if status == 200 else b'{"errors": [{"message": "busy"}]}'
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", answers, seen
    httpd.shutdown()
    httpd.server_close()


def make_client(url: str, waits: list, *, max_retries: int = 3, backoff: float = 0.5,
                timeout: float = 5) -> WandbGraphql:
    return WandbGraphql("wb", url, "key", "WANDB_API_KEY", timeout=timeout, max_retries=max_retries,
                        retry_backoff=backoff, sleep=waits.append)


def test_server_errors_back_off_and_retry_after_wins_capped(server):
    url, answers, seen = server
    answers += [(502, {}), (503, {}), (429, {"Retry-After": "600"})]
    waits: list = []
    data = make_client(url, waits).execute("Viewer", VIEWER_QUERY)
    assert data["viewer"]["username"] == "ada" and len(seen) == 4
    assert waits == [0.5, 1.0, 60.0]  # backoff doubling from retry_backoff; Retry-After capped at 60 s


def test_retries_used_up_word_the_last_status(server):
    url, answers, seen = server
    answers += [(500, {})] * 3
    waits: list = []
    with pytest.raises(TransientError) as failed:
        make_client(url, waits, max_retries=2).execute("Viewer", VIEWER_QUERY)
    assert "answered HTTP 500 to Viewer after 3 attempt(s)" in str(failed.value) and len(seen) == 3
    assert waits == [0.5, 1.0]


def test_no_backoff_retries_without_waiting(server):
    url, answers, seen = server
    answers += [(502, {"Retry-After": "5"})]
    waits: list = []
    make_client(url, waits, backoff=0).execute("Viewer", VIEWER_QUERY)
    assert len(seen) == 2 and waits == []


def test_a_read_timeout_is_named_as_such_once_retries_give_up(server):
    url, answers, seen = server
    answers += ["stall", "stall"]
    waits: list = []
    with pytest.raises(TransientError) as failed:
        make_client(url, waits, max_retries=1, timeout=0.2).execute("Viewer", VIEWER_QUERY)
    assert f"cannot reach W&B at {url} (ReadTimeout)" in str(failed.value)
    assert waits == [0.5]
