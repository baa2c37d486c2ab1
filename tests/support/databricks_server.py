"""A loopback stand-in for a Databricks workspace: MLflow tracking and the Unity Catalog registry.

Shapes, from mlflow 3.17's own clients and protos:
- `POST /api/2.0/mlflow/experiments/search`, `POST /api/2.0/mlflow/runs/search`: mlflow/protos/service.proto
  (SearchExperiments, SearchRuns: `experiments` / `runs` of {info, data: {metrics, params, tags}},
  `next_page_token`), as mlflow.store.tracking.rest_store sends them;
- `GET /api/2.0/mlflow/unity-catalog/registered-models/search` (`max_results`, `page_token` ->
  `registered_models`, `next_page_token`), `.../registered-models/get` (`name` -> `registered_model`
  with `aliases: [{alias, version}]`), `.../model-versions/search` (`filter` "name='c.s.m'",
  `max_results`, `page_token` -> `model_versions`, `next_page_token`): the UcModelRegistryService of
  mlflow/protos/databricks_uc_registry_service.proto and its messages
  (databricks_uc_registry_messages.proto: RegisteredModel, ModelVersion with `run_id`, `source`,
  `status` READY), as mlflow/store/_unity_catalog/registry/rest_store.py calls them;
- errors as Databricks answers them: `{"error_code": "...", "message": "..."}`; a 429 with Retry-After.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

UC = "/api/2.0/mlflow/unity-catalog"


class FakeWorkspace:
    def __init__(self, token: str = "dapi-test-token", page_size: int = 2):
        self.token = token
        self.page_size = page_size  # UC pages are cut this small so paging is exercised
        self.experiments: dict[str, str] = {}
        self.runs: list[dict] = []
        self.models: dict[str, dict] = {}
        self.versions: dict[str, list[dict]] = {}
        self.log: list[tuple[str, str, dict]] = []
        self.faults: list[tuple[str, int, dict]] = []  # (path, status, headers), answered once each
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # seeding ------------------------------------------------------------------------------

    def experiment(self, name: str) -> str:
        experiment_id = str(1000 + len(self.experiments))
        self.experiments[experiment_id] = name
        return experiment_id

    def run(self, experiment_id: str, user: str, start_ms: int, metrics: dict) -> str:
        run_id = f"run{len(self.runs):04d}"
        self.runs.append({"info": {"run_id": run_id, "run_uuid": run_id, "experiment_id": experiment_id,
                                   "user_id": user, "status": "FINISHED", "start_time": str(start_ms),
                                   "end_time": str(start_ms + 60000), "lifecycle_stage": "active",
                                   "run_name": f"run-{run_id}", "artifact_uri": f"dbfs:/databricks/mlflow/{run_id}"},
                          "data": {"metrics": [{"key": k, "value": v, "timestamp": str(start_ms), "step": "0"}
                                               for k, v in metrics.items()],
                                   "params": [], "tags": [{"key": "mlflow.user", "value": user}]}})
        return run_id

    def model(self, name: str, updated_ms: int) -> None:
        self.models[name] = {"name": name, "creation_timestamp": updated_ms, "last_updated_timestamp": updated_ms,
                             "user_id": "ada@example.com", "description": "", "aliases": []}
        self.versions.setdefault(name, [])

    def version(self, name: str, run_id: str, created_ms: int, **override) -> str:
        number = str(len(self.versions[name]) + 1)
        self.versions[name].append({"name": name, "version": number, "creation_timestamp": created_ms,
                                    "last_updated_timestamp": created_ms, "user_id": "ada@example.com",
                                    "description": "", "source": f"models:/m-{run_id}", "run_id": run_id,
                                    "run_experiment_id": "", "status": "READY",
                                    "storage_location": f"s3://uc/models/{number}", **override})
        self.models[name]["last_updated_timestamp"] = created_ms
        return number

    def alias(self, name: str, alias: str, version: str) -> None:
        """Setting an alias in UC moves no timestamp."""
        aliases = [a for a in self.models[name]["aliases"] if a["alias"] != alias]
        self.models[name]["aliases"] = aliases + [{"alias": alias, "version": version}]

    def calls(self, path_part: str) -> int:
        return sum(1 for _, path, _ in self.log if path_part in path)

    # serving ----------------------------------------------------------------------------

    def answer(self, method: str, path: str, params: dict, body: dict) -> tuple[int, dict, dict]:
        self.log.append((method, path, {**params, **body}))
        for fault in self.faults:
            if fault[0] in path:
                self.faults.remove(fault)
                return fault[1], fault[2], {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}
        if path == "/api/2.0/mlflow/experiments/search":
            return 200, {}, {"experiments": [{"experiment_id": i, "name": n, "lifecycle_stage": "active"}
                                             for i, n in self.experiments.items()]}
        if path == "/api/2.0/mlflow/runs/search":
            return 200, {}, {"runs": self.search_runs(body)}
        if path == f"{UC}/registered-models/search":
            models = [{k: v for k, v in m.items() if k != "aliases"} for m in self.models.values()]
            return 200, {}, self.page(models, params, "registered_models")
        if path == f"{UC}/registered-models/get":
            name = params.get("name", "")
            if name not in self.models:
                return 404, {}, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Model '{name}' not found"}
            return 200, {}, {"registered_model": self.models[name]}
        if path == f"{UC}/model-versions/search":
            match = re.fullmatch(r"name\s*=\s*'([^']*)'", params.get("filter", ""))
            if not match:
                return 400, {}, {"error_code": "INVALID_PARAMETER_VALUE", "message": "filter must be name='...'"}
            return 200, {}, self.page(self.versions.get(match.group(1), []), params, "model_versions")
        return 404, {}, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for {method} {path}"}

    def page(self, items: list, params: dict, key: str) -> dict:
        start = int(params.get("page_token") or 0)
        size = min(int(params.get("max_results") or self.page_size), self.page_size)
        body = {key: items[start:start + size]}
        if start + size < len(items):
            body["next_page_token"] = str(start + size)
        return body

    def search_runs(self, body: dict) -> list[dict]:
        text = body.get("filter", "")
        runs = [r for r in self.runs if r["info"]["experiment_id"] in body.get("experiment_ids", [])]
        ids = re.search(r"run_id IN \((.*)\)", text)
        if ids:
            wanted = set(re.findall(r"'([^']*)'", ids.group(1)))
            return [r for r in runs if r["info"]["run_id"] in wanted]
        since = re.search(r"start_time >= (\d+)", text)
        user = re.search(r"`mlflow.user` = '([^']*)'", text)
        runs = [r for r in runs if (not since or int(r["info"]["start_time"]) >= int(since.group(1)))
                and (not user or r["info"]["user_id"] == user.group(1))]
        return sorted(runs, key=lambda r: int(r["info"]["start_time"]))

    def handler(self):
        workspace = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def serve(self, method: str):
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                if self.headers.get("Authorization") != f"Bearer {workspace.token}":
                    status, headers, answer = 401, {}, {"error_code": "UNAUTHENTICATED",
                                                        "message": "Invalid access token."}
                    workspace.log.append((method, parts.path, params))
                else:
                    status, headers, answer = workspace.answer(method, parts.path, params, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.serve("GET")

            def do_POST(self):
                self.serve("POST")

        return Handler
