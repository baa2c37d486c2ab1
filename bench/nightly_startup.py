"""Start-up of a nightly harvest: `harvester harvest` with nothing new against the real
`mlflow server`, split into what its imports cost and the rest.

The import part is measured, not estimated: one nightly run under `-X importtime` names the
modules the harvest imports at top level, and a process that imports exactly those, in that
order, and nothing else, is timed interleaved with the nightly run. A third process imports
only mlflow's client (what the connector needs for experiments and the registry), for its share.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from bench.procs import child_env, median, run_timed
from bench.results import Row

MLFLOW_CLIENT = "from mlflow import MlflowClient; from mlflow.entities import ViewType"
# Some are optional imports the harvest tried and missed (mlflow probes for a Databricks runtime).
IMPORT_EACH = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
"""


def top_level_imports(importtime: str) -> list[str]:
    """The modules `-X importtime` shows at depth 0, in import order, without entry points."""
    names = []
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        name = line.split("|", 2)[2]
        if not name.startswith("  ") and not name.strip().endswith("__main__"):
            names.append(name.strip())
    return names


def count_imports(importtime: str, package: str = "") -> int:
    return sum(1 for line in importtime.splitlines() if line.startswith("import time:") and "self [us]" not in line
               and line.split("|", 2)[2].strip().split(".")[0].startswith(package))


def measure_nightly_startup(harvest: list[str], work: Path, repeats: int, log: Callable[[str], None]) -> Row:
    """`harvest` is the nightly command, `python -m harvester ... harvest`, its store already backfilled."""
    env = child_env(HARVESTER_HOME=str(work / "home"))
    traced = run_timed([harvest[0], "-X", "importtime", *harvest[1:]], env=env, cwd=work).check("nightly, importtime")
    modules = top_level_imports(traced.stderr)
    imports = [sys.executable, "-c", IMPORT_EACH, *modules]
    client = [sys.executable, "-c", MLFLOW_CLIENT]
    times: dict[str, list[float]] = {"nightly": [], "imports": [], "client": []}
    for _ in range(repeats):
        times["nightly"].append(run_timed(harvest, env=env, cwd=work).check("nightly harvest").seconds)
        times["imports"].append(run_timed(imports, env=env, cwd=work).check("nightly imports").seconds)
        times["client"].append(run_timed(client, env=env, cwd=work).check("mlflow client import").seconds)
    nightly, imported, mlflow = (median(times[k]) for k in ("nightly", "imports", "client"))
    log(f"nightly {nightly:.2f}s: imports {imported:.2f}s (mlflow client alone {mlflow:.2f}s), "
        f"the rest {nightly - imported:.2f}s")
    return Row("startup", "nightly `harvester harvest`, nothing new, real MLflow server: all vs its imports",
               nightly, "s", imported, None,
               f"median of {repeats} interleaved runs each; floor = a process importing the harvest's "
               f"{count_imports(traced.stderr)} modules ({count_imports(traced.stderr, 'mlflow')} of them mlflow's) "
               f"and nothing else: imports {imported:.2f}s + the rest (config, store, the nightly requests, no drafting) "
               f"{nightly - imported:.2f}s; `{MLFLOW_CLIENT}` alone takes {mlflow:.2f}s; spread "
               f"{min(times['nightly']):.2f}–{max(times['nightly']):.2f}s vs "
               f"{min(times['imports']):.2f}–{max(times['imports']):.2f}s")
