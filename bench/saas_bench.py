"""Benchmark 6: requests per harvest against the minimum pages for the SaaS sources (GitHub,
GitLab, Jira, Linear, W&B, the Hugging Face Hub, MLflow on Databricks), measured with recorded
responses (a loopback workspace for Databricks): no network, so the count is exact and the same on
every machine.

Each source is a SaasCase. Its `measure` builds recorded pages for a history of a given
size, runs the real harvest loop over them with the connector configured as a user would,
and returns rows comparing the requests made with the minimum pages that history needs.
A source whose connector is not installed yet is reported as pending.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.results import Row
from bench.scales import Scale

Measure = Callable[[Scale, Path], list[Row]]


@dataclass(frozen=True)
class SaasCase:
    source: str
    module: str                     # the connector module that must import for the case to run
    measure: Measure | None = None  # None: the measurement is not written yet


def pending_row(case: SaasCase, why: str) -> Row:
    return Row("saas", f"{case.source}: requests per harvest vs minimum pages", None, "requests",
               status="pending", note=why)


def connector_available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _measure(name: str) -> Measure:
    def measure(scale: Scale, folder: Path) -> list[Row]:
        from bench import saas_cases

        return getattr(saas_cases, f"measure_{name}")(scale, folder)

    return measure


CASES: tuple[SaasCase, ...] = (
    SaasCase("github", "harvester.connectors.github.connector", _measure("github")),
    SaasCase("jira", "harvester.connectors.jira.connector", _measure("jira")),
    SaasCase("linear", "harvester.connectors.linear.connector", _measure("linear")),
    SaasCase("wandb", "harvester.connectors.wandb.connector", _measure("wandb")),
    SaasCase("gitlab", "harvester.connectors.gitlab.connector", _measure("gitlab")),
    SaasCase("huggingface", "harvester.connectors.huggingface.connector", _measure("huggingface")),
    SaasCase("databricks", "harvester.connectors.mlflow.unity_catalog", _measure("databricks")),
)


def run_saas(scale: Scale, work: Path, log: Callable[[str], None]) -> list[Row]:
    rows = []
    for case in CASES:
        if not connector_available(case.module):
            rows.append(pending_row(case, "connector not in the tree yet"))
        elif case.measure is None:
            rows.append(pending_row(case, "connector landed; recorded-response measurement not written yet"))
        else:
            rows.extend(case.measure(scale, work / case.source))
        log(f"{case.source}: {rows[-1].verdict}")
    return rows
