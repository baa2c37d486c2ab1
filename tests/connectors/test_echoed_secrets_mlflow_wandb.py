"""A server that echoes the Authorization header (and the token in it) back in its error body
must not get the secret into anything the harvester writes: the output of `harvest` and
`status`, the log file, or any row of the database."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses

from harvester.redact import forget_secrets
from tests.support.cli import run_cli, write_config

TOKEN = "mlflow-token-6f0c1d2e3b4a5968"
USERNAME, PASSWORD = "ada-service", "hunter2-but-longer-9431"
WANDB_KEY = "wandb-echo-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_remembered_secrets():
    yield
    forget_secrets()


class EchoingServer:
    """Loopback HTTP: experiments/search answers like MLflow; `failing` (an endpoint path)
    answers 400 with a body that repeats the request's Authorization header and credential."""

    def __init__(self, failing: str, as_json: bool, pad: int = 0):

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                header = self.headers.get("Authorization", "")
                if path == failing:
                    credential = header.split(" ", 1)[-1]
                    if header.startswith("Basic "):
                        credential = base64.b64decode(credential).decode()
                    echo = "x" * pad + f"refused Authorization: {header} (credential {credential}); request {header}"
                    body = json.dumps({"error_code": "BAD_REQUEST", "message": echo}) if as_json else echo
                    self.reply(400, body, "application/json" if as_json else "text/plain")
                elif path == "/api/2.0/mlflow/experiments/search":
                    self.reply(200, json.dumps({"experiments": [{"experiment_id": "1", "name": "fraud",
                                                                 "lifecycle_stage": "active"}]}))
                else:
                    self.reply(200, "{}")

            def reply(self, status, body, content_type="application/json"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def everything_written(config, database, home) -> str:
    """The output of `status` (text and JSON), the log, and every row of every table."""
    parts = []
    for args in (("status",), ("status", "--json")):
        result = run_cli("--config", str(config), *args)
        parts += [result.output, result.stderr]
    from harvester.nightly import default_log_path

    log = default_log_path(f"sqlite:///{database}")
    assert log.parent == home and log.exists(), log  # the harvest logged; its text is checked with the rest
    parts.append(log.read_text())
    with sqlite3.connect(database) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            parts += [repr(row) for row in db.execute(f'SELECT * FROM "{table}"')]
    return "\n".join(parts)


def assert_secret_nowhere(secrets, *texts):
    for text in texts:
        for secret in secrets:
            assert secret not in text


MLFLOW_AUTH = {
    "bearer": ("token_env = \"MLFLOW_ECHO_TOKEN\"", {"MLFLOW_ECHO_TOKEN": TOKEN}, [TOKEN]),
    "basic": ("username_env = \"MLFLOW_ECHO_USER\"\npassword_env = \"MLFLOW_ECHO_PASSWORD\"",
              {"MLFLOW_ECHO_USER": USERNAME, "MLFLOW_ECHO_PASSWORD": PASSWORD},
              [PASSWORD, base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()]),
}


@pytest.mark.parametrize("auth", sorted(MLFLOW_AUTH))
@pytest.mark.parametrize("failing", ["/api/2.0/mlflow/experiments/search", "/api/2.0/mlflow/runs/search"])
@pytest.mark.parametrize("as_json", [True, False], ids=["json-body", "text-body"])
@pytest.mark.parametrize("pad", [0, 250], ids=["echo-first", "echo-where-the-message-is-cut"])
def test_mlflow_error_echoing_the_credential_leaks_it_nowhere(auth, failing, as_json, pad, tmp_path, isolated_home,
                                                              monkeypatch, mlflow_env):
    table, env, secrets = MLFLOW_AUTH[auth]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = EchoingServer(failing, as_json, pad)
    database = tmp_path / "store.db"
    config = write_config(tmp_path / "h.toml", f"""
[identity]
email = "ada@example.com"
handles = ["ada"]
[store]
url = "sqlite:///{database}"
[connectors.mlflow-echo]
type = "mlflow"
tracking_uri = "{server.url}"
max_retries = 0
{table}
""")
    try:
        result = run_cli("--config", str(config), "harvest", "--since", "30d")
    finally:
        server.stop()
    assert result.exit_code == 1
    assert "mlflow-echo:" in result.output
    if not pad:
        assert "[redacted]" in result.output  # the echo was there, masked
    assert_secret_nowhere(secrets, result.output, result.stderr, everything_written(config, database, isolated_home))


def echo_wandb_auth(status: int, pad: int):
    def callback(request):
        header = request.headers.get("Authorization", "")
        key = base64.b64decode(header.split(" ", 1)[-1]).decode().partition(":")[2]
        message = "x" * pad + f"bad request: Authorization: {header} for key {key}"
        return status, {"Content-Type": "application/json"}, json.dumps({"errors": [{"message": message}]})

    return callback


@pytest.mark.parametrize("status", [400, 200], ids=["http-400", "graphql-error"])
@pytest.mark.parametrize("pad", [0, 150], ids=["echo-first", "echo-where-the-message-is-cut"])
def test_wandb_error_echoing_the_key_leaks_it_nowhere(status, pad, tmp_path, isolated_home, monkeypatch):
    monkeypatch.setenv("WANDB_ECHO_KEY", WANDB_KEY)
    database = tmp_path / "store.db"
    config = write_config(tmp_path / "h.toml", f"""
[identity]
email = "ada@example.com"
handles = ["ada"]
[store]
url = "sqlite:///{database}"
[connectors.wandb-echo]
type = "wandb"
token_env = "WANDB_ECHO_KEY"
entities = ["ml-team"]
projects = ["fraud"]
organization = "acme"
max_retries = 0
""")
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, "https://api.wandb.ai/graphql", callback=echo_wandb_auth(status, pad))
        result = run_cli("--config", str(config), "harvest", "--since", "30d")
    assert result.exit_code == 1
    assert "wandb-echo:" in result.output and "[redacted]" in result.output
    secrets = [WANDB_KEY, base64.b64encode(f"api:{WANDB_KEY}".encode()).decode()]
    assert_secret_nowhere(secrets, result.output, result.stderr, everything_written(config, database, isolated_home))
