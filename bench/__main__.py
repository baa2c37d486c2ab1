"""Run the benchmarks: `python -m bench [--scale full|small|smoke] [--only NAME ...]`.

Prints every row as it is measured, writes JSON and Markdown to bench/out/, and at full
scale updates the table in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from bench.machine import describe_machine
from bench.procs import QUIET
from bench.results import Row, render_console, render_section, update_results_file, write_outputs
from bench.scales import SCALES, Scale

BENCH_DIR = Path(__file__).resolve().parent
BENCHMARKS = ("mlflow", "drafting", "startup", "interactive", "saas", "team")
EXTRA = ("reliability",)  # only with --only: trials, not timings (bench/reliability_bench.py)


def run_benchmark(name: str, scale: Scale, work: Path, log: Callable[[str], None]) -> list[Row]:
    if name == "mlflow":
        from bench.mlflow_bench import run_mlflow

        return run_mlflow(scale, work, log)
    if name == "drafting":
        from bench.drafting_bench import run_drafting

        return run_drafting(scale, work, log)
    if name == "startup":
        from bench.startup_bench import run_startup

        return run_startup(scale, work, log)
    if name == "interactive":
        from bench.interactive_bench import run_interactive

        return run_interactive(scale, work, log)
    if name == "saas":
        from bench.saas_bench import run_saas

        return run_saas(scale, work, log)
    if name == "team":
        from bench.team_bench import run_team

        return run_team(scale, work, log)
    if name == "reliability":
        from bench.reliability_bench import run_reliability

        return run_reliability(scale, work, log)
    raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS + EXTRA)}")


def run_benchmarks(scale: Scale, work: Path, only: Sequence[str] = BENCHMARKS,
                   log: Callable[[str], None] = print) -> list[Row]:
    os.environ.update(QUIET)  # the MLflow server and in-process clients too
    rows: list[Row] = []
    for name in only:
        log(f"== {name} ({scale.name})")
        started = time.perf_counter()
        found = run_benchmark(name, scale, work, log)
        log(render_console(found))
        log(f"   {time.perf_counter() - started:.0f}s")
        rows.extend(found)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full",
                        help="full: 10,000 and 50,000 MLflow runs, 100,000 stored runs (what RESULTS.md reports); "
                             "small: a few minutes; smoke: seconds, what the test suite runs")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS + EXTRA, default=list(BENCHMARKS),
                        help="run only these benchmarks (reliability runs only when named)")
    parser.add_argument("--work", type=Path, help="keep seeded databases and stores here (default: a temp dir, removed)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="where results go (default: bench/out)")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md",
                        help="the results file to update (full scale only)")
    parser.add_argument("--no-results", action="store_true", help="do not update the results file")
    args = parser.parse_args(argv)

    scale = SCALES[args.scale]
    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = describe_machine()
    work = args.work or Path(tempfile.mkdtemp(prefix="harvester-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        rows = run_benchmarks(scale, work, args.only)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    command = "python -m bench" + ("" if args.scale == "full" else f" --scale {args.scale}")
    if list(args.only) != list(BENCHMARKS):
        command += " --only " + " ".join(args.only)
    json_path, md_path = write_outputs(args.out, rows, machine, scale.name, command, started_at, seconds)
    print(f"\n{render_console(rows)}\n\nwrote {json_path} and {md_path}")
    if scale.name == "full" and not args.no_results and "reliability" not in args.only:  # trials: not RESULTS.md
        update_results_file(args.results, render_section(rows, machine, scale.name, command, started_at, seconds))
        print(f"updated {args.results}")
    missed = [r for r in rows if r.verdict == "MISSED"]
    if missed:
        print(f"{len(missed)} target(s) missed: " + "; ".join(f"{r.benchmark} {r.case}" for r in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
