"""Where a backfill's time goes: one `harvester harvest --since 90d` against a real MLflow
server with the benchmark's world, under cProfile, split into the parts bench/RESULTS.md names.

    python -m bench.backfill_profile --runs 10000 [--keep DIR] [--top 25]

The parts are cumulative times of the functions that do each job, so they overlap nothing but
the whole: start-up (interpreter and imports before the harvest starts), waiting on the server
(socket reads), parsing (json_stream.py and trimming each run), record building (parse_run), storing
(Store.save_page: the change check, upserts, cursor), drafting (the rules and the drafts),
and the rest. The wall time of the same command without the profiler is given beside it,
with the raw HTTP floor of the same pages.
"""

from __future__ import annotations

import argparse
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.mlflow_bench import HANDLES, floor_cmd, harvester_cmd, write_config
from bench.mlflow_seed import seed_tracking
from bench.procs import child_env, run_timed

# part -> (file suffix, function name) whose cumulative time is that part
PARTS = {
    "waiting on the server (socket reads)": [("~", "<method 'recv_into' of '_socket.socket' objects>"),
                                             ("~", "<method 'read' of '_ssl._SSLSocket' objects>")],
    "parsing (runs stream, trimming)": [("connectors/mlflow/rest.py", "parse_runs_stream"),
                                       ("connectors/mlflow/rest.py", "trim_run_json")],
    "record building (parse_run)": [("connectors/mlflow/parse.py", "parse_run")],
    "storing (save_page)": [("harvester/store/records.py", "save_page")],
    "drafting (rules, drafts)": [("harvester/drafting/redraft.py", "redraft_if_changed")],
}


def profile_part(stats: pstats.Stats, targets: list[tuple[str, str]]) -> float:
    """Cumulative seconds of the targets, not counting a target called from within another."""
    total = 0.0
    for (filename, _, name), (_, _, _, cumulative, callers) in stats.stats.items():  # type: ignore[attr-defined]
        for suffix, wanted in targets:
            if name == wanted and filename.replace("\\", "/").endswith(suffix.lstrip("~")):
                nested = any(c[2] == t[1] for c in callers for t in targets)
                if not nested:
                    total += cumulative
    return total


def breakdown(profile: Path, wall: float, top: int) -> dict:
    stats = pstats.Stats(str(profile))
    total = max(s[3] for s in stats.stats.values())  # type: ignore[attr-defined]
    parts = {name: profile_part(stats, targets) for name, targets in PARTS.items()}
    imports = profile_part(stats, [("<frozen importlib._bootstrap>", "_find_and_load")])
    parts = {"imports": imports, **parts}
    parts["the rest"] = max(total - sum(parts.values()), 0.0)
    stats.sort_stats("tottime")
    heaviest = []
    for func in stats.fcn_list[:top]:  # type: ignore[attr-defined]
        _, _, tottime, cumulative, _ = stats.stats[func]  # type: ignore[attr-defined]
        heaviest.append({"function": f"{Path(func[0]).name}:{func[1]}:{func[2]}", "self_s": round(tottime, 3),
                         "cumulative_s": round(cumulative, 3)})
    return {"profiled_s": round(total, 2), "wall_unprofiled_s": round(wall, 2),
            "parts_s": {k: round(v, 2) for k, v in parts.items()}, "heaviest_by_self_time": heaviest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    parser.add_argument("--top", type=int, default=25, help="functions listed by self time")
    args = parser.parse_args(argv)
    from tests.support.mlflow_server import start_mlflow_server

    work = args.keep or Path(tempfile.mkdtemp(prefix="harvester-profile-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = seed_tracking(work / "mlflow", args.runs)
    print(f"seeded {data.runs:,} runs in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    server = start_mlflow_server(work / "mlflow")
    env = child_env(HARVESTER_HOME=str(work / "home"))
    try:
        since_ms = int((time.time() - 90 * 86400) * 1000)
        raw = run_timed(floor_cmd(server.url, since_ms, HANDLES, "bench.mlflow_raw_floor"), env=env,
                        cwd=Path(__file__).resolve().parent.parent).check("raw HTTP floor")
        plain = run_timed(harvester_cmd(write_config(work / "plain.toml", work / "plain.db", server.url),
                                        "--since", "90d"), env=env, cwd=work).check("harvest")
        profile = work / "backfill.prof"
        command = harvester_cmd(write_config(work / "profiled.toml", work / "profiled.db", server.url), "--since", "90d")
        command[1:3] = ["-m", "cProfile", "-o", str(profile), "-m", "harvester"]
        run_timed(command, env=env, cwd=work).check("profiled harvest")
        result = {"runs": data.runs, "raw_floor_s": round(raw.seconds, 2), **breakdown(profile, plain.seconds, args.top)}
    finally:
        server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
