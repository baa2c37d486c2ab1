"""Stream MLflow's runs/search response run by run.

`MlflowClient.search_runs` holds a whole page in memory several times over (the JSON text,
the parsed dicts, the protobuf, the entities): at 50,000 runs a page that is hundreds of MB.
Here the response is parsed as it arrives (ijson's C backend), so a harvest holds one run at a
time, whatever the page size. Credentials, retries and TLS settings stay mlflow's own: the
request goes through `mlflow.utils.rest_utils.http_request` with the tracking store's host creds.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

from harvester.errors import ConnectorError

SEARCH_RUNS_ENDPOINT = "/api/2.0/mlflow/runs/search"
CHUNK_BYTES = 256 * 1024
NOISY_TAG_PREFIXES = ("mlflow.log-model", "mlflow.source.git", "mlflow.databricks")
RUN_INFO_KEYS = ("run_id", "run_name", "experiment_id", "user_id", "status", "start_time", "end_time",
                 "lifecycle_stage")


@dataclass
class PageToken:
    """Filled in once a page has been read to the end."""

    value: str | None = None


def rest_host_creds(client) -> Any | None:
    """The tracking store's credentials when it speaks REST; None for a file or database store."""
    from mlflow.store.tracking.rest_store import RestStore

    # A private attribute: if a later mlflow moves it, runs are read through the client instead.
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return store.get_host_creds() if isinstance(store, RestStore) else None


def stream_runs_page(host_creds, experiment_ids: Sequence[str], filter_string: str, max_results: int,
                     order_by: Sequence[str], page_token: str | None, token: PageToken,
                     source: str = "mlflow") -> Iterator[Any]:
    """One runs/search page, run by run, each trimmed to what the harvester keeps."""
    from mlflow.utils.rest_utils import http_request, verify_rest_response

    body = {"experiment_ids": list(experiment_ids), "filter": filter_string, "run_view_type": "ACTIVE_ONLY",
            "max_results": max_results, "order_by": list(order_by)}
    if page_token:
        body["page_token"] = page_token
    response = http_request(host_creds, SEARCH_RUNS_ENDPOINT, "POST", json=body, stream=True)
    with closing(response):
        if response.status_code != 200:
            verify_rest_response(response, SEARCH_RUNS_ENDPOINT)  # raises mlflow's own exception
        for run in parse_runs_stream(response.iter_content(CHUNK_BYTES), token, source):
            yield trim_run_json(run)


class PageShape:
    """An ijson event target that checks what the item filters cannot see: that the page is a
    JSON object and that its `runs` is an array. It reads events only until it knows."""

    def __init__(self) -> None:
        self.problem: str | None = None
        self.settled = False

    def send(self, event: tuple[str, str, Any]) -> None:
        if self.settled:
            return
        prefix, kind, _ = event
        if prefix == "" and kind not in ("start_map", "map_key", "end_map"):
            self.problem, self.settled = "the page is not a JSON object", True
        elif prefix == "" and kind == "end_map":
            self.settled = True
        elif prefix == "runs":
            if kind not in ("start_array", "null"):
                self.problem = "its runs is not a list"
            self.settled = True


def parse_runs_stream(chunks: Iterable[bytes], token: PageToken, source: str = "mlflow") -> Iterator[Any]:
    """Each element of `runs` as it is parsed; `next_page_token` wherever it sits in the object.

    A page that is not JSON, not an object, or whose runs is not a list is a ConnectorError;
    an element that is not a run is passed on for the parser to skip."""
    import ijson

    runs, tokens, shape = ijson.sendable_list(), ijson.sendable_list(), PageShape()
    # Two prefix filters over the same bytes: both run in C, so Python sees only whole runs.
    run_parser = ijson.items_coro(runs, "runs.item", use_float=True)
    token_parser = ijson.items_coro(tokens, "next_page_token")
    shape_parser = ijson.parse_coro(shape)
    try:
        for chunk in chunks:
            if not shape.settled:
                shape_parser.send(chunk)
                if shape.problem:
                    raise ConnectorError(source, f"MLflow answered runs/search with a page it cannot read: "
                                                 f"{shape.problem}.")
            run_parser.send(chunk)
            token_parser.send(chunk)
            yield from runs
            del runs[:]
        run_parser.close()
        token_parser.close()
    except ijson.JSONError as exc:
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise ConnectorError(source, f"MLflow answered runs/search with JSON it cannot read ({reason}).") from None
    yield from runs
    value = tokens[0] if tokens else None
    if value is not None and not isinstance(value, str):
        raise ConnectorError(source, "MLflow answered runs/search with a next_page_token that is not a string.")
    token.value = value or None


def trim_run_json(run: Any) -> Any:
    """A runs/search element without what no rule reads (metric history fields, dataset inputs,
    bulky system tags), so stored payloads stay small. An element that is not an object is
    returned as it is, for the parser to reject."""
    if not isinstance(run, Mapping):
        return run
    info = run.get("info") if isinstance(run.get("info"), Mapping) else {}
    data = run.get("data") if isinstance(run.get("data"), Mapping) else {}
    kept = {k: info.get(k) for k in RUN_INFO_KEYS if k in info}
    kept.setdefault("run_id", info.get("run_uuid"))  # servers before MLflow 1.x's run_id
    for key in ("start_time", "end_time"):
        if is_digits(kept.get(key)):  # proto3's JSON mapping writes int64 as text
            kept[key] = int(kept[key])
    return {
        "info": kept,
        "data": {"metrics": [{"key": m.get("key"), "value": m.get("value")} for m in entries(data.get("metrics"))],
                 "params": [{"key": p.get("key"), "value": p.get("value")} for p in entries(data.get("params"))],
                 "tags": [{"key": t.get("key"), "value": t.get("value")} for t in entries(data.get("tags"))
                          if not str(t.get("key", "")).startswith(NOISY_TAG_PREFIXES)]},
    }


def is_digits(value: Any) -> bool:
    """An int64 written as text (at most 19 ASCII digits)."""
    return isinstance(value, str) and 0 < len(value) <= 19 and value.isascii() and value.isdigit()


def entries(items: Any) -> list[Mapping[str, Any]]:
    """The objects of a metrics/params/tags list; anything else in it, or in its place, is dropped."""
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, (list, tuple)) else []


def run_to_json(run) -> dict:
    """An mlflow Run entity (file and database stores) in the REST API's JSON shape."""
    info = run.info
    return trim_run_json({
        "info": {k: getattr(info, k) for k in RUN_INFO_KEYS},
        "data": {"metrics": [{"key": k, "value": v} for k, v in run.data.metrics.items()],
                 "params": [{"key": k, "value": v} for k, v in run.data.params.items()],
                 "tags": [{"key": k, "value": v} for k, v in run.data.tags.items()]},
    })
