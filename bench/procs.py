"""Run a command as a child process and measure it: wall time and the child's own peak RSS."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class Timed:
    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system of the command alone: less moved by load than wall time

    def json(self):
        return json.loads(self.stdout)

    def check(self, what: str) -> "Timed":
        if self.returncode != 0:
            raise RuntimeError(f"{what} exited with {self.returncode}:\n{self.stderr[-3000:]}\n{self.stdout[-2000:]}")
        return self


# A small launcher between the benchmark and the measured command. On Linux a child's
# ru_maxrss starts from the RSS of the process it was forked from (exec keeps the high-water
# mark of the forked copy), so a command spawned straight from a benchmark process that has
# grown to 300 MB would report at least 300 MB. Forked from this ~10 MB launcher instead, the
# command reports its own peak. The launcher also times fork to exit, leaving out its own start.
LAUNCHER = """
import json, os, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as f:
    json.dump({"seconds": seconds, "max_rss_kb": usage.ru_maxrss, "returncode": os.waitstatus_to_exitcode(status),
               "cpu_seconds": usage.ru_utime + usage.ru_stime}, f)
"""


def run_timed(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 3600) -> Timed:
    """Wall time from spawn to exit and the peak RSS of the command alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as report:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, report.name, *cmd], stdout=out, stderr=err,
                                env=env, cwd=cwd, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"{cmd[0]} did not finish within {timeout:.0f}s") from None
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        try:
            measured = json.loads(Path(report.name).read_text() or "{}")
        except ValueError:
            measured = {}
        if not measured:
            raise RuntimeError(f"the launcher for {cmd[0]} failed ({proc.returncode}):\n{stderr[-2000:]}")
        return Timed(seconds=measured["seconds"], max_rss_mb=measured["max_rss_kb"] / 1024,
                     returncode=measured["returncode"], stdout=stdout, stderr=stderr,
                     cpu_seconds=measured.get("cpu_seconds", 0.0))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


QUIET = {"PYTHONWARNINGS": "ignore", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def child_env(**extra: str) -> dict[str, str]:
    """The current environment, quiet and without telemetry (no process under test may
    reach beyond loopback), with benchmark-specific additions."""
    env = dict(os.environ, **QUIET, **extra)
    env.pop("HARVESTER_CONFIG", None)
    # As on a user's machine, where Python keeps the compiled modules: a process told not to
    # write them compiles every module of the project's own again at each start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
