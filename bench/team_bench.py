"""Benchmark 7: a team on one real `mlflow server`, every member with the same number of runs.
One team harvest against each member harvesting alone (requests counted on the wire by the
counting proxy, time, peak RSS), against the floor of reading every run once, and a team of a
tenth of the members on the same server, for memory against the number of members. Then the
same comparison of requests for GitHub and Jira on recorded payloads."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Callable

from bench.mlflow_bench import REPO, floor_cmd
from bench.mlflow_seed import add_runs, create_tracking_db, seed_registry
from bench.procs import Timed, child_env, median, run_timed
from bench.proxy import counting_proxy
from bench.results import Row
from bench.scales import Scale

Log = Callable[[str], None]
RUNS_PAGE = 50000

STORE_AND_SOURCE = """
[store]
url = "sqlite:///{db}"

[connectors.mlflow-team]
type = "mlflow"
tracking_uri = "{uri}"
max_retries = 0
max_results = {page}
timeout = 900  # a page of 50,000 runs from a server holding 100,000 takes a while on two cores
"""


def member_handle(i: int) -> str:
    return f"m{i:02d}"


def team_table(members: int) -> str:
    rows = "".join(f'\n[[team.members]]\nname = "Member {i:02d}"\nemail = "{member_handle(i)}@example.com"\n'
                   f'handles = ["{member_handle(i)}"]\n' for i in range(members))
    return f'[team]\nname = "bench"\n{rows}'


def single_table(i: int) -> str:
    return f'[identity]\nname = "Member {i:02d}"\nemail = "{member_handle(i)}@example.com"\n' \
           f'handles = ["{member_handle(i)}"]\n'


def write_config(path: Path, head: str, uri: str) -> Path:
    db = path.with_suffix(".db")
    db.unlink(missing_ok=True)
    path.write_text(head + STORE_AND_SOURCE.format(db=db, uri=uri, page=RUNS_PAGE), encoding="utf-8")
    return path


def harvest(config: Path, env: dict, work: Path, what: str) -> Timed:
    cmd = [sys.executable, "-m", "harvester", "--config", str(config), "harvest", "--json", "--no-progress",
           "--since", "90d"]
    timed = run_timed(cmd, env=env, cwd=work)
    if timed.returncode != 0:
        try:
            errors = [f"{s['source']}: {s['error']}" for s in timed.json()["sources"] if s.get("error")]
        except (ValueError, KeyError, TypeError):
            errors = []
        if errors:
            raise RuntimeError(f"{what} failed: {'; '.join(errors)}")
    return timed.check(what)


def run_team(scale: Scale, work: Path, log: Log) -> list[Row]:
    from tests.support.mlflow_server import start_mlflow_server

    members, per_member = scale.team_members, scale.team_runs
    folder = work / "mlflow-team"
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    data = create_tracking_db(folder, scale.experiments)
    handles = tuple(member_handle(i) for i in range(members))
    add_runs(data, members * per_member, users=handles)
    seed_registry(data, scale.models, owner=handles[0])
    log(f"seeded {data.runs:,} runs of {members} members in {time.perf_counter() - started:.1f}s")
    env = child_env(HARVESTER_HOME=str(work / "home-team"), MLFLOW_HTTP_REQUEST_TIMEOUT="900")
    server = start_mlflow_server(folder)
    try:
        team_cfg = write_config(work / "team.toml", team_table(members), server.url)
        tenth = max(1, members // 10)
        few_cfg = write_config(work / "team-few.toml", team_table(tenth), server.url)
        team, few, floors = [], [], []
        since_ms = int((time.time() - 90 * 86400) * 1000)
        for rep in range(scale.repeats):  # interleaved, so the machine's load hits every side alike
            team.append(harvest(write_config(team_cfg, team_table(members), server.url), env, work, "team harvest"))
            few.append(harvest(write_config(few_cfg, team_table(tenth), server.url), env, work, "small team"))
            floor = run_timed(floor_cmd(server.url, since_ms, []), env=env, cwd=REPO).check("floor (every run)")
            floors.append({**floor.json(), "seconds": floor.seconds})
            log(f"  repeat {rep + 1}/{scale.repeats}: team {team[-1].seconds:.1f}s ({team[-1].max_rss_mb:.0f} MB), "
                f"{tenth} members {few[-1].seconds:.1f}s ({few[-1].max_rss_mb:.0f} MB), floor {floor.seconds:.1f}s")
        with counting_proxy(server.url) as proxy:
            counted = harvest(write_config(work / "team-counted.toml", team_table(members), proxy.url), env, work,
                              "counted team harvest")
            team_requests = proxy.total
            singles: list[tuple[int, float]] = []
            for i in range(members):
                proxy.reset()
                alone = harvest(write_config(work / f"single-{i:02d}.toml", single_table(i), proxy.url), env, work,
                                f"member {i} alone")
                singles.append((proxy.total, alone.seconds))
            log(f"  team: {team_requests} requests; one member alone: {singles[0][0]}; all {members} alone: "
                f"{sum(r for r, _ in singles)} requests, {sum(s for _, s in singles):.0f}s")
    finally:
        server.stop()
    return team_rows(members, per_member, tenth, team, few, floors, counted, team_requests, singles) + \
        saas_team_rows(scale, work / "saas-team", members)


def team_rows(members: int, per_member: int, tenth: int, team: list[Timed], few: list[Timed], floors: list[dict],
              counted: Timed, team_requests: int, singles: list[tuple[int, float]]) -> list[Row]:
    runs = members * per_member
    own = counted.json()["sources"][0]
    team_seconds = median([t.seconds for t in team])
    floor_seconds = median([f["seconds"] for f in floors])
    singles_seconds = sum(s for _, s in singles)
    history = f"{members} members × {per_member:,} runs"
    return [
        Row("team", f"requests: one team harvest vs one member's own, {history}", team_requests, "requests",
            singles[0][0], 1.1, f"counted on the wire; the harvester's own count says {own['requests']}; "
                                f"{own['records']:,} records stored"),
        Row("team", f"requests: one team harvest vs {members} single-member harvests", team_requests, "requests",
            sum(r for r, _ in singles), None, f"each member alone: {singles[0][0]} requests"),
        Row("team", f"time: team harvest vs the floor of reading every run once, {runs:,} runs", team_seconds, "s",
            floor_seconds, 1.5, f"median of {len(team)}; drafting for {members} members included; "
                                f"floor: MlflowClient.search_runs over every run since the start, "
                                f"{floors[0]['requests']} requests"),
        Row("team", f"time: {members} single-member harvests, one after another", singles_seconds, "s",
            floor_seconds, None, f"against the same floor; the team harvest took {team_seconds:.1f}s"),
        Row("team", f"memory: team of {members} vs team of {tenth}, same server", max(t.max_rss_mb for t in team), "MB",
            max(t.max_rss_mb for t in few), 1.1, "peak RSS of the harvest process; both read the same runs query"),
    ]


def saas_team_rows(scale: Scale, folder: Path, members: int) -> list[Row]:
    from bench.team_saas import count_team_and_single

    team, single, alone_total, note = count_team_and_single(scale, folder, members)
    return [
        Row("team", f"requests: GitHub + Jira, one team harvest vs one member's own, {members} members", team,
            "requests", single, 1.1, note),
        Row("team", f"requests: GitHub + Jira, one team harvest vs {members} single-member harvests", team,
            "requests", alone_total, None, "recorded payloads; each member alone costs the same"),
    ]
