"""The runs/search stream parser: whole runs out of arbitrary byte chunks, the page token
wherever the server puts it, and payloads trimmed to what the rules read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.connectors.mlflow.rest import PageToken, parse_runs_stream, trim_run_json
from harvester.errors import ConnectorError

PAGE = json.loads((Path(__file__).parent.parent / "fixtures" / "mlflow" / "runs_search_page.json").read_text())


def chunked(data: bytes, size: int):
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 20])
def test_runs_come_out_whole_whatever_the_chunk_size(size):
    token = PageToken()
    runs = list(parse_runs_stream(chunked(json.dumps(PAGE, indent=2).encode(), size), token))
    assert runs == PAGE["runs"]
    assert token.value == PAGE["next_page_token"]


def test_token_before_the_runs_and_unicode_values():
    page = {"next_page_token": "abc", "runs": [{"info": {"run_id": "r1", "run_name": "détection — 詐欺"}}]}
    token = PageToken()
    runs = list(parse_runs_stream(chunked(json.dumps(page, ensure_ascii=False).encode(), 3), token))
    assert runs[0]["info"]["run_name"] == "détection — 詐欺" and token.value == "abc"


@pytest.mark.parametrize("body", [b"{}", b'{"runs": []}', b'{"runs": [], "next_page_token": ""}'])
def test_last_or_empty_page_has_no_token(body):
    token = PageToken(value="stale")
    assert list(parse_runs_stream([body], token)) == []
    assert token.value is None


def test_truncated_response_is_an_error_not_a_short_page():
    body = json.dumps(PAGE).encode()[:-40]
    with pytest.raises(ConnectorError) as info:
        list(parse_runs_stream(chunked(body, 512), PageToken(), "prod"))
    assert str(info.value).startswith("prod: MLflow answered runs/search with JSON it cannot read")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("body, problem", [
    (b'[{"info": {}}]', "the page is not a JSON object"),
    (b'"runs"', "the page is not a JSON object"),
    (b'{"runs": {"item": {"info": {"run_id": "r1"}}}}', "its runs is not a list"),
    (b'{"next_page_token": "t", "runs": "r1, r2"}', "its runs is not a list"),
    (b'{"runs": [], "next_page_token": 7}', "next_page_token that is not a string"),
    (b'{"runs": [{"info": \xff}]}', "JSON it cannot read"),
])
def test_a_page_of_the_wrong_shape_is_one_clear_line(body, problem):
    with pytest.raises(ConnectorError) as info:
        list(parse_runs_stream(chunked(body, 5), PageToken(), "prod"))
    assert problem in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("body", [b"", b"   ", b'{"runs": []} {}', b'{"runs": [{"info": {}}] "x": 1}',
                                  b'{"runs": [{"info": {}},]}', b'{runs: []}'])
def test_broken_json_around_the_runs_is_an_error(body):
    with pytest.raises(ConnectorError) as info:
        list(parse_runs_stream(chunked(body, 3) if body else [body], PageToken(), "prod"))
    assert "JSON it cannot read" in str(info.value) and "\n" not in str(info.value)


def test_runs_null_is_an_empty_page_and_other_members_are_read_whole():
    token = PageToken()
    body = json.dumps({"runs": None, "extra": {"deep": [1, 2, {"x": "y"}]}, "next_page_token": "t2"}).encode()
    assert list(parse_runs_stream(chunked(body, 4), token)) == [] and token.value == "t2"


def test_a_long_page_is_held_a_chunk_at_a_time():
    from harvester.connectors.mlflow import json_stream

    run = {"info": {"run_id": "r" * 32, "start_time": 1790000000000}, "data": {"metrics": [{"key": "auc", "value": 0.5}]}}
    body = json.dumps({"runs": [run] * 40000, "next_page_token": "t"}, indent=2).encode()
    stream = json_stream.ObjectStream(chunked(body, 256 * 1024))
    longest, count = 0, 0
    for _ in stream.members("runs", {}):
        longest, count = max(longest, len(stream.buf)), count + 1
    assert count == 40000 and len(body) > 6 * json_stream.KEEP_BEFORE_TRIM
    assert longest < json_stream.KEEP_BEFORE_TRIM + 2 * 256 * 1024


def test_elements_that_are_not_runs_are_passed_on_for_the_parser_to_skip():
    body = b'{"runs": [null, 3, {"info": {"run_id": "r1"}}, [1]], "next_page_token": null}'
    token = PageToken()
    assert [trim_run_json(r) for r in parse_runs_stream([body], token)] == [
        None, 3, {"info": {"run_id": "r1"}, "data": {"metrics": [], "params": [], "tags": []}}, [1]]
    assert token.value is None


def test_trim_keeps_what_rules_read_and_drops_the_rest():
    run = trim_run_json(PAGE["runs"][0])
    assert set(run) == {"info", "data"}
    assert "artifact_uri" not in run["info"] and run["info"]["start_time"] == 1790000000000
    assert run["data"]["metrics"][0] == {"key": "val_auc", "value": 0.871}
    assert {t["key"] for t in run["data"]["tags"]} == {"mlflow.user", "mlflow.runName", "team"}


def test_trim_reads_int64_written_as_text_and_old_run_uuid():
    run = trim_run_json({"info": {"run_uuid": "r9", "start_time": "1790000000000", "end_time": None}})
    assert run["info"]["run_id"] == "r9" and run["info"]["start_time"] == 1790000000000


# one malformed run in a page, through a real HTTP server and the CLI ----------------------------------------


class RecordedMlflow:
    """A loopback HTTP server answering the MLflow REST calls of a harvest from recorded
    bodies: `answers` maps an endpoint path to the JSON body it returns, or to a function of
    the request's JSON body giving it."""

    def __init__(self, answers: dict):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.answers, self.paths = answers, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0]
                outer.paths.append(path)
                answer = outer.answers.get(path, {})
                body = json.dumps(answer(request) if callable(answer) else answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def page_with_a_bad_run(mlflow_env):
    good = PAGE["runs"][0]
    bad = json.loads(json.dumps(good))
    bad["info"].update(run_id="badbadbadbad", run_uuid="badbadbadbad", start_time="last tuesday")
    other = json.loads(json.dumps(good))
    other["info"].update(run_id="c0ffee", run_uuid="c0ffee", start_time=1790004000000, end_time=None,
                         status="FAILED")
    server = RecordedMlflow({
        "/api/2.0/mlflow/experiments/search": {"experiments": [{"experiment_id": "12", "name": "fraud-detector",
                                                                "lifecycle_stage": "active"}]},
        # the page of the handle "ada"; the identity's other handle (its email) has no runs
        "/api/2.0/mlflow/runs/search": lambda request: {"runs": [good, bad, other]}
        if "`mlflow.user` = 'ada'" in request["filter"] else {},
        "/api/2.0/mlflow/registered-models/search": {},
    })
    yield server
    server.stop()


def test_one_malformed_run_is_skipped_and_counted_and_the_source_succeeds(page_with_a_bad_run, tmp_path,
                                                                           isolated_home):
    from harvester.store import open_store
    from tests.support.cli import run_cli, write_config

    database = f"sqlite:///{tmp_path / 'store.db'}"
    config = write_config(tmp_path / "h.toml", f"""
[identity]
email = "ada@example.com"
handles = ["ada"]
[store]
url = "{database}"
[connectors.mlflow-rec]
type = "mlflow"
tracking_uri = "{page_with_a_bad_run.url}"
max_retries = 0
""")
    result = run_cli("--config", str(config), "harvest", "--since", "90d", "--json")
    assert result.exit_code == 0, result.output
    (source,) = json.loads(result.stdout)["sources"]
    assert source["error"] is None and source["skipped_malformed"] == {"runs": 1}
    assert source["streams"]["runs"] == 2
    store = open_store(database, "ada@example.com")
    assert sorted(r.external_id for r in store.load_records("run")) == ["5f1c0a9e2b3d4c5e8f9a0b1c2d3e4f50", "c0ffee"]
    store.close()
    assert "/api/2.0/mlflow/runs/search" in page_with_a_bad_run.paths

    summary = run_cli("--config", str(config), "harvest")
    assert summary.exit_code == 0, summary.output
    assert "mlflow-rec: 1 run skipped as malformed, see the log" in summary.output
    from harvester.nightly import default_log_path

    log = default_log_path(database).read_text()
    assert "skipped malformed runs badbadbadbad: start_time 'last tuesday' is not a time" in log
