"""`harvester nightly` and `harvester status`: lock, cron environment, log, digest weekday."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harvester.digest.model import LAST_SENT_KEY
from harvester.lock import LOCK_HELD_EXIT, app_lock_path
from harvester.nightly import default_log_path
from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import free_port
from tests.support.smtp import parts_of, smtp_server

MONDAY, TUESDAY, NEXT_MONDAY = "2026-11-23", "2026-11-24", "2026-11-30"
HARVESTER = str(Path(sys.executable).parent / "harvester")


@pytest.fixture(scope="module")
def sample_uri(tmp_path_factory):
    """The built-in sample: a local MLflow file store with a quarter of runs from two people."""
    from harvester.sample import seed_sample_store

    saved = {k: os.environ.get(k) for k in ("MLFLOW_ALLOW_FILE_STORE", "MLFLOW_TRACKING_URI")}
    try:
        return seed_sample_store(tmp_path_factory.mktemp("sample"))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True)
def detach_log_handlers():
    """In-process runs attach a file handler to the "harvester" logger; drop it after each test."""
    import logging

    logger = logging.getLogger("harvester")
    before = list(logger.handlers)
    yield
    for handler in [h for h in logger.handlers if h not in before]:
        logger.removeHandler(handler)
        handler.close()


def nightly_config(tmp_path: Path, sample_uri: str, extra: str = "", smtp_port: int | None = None) -> Path:
    text = f"""\
[identity]
name = "Ada Example"
email = "ada@example.com"
handles = ["ada"]

[store]
url = "sqlite:///{tmp_path / 'store.db'}"

[connectors.sample-mlflow]
type = "mlflow"
tracking_uri = "{sample_uri}"
ui_url = "http://127.0.0.1:5000"
"""
    if smtp_port is not None:
        text += f"""
[nightly]
digest_weekday = "monday"

[digest]
to = ["ada@example.com"]
from = "harvester@example.com"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
"""
    return write_config(tmp_path / "harvester.toml", text + extra)


def open_test_store(tmp_path: Path):
    from harvester.store import open_store

    return open_store(f"sqlite:///{tmp_path / 'store.db'}", "ada@example.com")


def cron_env(tmp_path: Path, home: Path, **extra: str) -> dict[str, str]:
    """What cron gives a job: HOME, a minimal PATH, nothing else (plus what the crontab sets)."""
    cron_home = tmp_path / "cron-home"
    cron_home.mkdir(exist_ok=True)
    return {"HOME": str(cron_home), "PATH": "/usr/bin:/bin", "HARVESTER_HOME": str(home), **extra}


def test_nightly_sends_the_digest_on_its_weekday_exactly_once_per_week(tmp_path, sample_uri):
    with smtp_server() as sink:
        cfg = nightly_config(tmp_path, sample_uri, smtp_port=sink.port)
        first = run_cli("--config", str(cfg), "nightly", "--today", MONDAY, "--json")
        second = run_cli("--config", str(cfg), "nightly", "--json", env={"HARVESTER_TODAY": MONDAY})
        tuesday = run_cli("--config", str(cfg), "nightly", "--today", TUESDAY, "--json")
        assert len(sink.received) == 1
        next_week = run_cli("--config", str(cfg), "nightly", "--today", NEXT_MONDAY, "--json")

    results = [json.loads(r.output) for r in (first, second, tuesday, next_week)]
    assert [r.exit_code for r in (first, second, tuesday, next_week)] == [0, 0, 0, 0]
    assert [r["digest"]["status"] for r in results] == ["sent", "already_sent", "not_today", "sent"]
    assert results[0]["harvest"]["sources"][0]["records"] > 0
    assert results[1]["harvest"]["drafts"]["new"] == 0  # the second run harvested incrementally
    assert len(sink.received) == 2
    message = sink.received[0].message
    assert message["Subject"].startswith("[harvester] 3 drafts to confirm")
    assert "harvester --config" in parts_of(message)["text/plain"]
    store = open_test_store(tmp_path)
    try:
        assert store.get_state(LAST_SENT_KEY)["week"] == "2026-W49"
    finally:
        store.close()


def test_a_failed_digest_is_retried_by_the_next_run_the_same_day(tmp_path, sample_uri):
    cfg = nightly_config(tmp_path, sample_uri, smtp_port=free_port())  # nothing listens there
    failed = run_cli("--config", str(cfg), "nightly", "--today", MONDAY)
    assert failed.exit_code == 1
    assert "digest not sent: " in failed.output and "cannot talk to the SMTP server" in failed.output

    with smtp_server() as sink:
        cfg = nightly_config(tmp_path, sample_uri, smtp_port=sink.port)
        retried = run_cli("--config", str(cfg), "nightly", "--today", MONDAY, "--json")
    assert retried.exit_code == 0
    assert json.loads(retried.output)["digest"]["status"] == "sent"
    assert len(sink.received) == 1


def test_a_running_nightly_makes_a_second_one_exit_at_once(tmp_path, isolated_home, sample_uri):
    cfg = nightly_config(tmp_path, sample_uri)
    lock_path = app_lock_path(f"sqlite:///{tmp_path / 'store.db'}")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"4242\n")
        proc = subprocess.run([sys.executable, "-m", "harvester", "--config", str(cfg), "nightly"],
                              env=cron_env(tmp_path, isolated_home), capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    finally:
        os.close(fd)

    assert proc.returncode == LOCK_HELD_EXIT
    assert "Another harvest is running" in proc.stderr and "held by pid 4242" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "store.db").exists()  # it never opened the store, let alone harvested
    assert "Another harvest is running" in default_log_path(f"sqlite:///{tmp_path / 'store.db'}").read_text()


class GateHandler(BaseHTTPRequestHandler):
    """An MLflow server that answers every call with an empty result, but only once the test
    opens the gate: the harvest holding the lock stays in flight as long as the test needs."""

    arrived: threading.Event
    release: threading.Event

    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.arrived.set()
        self.release.wait(timeout=120)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def test_two_concurrent_nightly_processes_only_one_harvests(tmp_path, isolated_home):
    arrived, release = threading.Event(), threading.Event()
    handler = type("Gate", (GateHandler,), {"arrived": arrived, "release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = nightly_config(tmp_path, f"http://127.0.0.1:{server.server_address[1]}", "")
    cmd = [sys.executable, "-m", "harvester", "--config", str(cfg), "nightly", "--json"]
    env = cron_env(tmp_path, isolated_home)
    try:
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL)
        assert arrived.wait(timeout=120), "the first nightly never reached the MLflow server"
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        release.set()
        out, err = first.communicate(timeout=120)
    finally:
        release.set()
        server.shutdown()
        server.server_close()

    assert second.returncode == LOCK_HELD_EXIT
    assert "Another harvest is running" in second.stderr
    assert first.returncode == 0, err
    assert json.loads(out)["harvest"]["sources"][0]["source"] == "sample-mlflow"
    store = open_test_store(tmp_path)
    try:
        runs = store.last_harvest_runs()
        assert [(r["source"], r["status"]) for r in runs] == [("sample-mlflow", "ok")]
        import sqlalchemy as sa

        from harvester.store import schema
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.harvest_runs)).scalar() == 1
    finally:
        store.close()


def test_nightly_under_cron_environment_harvests_logs_and_stays_silent(tmp_path, isolated_home, sample_uri):
    secret = "s3cret-token-value-0042"
    extra = 'token_env = "MLFLOW_TEST_TOKEN"\n'
    cfg = nightly_config(tmp_path, sample_uri, extra)
    proc = subprocess.run([HARVESTER, "--config", str(cfg), "nightly"],
                          env=cron_env(tmp_path, isolated_home, MLFLOW_TEST_TOKEN=secret),
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)

    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")  # cron mails any output: a good night says nothing
    log = default_log_path(f"sqlite:///{tmp_path / 'store.db'}").read_text(encoding="utf-8")
    assert re.search(r"INFO source sample-mlflow: [1-9]\d* records", log)
    assert "nightly finished: ok" in log and "digest: no [digest] table in the config" in log
    assert secret not in log and secret not in proc.stderr
    store = open_test_store(tmp_path)
    try:
        assert store.count_records(source="sample-mlflow") > 0
        assert len(store.list_drafts(["pending"])) == 3
    finally:
        store.close()


def test_a_failing_connector_is_recorded_shown_by_status_and_does_not_stop_others(tmp_path, sample_uri):
    closed = free_port()
    extra = f"""
[connectors.broken-mlflow]
type = "mlflow"
tracking_uri = "http://127.0.0.1:{closed}"
max_retries = 0
timeout = 5

[connectors.no-token]
type = "mlflow"
tracking_uri = "{sample_uri}"
token_env = "HARVESTER_TEST_UNSET_TOKEN"
"""
    cfg = nightly_config(tmp_path, sample_uri, extra)
    result = run_cli("--config", str(cfg), "nightly")

    assert result.exit_code == 1
    assert "harvester nightly: broken-mlflow failed:" in result.output
    assert "harvester nightly: no-token not harvested:" in result.output
    assert "HARVESTER_TEST_UNSET_TOKEN" in result.output

    status = json.loads(run_cli("--config", str(cfg), "status", "--json").output)
    by_source = {s["source"]: s for s in status["sources"]}
    assert by_source["sample-mlflow"]["status"] == "ok" and by_source["sample-mlflow"]["records"] > 0
    assert by_source["broken-mlflow"]["status"] == "failed"
    assert str(closed) in by_source["broken-mlflow"]["error"]
    assert by_source["no-token"]["status"] == "failed"
    assert "environment variable HARVESTER_TEST_UNSET_TOKEN is not set" in by_source["no-token"]["error"]
    assert status["pending_drafts"] == 3
    assert status["last_digest"] is None

    text = run_cli("--config", str(cfg), "status").output
    assert re.search(r"broken-mlflow\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+failed", text)
    assert re.search(r"sample-mlflow\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+ok", text)
    assert "! broken-mlflow: cannot reach MLflow" in text  # named once, not "broken-mlflow: broken-mlflow:"
    assert "Pending drafts: 3" in text and "Last digest: never sent" in text


def test_status_shows_the_last_digest_sent(tmp_path, sample_uri):
    with smtp_server() as sink:
        cfg = nightly_config(tmp_path, sample_uri, smtp_port=sink.port)
        assert run_cli("--config", str(cfg), "nightly", "--today", MONDAY).exit_code == 0
    text = run_cli("--config", str(cfg), "status").output
    assert "Last digest: week 2026-W48, sent " in text and "to ada@example.com (3 drafts, 0 check-ins)" in text
    assert "Digest day: monday" in text


@pytest.mark.parametrize("extra, message", [
    ('[nightly]\ndigest_weekday = "funday"\n', "[nightly]: digest_weekday must be a day name"),
    ('[nightly]\nsources = ["nope"]\n', "[nightly]: sources names 'nope', which is not configured"),
])
def test_bad_nightly_config_is_a_usage_error(tmp_path, sample_uri, extra, message):
    cfg = nightly_config(tmp_path, sample_uri, extra)
    result = run_cli("--config", str(cfg), "nightly")
    assert result.exit_code == 2
    assert message in result.output
