"""How big each benchmark runs. `smoke` keeps the harness honest in the test suite;
`full` is what RESULTS.md reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    runs: tuple[int, ...]      # MLflow sizes, smallest first; the first is the backfill size
    repeats: int               # timed harvests (and floors) per size; the median is reported
    drafting_records: int      # stored runs for rules + drafting alone
    startup_repeats: int
    small_pages: tuple[int, ...]  # smaller runs pages tried at the largest size: memory should not change
    saas_items: int            # size of the recorded GitHub / Jira / Linear / W&B histories
    team_members: int = 5      # the team benchmark: members, each with team_runs runs
    team_runs: int = 40
    experiments: int = 20
    models: int = 10


SCALES = {
    "smoke": Scale("smoke", runs=(200, 400), repeats=1, drafting_records=2000, startup_repeats=3,
                   small_pages=(50,), saas_items=120),
    "small": Scale("small", runs=(1000, 5000), repeats=2, drafting_records=10000, startup_repeats=5,
                   small_pages=(1000,), saas_items=300, team_members=10, team_runs=500),
    "full": Scale("full", runs=(10000, 50000), repeats=3, drafting_records=100000, startup_repeats=9,
                  small_pages=(5000,), saas_items=600, team_members=50, team_runs=2000),
}
