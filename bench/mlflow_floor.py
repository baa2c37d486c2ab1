"""The floor MLflow sets: list the experiments, then page runs with MlflowClient.search_runs at
the largest page size the server allows, doing nothing with them. Run as its own process,
like the harvest it is compared with:

    python -m bench.mlflow_floor --url URL --since-ms MS [--handle ada ...]

Without --handle it pages every run since the start; with handles it makes the same
per-handle queries the harvester makes (MLflow filters reject OR). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import time

MAX_PAGE = 50000  # SEARCH_MAX_RESULTS_THRESHOLD in mlflow/store/tracking/__init__.py


def page_runs(url: str, since_ms: int, handles: list[str]) -> dict:
    started = time.perf_counter()
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    imported = time.perf_counter()
    client = MlflowClient(tracking_uri=url)
    pages, ids, token = 1, [], None
    while True:
        page = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
        ids.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            break
        pages += 1
    filters = [f"attributes.start_time >= {since_ms} and tags.`mlflow.user` = '{h}'" for h in handles] \
        or [f"attributes.start_time >= {since_ms}"]
    runs = 0
    for filter_string in filters:
        token = None
        while True:
            page = client.search_runs(ids, filter_string=filter_string, max_results=MAX_PAGE,
                                      order_by=["attributes.start_time ASC", "attributes.run_id ASC"],
                                      page_token=token)
            pages += 1
            runs += len(page)
            token = page.token
            if not token:
                break
    done = time.perf_counter()
    return {"runs": runs, "requests": pages, "import_seconds": imported - started, "paging_seconds": done - imported}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--since-ms", type=int, required=True)
    parser.add_argument("--handle", action="append", default=[])
    args = parser.parse_args()
    print(json.dumps(page_runs(args.url, args.since_ms, args.handle)))


if __name__ == "__main__":
    main()
