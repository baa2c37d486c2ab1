"""Seed an MLflow tracking database fast, for benchmarks.

Experiments and the model registry go through MlflowClient on the SQLite store (the very
store `mlflow server` serves). Runs are bulk-inserted into the same tables that
SqlAlchemyStore.create_run / log_batch / set_terminated write, in their shapes, because
one client call per run would take most of an hour at 50,000 runs.
"""

from __future__ import annotations

import math
import random
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ME, OTHER = "ada", "bob"
TOPICS = ("fraud-detector", "ranking", "churn", "search-embed", "ads-ctr", "eta-forecast", "speech-asr",
          "toxicity", "recsys-retrieval", "pricing")
METRICS = ("val_auc", "val_loss", "train_loss", "val_f1", "val_precision", "val_recall", "p99_latency_ms",
           "throughput_qps", "epoch_time_seconds", "cost_usd")
PARAMS = ("learning_rate", "max_depth", "batch_size", "optimizer", "dropout", "n_estimators",
          "embedding_dim", "seed", "model", "data_version")
RUNNING_RUNS = 4  # a few runs still going when the harvest starts: re-read every night
SPREAD = timedelta(days=89)  # inside `--since 90d`, whatever the clock does meanwhile


@dataclass
class TrackingData:
    """What was seeded, so benchmarks can compute the minimum pages from the data itself."""

    db: Path
    experiments: dict[str, str] = field(default_factory=dict)  # id -> name
    artifact_roots: dict[str, str] = field(default_factory=dict)  # id -> artifact location
    runs_by_user: dict[str, int] = field(default_factory=dict)
    models: int = 0
    versions: int = 0
    version_run_ids: set[str] = field(default_factory=set)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def runs(self) -> int:
        return sum(self.runs_by_user.values())

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.db}"


def ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def create_tracking_db(folder: Path, experiments: int = 20, now: datetime | None = None) -> TrackingData:
    """A migrated MLflow database with `experiments` experiments and no runs yet."""
    from mlflow import MlflowClient

    folder.mkdir(parents=True, exist_ok=True)
    data = TrackingData(db=(folder / "mlflow.db").resolve(), now=now or datetime.now(timezone.utc))
    client = MlflowClient(tracking_uri=data.uri, registry_uri=data.uri)
    for i in range(experiments):
        name = f"{TOPICS[i % len(TOPICS)]}-{i // len(TOPICS) + 1}"
        root = (folder / "artifacts" / name).resolve().as_uri()
        exp_id = client.create_experiment(name, artifact_location=root)
        data.experiments[exp_id] = name
        data.artifact_roots[exp_id] = root
    return data


def add_runs(data: TrackingData, count: int, seed: int = 11, running: int = 0,
             users: tuple[str, ...] = ()) -> None:
    """Insert `count` runs spread over the last 89 days, in batches: from two people, or, with
    `users`, the same number from each of them in turn."""
    import sqlalchemy as sa
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag

    rng = random.Random(seed + data.runs)
    engine = sa.create_engine(data.uri)
    exp_ids = sorted(data.experiments, key=int)
    end = data.now - timedelta(hours=2)
    batch = 2000
    try:
        for first in range(0, count, batch):
            rows = {"runs": [], "tags": [], "params": [], "metrics": []}
            for i in range(first, min(first + batch, count)):
                still_running = i >= count - running
                if users:
                    user = users[i % len(users)]
                else:
                    user = (ME if i % 2 else OTHER) if still_running else (ME if rng.random() < 0.5 else OTHER)
                fill_run(rows, rng, data, exp_ids[rng.randrange(len(exp_ids))], user, end, still_running)
            with engine.begin() as conn:
                conn.execute(SqlRun.__table__.insert(), rows["runs"])
                conn.execute(SqlTag.__table__.insert(), rows["tags"])
                conn.execute(SqlParam.__table__.insert(), rows["params"])
                conn.execute(SqlMetric.__table__.insert(), rows["metrics"])
                conn.execute(SqlLatestMetric.__table__.insert(), rows["metrics"])
    finally:
        engine.dispose()


def fill_run(rows: dict, rng: random.Random, data: TrackingData, exp_id: str, user: str, end: datetime,
             running: bool) -> None:
    run_id = uuid.uuid4().hex
    started = end - timedelta(minutes=30) if running else end - SPREAD * rng.random()
    minutes = rng.randint(5, 180)
    status = "RUNNING" if running else ("FAILED" if rng.random() < 0.03 else "FINISHED")
    ended = None if running else ms(started + timedelta(minutes=minutes))
    name = f"{user}-{run_id[:6]}"
    rows["runs"].append({
        "run_uuid": run_id, "name": name, "source_type": "UNKNOWN", "source_name": "", "entry_point_name": "",
        "user_id": user, "status": status, "start_time": ms(started), "end_time": ended, "deleted_time": None,
        "source_version": "", "lifecycle_stage": "active", "experiment_id": int(exp_id),
        "artifact_uri": f"{data.artifact_roots[exp_id]}/{run_id}/artifacts"})
    tags = {"mlflow.user": user, "mlflow.runName": name, "mlflow.source.type": "LOCAL",
            "mlflow.source.name": "train.py"}
    if rng.random() < 0.02:
        tags["baseline"] = "true"
    rows["tags"].extend({"key": k, "value": v, "run_uuid": run_id} for k, v in tags.items())
    quality = rng.gauss(0.8, 0.04)
    values = {"val_auc": quality, "val_loss": 1 - quality, "train_loss": 0.9 - quality, "val_f1": quality - 0.05,
              "val_precision": quality + 0.02, "val_recall": quality - 0.03,
              "p99_latency_ms": rng.uniform(80, 400), "throughput_qps": rng.uniform(200, 2000),
              "epoch_time_seconds": rng.uniform(30, 600), "cost_usd": rng.uniform(0.1, 12)}
    stamp = ended or ms(started)
    rows["metrics"].extend({"key": k, "value": round(v, 5), "timestamp": stamp, "step": 0, "is_nan": False,
                            "run_uuid": run_id} for k, v in values.items() if not math.isnan(v))
    params = {"learning_rate": rng.choice(("0.01", "0.03", "0.1")), "max_depth": str(rng.randint(3, 10)),
              "batch_size": rng.choice(("64", "128", "256")), "optimizer": rng.choice(("adam", "sgd")),
              "dropout": rng.choice(("0.0", "0.1", "0.3")), "n_estimators": str(rng.randint(100, 900)),
              "embedding_dim": rng.choice(("64", "128")), "seed": str(rng.randint(0, 99)),
              "model": rng.choice(("gbm", "dnn", "linear")), "data_version": f"v{rng.randint(1, 5)}"}
    rows["params"].extend({"key": k, "value": v, "run_uuid": run_id} for k, v in params.items())
    data.runs_by_user[user] = data.runs_by_user.get(user, 0) + 1


def seed_registry(data: TrackingData, models: int = 10, versions: int = 3, owner: str = ME) -> None:
    """`models` registered models with `versions` versions each (from `owner`'s finished runs)
    and champion/challenger aliases, through the real client."""
    import sqlalchemy as sa
    from mlflow import MlflowClient

    engine = sa.create_engine(data.uri)
    try:
        with engine.connect() as conn:
            run_ids = [r[0] for r in conn.execute(sa.text(
                "SELECT run_uuid FROM runs WHERE user_id = :u AND status = 'FINISHED' "
                "ORDER BY start_time DESC LIMIT :n"), {"u": owner, "n": models * versions})]
    finally:
        engine.dispose()
    client = MlflowClient(tracking_uri=data.uri, registry_uri=data.uri)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in range(models):
            name = f"{TOPICS[m % len(TOPICS)]}-model-{m}"
            client.create_registered_model(name)
            for v in range(versions):
                run_id = run_ids[(m * versions + v) % len(run_ids)]
                client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
                data.versions += 1
                data.version_run_ids.add(run_id)
            client.set_registered_model_alias(name, "champion", str(versions))
            client.set_registered_model_alias(name, "challenger", str(max(1, versions - 1)))
            data.models += 1


def seed_tracking(folder: Path, runs: int, experiments: int = 20, models: int = 10) -> TrackingData:
    """The benchmark's MLflow world: experiments, `runs` runs, then the registry."""
    data = create_tracking_db(folder, experiments)
    add_runs(data, runs, running=RUNNING_RUNS)
    seed_registry(data, models)
    return data
