"""Describe the machine a benchmark ran on: the numbers mean little without it."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    """The code measured: the commit, and whether the tool's code in the working tree differed from it."""
    import subprocess

    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "harvester", "connectors", "rules"], cwd=repo,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (plus uncommitted changes)" if dirty else head or "unknown"


def describe_machine() -> list[tuple[str, str]]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return [
        ("CPU", _cpu_model()),
        ("cores", f"{os.cpu_count()} ({usable} usable)"),
        ("load average at start (1, 5, 15 min)", load),
        ("RAM", _ram_gb()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", sys.version.split()[0]),
        ("mlflow (server, floor client)", _version("mlflow")),
        ("mlflow-skinny (harvester client)", _version("mlflow-skinny")),
        ("SQLAlchemy", _version("sqlalchemy")),
        ("pandas", _version("pandas")),
        ("SQLite", sqlite3.sqlite_version),
        ("harvester commit", _commit()),
    ]
