"""Where a backfill's time goes: one `harvester harvest --since 90d` against a real MLflow
server with the benchmark's world, under cProfile, split into the parts bench/RESULTS.md names.

    python -m bench.backfill_profile --runs 10000 [--keep DIR] [--top 25]

The parts add up to the whole: each function's own time is counted in the part of its module
(a C function's in its caller's): waiting on the server (socket reads), imports, parsing the
answers, record building, storing (and the drafting pass reading records back), rules and
drafting, the HTTP client, other. The drafting pass is also given whole (its cumulative time).
The profiler slows Python code more than C code and waiting, so the wall time of the same
command without it is given beside, with the raw HTTP floor of the same pages.
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

# Parts by where the time is spent (self time of each function, by its module); the time of
# C functions is given to the part of the Python function that called them.
PARTS = (
    ("waiting on the server", ("recv_into", "_ssl._SSLSocket")),
    ("imports", ("importlib", "marshal", "builtins.compile", "_imp.")),
    ("parsing the answers", ("connectors/mlflow/rest.py", "connectors/mlflow/json_stream.py", "json/decoder.py",
                             "codecs.py", "/ijson/", "_yajl2")),
    ("mlflow's client", ("site-packages/mlflow/", "google/protobuf")),
    ("record building", ("connectors/mlflow/parse.py", "harvester/records.py", "harvester/models.py",
                         "connectors/base.py", "connectors/coerce.py", "connectors/mlflow/links.py")),
    ("storing (and reading back)", ("harvester/store/", "sqlalchemy/", "sqlite3", "json/encoder.py")),
    ("rules and drafting", ("pandas/", "numpy/", "pyarrow/", "/rules/", "harvester/drafting/")),
    ("HTTP client", ("requests/", "urllib3/", "http/client.py", "socket.py", "connectors/mlflow/transport.py")),
)


def part_of(func: tuple[str, int, str]) -> str | None:
    """The part a function's own time belongs to; None for a C function (its caller's part)."""
    where = f"{func[0]}:{func[2]}".replace("\\", "/")
    for part, marks in PARTS:
        if any(mark in where for mark in marks):
            return part
    return None if func[0] == "~" else "other"


def breakdown(profile: Path, wall: float, top: int) -> dict:
    stats = pstats.Stats(str(profile))
    table = stats.stats  # type: ignore[attr-defined]
    parts: dict[str, float] = {}
    for func, (_, _, tottime, _, callers) in table.items():
        part = part_of(func)
        if part is not None:
            parts[part] = parts.get(part, 0.0) + tottime
            continue
        shares = {caller: timing[2] for caller, timing in callers.items()} or {("", 0, ""): tottime}
        whole = sum(shares.values()) or 1.0
        for caller, share in shares.items():
            named = part_of(caller) or "other"
            parts[named] = parts.get(named, 0.0) + tottime * share / whole
    drafting = sum(v[3] for f, v in table.items() if f[2] == "redraft_if_changed")
    stats.sort_stats("tottime")
    heaviest = []
    for func in stats.fcn_list[:top]:  # type: ignore[attr-defined]
        _, _, tottime, cumulative, _ = table[func]
        heaviest.append({"function": f"{Path(func[0]).name}:{func[1]}:{func[2]}", "self_s": round(tottime, 3),
                         "cumulative_s": round(cumulative, 3)})
    return {"profiled_s": round(sum(parts.values()), 2), "wall_unprofiled_s": round(wall, 2),
            "parts_s": {k: round(v, 2) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])},
            "drafting_pass_cumulative_s": round(drafting, 2), "heaviest_by_self_time": heaviest}


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
