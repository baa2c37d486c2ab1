"""A rejection is forever, on a real MLflow tracking server: a run logged later with a start
time before the campaign's first run moves the campaign's start, yet the rejected
accomplishment keeps its fingerprint and never returns as a new pending draft."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import MlflowSeeder

pytestmark = pytest.mark.mlflow_server

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def drafts(config, status: str) -> list[dict]:
    result = run_cli("--config", str(config), "drafts", "list", "--status", status, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_back_dated_run_does_not_bring_back_a_rejected_campaign(mlflow_server, mlflow_env, database_url, tmp_path):
    uid = uuid.uuid4().hex[:8]
    me, experiment = f"ada-{uid}", f"ranking-{uid}"
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
email = "ada@example.com"
handles = ["{me}"]

[store]
url = "{database_url}"

[connectors.mlflow-test]
type = "mlflow"
tracking_uri = "{mlflow_server.url}"
experiments = ["*-{uid}"]
max_retries = 0
""")
    seeder = MlflowSeeder(mlflow_server.client())
    exp = seeder.experiment(experiment)
    start = NOW - timedelta(days=40)
    seeder.run(exp, me, start, {"val_ndcg_at_10": 0.642}, {"embedding_dim": 64}, tags={"baseline": "true"})
    for i in range(10):
        seeder.run(exp, me, start + timedelta(days=1 + i), {"val_ndcg_at_10": 0.640 - i * 0.001},
                   {"embedding_dim": [64, 128, 256][i % 3]})

    assert run_cli("--config", str(config), "harvest", "--since", "90d").exit_code == 0
    [campaign] = drafts(config, "pending")
    assert campaign["kind"] == "experiment_campaign" and "after 11 runs" in campaign["statement"]
    assert run_cli("--config", str(config), "drafts", "reject", str(campaign["id"])).exit_code == 0

    seeder.run(exp, me, start - timedelta(hours=6), {"val_ndcg_at_10": 0.638}, {"embedding_dim": 32})
    result = run_cli("--config", str(config), "harvest", "--since", "90d", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["drafts"]["new"] == 0
    assert drafts(config, "pending") == []
    [rejected] = drafts(config, "rejected")
    assert rejected["id"] == campaign["id"] and rejected["fingerprint"] == campaign["fingerprint"]
