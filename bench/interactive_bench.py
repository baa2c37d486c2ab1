"""Interactive commands at scale: `drafts list`, `search`, `journal` and `report --period` over
a store holding many records and drafts, each against `python -c "import click, sqlalchemy"`.

    python -m bench.interactive_bench seed --db PATH --records N --drafts M

`seed` stores runs as bench.drafting_bench does (parse_run through Store.save_page), then
drafts through Store.save_draft, and confirms one in five of them into journal entries.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from bench.drafting_bench import CONFIG, OWNER, REPO, SOURCE, seed_store
from bench.procs import child_env, median, run_timed
from bench.results import Row
from bench.scales import Scale
from bench.startup_bench import harvester_command

KINDS = ("metric_lift", "model_shipped", "negative_result", "experiment_series")
WORDS = ("fraud", "latency", "recall", "churn", "ranking", "forecast", "embedding", "pricing")
SEARCH_WORD = "latency"
CONFIRMED_EVERY = 5


def current_period(now: datetime) -> str:
    return f"{now.year}-H{1 if now.month <= 6 else 2}"


def seed_drafts(db: Path, count: int, seed: int = 7) -> dict:
    from harvester.models import Draft
    from harvester.store import open_store

    rng = random.Random(seed)
    store = open_store(f"sqlite:///{db}", OWNER)
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    try:
        for i in range(count):
            word, kind = rng.choice(WORDS), KINDS[i % len(KINDS)]
            store.save_draft(Draft(
                id=None, fingerprint=f"bench-{i:06d}", status="pending", kind=kind, source=SOURCE,
                subject=f"experiment-{i % 100:03d}", occurred_at=now - timedelta(days=365) * rng.random(),
                statement=f"Improved {word} of experiment-{i % 100:03d}: val_auc {rng.uniform(0.7, 0.9):.3f}",
                impact_prompt=f"What did the {word} change make possible?", tags=("execution",)))
        pending = [d.id for d in store.list_drafts(["pending"])]
        confirmed = pending[::CONFIRMED_EVERY]
        store.confirm_drafts(confirmed)
    finally:
        store.close()
    return {"drafts": count, "entries": len(confirmed), "seconds": time.perf_counter() - started}


def commands(config: Path, period: str) -> dict[str, list[str]]:
    cli = [*harvester_command(), "--config", str(config)]
    return {"drafts list": [*cli, "drafts", "list"], f"search {SEARCH_WORD}": [*cli, "search", SEARCH_WORD],
            "journal": [*cli, "journal"], f"report --period {period}": [*cli, "report", "--period", period]}


def run_interactive(scale: Scale, work: Path, log: Callable[[str], None]) -> list[Row]:
    folder = work / "interactive"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db, config = folder / "store.db", folder / "harvester.toml"
    config.write_text(CONFIG.format(db=db), encoding="utf-8")
    env = child_env(HARVESTER_HOME=str(folder))
    records, drafts = scale.drafting_records, scale.drafting_records // 20
    seeded = run_timed([sys.executable, "-m", "bench.interactive_bench", "seed", "--db", str(db), "--records",
                        str(records), "--drafts", str(drafts)], env=env, cwd=REPO).check("interactive seed").json()
    log(f"stored {records:,} records, {drafts:,} drafts ({seeded['entries']:,} confirmed) in {seeded['seconds']:.1f}s")
    cmds = commands(config, current_period(datetime.now(timezone.utc)))
    floor = [sys.executable, "-c", "import click, sqlalchemy"]
    for cmd in [*cmds.values(), floor]:
        run_timed(cmd, env=env, cwd=folder).check(cmd[-1])  # warms the page cache and bytecode
    times: dict[str, list[float]] = {name: [] for name in [*cmds, "floor"]}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    for _ in range(scale.startup_repeats):
        for name, cmd in [*cmds.items(), ("floor", floor)]:
            timed = run_timed(cmd, env=env, cwd=folder).check(name)
            times[name].append(timed.seconds)
            cpu[name].append(timed.cpu_seconds)
    base, base_cpu = median(times["floor"]), median(cpu["floor"])
    rows = []
    for name in cmds:
        value = median(times[name])
        log(f"{name}: {value * 1000:.0f} ms against {base * 1000:.0f} ms")
        rows.append(Row("interactive", f"`harvester {name}`, {records:,} records, {drafts:,} drafts", value, "s",
                        base, 1.5,
                        f"median of {len(times[name])} alternating runs; CPU {median(cpu[name]):.2f}s against "
                        f"{base_cpu:.2f}s ({median(cpu[name]) / base_cpu:.2f}×); {seeded['entries']:,} journal entries; "
                        f"floor = `python -c \"import click, sqlalchemy\"`; spread "
                        f"{min(times[name]):.2f}–{max(times[name]):.2f}s vs "
                        f"{min(times['floor']):.2f}–{max(times['floor']):.2f}s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed")
    seed.add_argument("--db", type=Path, required=True)
    seed.add_argument("--records", type=int, required=True)
    seed.add_argument("--drafts", type=int, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    seed_store(args.db, args.records)
    print(json.dumps({**seed_drafts(args.db, args.drafts), "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
