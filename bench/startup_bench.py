"""Benchmark 5: start-up. `harvester drafts list` against the floor any click + SQLAlchemy
CLI pays, `python -c "import click, sqlalchemy"`; medians of alternating runs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Callable

from bench.procs import child_env, median, run_timed
from bench.results import Row
from bench.scales import Scale

CONFIG = """\
[identity]
name = "Ada Example"
email = "ada@example.com"

[store]
url = "sqlite:///{db}"
"""


def harvester_command() -> list[str]:
    """The installed console script when there is one (what a user types), else -m."""
    script = Path(sys.executable).parent / "harvester"
    return [str(script)] if script.exists() else [sys.executable, "-m", "harvester"]


def run_startup(scale: Scale, work: Path, log: Callable[[str], None]) -> list[Row]:
    folder = work / "startup"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = folder / "harvester.toml"
    config.write_text(CONFIG.format(db=folder / "store.db"), encoding="utf-8")
    env = child_env(HARVESTER_HOME=str(folder))
    drafts = [*harvester_command(), "--config", str(config), "drafts", "list"]
    floor = [sys.executable, "-c", "import click, sqlalchemy"]
    run_timed(drafts, env=env, cwd=folder).check("harvester drafts list")  # creates the store; warms the cache
    run_timed(floor, env=env, cwd=folder).check("import click, sqlalchemy")
    cli_times, floor_times = [], []
    for _ in range(scale.startup_repeats):
        cli_times.append(run_timed(drafts, env=env, cwd=folder).check("harvester drafts list").seconds)
        floor_times.append(run_timed(floor, env=env, cwd=folder).check("import click, sqlalchemy").seconds)
    cli, base = median(cli_times), median(floor_times)
    log(f"drafts list {cli * 1000:.0f} ms, import click+sqlalchemy {base * 1000:.0f} ms")
    return [Row("startup", "`harvester drafts list`, empty store", cli, "s", base, 2.0,
                f"median of {len(cli_times)} alternating runs each; floor = `python -c \"import click, sqlalchemy\"`; "
                f"spread {min(cli_times):.2f}–{max(cli_times):.2f}s vs {min(floor_times):.2f}–{max(floor_times):.2f}s")]
