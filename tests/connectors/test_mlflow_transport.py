"""The MLflow connector's own HTTP transport: what it sends over a real socket (credentials,
retries, errors), which servers it is used for, and that a harvest of a real tracking server
through it imports no mlflow."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harvester.connectors.mlflow.errors import translate_error
from harvester.connectors.mlflow.settings import MlflowSettings
from harvester.connectors.mlflow.transport import ServerHttp, ServerHttpError, serves_plain_http
from harvester.errors import AuthError, ConnectorError, TransientError
from tests.support.cli import write_config
from tests.support.mlflow_server import MlflowSeeder

EXPERIMENTS = json.dumps({"experiments": [{"experiment_id": "1", "name": "fraud"}]}).encode()


@pytest.fixture
def server():
    """Answers each request with the next of `answers` (status, body), then 200 with EXPERIMENTS;
    records the path and headers of every request."""
    answers: list = []
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body_in = self.rfile.read(length) if length else b""
            seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                         "body": json.loads(body_in) if body_in else None})
            status, body = answers.pop(0) if answers else (200, EXPERIMENTS)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", answers, seen
    httpd.shutdown()
    httpd.server_close()


def test_a_bearer_token_and_the_query_are_sent_as_mlflow_sends_them(server):
    url, _, seen = server
    http = ServerHttp(url + "/", {"MLFLOW_TRACKING_TOKEN": "tok-123"}, max_retries=0, timeout=5)
    page = http.call("POST", "/api/2.0/mlflow/experiments/search", body={"max_results": 1000})
    assert page == json.loads(EXPERIMENTS)
    assert seen[0]["path"] == "/api/2.0/mlflow/experiments/search"
    assert seen[0]["headers"]["Authorization"] == "Bearer tok-123"
    assert seen[0]["body"] == {"max_results": 1000}
    http.call("GET", "/api/2.0/mlflow/registered-models/search", params={"max_results": 1000, "page_token": "a b"})
    assert seen[1]["method"] == "GET" and seen[1]["path"].endswith("search?max_results=1000&page_token=a+b")


def test_basic_auth_wins_over_a_token_as_in_mlflow(server):
    url, _, seen = server
    http = ServerHttp(url, {"MLFLOW_TRACKING_USERNAME": "ada", "MLFLOW_TRACKING_PASSWORD": "pw",
                            "MLFLOW_TRACKING_TOKEN": "tok"}, max_retries=0, timeout=5)
    http.call("POST", "/api/2.0/mlflow/experiments/search", body={})
    assert seen[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"ada:pw").decode()


def test_a_server_error_is_retried_and_then_answered(server):
    url, answers, seen = server
    answers.extend([(503, b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}')] * 2)
    http = ServerHttp(url, {}, max_retries=2, timeout=5)
    http.session.adapters["http://"].max_retries.backoff_factor = 0  # no waiting in a test
    assert http.call("POST", "/api/2.0/mlflow/experiments/search", body={}) == json.loads(EXPERIMENTS)
    assert len(seen) == 3


def test_retries_used_up_is_a_transient_error_naming_the_status(server):
    url, answers, _ = server
    answers.extend([(503, b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}')] * 3)
    http = ServerHttp(url, {}, max_retries=0, timeout=5)
    with pytest.raises(ServerHttpError) as caught:
        http.call("POST", "/api/2.0/mlflow/experiments/search", body={})
    error = translate_error("mlflow-prod", MlflowSettings(tracking_uri=url), caught.value)
    assert isinstance(error, TransientError)
    assert "kept answering HTTP 503" in str(error)


@pytest.mark.parametrize("status, body, kind, words", [
    (401, b"You are not authenticated.", AuthError, "refused the credentials (HTTP 401)"),
    (403, b'{"error_code": "PERMISSION_DENIED", "message": "no"}', AuthError, "set token_env"),
    (404, b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "No experiment 9"}', ConnectorError,
     "RESOURCE_DOES_NOT_EXIST: No experiment 9"),
])
def test_error_answers_become_one_line(server, status, body, kind, words):
    url, answers, _ = server
    answers.append((status, body))
    http = ServerHttp(url, {}, max_retries=0, timeout=5)
    with pytest.raises(ServerHttpError) as caught:
        http.call("GET", "/api/2.0/mlflow/registered-models/search", params={})
    error = translate_error("mlflow-prod", MlflowSettings(tracking_uri=url), caught.value)
    assert type(error) is kind and words in str(error)
    assert "\n" not in str(error)


def test_an_unreachable_server_says_so():
    http = ServerHttp("http://127.0.0.1:9", {}, max_retries=0, timeout=5)
    with pytest.raises(Exception) as caught:
        http.call("POST", "/api/2.0/mlflow/experiments/search", body={})
    error = translate_error("mlflow-prod", MlflowSettings(tracking_uri="http://127.0.0.1:9"), caught.value)
    assert isinstance(error, TransientError) and "cannot reach MLflow at http://127.0.0.1:9" in str(error)


@pytest.mark.parametrize("tracking, registry, env, plain", [
    ("http://mlflow:5000", "", {}, True),
    ("https://mlflow.example.com/", "https://mlflow.example.com/", {}, True),
    ("https://mlflow.example.com", "https://registry.example.com", {}, False),
    ("https://mlflow.example.com", "", {"MLFLOW_TRACKING_AUTH": "my_plugin"}, False),
    ("https://mlflow.example.com", "", {"MLFLOW_TRACKING_AWS_SIGV4": "true"}, False),
    ("databricks", "", {}, False),
    ("file:///tmp/mlruns", "", {}, False),
    ("sqlite:///mlflow.db", "", {}, False),
])
def test_the_own_transport_serves_plain_http_servers_only(tracking, registry, env, plain):
    assert serves_plain_http(tracking, registry, env) is plain


HARVEST_AND_LIST_IMPORTS = """
import json, sys
from harvester.cli import cli
try:
    cli(["--config", sys.argv[1], "harvest", "--json", *sys.argv[2:]], prog_name="harvester")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "mlflow": sorted(m for m in sys.modules if m.split(".")[0] == "mlflow"),
                  "pandas": "pandas" in sys.modules}))
"""


@pytest.mark.mlflow_server
def test_a_harvest_of_an_http_server_imports_no_mlflow_and_a_quiet_nightly_no_pandas(mlflow_server, tmp_path):
    uid = uuid.uuid4().hex[:8]
    seeder = MlflowSeeder(mlflow_server.client())
    experiment = seeder.experiment(f"fraud-{uid}")
    start = datetime.now(timezone.utc) - timedelta(days=20)
    best = None
    for i in range(4):
        best = seeder.run(experiment, f"ada-{uid}", start + timedelta(days=i), {"val_auc": 0.80 + 0.03 * i})
    seeder.model(f"fraud-model-{uid}")
    seeder.alias(f"fraud-model-{uid}", "champion", seeder.version(f"fraud-model-{uid}", best))
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
handles = ["ada-{uid}"]

[store]
url = "sqlite:///{tmp_path / 'store.db'}"

[connectors.mlflow-test]
type = "mlflow"
tracking_uri = "{mlflow_server.url}"
experiments = ["*-{uid}"]
max_retries = 0
""")
    def harvest(*args: str) -> tuple[dict, dict]:
        done = subprocess.run([sys.executable, "-c", HARVEST_AND_LIST_IMPORTS, str(config), *args],
                              capture_output=True, text=True, timeout=120,
                              env={**child_env(), "HARVESTER_HOME": str(tmp_path / "home")})
        assert done.returncode == 0, done.stderr
        lines = done.stdout.strip().splitlines()
        return json.loads(lines[-1]), json.loads("\n".join(lines[:-1]))

    outcome, summary = harvest("--since", "90d")
    assert outcome == {"code": 0, "mlflow": [], "pandas": True}  # a backfill drafts
    (source,) = summary["sources"]
    # the server is shared: its registry holds other tests' models too
    assert (source["error"], source["streams"]["runs"]) == (None, 4) and source["streams"]["registry"] >= 2
    assert summary["drafts"]["new"] >= 1
    outcome, summary = harvest()  # the nightly: nothing new, so no drafting pass and nothing it imports
    assert outcome == {"code": 0, "mlflow": [], "pandas": False}
    assert summary["drafts"]["skipped"] is True and summary["sources"][0]["error"] is None


def child_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
