"""The floor the wire sets: the same experiments and runs/search pages the harvest asks for,
fetched as raw HTTP with http.client (no mlflow, no JSON parsing of the runs), each body read
in chunks and dropped. Run as its own process, like the harvest it is compared with:

    python -m bench.mlflow_raw_floor --url URL --since-ms MS [--handle ada ...]

The filters, order and `max_results` are those of bench.mlflow_floor. Only the last bytes of a
page are kept, to follow its `next_page_token` (MLflow writes it after the runs). Prints JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import time
from urllib.parse import urlsplit

MAX_PAGE = 50000
CHUNK = 256 * 1024
TAIL = 4096
TOKEN = re.compile(rb'"next_page_token"\s*:\s*"([^"]*)"')
RUN = b'"run_id"'  # once per run, in its info: counted in C, so the floor checks it read the same runs


def post(conn: http.client.HTTPConnection, path: str, body: dict) -> tuple[int, int, bytes]:
    """POST a JSON body and read the answer to the end: its size, the runs in it, its last TAIL bytes."""
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    tail, size, runs = b"", 0, 0
    while chunk := response.read(CHUNK):
        size += len(chunk)
        runs += (tail[-len(RUN) + 1:] + chunk).count(RUN)
        tail = (tail + chunk)[-TAIL:]
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}: {tail[-500:]!r}")
    return size, runs, tail


def next_token(tail: bytes) -> str | None:
    found = TOKEN.search(tail)
    return found.group(1).decode() if found and found.group(1) else None


def list_experiments(conn: http.client.HTTPConnection, prefix: str) -> tuple[list[str], int]:
    ids, token, requests = [], None, 0
    while True:
        body = {"view_type": "ACTIVE_ONLY", "max_results": 1000, **({"page_token": token} if token else {})}
        conn.request("POST", f"{prefix}/api/2.0/mlflow/experiments/search", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        page = json.loads(conn.getresponse().read())  # a few KB: parsed, for the ids
        requests += 1
        ids.extend(e["experiment_id"] for e in page.get("experiments", []))
        token = page.get("next_page_token")
        if not token:
            return ids, requests


def page_runs(url: str, since_ms: int, handles: list[str]) -> dict:
    started = time.perf_counter()
    where = urlsplit(url)
    kind = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
    conn = kind(where.hostname, where.port, timeout=600)
    prefix = where.path.rstrip("/")
    ids, requests = list_experiments(conn, prefix)
    filters = [f"attributes.start_time >= {since_ms} and tags.`mlflow.user` = '{h}'" for h in handles] \
        or [f"attributes.start_time >= {since_ms}"]
    read = runs = 0
    for filter_string in filters:
        token = None
        while True:
            body = {"experiment_ids": ids, "filter": filter_string, "run_view_type": "ACTIVE_ONLY",
                    "max_results": MAX_PAGE, "order_by": ["attributes.start_time ASC", "attributes.run_id ASC"],
                    **({"page_token": token} if token else {})}
            size, found, tail = post(conn, f"{prefix}/api/2.0/mlflow/runs/search", body)
            requests += 1
            read += size
            runs += found
            token = next_token(tail)
            if not token:
                break
    conn.close()
    return {"runs": runs, "requests": requests, "bytes": read, "paging_seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--since-ms", type=int, required=True)
    parser.add_argument("--handle", action="append", default=[])
    args = parser.parse_args()
    print(json.dumps(page_runs(args.url, args.since_ms, args.handle)))


if __name__ == "__main__":
    main()
