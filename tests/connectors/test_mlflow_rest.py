"""The runs/search stream parser: whole runs out of arbitrary byte chunks, the page token
wherever the server puts it, and payloads trimmed to what the rules read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.connectors.mlflow_rest import PageToken, parse_runs_stream, trim_run_json

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
    import ijson

    body = json.dumps(PAGE).encode()[:-40]
    with pytest.raises(ijson.IncompleteJSONError):
        list(parse_runs_stream(chunked(body, 512), PageToken()))


def test_trim_keeps_what_rules_read_and_drops_the_rest():
    run = trim_run_json(PAGE["runs"][0])
    assert set(run) == {"info", "data"}
    assert "artifact_uri" not in run["info"] and run["info"]["start_time"] == 1790000000000
    assert run["data"]["metrics"][0] == {"key": "val_auc", "value": 0.871}
    assert {t["key"] for t in run["data"]["tags"]} == {"mlflow.user", "mlflow.runName", "team"}


def test_trim_reads_int64_written_as_text_and_old_run_uuid():
    run = trim_run_json({"info": {"run_uuid": "r9", "start_time": "1790000000000", "end_time": None}})
    assert run["info"]["run_id"] == "r9" and run["info"]["start_time"] == 1790000000000
