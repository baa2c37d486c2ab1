"""Benchmark 4: rules and drafting alone over stored runs, no network.

Two processes, so the drafting one's peak memory is its own:

    python -m bench.drafting_bench seed --db PATH --records N
    python -m bench.drafting_bench draft --config PATH

`seed` writes runs shaped by the MLflow connector's own parse_run (REST JSON in, Record out)
through Store.save_page. `draft` first streams the same records out of the store (the floor:
what any rule engine must read), then times redraft twice: the first pass drafts everything,
the second finds nothing new (what `harvester redraft` pays; a harvest that changed no record
skips the pass). Then one new run is saved and the pass a harvest runs (`redraft_if_changed`)
is timed: it re-runs the rules over that run's experiment only.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from bench.procs import child_env, run_timed
from bench.results import Row
from bench.scales import Scale

REPO = Path(__file__).resolve().parent.parent
SOURCE, OWNER, UI = "mlflow-bench", "ada@example.com", "http://mlflow.example.com"
RUNS_PER_EXPERIMENT = 1000
PAGE = 5000
CONFIG = """\
[identity]
name = "Ada Example"
email = "ada@example.com"
handles = ["ada"]

[store]
url = "sqlite:///{db}"
"""


def run_json(rng: random.Random, exp_id: str, user: str, started: datetime, baseline: bool) -> dict:
    """One run as runs/search returns it."""
    start_ms = int(started.timestamp() * 1000)
    quality = rng.gauss(0.8, 0.04)
    metrics = {"val_auc": quality, "val_loss": 1 - quality, "train_loss": 0.9 - quality, "val_f1": quality - 0.05,
               "val_precision": quality + 0.02, "val_recall": quality - 0.03, "p99_latency_ms": rng.uniform(80, 400),
               "throughput_qps": rng.uniform(200, 2000), "epoch_time_seconds": rng.uniform(30, 600),
               "cost_usd": rng.uniform(0.1, 12)}
    params = {"learning_rate": rng.choice(("0.01", "0.03", "0.1")), "max_depth": str(rng.randint(3, 10)),
              "batch_size": rng.choice(("64", "128", "256")), "optimizer": rng.choice(("adam", "sgd")),
              "dropout": rng.choice(("0.0", "0.1", "0.3")), "n_estimators": str(rng.randint(100, 900)),
              "embedding_dim": rng.choice(("64", "128")), "seed": str(rng.randint(0, 99)),
              "model": rng.choice(("gbm", "dnn", "linear")), "data_version": f"v{rng.randint(1, 5)}"}
    run_id = uuid.UUID(int=rng.getrandbits(128)).hex
    tags = {"mlflow.user": user, "mlflow.runName": f"{user}-{run_id[:6]}", "mlflow.source.name": "train.py"}
    if baseline:
        tags["baseline"] = "true"
    return {"info": {"run_id": run_id, "run_name": f"{user}-{run_id[:6]}", "experiment_id": exp_id, "user_id": user,
                     "status": "FINISHED" if rng.random() > 0.03 else "FAILED", "start_time": start_ms,
                     "end_time": start_ms + rng.randint(5, 180) * 60000, "lifecycle_stage": "active"},
            "data": {"metrics": [{"key": k, "value": round(v, 5)} for k, v in metrics.items()],
                     "params": [{"key": k, "value": v} for k, v in params.items()],
                     "tags": [{"key": k, "value": v} for k, v in tags.items()]}}


def seed_store(db: Path, records: int, seed: int = 5) -> dict:
    from harvester.connectors.mlflow.parse import parse_run
    from harvester.records import make_model_version_attributes, make_model_version_record, make_registry_attributes
    from harvester.store import open_store

    rng = random.Random(seed)
    store = open_store(f"sqlite:///{db}", OWNER)
    experiments = {str(i): f"experiment-{i:03d}" for i in range(max(4, records // RUNS_PER_EXPERIMENT))}
    handles = frozenset({"ada", OWNER})
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    page, serving = [], []
    try:
        for i in range(records):
            exp_id = str(i % len(experiments))
            user = "ada" if rng.random() < 0.5 else "bob"
            when = now - timedelta(days=365) * rng.random()
            run = run_json(rng, exp_id, user, when, baseline=rng.random() < 0.01)
            page.append(parse_run(run, SOURCE, experiments, UI, handles))
            if len(serving) < 10 and user == "ada" and i % 97 == 0:
                serving.append(run["info"]["run_id"])
            if len(page) >= PAGE:
                store.save_page(page, None)
                page = []
        versions = [make_model_version_record(
            SOURCE, f"model-{n}/1", now, f"model-{n}",
            make_model_version_attributes(make_registry_attributes(model=f"model-{n}", version="1", run_id=rid),
                                          aliases=["champion"], serving=True),
            actor="ada", mine=True, title=f"model-{n} v1") for n, rid in enumerate(serving)]
        store.save_page(page + versions, None)
    finally:
        store.close()
    return {"records": records, "experiments": len(experiments), "seconds": time.perf_counter() - started}


def save_one_new_run(store) -> None:
    """One more of my runs in the first experiment, as a nightly harvest would save it."""
    from harvester.connectors.mlflow.parse import parse_run

    run = run_json(random.Random(7), "0", "ada", datetime.now(timezone.utc), baseline=False)
    store.save_page([parse_run(run, SOURCE, {"0": "experiment-000"}, UI, frozenset({"ada", OWNER}))], None)


def time_drafting(config_path: Path) -> dict:
    from harvester.config import load_config
    from harvester.drafting.redraft import redraft, redraft_if_changed
    from harvester.store import open_store

    config = load_config(config_path)
    store = open_store(config.store_url, config.identity.owner)
    try:
        started = time.perf_counter()
        read = sum(len(records) for _, _, _, records in store.iter_record_groups({"run"}))
        read_seconds = time.perf_counter() - started
        started = time.perf_counter()
        first = redraft(store, config)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = redraft(store, config)
        again_seconds = time.perf_counter() - started
        save_one_new_run(store)
        started = time.perf_counter()
        changed = redraft_if_changed(store, config)
        changed_seconds = time.perf_counter() - started
    finally:
        store.close()
    return {"records": read, "read_seconds": read_seconds, "redraft_seconds": first_seconds,
            "redraft_again_seconds": again_seconds, "findings": first.findings, "drafts_new": first.new,
            "drafts_unchanged_again": again.unchanged, "changed_seconds": changed_seconds,
            "changed_skipped": changed.skipped, "changed_updated": changed.new + changed.updated}


def run_drafting(scale: Scale, work: Path, log: Callable[[str], None]) -> list[Row]:
    folder = work / "drafting"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db = folder / "store.db"
    db.unlink(missing_ok=True)
    config = folder / "harvester.toml"
    config.write_text(CONFIG.format(db=db), encoding="utf-8")
    env = child_env()
    seeded = run_timed([sys.executable, "-m", "bench.drafting_bench", "seed", "--db", str(db),
                        "--records", str(scale.drafting_records)], env=env, cwd=REPO).check("drafting seed").json()
    log(f"stored {seeded['records']:,} runs over {seeded['experiments']} experiments in {seeded['seconds']:.1f}s")
    timed = run_timed([sys.executable, "-m", "bench.drafting_bench", "draft", "--config", str(config)],
                      env=env, cwd=REPO).check("drafting")
    d = timed.json()
    log(f"read {d['read_seconds']:.1f}s, redraft {d['redraft_seconds']:.1f}s, again {d['redraft_again_seconds']:.1f}s, "
        f"one new run {d['changed_seconds']:.2f}s, peak {timed.max_rss_mb:.0f} MB")
    n = d["records"]
    per_experiment = f"{seeded['experiments']} experiments × {n // max(1, seeded['experiments']):,} runs"
    return [
        Row("drafting", f"rules + drafting, {n:,} stored runs", d["redraft_seconds"], "s", d["read_seconds"], None,
            f"{n / d['redraft_seconds']:,.0f} records/s ({per_experiment}); {d['findings']} findings, "
            f"{d['drafts_new']} drafts; floor = streaming the same records out of the store "
            f"({n / d['read_seconds']:,.0f} records/s); no target set"),
        Row("drafting", f"redraft again, nothing new, {n:,} stored runs", d["redraft_again_seconds"], "s",
            d["read_seconds"], None,
            f"{n / d['redraft_again_seconds']:,.0f} records/s; {d['drafts_unchanged_again']} drafts unchanged"),
        Row("drafting", f"one new run over {n:,} stored runs: incremental drafting pass", d["changed_seconds"], "s",
            None, 1.0, f"the pass a harvest runs: the rules over the new run's experiment "
            f"({n // max(1, seeded['experiments']):,} runs) only, then linking and wording over all "
            f"{d['findings']} findings; {d['changed_updated']} drafts new or refreshed"
            + ("; SKIPPED: the change was not seen" if d["changed_skipped"] else "")),
        Row("drafting", f"rules + drafting peak RSS, {n:,} stored runs", timed.max_rss_mb, "MB", None, None,
            "whole process: interpreter, pandas, all three passes"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed")
    seed.add_argument("--db", type=Path, required=True)
    seed.add_argument("--records", type=int, required=True)
    draft = sub.add_parser("draft")
    draft.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    result = seed_store(args.db, args.records) if args.command == "seed" else time_drafting(args.config)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
