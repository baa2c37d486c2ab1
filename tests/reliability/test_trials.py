"""Reliability trials in CI, a handful of each (bench/reliability_bench.py runs them by the
hundred): kill -9 at random points, faults injected by a proxy, concurrent harvests on one and
on two machines. Every trial compares the store it leaves with a clean harvest's."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3

import pytest

from bench.faults import Fault
from bench.reliability_bench import (PG_ENV, PostgresSchemas, clean_reference, compare, seed_world, snapshot,
                                     trial_fault, trial_kill, trial_same_app_dir, trial_two_dirs_postgres,
                                     trial_two_dirs_sqlite)

pytestmark = pytest.mark.mlflow_server

KILL_SEED = 20261201


@pytest.fixture(scope="module")
def reference(mlflow_server, tmp_path_factory):
    """A private slice of the session server (its own experiments, user and models) and the
    store one clean, uninterrupted harvest of it leaves."""
    work = tmp_path_factory.mktemp("reliability")
    world = seed_world(mlflow_server.url, mlflow_server.folder / "mlflow.db", runs=1500, others=200, seed=3)
    return clean_reference(world, work), work


def explain(outcome) -> str:
    return f"{outcome.trial}: {outcome.cause} ({outcome.detail})"


def test_the_comparison_catches_a_damaged_store(reference):
    """The trials can fail: a store missing a page, with a moved cursor or a reworded draft is caught."""
    ref, work = reference
    clean_db = next(work.glob("clean-*/store.db"))
    damaged = work / "damaged.db"
    shutil.copy(clean_db, damaged)
    with sqlite3.connect(damaged) as db:
        db.execute("DELETE FROM records WHERE id IN (SELECT id FROM records WHERE kind = 'run' LIMIT 100)")
        db.execute("UPDATE cursors SET value = '2001-01-01T00:00:00+00:00' WHERE stream = 'runs'")
        db.execute("UPDATE drafts SET statement = statement || '!' WHERE id = (SELECT min(id) FROM drafts)")
    causes = compare(ref.snapshot, snapshot(f"sqlite:///{damaged}"))
    assert any("100 of" in c and "records missing" in c for c in causes), causes
    assert any(c.startswith("cursor runs") for c in causes), causes
    assert any("drafts differ" in c and "statement" in c for c in causes), causes
    assert compare(ref.snapshot, snapshot(f"sqlite:///{clean_db}")) == []


@pytest.mark.parametrize("point", [0, 1, 2])
def test_kill_9_at_a_random_point_then_resume(reference, point):
    """SIGKILL somewhere in the middle third to the end of a backfill (a fixed seed per point),
    then `harvester harvest` from the cursor: the clean store, nothing duplicated."""
    ref, work = reference
    rng = random.Random(KILL_SEED + point)
    lo, hi = [(0.35, 0.55), (0.55, 0.75), (0.75, 0.95)][point]
    outcome = trial_kill(ref, work, delay=ref.seconds * rng.uniform(lo, hi))
    assert outcome.ok, explain(outcome)
    assert outcome.detail["killed_exit"] == -9 or outcome.detail["phase"] == "finished before the kill"


@pytest.mark.parametrize("fault", [
    Fault("drop", match="runs/search", nth=2, at=0.5),
    Fault("stall", match="runs/search", nth=1, at=0.3, stall_seconds=10),
    Fault("reset", match="runs/search", nth=3, at=None, times=2),
], ids=["drop-mid-body", "stall-mid-body", "reset-twice"])
def test_a_proxy_fault_fails_one_line_or_is_absorbed_and_the_next_harvest_heals(reference, fault):
    ref, work = reference
    outcome = trial_fault(ref, work, fault)
    assert outcome.ok, explain(outcome)
    assert outcome.detail["first_seconds"] < 30, "a stall must cost seconds, not minutes"


def test_two_harvests_one_app_dir_one_waits_for_the_os_lock(reference):
    ref, work = reference
    outcome = trial_same_app_dir(ref, work)
    assert outcome.ok, explain(outcome)


def test_two_machines_on_one_sqlite_database(reference):
    ref, work = reference
    outcome = trial_two_dirs_sqlite(ref, work)
    assert outcome.ok, explain(outcome)


@pytest.mark.postgres
def test_two_machines_on_one_postgres_database(reference):
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    ref, work = reference
    schemas = PostgresSchemas(base)
    try:
        outcome = trial_two_dirs_postgres(ref, work, schemas)
    finally:
        schemas.close()
    assert outcome.ok, explain(outcome)
