"""Start and stop a real `mlflow server` for tests and benchmarks, and seed it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MlflowServer:
    url: str
    process: subprocess.Popen
    folder: Path
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


def start_mlflow_server(folder: Path, timeout: float = 90.0) -> MlflowServer:
    port = free_port()
    log = folder / "server.log"
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
           "--default-artifact-root", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/version", timeout=1).ok:
                return MlflowServer(url=url, process=proc, folder=folder, log=log)
        except requests.RequestException:
            pass
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"mlflow server did not start within {timeout}s:\n{log.read_text()[-3000:]}")


def ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


@dataclass
class MlflowSeeder:
    """Write runs and registry entries through the real MLflow client."""

    client: object
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def experiment(self, name: str) -> str:
        return self.client.create_experiment(name)

    def run(self, experiment_id: str, user: str, when: datetime, metrics: dict, params: dict | None = None,
            status: str = "FINISHED", tags: dict | None = None, minutes: int = 30) -> str:
        from mlflow.entities import Metric, Param

        run = self.client.create_run(experiment_id, start_time=ms(when), tags={"mlflow.user": user, **(tags or {})})
        rid = run.info.run_id
        self.client.log_batch(rid, metrics=[Metric(k, float(v), ms(when), 0) for k, v in metrics.items()],
                              params=[Param(k, str(v)) for k, v in (params or {}).items()])
        if status != "RUNNING":
            self.client.set_terminated(rid, status=status, end_time=ms(when + timedelta(minutes=minutes)))
        return rid

    def finish(self, run_id: str, when: datetime, metrics: dict | None = None) -> None:
        from mlflow.entities import Metric

        if metrics:
            self.client.log_batch(run_id, metrics=[Metric(k, float(v), ms(when), 1) for k, v in metrics.items()])
        self.client.set_terminated(run_id, status="FINISHED", end_time=ms(when))

    def model(self, name: str) -> None:
        self.client.create_registered_model(name)

    def version(self, name: str, run_id: str) -> str:
        return str(self.client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id).version)

    def alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)
