"""Property-based tests of every MLflow and W&B parser: real-shaped payloads with keys dropped,
values nulled, retyped, huge, NaN, full of NUL and control characters or replaced by nested
garbage. Whatever the payload, a parser returns a record (or None) or raises the project's own
error; never anything else."""

from __future__ import annotations

import copy
import json
import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.connectors.base import HarvestWindow
from harvester.connectors.mlflow.parse import (kv, parse_registry_event, parse_run, read_model_version,
                                               read_registered_model, registry_events)
from harvester.connectors.mlflow.settings import MlflowSettings
from harvester.connectors.mlflow.rest import PageToken, parse_runs_stream, trim_run_json
from harvester.connectors.wandb import parse as wandb_parse
from harvester.connectors.wandb.client import MEMBERSHIPS, PROJECTS, RUNS, WandbGraphql
from harvester.errors import HarvesterError, MalformedItemError
from harvester.models import Record
from tests.support.wandb_fake import make_membership, make_run

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
WINDOW = HarvestWindow(since=NOW - timedelta(days=90), forced=False, started_at=NOW)
HANDLES = frozenset({"ada"})

# A runs/search answer of a real `mlflow server` (3.17), recorded from tests/support/mlflow_server.py.
MLFLOW_PAGE = {"runs": [{"info": {
    "run_uuid": "b7c6d36342fb43ae92718f5ef57b1aaa", "experiment_id": "1", "run_name": "gbm-depth-8", "user_id": "ada",
    "status": "FINISHED", "start_time": 1788256800000, "end_time": 1788258600000,
    "artifact_uri": "/tmp/mlrec/artifacts/1/b7c6d36342fb43ae92718f5ef57b1aaa/artifacts", "lifecycle_stage": "active",
    "run_id": "b7c6d36342fb43ae92718f5ef57b1aaa"},
    "data": {"metrics": [{"key": "val_auc", "value": 0.871, "timestamp": 1788256800000, "step": 0},
                         {"key": "val_loss", "value": 0.2984, "timestamp": 1788256800000, "step": 0}],
             "params": [{"key": "max_depth", "value": "8"}, {"key": "learning_rate", "value": "0.05"}],
             "tags": [{"key": "mlflow.user", "value": "ada"}, {"key": "team", "value": "risk"},
                      {"key": "mlflow.note.content", "value": "Depth 8."},
                      {"key": "mlflow.runName", "value": "gbm-depth-8"}]},
    "inputs": {}, "outputs": {}}],
    "next_page_token": "eyJvZmZzZXQiOiAxfQ=="}
MLFLOW_RUN = MLFLOW_PAGE["runs"][0]
MLFLOW_MODEL = {"name": "fraud", "last_updated_timestamp": 1788256900000, "aliases": {"champion": "2"}}
MLFLOW_VERSION = {"name": "fraud", "version": "2", "creation_timestamp": 1788256900000,
                  "last_updated_timestamp": 1788256900000, "current_stage": "Production",
                  "run_id": "b7c6d36342fb43ae92718f5ef57b1aaa", "source": "runs:/b7c6/model", "status": "READY",
                  "user_id": None}
WANDB_RUN = make_run("3xk9q2ab", "ada", NOW - timedelta(hours=3), heartbeat=NOW - timedelta(hours=1),
                     summary={"val_auc": 0.87, "val": {"loss": 0.31}, "roc": {"_type": "table-file"}},
                     config={"lr": 0.01, "layers": [64, 32]}, tags=["baseline"], group="sweep", notes="Focal loss.")
WANDB_MEMBERSHIP = make_membership("fraud-detector", 3, created=NOW - timedelta(days=2), aliases=("production",),
                                   run=("ml-team", "fraud", "best", "ada"), run_summary={"val_auc": 0.87})
WANDB_UPLOAD = make_membership("fraud-detector", 4, created=NOW - timedelta(days=1), aliases=("champion",),
                               uploader="ada")
WANDB_PROJECT = {"id": "UHJvamVjdDox", "name": "fraud", "entityName": "ml-team", "createdAt": "2026-01-05T09:00:00"}

# values ----------------------------------------------------------------------------------------------------

NASTY_TEXT = st.sampled_from(["", " ", "\x00", "a\x00b", "\x1b[31m", "\r\n", "\ud7ff", "NaN", "-1", "0", "1e400",
                              "9" * 40, "２０２６", "²", "2026-13-45T99:99:99", "0001-01-01T00:00:00+05:00",
                              "9999-12-31T23:59:59-05:00", "null", "{", "[]", "{\"_type\": 1}"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([10 ** 400, -10 ** 400, 2 ** 63, -1, 0]),
    st.floats(allow_nan=True, allow_infinity=True), NASTY_TEXT, st.text(max_size=20),
)
GARBAGE = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=12)


def paths(value, prefix=()):
    """Every path to a value inside a JSON-like structure, the root included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


@st.composite
def mutated(draw, original):
    """The payload with one to five mutations: a key dropped, a value replaced by garbage, or
    a container emptied."""
    value = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 5))):
        where = draw(st.sampled_from(list(paths(value))))
        replacement = draw(GARBAGE)
        if not where:
            value = replacement
            continue
        parent = value
        for step in where[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["drop", "replace", "replace", "empty"]))
        if op == "drop":
            del parent[where[-1]]
        elif op == "empty" and isinstance(parent[where[-1]], (dict, list)):
            parent[where[-1]] = type(parent[where[-1]])()
        else:
            parent[where[-1]] = replacement
    return value


def only_our_errors(call):
    """The call's result, or None when it raised a HarvesterError; anything else fails the test."""
    try:
        return call()
    except HarvesterError:
        return None


def check_record(record):
    assert isinstance(record, Record)
    assert isinstance(record.external_id, str) and record.external_id
    assert record.occurred_at.tzinfo is not None
    assert all(isinstance(v, float) and math.isfinite(v) for v in record.attributes.get("metrics", {}).values())


# MLflow ----------------------------------------------------------------------------------------------------


@FUZZ
@given(mutated(MLFLOW_RUN))
def test_mlflow_run_parser_raises_only_malformed_item(run):
    for payload in (run, trim_run_json(run)):
        try:
            record = parse_run(payload, "m", {"1": "fraud-detector"}, "http://mlflow", HANDLES)
        except MalformedItemError as exc:
            assert exc.what == "runs"
            continue
        check_record(record)


@FUZZ
@given(GARBAGE)
def test_kv_reads_any_value(items):
    assert isinstance(kv(items), dict)


@FUZZ
@given(mutated(MLFLOW_PAGE), st.integers(1, 64))
def test_mlflow_page_stream_raises_only_connector_errors(page, size):
    body = json.dumps(page).encode()
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    runs = only_our_errors(lambda: list(parse_runs_stream(chunks, PageToken(), "m")))
    for run in runs or ():
        only_our_errors(lambda: parse_run(trim_run_json(run), "m", {}, "", HANDLES))


@FUZZ
@given(st.binary(max_size=64), st.integers(0, 400))
def test_mlflow_page_stream_survives_broken_bytes(noise, cut):
    body = json.dumps(MLFLOW_PAGE).encode()
    only_our_errors(lambda: list(parse_runs_stream([body[:cut] + noise], PageToken(), "m")))


@FUZZ
@given(mutated({"models": [MLFLOW_MODEL], "versions": [MLFLOW_VERSION, {**MLFLOW_VERSION, "version": "3"}],
                "run": MLFLOW_RUN}))
def test_mlflow_registry_parsers_raise_only_malformed_item(payload):
    payload = payload if isinstance(payload, dict) else {}
    models, versions = payload.get("models"), payload.get("versions")
    read_models = [m for m in (only_our_errors(lambda m=m: read_registered_model(m))
                               for m in (models if isinstance(models, list) else [])) if m]
    read_versions = [v for v in (only_our_errors(lambda v=v: read_model_version(v))
                                 for v in (versions if isinstance(versions, list) else [])) if v]
    by_model = {}
    for v in read_versions:
        by_model.setdefault(v["name"], []).append(v)
    for first, previous in ((True, {}), (False, {"fraud": {"updated": 1, "aliases": {"champion": "1"}, "staged": []}})):
        for event in registry_events(read_models, by_model, previous, first, WINDOW, MlflowSettings("http://x")):
            check_record(parse_registry_event(event, payload.get("run"), "m", {}, "http://mlflow", HANDLES))


# W&B -------------------------------------------------------------------------------------------------------


@FUZZ
@given(mutated(WANDB_RUN), st.sampled_from(["project", "group"]))
def test_wandb_run_parser_raises_only_malformed_item(node, subject_by):
    try:
        record = wandb_parse.parse_run(node, "ml-team", "fraud", "wb", "https://wandb.ai", HANDLES, subject_by)
    except MalformedItemError as exc:
        assert exc.what == "runs"
        return
    check_record(record)


@FUZZ
@given(GARBAGE)
def test_wandb_value_readers_take_anything(value):
    assert isinstance(wandb_parse.load_json_field(value), dict)
    assert isinstance(wandb_parse.config_params(value), dict)
    assert isinstance(wandb_parse.summary_metrics(value), dict)
    assert isinstance(wandb_parse.aliases_of({"aliases": value}), list)
    moment = wandb_parse.parse_time(value)
    assert moment is None or moment.tzinfo is not None
    for text in (value, json.dumps(value, default=str)):
        wandb_parse.config_params(text)
        wandb_parse.summary_metrics(text)
    only_our_errors(lambda: wandb_parse.read_project(value, "ml-team"))


@FUZZ
@given(mutated({"changed": [WANDB_MEMBERSHIP, WANDB_UPLOAD], "serving": [WANDB_MEMBERSHIP, WANDB_UPLOAD]}))
def test_wandb_registry_parsers_raise_only_malformed_item(payload):
    payload = payload if isinstance(payload, dict) else {}

    def read(nodes):
        return [n for n in (only_our_errors(lambda n=n: wandb_parse.read_membership(n))
                            for n in (nodes if isinstance(nodes, list) else [])) if n is not None]

    changed, serving = read(payload.get("changed")), read(payload.get("serving"))
    for node in changed:
        wandb_parse.changed_at(node)
    previous = {"serving": {"model/fraud-detector": {"production": "2"}},
                "nodes": {"model/fraud-detector/2": make_membership("fraud-detector", 2, created=NOW)}}
    for first, prior in ((True, {}), (False, previous)):
        events, snapshot = wandb_parse.registry_events(changed, serving, prior, first, WINDOW.since, NOW,
                                                       ("champion", "production"))
        json.dumps(snapshot, default=str)
        for event in events:
            check_record(wandb_parse.parse_registry_event(event, "wb", "https://wandb.ai", HANDLES))


class Answer:
    def __init__(self, body, status=200):
        self.status_code, self.body = status, body
        self.text = body if isinstance(body, str) else json.dumps(body, default=str)

    def json(self):
        if isinstance(self.body, str):
            return json.loads(self.body)
        return self.body


def graphql_answers():
    runs = {"q0": {"name": "fraud", "entityName": "ml-team", "runs": {
        "edges": [{"node": WANDB_RUN, "cursor": "Y3Vyc29yOjA="}],
        "pageInfo": {"endCursor": "Y3Vyc29yOjA=", "hasNextPage": True}}}}
    projects = {"q0": {"edges": [{"node": WANDB_PROJECT}], "pageInfo": {"endCursor": None, "hasNextPage": False}}}
    memberships = {"q0": {"orgEntity": {"name": "acme-org", "artifactMemberships": {
        "pageInfo": {"endCursor": "Y3Vyc29yOjA=", "hasNextPage": False}, "edges": [{"node": WANDB_MEMBERSHIP}]}}}}
    return st.one_of(*(mutated({"data": data}).map(lambda body, q=query: (q, body))
                       for query, data in ((RUNS, runs), (PROJECTS, projects), (MEMBERSHIPS, memberships))),
                     mutated({"data": None, "errors": [{"message": "boom", "path": ["q0"]}]})
                     .map(lambda body: (RUNS, body)))


@FUZZ
@given(graphql_answers(), st.sampled_from([200, 400, 422]))
def test_wandb_page_reading_raises_only_connector_errors(answer, status):
    query, body = answer
    client = WandbGraphql("wb", "https://api.wandb.ai", "wandb-test-key-0123456789", "WANDB_API_KEY", timeout=1,
                          max_retries=0, retry_backoff=0)
    try:
        data = only_our_errors(lambda: client.read_data("Runs", Answer(body, status)))
        if data is not None:
            nodes = only_our_errors(lambda: client.read_connection("Runs", query.connection(data.get("q0"))))
            for node in (nodes or ([], None))[0]:
                only_our_errors(lambda: wandb_parse.parse_run(node, "e", "p", "wb", "", HANDLES))
                only_our_errors(lambda: wandb_parse.read_membership(node))
    finally:
        client.close()


@pytest.mark.parametrize("body", ["<html>502</html>", "", "[1, 2]", "\"data\"", "{\"errors\": \"nope\"}",
                                  "{\"data\": [1]}", "{\"errors\": [null]}"])
def test_wandb_answers_that_are_not_graphql_are_one_line(body):
    client = WandbGraphql("wb", "https://api.wandb.ai", "wandb-test-key-0123456789", "WANDB_API_KEY", timeout=1,
                          max_retries=0, retry_backoff=0)
    try:
        client.read_data("Runs", Answer(body))
    except HarvesterError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("wb: ")
    finally:
        client.close()
