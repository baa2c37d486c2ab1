"""Reliability trials against a real `mlflow server`, by the hundred.

    python -m bench.reliability_bench --trials 100            # every trial type 100 times
    python -m bench.reliability_bench --kill 100 --fault 30 --concurrent 20

Each trial runs `harvester harvest` as a subprocess (`python -m harvester`, its own
HARVESTER_HOME) against a real MLflow server seeded with a few thousand runs for one user, then
compares the store it leaves with the store of a clean, uninterrupted harvest of the same data:
the same records (keys and contents), no duplicates, the same cursors, the same drafts
(fingerprints, statements and everything else a draft shows).

- kill:        SIGKILL at a random moment, then `harvester harvest` (no --since: it resumes from
               the cursor) to completion.
- drop/stall/reset: the harvest goes through bench/faults.py, which injects the fault into one
               request (a random one of the kind named, at a random point of its body). The
               faulted harvest must finish, or fail the source with one line on stderr and exit
               1 (no traceback); a following harvest with the proxy passing everything through
               must leave exactly the clean store.
- same-dir:    two harvests started at once with one app dir: one harvests, the other exits 75
               with one line (the OS lock).
- two-dirs-sqlite / two-dirs-postgres: two harvests at once with two app dirs (two machines)
               on one database: each exits 0 or 75, no traceback, nothing duplicated, the clean
               store.

The tests in tests/reliability/ run a handful of the same trials; this script prints a table
(trial, runs, passed, failures with a one-line cause) and writes JSON to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from bench.faults import Fault, fault_proxy
from bench.procs import child_env

BENCH_DIR = Path(__file__).resolve().parent
SOURCE = "mlflow-rel"
LOCK_EXIT = 75
PG_ENV = "HARVESTER_TEST_DATABASE_URL"
TRIALS = ("kill", "drop", "stall", "reset", "same-dir", "two-dirs-sqlite", "two-dirs-postgres")
# Short timeouts for the fault trials: a stall costs seconds, not minutes.
FAULT_TIMEOUT, FAULT_RETRIES = 2, 1
CLEAN_TIMEOUT, CLEAN_RETRIES = 30, 0

Log = Callable[[str], None]

CONFIG = """\
[identity]
name = "Ada Reliability"
email = "{email}"
handles = ["{me}"]

[store]
url = "{store}"

[harvest]
page_size = {page_size}

[connectors.{source}]
type = "mlflow"
tracking_uri = "{uri}"
ui_url = "{ui}"
experiments = ["rel-{tag}-*"]
max_retries = {retries}
timeout = {timeout}
max_results = {max_results}
"""


# the world: a slice of an MLflow server ----------------------------------------------------------


@dataclass
class World:
    """What one trial set harvests: experiments `rel-<tag>-*` on a running server, runs of one
    user (`me`) and of someone else, a few registered models built from my runs."""

    server_url: str
    tag: str
    me: str
    runs: int                 # my runs (what the harvest must store)
    other_runs: int
    models: int
    page_size: int = 100      # records committed per transaction: many committed pages
    max_results: int = 500    # runs per HTTP page: several runs/search requests per handle

    @property
    def email(self) -> str:
        return f"{self.me}@example.com"


def seed_world(server_url: str, backend_db: Path, runs: int = 2000, others: int = 300, models: int = 2,
               experiments: int = 3, seed: int = 5, tag: str | None = None, page_size: int = 100,
               max_results: int = 500) -> World:
    """Seed a private slice of the server: experiments through the client, runs bulk-inserted
    into the server's own tables (bench/mlflow_seed.py's shapes), models through the client."""
    import sqlalchemy as sa
    from mlflow import MlflowClient
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag

    from bench.mlflow_seed import TrackingData, fill_run

    tag = tag or uuid.uuid4().hex[:8]
    me, other = f"ada-{tag}", f"bob-{tag}"
    client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
    data = TrackingData(db=backend_db)
    for i in range(experiments):
        exp_id = client.create_experiment(f"rel-{tag}-{i}")
        data.experiments[exp_id] = f"rel-{tag}-{i}"
        data.artifact_roots[exp_id] = client.get_experiment(exp_id).artifact_location
    rng = random.Random(seed)
    exp_ids = sorted(data.experiments, key=int)
    end = data.now - timedelta(hours=2)
    users = [me] * runs + [other] * others
    rng.shuffle(users)
    running = 2  # a couple of my runs still going: the cursor keeps them to re-read
    rows: dict[str, list] = {"runs": [], "tags": [], "params": [], "metrics": []}
    mine_finished: list[str] = []
    for i, user in enumerate(users):
        still = user == me and i >= len(users) - 50 and running > 0
        running -= still
        fill_run(rows, rng, data, exp_ids[rng.randrange(len(exp_ids))], user, end, still)
        if user == me and not still:
            mine_finished.append(rows["runs"][-1]["run_uuid"])
    engine = sa.create_engine(data.uri)
    try:
        batch = 2000
        with engine.begin() as conn:
            for table, key in ((SqlRun, "runs"), (SqlTag, "tags"), (SqlParam, "params"), (SqlMetric, "metrics"),
                               (SqlLatestMetric, "metrics")):
                for j in range(0, len(rows[key]), batch):
                    conn.execute(table.__table__.insert(), rows[key][j:j + batch])
    finally:
        engine.dispose()
    for m in range(models):
        name = f"rel-{tag}-model-{m}"
        client.create_registered_model(name)
        version = None
        for v in range(2):
            run_id = mine_finished[(m * 2 + v) % len(mine_finished)]
            version = client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id).version
        client.set_registered_model_alias(name, "champion", str(version))
    return World(server_url=server_url, tag=tag, me=me, runs=data.runs_by_user.get(me, 0),
                 other_runs=data.runs_by_user.get(other, 0), models=models, page_size=page_size,
                 max_results=max_results)


def write_config(path: Path, world: World, store_url: str, tracking_uri: str | None = None,
                 retries: int = CLEAN_RETRIES, timeout: int = CLEAN_TIMEOUT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG.format(email=world.email, me=world.me, store=store_url, page_size=world.page_size,
                                  source=SOURCE, uri=tracking_uri or world.server_url, ui=world.server_url,
                                  tag=world.tag, retries=retries, timeout=timeout, max_results=world.max_results),
                    encoding="utf-8")
    return path


# running harvester ----------------------------------------------------------------------------------


@dataclass
class Proc:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def brief(self) -> str:
        last = self.stderr_lines[-1] if self.stderr_lines else (self.stdout.strip().splitlines() or [""])[-1]
        return f"exit {self.returncode}: {last[:200]}"


class Running:
    """A harvester subprocess in its own session (so a SIGKILL reaches nothing else)."""

    def __init__(self, cmd: Sequence[str], home: Path, cwd: Path, env: dict[str, str] | None = None):
        home.mkdir(parents=True, exist_ok=True)
        cwd.mkdir(parents=True, exist_ok=True)
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(list(cmd), stdout=self._out, stderr=self._err, cwd=cwd,
                                     env=harvest_env(home, env), start_new_session=True)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float = 600) -> Proc:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
        seconds = time.perf_counter() - self.started
        self._out.seek(0)
        self._err.seek(0)
        out, err = self._out.read().decode(errors="replace"), self._err.read().decode(errors="replace")
        self._out.close()
        self._err.close()
        return Proc(self.proc.returncode, out, err, seconds)


def harvest_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # The connector sets MLflow's retry variables from its table (max_retries, timeout) for its
    # own requests; they are set here too, so nothing else in the process waits longer.
    env = child_env(HARVESTER_HOME=str(home), MLFLOW_HTTP_REQUEST_MAX_RETRIES=str(FAULT_RETRIES),
                    MLFLOW_HTTP_REQUEST_TIMEOUT=str(FAULT_TIMEOUT), MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="0")
    env.update(extra or {})
    return env


def harvest_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harvester", "--config", str(config), "harvest", "--no-progress", *args]


def run_harvest(config: Path, home: Path, *args: str, timeout: float = 600) -> Proc:
    return Running(harvest_cmd(config, *args), home, config.parent).wait(timeout)


# the store, read back ------------------------------------------------------------------------------


def _canon(value: Any) -> Any:
    if isinstance(value, datetime):
        v = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return v.astimezone(timezone.utc).isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


RECORD_FIELDS = ("subject", "occurred_at", "actor", "mine", "title", "url", "attributes", "payload")
DRAFT_FIELDS = ("status", "kind", "source", "subject", "occurred_at", "statement", "impact_prompt", "metrics",
                "evidence", "tags", "edited", "linked")


@dataclass
class Snapshot:
    records: dict[tuple, tuple] = field(default_factory=dict)      # (source, kind, external_id) -> fields
    record_rows: int = 0
    duplicate_records: list[tuple] = field(default_factory=list)
    cursors: dict[tuple, dict] = field(default_factory=dict)       # (source, stream) -> value, seen_ids, state
    drafts: dict[str, tuple] = field(default_factory=dict)         # fingerprint -> fields
    draft_rows: int = 0
    duplicate_statements: list[str] = field(default_factory=list)
    harvest_runs: list[str] = field(default_factory=list)          # statuses, oldest first
    exists: bool = True

    def kinds(self) -> Counter:
        return Counter(k[1] for k in self.records)


def snapshot(url: str) -> Snapshot:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    snap = Snapshot()
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("records"):
                return Snapshot(exists=False)
            md = sa.MetaData()
            records = sa.Table("records", md, autoload_with=conn)
            cursors = sa.Table("cursors", md, autoload_with=conn)
            drafts = sa.Table("drafts", md, autoload_with=conn)
            runs = sa.Table("harvest_runs", md, autoload_with=conn)
            for r in conn.execute(sa.select(records)).mappings():
                key = (r["source"], r["kind"], r["external_id"])
                snap.record_rows += 1
                if key in snap.records:
                    snap.duplicate_records.append(key)
                snap.records[key] = tuple(_canon(r[f]) for f in RECORD_FIELDS)
            for r in conn.execute(sa.select(cursors)).mappings():
                snap.cursors[(r["source"], r["stream"])] = {"value": r["value"], "seen_ids": sorted(r["seen_ids"] or []),
                                                            "state": r["state"] or {}}
            statements = Counter()
            for r in conn.execute(sa.select(drafts)).mappings():
                snap.draft_rows += 1
                snap.drafts[r["fingerprint"]] = tuple(_canon(r[f]) for f in DRAFT_FIELDS)
                statements[r["statement"]] += 1
            snap.duplicate_statements = sorted(s for s, n in statements.items() if n > 1)
            snap.harvest_runs = [r[0] for r in conn.execute(sa.select(runs.c.status).order_by(runs.c.id))]
    finally:
        engine.dispose()
    return snap


def compare(clean: Snapshot, got: Snapshot) -> list[str]:
    """One line per way `got` differs from the clean store (empty: the same)."""
    if not got.exists:
        return ["the store has no tables"]
    causes = []
    if got.duplicate_records or got.record_rows != len(got.records):
        causes.append(f"{got.record_rows - len(got.records)} duplicated records, e.g. {got.duplicate_records[:1]}")
    missing = sorted(clean.records.keys() - got.records.keys())
    extra = sorted(got.records.keys() - clean.records.keys())
    if missing:
        causes.append(f"{len(missing)} of {len(clean.records)} records missing, e.g. {missing[0][1]} {missing[0][2]}")
    if extra:
        causes.append(f"{len(extra)} records not in the clean store, e.g. {extra[0][1]} {extra[0][2]}")
    changed = [k for k in clean.records.keys() & got.records.keys() if clean.records[k] != got.records[k]]
    if changed:
        k = sorted(changed)[0]
        fields = [f for f, a, b in zip(RECORD_FIELDS, clean.records[k], got.records[k]) if a != b]
        causes.append(f"{len(changed)} records differ, e.g. {k[1]} {k[2]} in {', '.join(fields)}")
    if clean.cursors.keys() != got.cursors.keys():
        causes.append(f"cursors {sorted(got.cursors)} instead of {sorted(clean.cursors)}")
    for key in sorted(clean.cursors.keys() & got.cursors.keys()):
        a, b = clean.cursors[key], got.cursors[key]
        if key[1] == "registry":  # its value is the time of the harvest; the state must match
            if a["state"] != b["state"]:
                causes.append(f"cursor {key[1]}: state differs")
            try:
                datetime.fromisoformat(b["value"])
            except (TypeError, ValueError):
                causes.append(f"cursor {key[1]}: value {b['value']!r} is not a time")
        elif a != b:
            what = [k for k in a if a[k] != b[k]]
            causes.append(f"cursor {key[1]}: {', '.join(what)} differ ({b['state'].get('marks') or ''})")
    if got.draft_rows != len(got.drafts):
        causes.append(f"{got.draft_rows - len(got.drafts)} duplicated draft fingerprints")
    if got.duplicate_statements:
        causes.append(f"{len(got.duplicate_statements)} statements drafted twice")
    d_missing = clean.drafts.keys() - got.drafts.keys()
    d_extra = got.drafts.keys() - clean.drafts.keys()
    if d_missing or d_extra:
        causes.append(f"drafts: {len(d_missing)} missing, {len(d_extra)} extra (clean has {len(clean.drafts)})")
    d_changed = [k for k in clean.drafts.keys() & got.drafts.keys() if clean.drafts[k] != got.drafts[k]]
    if d_changed:
        k = sorted(d_changed)[0]
        fields = [f for f, a, b in zip(DRAFT_FIELDS, clean.drafts[k], got.drafts[k]) if a != b]
        causes.append(f"{len(d_changed)} drafts differ, e.g. in {', '.join(fields)}")
    if got.harvest_runs and got.harvest_runs[-1] != "ok":
        causes.append(f"the last harvest run is {got.harvest_runs[-1]!r}")
    return causes


def phase(clean: Snapshot, url: str) -> str:
    """Where a killed harvest had got to, from what it committed."""
    got = snapshot(url)
    if not got.exists:
        return "before the store existed"
    kinds, want = got.kinds(), clean.kinds()
    runs_kind = "run"
    if not got.records:
        return "before the first page"
    if kinds[runs_kind] < want[runs_kind]:
        return "runs stream"
    if sum(kinds.values()) < sum(want.values()):
        return "registry stream"
    if len(got.drafts) < len(clean.drafts) or not got.harvest_runs or got.harvest_runs[-1] != "ok":
        return "drafting"
    return "after the drafts"


# trials -----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    trial: str
    ok: bool
    cause: str = ""
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)


@dataclass
class Reference:
    """The clean store: one uninterrupted `harvest --since 90d` of the world."""

    world: World
    snapshot: Snapshot
    seconds: float


def clean_reference(world: World, work: Path) -> Reference:
    folder = work / f"clean-{uuid.uuid4().hex[:6]}"
    url = f"sqlite:///{folder / 'store.db'}"
    cfg = write_config(folder / "harvester.toml", world, url)
    proc = run_harvest(cfg, folder / "home", "--since", "90d")
    if proc.returncode != 0:
        raise RuntimeError(f"the clean harvest failed: {proc.brief()}\n{proc.stderr[-3000:]}")
    snap = snapshot(url)
    runs = sum(1 for k in snap.records if k[1] == "run")
    if runs != world.runs:
        raise RuntimeError(f"the clean harvest stored {runs} runs; {world.runs} were seeded for {world.me}")
    if not snap.drafts:
        raise RuntimeError("the clean harvest drafted nothing: the comparison would be weak")
    return Reference(world, snap, proc.seconds)


def _trial_dir(work: Path, name: str) -> Path:
    folder = work / f"{name}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def trial_kill(ref: Reference, work: Path, delay: float) -> Outcome:
    """SIGKILL `delay` seconds after start, then harvest again (from the cursor) to the end."""
    folder = _trial_dir(work, "kill")
    url = f"sqlite:///{folder / 'store.db'}"
    cfg = write_config(folder / "harvester.toml", ref.world, url)
    running = Running(harvest_cmd(cfg, "--since", "90d"), folder / "home", folder)
    time.sleep(delay)
    finished_first = running.proc.poll() is not None
    running.kill()
    killed = running.wait()
    # It can finish between the poll and the signal: a clean exit then, not a survived kill.
    finished_first = finished_first or killed.returncode == 0
    where = phase(ref.snapshot, url)
    detail = {"delay": round(delay, 2), "phase": "finished before the kill" if finished_first else where,
              "killed_exit": killed.returncode}
    if not finished_first and killed.returncode != -signal.SIGKILL:
        return Outcome("kill", False, f"the harvest did not die of SIGKILL ({killed.brief()})", killed.seconds, detail)
    rerun = run_harvest(cfg, folder / "home")
    detail["rerun_seconds"] = round(rerun.seconds, 2)
    if rerun.returncode != 0 or rerun.traceback:
        return Outcome("kill", False, f"the re-run after kill at {where} failed: {rerun.brief()}",
                       killed.seconds + rerun.seconds, detail)
    causes = compare(ref.snapshot, snapshot(url))
    return Outcome("kill", not causes, f"killed in {where}: " + "; ".join(causes) if causes else "",
                   killed.seconds + rerun.seconds, detail)


def check_one_line_failure(proc: Proc) -> str | None:
    """None when `proc` failed its source the way the CLI promises: exit 1, one line on stderr
    naming the source, no traceback."""
    if proc.traceback:
        return f"traceback on stderr: {proc.stderr_lines[-1][:200]}"
    if proc.returncode != 1:
        return f"exit {proc.returncode} (expected 0, or 1 for a failed source)"
    lines = proc.stderr_lines
    if len(lines) != 1 or not lines[0].startswith(f"  ! {SOURCE}:"):
        return f"{len(lines)} stderr lines, not one naming the source: {' | '.join(lines)[:200]}"
    return None


def trial_fault(ref: Reference, work: Path, fault: Fault) -> Outcome:
    """Harvest through the fault proxy; then again with the proxy passing everything."""
    folder = _trial_dir(work, fault.kind)
    url = f"sqlite:///{folder / 'store.db'}"
    with fault_proxy(ref.world.server_url, fault) as proxy:
        cfg = write_config(folder / "harvester.toml", ref.world, url, tracking_uri=proxy.url,
                           retries=FAULT_RETRIES, timeout=FAULT_TIMEOUT)
        first = run_harvest(cfg, folder / "home", "--since", "90d")
        injected = proxy.injected
        detail = {"fault": fault.describe(), "first_exit": first.returncode, "first_seconds": round(first.seconds, 2),
                  "requests": len(proxy.log)}
        if not injected:
            return Outcome(fault.kind, False, f"the fault was never injected ({fault.describe()}, "
                                              f"{proxy.requests(fault.match)} matching requests)", first.seconds, detail)
        detail["result"] = "absorbed (harvest completed)" if first.returncode == 0 else "source failed, one line"
        if first.returncode != 0:
            problem = check_one_line_failure(first)
            if problem:
                return Outcome(fault.kind, False, f"{fault.describe()}: {problem}", first.seconds, detail)
            detail["error"] = first.stderr_lines[0].strip()[:300]
        elif first.traceback:
            return Outcome(fault.kind, False, f"traceback on a completed harvest: {first.stderr_lines[-1][:200]}",
                           first.seconds, detail)
        proxy.disarm()
        second = run_harvest(cfg, folder / "home")
        seconds = first.seconds + second.seconds
        if second.returncode != 0 or second.traceback:
            return Outcome(fault.kind, False, f"the clean harvest after {fault.describe()} failed: {second.brief()}",
                           seconds, detail)
    causes = compare(ref.snapshot, snapshot(url))
    return Outcome(fault.kind, not causes, f"{fault.describe()}: " + "; ".join(causes) if causes else "",
                   seconds, detail)


def check_lock_exit(proc: Proc) -> str | None:
    """None when `proc` was turned away by a lock as promised: exit 75, one line, no traceback."""
    if proc.traceback:
        return f"traceback on stderr: {proc.stderr_lines[-1][:200]}"
    if proc.returncode != LOCK_EXIT:
        return f"exit {proc.returncode}"
    if len(proc.stderr_lines) != 1:
        return f"{len(proc.stderr_lines)} stderr lines on exit 75: {' | '.join(proc.stderr_lines)[:200]}"
    return None


def _start_together(configs: Sequence[tuple[Path, Path]]) -> list[Proc]:
    runs = [Running(harvest_cmd(cfg, "--since", "90d"), home, cfg.parent) for cfg, home in configs]
    return [r.wait() for r in runs]


def trial_same_app_dir(ref: Reference, work: Path) -> Outcome:
    """Two harvests at once, one app dir: one harvests, the other exits 75 with one line."""
    folder = _trial_dir(work, "same-dir")
    url = f"sqlite:///{folder / 'store.db'}"
    cfg = write_config(folder / "harvester.toml", ref.world, url)
    a, b = _start_together([(cfg, folder / "home"), (cfg, folder / "home")])
    detail = {"exits": sorted([a.returncode, b.returncode])}
    seconds = max(a.seconds, b.seconds)
    if sorted([a.returncode, b.returncode]) != [0, LOCK_EXIT]:
        return Outcome("same-dir", False, f"exits {a.brief()} / {b.brief()} (expected 0 and 75)", seconds, detail)
    loser = a if a.returncode == LOCK_EXIT else b
    detail["turned_away"] = (loser.stderr_lines or [""])[0][:200]
    problem = check_lock_exit(loser) or (None if "Another harvest is running" in loser.stderr
                                         else f"the 75 line does not say the lock is held: {loser.stderr_lines}")
    if problem:
        return Outcome("same-dir", False, problem, seconds, detail)
    causes = compare(ref.snapshot, snapshot(url))
    return Outcome("same-dir", not causes, "; ".join(causes), seconds, detail)


def trial_two_app_dirs(ref: Reference, work: Path, store_url: str, name: str) -> Outcome:
    """Two harvests at once with two app dirs (two machines) on one database."""
    folder = _trial_dir(work, name)
    configs = [(write_config(folder / f"m{i}" / "harvester.toml", ref.world, store_url), folder / f"m{i}" / "home")
               for i in (1, 2)]
    procs = _start_together(configs)
    seconds = max(p.seconds for p in procs)
    detail = {"exits": sorted(p.returncode for p in procs)}
    for p in procs:
        if p.returncode == LOCK_EXIT and p.stderr_lines:
            detail["turned_away"] = p.stderr_lines[0][:200]
    problems = []
    for i, p in enumerate(procs, 1):
        if p.traceback:
            problems.append(f"machine {i}: traceback ({p.stderr_lines[-1][:160]})")
        elif p.returncode == LOCK_EXIT:
            problem = check_lock_exit(p)
            if problem:
                problems.append(f"machine {i}: {problem}")
        elif p.returncode != 0:
            problems.append(f"machine {i}: {p.brief()}")
    if problems:
        return Outcome(name, False, "; ".join(problems), seconds, detail)
    if 0 not in detail["exits"]:
        return Outcome(name, False, "neither harvest ran (both exited 75)", seconds, detail)
    causes = compare(ref.snapshot, snapshot(store_url))
    return Outcome(name, not causes, "; ".join(causes), seconds, detail)


# databases for the two-machine trial ----------------------------------------------------------------------


class PostgresSchemas:
    """A fresh schema per trial on the server at `base` (HARVESTER_TEST_DATABASE_URL)."""

    def __init__(self, base: str):
        import sqlalchemy as sa

        self.base = base
        self.admin = sa.create_engine(base)

    def create(self) -> tuple[str, str]:
        import sqlalchemy as sa

        schema = f"rel_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in self.base else "?"
        return schema, f"{self.base}{sep}options=-csearch_path%3D{schema}"

    def drop(self, schema: str) -> None:
        import sqlalchemy as sa

        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    def close(self) -> None:
        self.admin.dispose()


def trial_two_dirs_sqlite(ref: Reference, work: Path) -> Outcome:
    folder = _trial_dir(work, "shared-db")
    return trial_two_app_dirs(ref, work, f"sqlite:///{folder / 'store.db'}", "two-dirs-sqlite")


def trial_two_dirs_postgres(ref: Reference, work: Path, schemas: PostgresSchemas) -> Outcome:
    schema, url = schemas.create()
    try:
        return trial_two_app_dirs(ref, work, url, "two-dirs-postgres")
    finally:
        schemas.drop(schema)


# random trial points ----------------------------------------------------------------------------------


def random_fault(kind: str, rng: random.Random, counts: dict[str, int]) -> Fault:
    """A fault on a random request of a random endpoint the clean harvest used, at a random
    point of its body (or before the response, a quarter of the time)."""
    endpoints = sorted(counts)
    match = rng.choice(endpoints)
    nth = rng.randint(1, counts[match])
    at = None if rng.random() < 0.25 else round(rng.uniform(0.02, 0.98), 3)
    return Fault(kind, match=match, nth=nth, at=at, stall_seconds=FAULT_TIMEOUT * 4)


def endpoint_counts(ref: Reference, work: Path) -> dict[str, int]:
    """Requests per endpoint of a clean harvest, through the proxy with no fault."""
    folder = _trial_dir(work, "count")
    with fault_proxy(ref.world.server_url) as proxy:
        cfg = write_config(folder / "harvester.toml", ref.world, f"sqlite:///{folder / 'store.db'}",
                           tracking_uri=proxy.url, retries=FAULT_RETRIES, timeout=FAULT_TIMEOUT)
        proc = run_harvest(cfg, folder / "home", "--since", "90d")
        if proc.returncode != 0:
            raise RuntimeError(f"the harvest through the proxy failed: {proc.brief()}")
        counts = Counter(r.path.split("/api/2.0/mlflow/", 1)[-1] for r in proxy.log)
    return dict(counts)


def kill_delays(n: int, rng: random.Random, lo: float, hi: float) -> list[float]:
    return [rng.uniform(lo, hi) for _ in range(n)]


# the bench --------------------------------------------------------------------------------------------


@dataclass
class Tally:
    trial: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.ok for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def causes(self) -> Counter:
        return Counter(o.cause for o in self.failures)


def run_trials(counts: dict[str, int], work: Path, runs: int = 3000, seed: int = 1, postgres: str | None = None,
               log: Log = print) -> tuple[dict[str, Tally], dict]:
    """Seed a private MLflow server, take the clean reference, run every trial type its count."""
    from tests.support.mlflow_server import start_mlflow_server

    os.environ.update({"PYTHONWARNINGS": "ignore", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    rng = random.Random(seed)
    folder = work / "mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    server = start_mlflow_server(folder)
    tallies = {name: Tally(name) for name in TRIALS if counts.get(name)}
    info: dict[str, Any] = {}
    schemas = PostgresSchemas(postgres) if postgres and counts.get("two-dirs-postgres") else None
    try:
        started = time.perf_counter()
        world = seed_world(server.url, folder / "mlflow.db", runs=runs, seed=seed)
        log(f"seeded {world.runs:,} runs for {world.me}, {world.other_runs:,} for someone else, {world.models} models "
            f"in {time.perf_counter() - started:.1f}s")
        ref = clean_reference(world, work)
        control = clean_reference(world, work)
        control_causes = compare(ref.snapshot, control.snapshot)
        if control_causes:
            raise RuntimeError("two clean harvests differ, so the comparison cannot judge a trial: "
                               + "; ".join(control_causes))
        info.update(world=asdict(world), clean_seconds=round(ref.seconds, 2),
                    clean_records=len(ref.snapshot.records), clean_drafts=len(ref.snapshot.drafts),
                    clean_kinds=dict(ref.snapshot.kinds()))
        log(f"clean harvest: {len(ref.snapshot.records):,} records, {len(ref.snapshot.drafts)} drafts in "
            f"{ref.seconds:.1f}s (a second clean harvest gives the same store)")
        requests = endpoint_counts(ref, work) if any(counts.get(k) for k in ("drop", "stall", "reset")) else {}
        info["requests_per_clean_harvest"] = requests
        plan: list[tuple[str, Callable[[], Outcome]]] = []
        for delay in kill_delays(counts.get("kill", 0), rng, 0.2, ref.seconds):
            plan.append(("kill", lambda d=delay: trial_kill(ref, work, d)))
        for kind in ("drop", "stall", "reset"):
            for _ in range(counts.get(kind, 0)):
                fault = random_fault(kind, rng, requests)
                plan.append((kind, lambda f=fault: trial_fault(ref, work, f)))
        plan += [("same-dir", lambda: trial_same_app_dir(ref, work))] * counts.get("same-dir", 0)
        plan += [("two-dirs-sqlite", lambda: trial_two_dirs_sqlite(ref, work))] * counts.get("two-dirs-sqlite", 0)
        if schemas:
            plan += [("two-dirs-postgres", lambda: trial_two_dirs_postgres(ref, work, schemas))] * \
                counts.get("two-dirs-postgres", 0)
        elif counts.get("two-dirs-postgres"):
            tallies.pop("two-dirs-postgres")
            log(f"two-dirs-postgres skipped: no PostgreSQL URL ({PG_ENV} or --postgres)")
        for i, (name, trial) in enumerate(plan, 1):
            try:
                outcome = trial()
            except Exception as exc:  # a broken trial is a failure with its cause, not the end of the run
                outcome = Outcome(name, False, f"the trial itself raised {type(exc).__name__}: {exc}"[:300])
            tallies[name].outcomes.append(outcome)
            mark = "ok  " if outcome.ok else "FAIL"
            log(f"  [{i}/{len(plan)}] {mark} {name:<18} {outcome.seconds:5.1f}s "
                f"{json.dumps(outcome.detail, default=str)[:150]}{'  ' + outcome.cause if outcome.cause else ''}")
            _tidy(work)
    finally:
        server.stop()
        if schemas:
            schemas.close()
    return tallies, info


def _tidy(work: Path) -> None:
    """Trial folders hold a store and two app dirs each; keep the disk small over hundreds."""
    for child in work.iterdir():
        if child.is_dir() and child.name not in ("mlflow",) and not child.name.startswith(("clean-", "count-")):
            shutil.rmtree(child, ignore_errors=True)


def render_table(tallies: dict[str, Tally]) -> str:
    rows = [("trial", "runs", "passed", "failures (cause × count)")]
    for t in tallies.values():
        causes = "; ".join(f"{c} ×{n}" for c, n in t.causes().most_common(3)) or "—"
        rows.append((t.trial, str(len(t.outcomes)), str(t.passed), causes))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for row in rows:
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2]), row[3]]))
    return "\n".join(lines)


def summarize(tallies: dict[str, Tally]) -> dict:
    """Per trial: counts, where kills landed, how faults ended, time per trial."""
    out = {}
    for name, t in tallies.items():
        entry: dict[str, Any] = {"runs": len(t.outcomes), "passed": t.passed,
                                 "failures": [{"cause": c, "count": n} for c, n in t.causes().most_common()],
                                 "median_seconds": round(sorted(o.seconds for o in t.outcomes)[len(t.outcomes) // 2], 2)
                                 if t.outcomes else None}
        if name == "kill":
            entry["phases"] = dict(Counter(o.detail.get("phase", "?") for o in t.outcomes))
        if name in ("drop", "stall", "reset"):
            entry["results"] = dict(Counter(o.detail.get("result", "not injected") for o in t.outcomes))
        if name in ("same-dir", "two-dirs-sqlite", "two-dirs-postgres"):
            entry["exits"] = dict(Counter(str(o.detail.get("exits")) for o in t.outcomes))
        out[name] = entry
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10, help="runs of every trial type (default 10)")
    parser.add_argument("--kill", type=int, help="kill -9 trials (default: --trials)")
    parser.add_argument("--fault", type=int, help="trials of each proxy fault: drop, stall, reset (default: --trials)")
    parser.add_argument("--concurrent", type=int,
                        help="trials of each concurrency case: same-dir, two-dirs-sqlite, two-dirs-postgres "
                             "(default: --trials)")
    parser.add_argument("--only", nargs="+", choices=TRIALS, help="only these trial types")
    parser.add_argument("--runs", type=int, default=3000, help="my runs seeded on the server (default 3000)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the data, the kill delays and the faults")
    parser.add_argument("--postgres", default=os.environ.get(PG_ENV),
                        help=f"PostgreSQL URL for two-dirs-postgres (default: ${PG_ENV}; skipped when unset)")
    parser.add_argument("--work", type=Path, help="keep the server and reference stores here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="where the JSON goes (default bench/out)")
    args = parser.parse_args(argv)

    counts = {"kill": args.kill if args.kill is not None else args.trials}
    for k in ("drop", "stall", "reset"):
        counts[k] = args.fault if args.fault is not None else args.trials
    for k in ("same-dir", "two-dirs-sqlite", "two-dirs-postgres"):
        counts[k] = args.concurrent if args.concurrent is not None else args.trials
    if args.only:
        counts = {k: (n if k in args.only else 0) for k, n in counts.items()}

    from bench.machine import describe_machine

    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = describe_machine()
    work = args.work or Path(tempfile.mkdtemp(prefix="harvester-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        tallies, info = run_trials(counts, work, runs=args.runs, seed=args.seed, postgres=args.postgres)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    command = "python -m bench.reliability_bench " + " ".join(argv if argv is not None else sys.argv[1:])
    table = render_table(tallies)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    result = {"command": command.strip(), "started_at": started_at, "seconds": round(seconds, 1),
              "machine": dict(machine), **info, "summary": summarize(tallies),
              "outcomes": {name: [asdict(o) for o in t.outcomes] for name, t in tallies.items()}}
    path = args.out / f"reliability-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    (args.out / "reliability.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(f"\n{table}\n\n{seconds:.0f}s; wrote {path}")
    return 0 if all(not t.failures for t in tallies.values()) else 1


def run_reliability(scale, work: Path, log: Log) -> list:
    """`python -m bench --only reliability`: a few trials of each type (more at larger scales)."""
    from bench.results import Row

    n = {"smoke": 1, "small": 5}.get(scale.name, 20)
    counts = {name: n for name in TRIALS}
    tallies, info = run_trials(counts, work / "reliability", runs=3000 if scale.name == "full" else 1000,
                               postgres=os.environ.get(PG_ENV), log=log)
    rows = []
    for name, t in tallies.items():
        causes = "; ".join(f"{c} ×{k}" for c, k in t.causes().most_common(2))
        rows.append(Row("reliability", f"{name}: {t.passed}/{len(t.outcomes)} passed", len(t.failures), "failures",
                        None, 0, causes or "the store equals a clean harvest's in every run"))
    return rows


if __name__ == "__main__":
    sys.exit(main())
