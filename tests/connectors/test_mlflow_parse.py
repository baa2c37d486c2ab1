"""Pure parsing and registry diffing, fed with REST-shaped JSON; error shapes through `responses`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import responses

from harvester.config import IdentitySettings
from harvester.connectors.base import HarvestWindow
from harvester.connectors.mlflow.connector import MlflowConnector
from harvester.connectors.mlflow.parse import parse_run, registry_events
from harvester.connectors.mlflow.settings import MlflowSettings
from harvester.errors import AuthError, ConnectorError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mlflow"
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)


def load(name):
    return json.loads((FIXTURES / name).read_text())


def test_parse_run_normalises_a_finished_run():
    run = load("runs_search_page.json")["runs"][0]
    r = parse_run(run, "mlflow-prod", {"12": "fraud-detector"}, "https://mlflow.example.com", frozenset({"ada"}))
    assert r.key == ("mlflow-prod", "run", "5f1c0a9e2b3d4c5e8f9a0b1c2d3e4f50")
    assert r.subject == "fraud-detector" and r.mine and r.actor == "ada"
    assert r.attributes["status"] == "finished"
    assert r.attributes["metrics"] == {"val_auc": 0.871, "val_loss": 0.2984}
    assert r.attributes["params"] == {"max_depth": "8", "learning_rate": "0.05"}
    assert r.attributes["tags"] == {"team": "risk"}
    assert r.url == "https://mlflow.example.com/#/experiments/12/runs/5f1c0a9e2b3d4c5e8f9a0b1c2d3e4f50"
    assert r.occurred_at == datetime.fromtimestamp(1790002400, tz=timezone.utc)


def test_parse_run_running_and_not_mine():
    run = load("runs_search_page.json")["runs"][1]
    r = parse_run(run, "m", {}, "", frozenset({"ada"}))
    assert r.attributes["status"] == "running" and r.attributes["ended_at"] is None
    assert not r.mine and r.url is None and r.subject == "experiment 12"


def test_parse_run_reads_its_note_and_run_type_from_mlflow_tags():
    run = load("runs_search_page.json")["runs"][0]
    run["data"]["tags"] += [{"key": "mlflow.note.content", "value": "  Depth 8 with merchant features.\n\n"},
                            {"key": "mlflow.runType", "value": "genai_evaluate"}]
    r = parse_run(run, "m", {}, "", frozenset({"ada"}))
    assert r.attributes["description"] == "Depth 8 with merchant features."
    assert r.attributes["run_type"] == "genai_evaluate"
    assert r.attributes["tags"] == {"team": "risk"}  # mlflow.* tags stay out of the user's tags


def test_parse_run_without_note_or_run_type_has_empty_ones():
    run = load("runs_search_page.json")["runs"][1]
    r = parse_run(run, "m", {}, "", frozenset())
    assert r.attributes["description"] == "" and r.attributes["run_type"] == ""


def test_handles_match_case_insensitively():
    run = load("runs_search_page.json")["runs"][1]
    assert parse_run(run, "m", {}, "", frozenset({"root"})).mine


SETTINGS = MlflowSettings(tracking_uri="http://x")
WINDOW = HarvestWindow(since=NOW - timedelta(days=90), forced=False, started_at=NOW)


def version(v, created_days_ago, stage="None", run_id="r1"):
    created = int((NOW - timedelta(days=created_days_ago)).timestamp() * 1000)
    return {"name": "fraud", "version": str(v), "creation_timestamp": created, "last_updated_timestamp": created,
            "current_stage": stage, "run_id": run_id, "status": "READY", "user_id": None}


def test_first_harvest_counts_a_serving_version_created_in_the_window_as_promoted():
    models = [{"name": "fraud", "last_updated_timestamp": 1, "aliases": {"champion": "2", "shadow": "3"}}]
    versions = {"fraud": [version(1, 200), version(2, 10), version(3, 5)]}
    events = registry_events(models, versions, {}, True, WINDOW, SETTINGS)
    promos = [(e["version"], e["target"]) for e in events if e["type"] == "promotion"]
    assert promos == [("2", "champion")]
    kept = sorted(e["version"] for e in events if e["type"] == "version")
    assert kept == ["2", "3"]  # v1 is old and not serving


def test_alias_move_is_found_by_diffing_snapshots():
    previous = {"fraud": {"updated": 1, "aliases": {"champion": "2"}, "staged": []}}
    models = [{"name": "fraud", "last_updated_timestamp": 1, "aliases": {"champion": "3"}}]
    versions = {"fraud": [version(2, 100), version(3, 100)]}
    events = registry_events(models, versions, previous, False, WINDOW, SETTINGS)
    [promo] = [e for e in events if e["type"] == "promotion"]
    assert promo["version"] == "3" and promo["previous_version"] == "2"
    assert promo["occurred_ms"] == int(NOW.timestamp() * 1000)
    serving = {e["version"]: e["serving"] for e in events if e["type"] == "version"}
    assert serving == {"2": False, "3": True}  # v2 is re-emitted so its serving flag clears


def test_stage_transition_to_production_is_a_promotion_once():
    models = [{"name": "fraud", "last_updated_timestamp": 2, "aliases": {}}]
    versions = {"fraud": [version(4, 100, stage="Production")]}
    previous = {"fraud": {"updated": 1, "aliases": {}, "staged": []}}
    [promo] = [e for e in registry_events(models, versions, previous, False, WINDOW, SETTINGS) if e["type"] == "promotion"]
    assert promo["via"] == "stage" and promo["target"] == "Production"
    previous["fraud"]["staged"] = ["4"]
    assert [e for e in registry_events(models, versions, previous, False, WINDOW, SETTINGS) if e["type"] == "promotion"] == []


def connector(uri="http://mlflow.test", **kw):
    settings = MlflowSettings(tracking_uri=uri, max_retries=0, **kw)
    return MlflowConnector("prod", settings, IdentitySettings(handles=("ada",)))


@responses.activate
def test_rejected_token_is_an_auth_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("MY_MLFLOW_TOKEN", "secret-value")
    responses.post("http://mlflow.test/api/2.0/mlflow/experiments/search", status=401,
                   json={"error_code": "UNAUTHENTICATED", "message": "Invalid token"})
    c = connector(token_env="MY_MLFLOW_TOKEN")
    with pytest.raises(AuthError) as info:
        list(c.fetch("runs", None, WINDOW))
    assert "MY_MLFLOW_TOKEN" in str(info.value) and "secret-value" not in str(info.value)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer secret-value"


@responses.activate
def test_server_error_is_a_connector_error_with_one_line():
    responses.post("http://mlflow.test/api/2.0/mlflow/experiments/search", status=500,
                   json={"error_code": "INTERNAL_ERROR", "message": "database is locked\nstack..."})
    with pytest.raises(ConnectorError) as info:
        list(connector().fetch("runs", None, WINDOW))
    assert "\n" not in str(info.value) and "prod:" in str(info.value)


@responses.activate
def test_runs_query_shape_and_paging():
    responses.post("http://mlflow.test/api/2.0/mlflow/experiments/search",
                   json={"experiments": [{"experiment_id": "12", "name": "fraud-detector", "lifecycle_stage": "active"}]})
    page = load("runs_search_page.json")
    responses.post("http://mlflow.test/api/2.0/mlflow/runs/search", json=page)
    responses.post("http://mlflow.test/api/2.0/mlflow/runs/search", json={"runs": []})
    records = list(connector().fetch("runs", None, WINDOW))
    assert [r.external_id for r in records] == [r["info"]["run_id"] for r in page["runs"]]
    first = json.loads(responses.calls[1].request.body)
    assert first["experiment_ids"] == ["12"] and first["max_results"] == 50000
    assert first["order_by"] == ["attributes.start_time ASC", "attributes.run_id ASC"]
    assert f"attributes.start_time >= {int(WINDOW.since.timestamp() * 1000)}" in first["filter"]
    assert "tags.`mlflow.user` = 'ada'" in first["filter"]
    assert json.loads(responses.calls[2].request.body)["page_token"] == page["next_page_token"]


def experiments_ok():
    responses.post("http://mlflow.test/api/2.0/mlflow/experiments/search",
                   json={"experiments": [{"experiment_id": "12", "name": "fraud-detector", "lifecycle_stage": "active"}]})


@responses.activate
def test_streamed_runs_search_refusing_the_token_is_an_auth_error(monkeypatch):
    monkeypatch.setenv("MY_MLFLOW_TOKEN", "secret-value")
    experiments_ok()
    responses.post("http://mlflow.test/api/2.0/mlflow/runs/search", status=403,
                   json={"error_code": "PERMISSION_DENIED", "message": "no read on experiment 12"})
    with pytest.raises(AuthError) as info:
        list(connector(token_env="MY_MLFLOW_TOKEN").fetch("runs", None, WINDOW))
    assert "MY_MLFLOW_TOKEN" in str(info.value) and "secret-value" not in str(info.value)
    assert responses.calls[1].request.headers["Authorization"] == "Bearer secret-value"


@responses.activate
def test_streamed_runs_search_server_error_is_one_line():
    experiments_ok()
    responses.post("http://mlflow.test/api/2.0/mlflow/runs/search", status=500, body="<html>Internal Server Error\n"
                   "</html>", content_type="text/html")
    with pytest.raises(ConnectorError) as info:
        list(connector().fetch("runs", None, WINDOW))
    assert "\n" not in str(info.value) and "HTTP 500" in str(info.value)


@responses.activate
def test_response_cut_off_mid_page_fails_after_the_whole_runs_it_read():
    experiments_ok()
    body = json.dumps(load("runs_search_page.json"))
    cut = body.index('"0a0b0c0d0e0f00112233445566778899"') + 10  # inside the second run
    responses.post("http://mlflow.test/api/2.0/mlflow/runs/search", body=body[:cut], content_type="application/json")
    got = []
    with pytest.raises(ConnectorError):
        for record in connector().fetch("runs", None, WINDOW):
            got.append(record.external_id)
    assert got == ["5f1c0a9e2b3d4c5e8f9a0b1c2d3e4f50"]  # the complete run only; the page is not committed


def test_missing_token_variable_is_a_config_error(monkeypatch):
    from harvester.errors import ConfigError

    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    with pytest.raises(ConfigError) as info:
        connector(token_env="NOT_SET_TOKEN").check()
    assert "NOT_SET_TOKEN" in str(info.value)


def test_page_size_is_capped_at_the_servers_limit():
    from harvester.errors import ConfigError
    from harvester.settings import build_settings

    with pytest.raises(ConfigError, match="max_results"):
        build_settings(MlflowSettings, {"tracking_uri": "http://x", "max_results": 60000}, "f [connectors.m]")


# malformed runs and registry entries -------------------------------------------------------------------------


@pytest.mark.parametrize("change, reason", [
    (lambda run: run.pop("info"), "no run_id"),
    (lambda run: run["info"].update(run_id=None), "no run_id"),
    (lambda run: run["info"].update(run_id=["5f1c"]), "no run_id"),
    (lambda run: run["info"].pop("start_time"), "start_time None is not a time"),
    (lambda run: run["info"].update(start_time="yesterday"), "start_time 'yesterday' is not a time"),
    (lambda run: run["info"].update(start_time=float("nan")), "is not a time"),
    (lambda run: run["info"].update(start_time=10 ** 30), "is not a time"),
])
def test_a_run_without_id_or_start_time_is_malformed(change, reason):
    from harvester.errors import MalformedItemError

    run = load("runs_search_page.json")["runs"][0]
    change(run)
    with pytest.raises(MalformedItemError) as info:
        parse_run(run, "m", {}, "", frozenset({"ada"}))
    assert info.value.what == "runs" and reason in str(info.value)


def test_optional_run_fields_of_the_wrong_type_fall_back_to_empty():
    run = load("runs_search_page.json")["runs"][0]
    run["info"].update(end_time="soon", status=None, run_name=7, experiment_id=None)
    run["data"]["metrics"] += [{"key": "nan", "value": float("nan")}, {"key": "huge", "value": 10 ** 400},
                               {"key": "flag", "value": True}, {"value": 1.0}, "junk", None]
    run["data"]["params"] = {"not": "a list"}
    run["data"]["tags"].append({"key": "mlflow.note.content", "value": {"nested": "object"}})
    r = parse_run(run, "m", {}, "", frozenset({"ada"}))
    assert r.attributes["ended_at"] is None and r.attributes["status"] == ""
    assert r.title == "7" and r.subject == "experiment "
    assert r.attributes["metrics"] == {"val_auc": 0.871, "val_loss": 0.2984}
    assert r.attributes["params"] == {} and r.attributes["description"] == ""


def test_registry_entries_without_a_name_or_version_are_malformed():
    from harvester.connectors.mlflow.parse import read_model_version, read_registered_model
    from harvester.errors import MalformedItemError

    with pytest.raises(MalformedItemError, match="registered models"):
        read_registered_model({"name": None, "aliases": {}})
    with pytest.raises(MalformedItemError, match="model versions fraud: no version number"):
        read_model_version({"name": "fraud", "version": None})
    assert read_registered_model({"name": "fraud", "last_updated_timestamp": "x", "aliases": {"champion": 2}}) == {
        "name": "fraud", "last_updated_timestamp": None, "aliases": {"champion": "2"}}
    v = read_model_version({"name": "fraud", "version": 3, "creation_timestamp": "soon", "current_stage": ["x"]})
    assert v["version"] == "3" and v["creation_timestamp"] is None and v["current_stage"] is None


@pytest.mark.parametrize("message, expected", [
    ("API request to http://m/api/2.0/mlflow/experiments/search failed with exception ('Connection broken: "
     "IncompleteRead(512 bytes read, 4096 more expected)', IncompleteRead(512 bytes read, 4096 more expected))",
     "broke off its answer part-way"),
    ("('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))", "broke off its answer part-way"),
    ("HTTPConnectionPool(host='m', port=5000): Read timed out. (read timeout=2)", "did not answer within 2 s"),
    ("HTTPConnectionPool(host='m', port=5000): Max retries exceeded with url: /api (Caused by "
     "ConnectTimeoutError(<urllib3.connection.HTTPConnection>, 'Connection to m timed out. (connect timeout=2)'))",
     "cannot reach MLflow at http://m:5000"),
    ("HTTPConnectionPool(host='m', port=5000): Max retries exceeded with url: /api (Caused by "
     "NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))",
     "cannot reach MLflow at http://m:5000"),
])
def test_transport_faults_are_told_apart_and_retried_next_time(message, expected):
    from harvester.connectors.mlflow.errors import translate_error
    from harvester.errors import TransientError

    error = translate_error("mlflow-prod", MlflowSettings(tracking_uri="http://m:5000", timeout=2), Exception(message))
    assert isinstance(error, TransientError)
    assert expected in str(error) and "HTTP 500" not in str(error)
