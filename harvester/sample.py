"""The built-in sample: a quarter of MLflow runs from two people in a local MLflow store,
harvested with the real connector, rules and drafting. Used by `harvester demo`."""

from __future__ import annotations

import os
import random
import tempfile
import warnings
from datetime import datetime, timedelta
from pathlib import Path

from harvester.models import utcnow

ME, OTHER = "ada", "bob"
SAMPLE_CONFIG = """\
[identity]
name = "Ada Example"
email = "ada@example.com"
handles = ["ada"]

[store]
url = "sqlite:///{db}"

[connectors.sample-mlflow]
type = "mlflow"
tracking_uri = "{uri}"
ui_url = "http://127.0.0.1:5000"
"""


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def seed_sample_store(folder: Path, now: datetime | None = None, seed: int = 7) -> str:
    """Write the sample into an MLflow file store under `folder`; return its tracking URI."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    now = now or utcnow()
    rng = random.Random(seed)
    uri = (folder / "mlruns").resolve().as_uri()
    # The file registry opens a default client internally: point it at the same store.
    os.environ.update({"MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_TRACKING_URI": uri})
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def log_run(exp_id, user, when, metrics, params, status="FINISHED", tags=None):
        run = client.create_run(exp_id, start_time=_ms(when), run_name=f"{user}-{rng.randrange(10**4):04d}",
                                tags={"mlflow.user": user, **(tags or {})})
        client.log_batch(run.info.run_id,
                         metrics=[Metric(k, v, _ms(when), 0) for k, v in metrics.items()],
                         params=[Param(k, str(v)) for k, v in params.items()])
        client.set_terminated(run.info.run_id, status=status, end_time=_ms(when + timedelta(minutes=40)))
        return run.info.run_id

    start = now - timedelta(days=80)
    fraud = client.create_experiment("fraud-detector")
    log_run(fraud, ME, start, {"val_auc": 0.81, "val_loss": 0.41},
            {"model": "gbm", "max_depth": 6, "features": "base", "learning_rate": 0.05}, tags={"baseline": "true"})
    best_fraud = None
    for i in range(13):
        when = start + timedelta(days=2 + i * 3)
        auc = round(0.81 + 0.06 * (i + 1) / 13 - rng.uniform(0, 0.01), 4)
        features = "base+merchant_history" if i >= 6 else "base"
        note = {"mlflow.note.content": "Added merchant-history features (30-day spend, chargeback rate)"}
        rid = log_run(fraud, ME, when, {"val_auc": auc, "val_loss": round(0.41 - auc / 10, 4)},
                      {"model": "gbm", "max_depth": 6 + i % 3, "features": features, "learning_rate": 0.05},
                      tags=note if i == 12 else None)
        best_fraud = rid if i == 12 else best_fraud
    log_run(fraud, ME, start + timedelta(days=41), {"val_auc": 0.5}, {"model": "gbm"}, status="FAILED")
    for i in range(6):  # a colleague's runs: never drafted for Ada
        log_run(fraud, OTHER, start + timedelta(days=5 + i * 4), {"val_auc": 0.88 + i / 200}, {"model": "dnn"})

    ranking = client.create_experiment("ranking-v3")
    log_run(ranking, ME, start + timedelta(days=20), {"val_ndcg_at_10": 0.642}, {"embedding_dim": 64},
            tags={"baseline": "true"})
    for i in range(11):
        log_run(ranking, ME, start + timedelta(days=22 + i * 2),
                {"val_ndcg_at_10": round(0.642 - rng.uniform(0.0, 0.012), 4)},
                {"embedding_dim": [64, 128, 256][i % 3], "num_negatives": [4, 8, 16, 32][i % 4]})

    serving = client.create_experiment("ranker-serving")
    for i in range(6):
        when = start + timedelta(days=45 + i * 5)
        log_run(serving, ME, when, {"p99_latency_ms": 420 - i * 56, "p50_latency_ms": 95 - i * 9,
                                    "cost_per_1k_requests_usd": round(0.42 - i * 0.024, 3)},
                {"batch_size": 8 * (i + 1), "quantization": "int8" if i > 2 else "none"})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.create_registered_model("fraud-detector")
        client.create_model_version("fraud-detector", source=f"runs:/{best_fraud}/model", run_id=best_fraud)
        client.set_registered_model_alias("fraud-detector", "champion", "1")
    return uri


def run_demo(directory: str | None = None):
    """Seed, harvest and draft; return (summary, pending drafts, folder)."""
    from harvester.config import load_config
    from harvester.harvest import run_harvest
    from harvester.store import open_store

    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="harvester-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "harvester.toml"
    if not config_path.exists():
        uri = seed_sample_store(folder)
        config_path.write_text(SAMPLE_CONFIG.format(db=(folder / "harvester.db").resolve(), uri=uri), encoding="utf-8")
    config = load_config(config_path)
    store = open_store(config.store_url, config.identity.owner)
    try:
        summary = run_harvest(store, config, since="90d")
        drafts = store.list_drafts(["pending"])
    finally:
        store.close()
    return summary, drafts, folder
