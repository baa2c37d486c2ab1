"""Stream MLflow's runs/search response run by run.

`MlflowClient.search_runs` holds a whole page in memory several times over (the JSON text,
the parsed dicts, the protobuf, the entities): at 50,000 runs a page that is hundreds of MB.
Here the response is parsed as it arrives (json_stream.py), so a harvest holds one run at a
time, whatever the page size. The request goes through one of the transports in transport.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

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


def stream_runs_page(http, experiment_ids: Sequence[str], filter_string: str, max_results: int,
                     order_by: Sequence[str], page_token: str | None, token: PageToken,
                     source: str = "mlflow") -> Iterator[Any]:
    """One runs/search page, run by run, each trimmed to what the harvester keeps."""
    body = {"experiment_ids": list(experiment_ids), "filter": filter_string, "run_view_type": "ACTIVE_ONLY",
            "max_results": max_results, "order_by": list(order_by)}
    if page_token:
        body["page_token"] = page_token
    with closing(http.open_stream(SEARCH_RUNS_ENDPOINT, body)) as response:
        for run in parse_runs_stream(response.iter_content(CHUNK_BYTES), token, source):
            yield trim_run_json(run)


def json_pages(http, method: str, endpoint: str, items_key: str, query: Mapping[str, Any],
               source: str = "mlflow", server: str = "MLflow") -> Iterator[Any]:
    """Every element of `items_key` over the pages of one search endpoint (next_page_token);
    the query goes in the body of a POST and the URL of a GET."""
    page_token = None
    what = endpoint.rsplit("/mlflow/", 1)[-1]
    while True:
        query_now = {**query, **({"page_token": page_token} if page_token else {})}
        page = http.call(method, endpoint, **({"body": query_now} if method == "POST" else {"params": query_now}))
        if not isinstance(page, Mapping):
            raise ConnectorError(source, f"{server} answered {what} with a page it cannot read: not a JSON object.")
        items = page.get(items_key) or []
        if not isinstance(items, list):
            raise ConnectorError(source, f"{server} answered {what} with a page it cannot read: its {items_key} "
                                         "is not a list.")
        yield from items
        page_token = page.get("next_page_token")
        if not page_token or not isinstance(page_token, str):
            return


def parse_runs_stream(chunks: Iterable[bytes], token: PageToken, source: str = "mlflow") -> Iterator[Any]:
    """Each element of `runs` as it is read; `next_page_token` wherever it sits in the object.

    A page that is not JSON, not an object, or whose runs is not a list is a ConnectorError;
    an element that is not a run is passed on for the parser to skip."""
    from harvester.connectors.mlflow.json_stream import JsonShapeError, JsonSyntaxError, ObjectStream

    others: dict[str, Any] = {}
    try:
        yield from ObjectStream(chunks).members("runs", others)
    except JsonShapeError as exc:
        raise ConnectorError(source, f"MLflow answered runs/search with a page it cannot read: {exc}.") from None
    except JsonSyntaxError as exc:
        reason = str(exc).strip()[:120] or type(exc).__name__
        raise ConnectorError(source, f"MLflow answered runs/search with JSON it cannot read ({reason}).") from None
    value = others.get("next_page_token")
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
