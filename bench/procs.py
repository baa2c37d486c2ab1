"""Run a command as a child process and measure it: wall time and the child's own peak RSS."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
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

    def json(self):
        return json.loads(self.stdout)

    def check(self, what: str) -> "Timed":
        if self.returncode != 0:
            raise RuntimeError(f"{what} exited with {self.returncode}:\n{self.stderr[-3000:]}\n{self.stdout[-2000:]}")
        return self


def run_timed(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 3600) -> Timed:
    """Wall time from spawn to exit, and ru_maxrss of this child alone (os.wait4 reports
    the usage of the one process waited for, not of every child this process ever had)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=cwd)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Timed(seconds=seconds, max_rss_mb=usage.ru_maxrss / 1024, returncode=proc.returncode,
                     stdout=out.read().decode(errors="replace"), stderr=err.read().decode(errors="replace"))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


QUIET = {"PYTHONWARNINGS": "ignore", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def child_env(**extra: str) -> dict[str, str]:
    """The current environment, quiet and without telemetry (no process under test may
    reach beyond loopback), with benchmark-specific additions."""
    env = dict(os.environ, **QUIET, **extra)
    env.pop("HARVESTER_CONFIG", None)
    return env
