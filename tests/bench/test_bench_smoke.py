"""The benchmark harness at smoke scale (a few hundred runs): it must produce every row with
sane values. Benchmarks are not tests, so nothing here asserts a timing."""

from __future__ import annotations

import math

import pytest

from bench.__main__ import run_benchmarks
from bench.mlflow_bench import minimum_backfill, minimum_nightly, pages
from bench.mlflow_seed import TrackingData
from bench.results import BEGIN, END, Row, render_section, update_results_file, write_outputs
from bench.scales import SCALES

SMOKE = SCALES["smoke"]


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    return run_benchmarks(SMOKE, work, log=lambda _: None)


def by(rows, benchmark):
    return [r for r in rows if r.benchmark == benchmark]


def test_every_benchmark_produces_its_rows(rows):
    small, big = SMOKE.runs
    cases = {(r.benchmark, r.case) for r in rows}
    for n in (small, big):
        assert ("backfill", f"{n:,} runs: harvest vs floor, same per-handle filter") in cases
        assert ("backfill", f"{n:,} runs: harvest vs floor, every run unfiltered") in cases
        assert ("backfill", f"{n:,} runs: harvest vs raw HTTP floor, same per-handle filter") in cases
        assert ("requests", f"backfill, {n:,} runs") in cases
        assert ("requests", f"nightly with nothing new, {n:,} runs") in cases
        assert ("memory", f"harvest peak RSS, {n:,} runs") in cases
    assert ("requests", f"nightly growth, {small:,} → {big:,} runs") in cases
    assert ("requests", f"backfill, {big:,} runs, max_results = {SMOKE.small_pages[0]}") in cases
    assert ("memory", f"harvest peak RSS, {big:,} runs, max_results = {SMOKE.small_pages[0]}") in cases
    assert ("scale", f"harvest time growth, {small:,} → {big:,} runs") in cases
    assert len(by(rows, "drafting")) == 4
    startup = {r.case for r in by(rows, "startup")}
    assert "`harvester drafts list`, empty store" in startup
    assert "nightly `harvester harvest`, nothing new, real MLflow server: all vs its imports" in startup
    interactive = [r.case.split("`")[1] for r in by(rows, "interactive")]
    assert interactive[:3] == ["harvester drafts list", "harvester search latency", "harvester journal"]
    assert len(interactive) == 4 and interactive[3].startswith("harvester report --period 20")
    team = by(rows, "team")
    assert len(team) == 7
    members = SMOKE.team_members
    assert {r.case for r in team} >= {
        f"requests: one team harvest vs one member's own, {members} members × {SMOKE.team_runs:,} runs",
        f"requests: GitHub + Jira, one team harvest vs {members} single-member harvests"}
    saas = sorted(r.case.split(":")[0] for r in by(rows, "saas"))
    assert saas == ["databricks", "databricks", "github", "github", "gitlab", "gitlab", "huggingface", "huggingface",
                    "jira", "jira", "linear", "linear", "wandb", "wandb"]


def test_the_raw_http_floor_reads_the_same_runs_in_the_same_requests(rows):
    raw = [r for r in by(rows, "backfill") if "raw HTTP floor" in r.case]
    same = [r for r in by(rows, "backfill") if "same per-handle filter" in r.case and r not in raw]
    assert [r.target for r in raw] == [1.4, 1.2]  # issue 19: smaller size, larger size
    for r, floor in zip(raw, same):
        assert floor.note.split("floor: ", 1)[1].split(";")[0] in r.note, (r, floor)  # "N requests, M runs"


def test_a_team_harvest_costs_no_more_requests_than_one_member_alone(rows):
    for r in by(rows, "team"):
        if r.case.startswith("requests"):
            assert r.value <= r.floor * (1.1 if "one member's own" in r.case else 1), r


def test_requests_equal_the_minimum_pages(rows):
    counted = [r for r in by(rows, "requests") if r.floor is not None]
    assert len(counted) == 5
    for r in counted:
        assert r.value == r.floor, r
        assert "the harvester's own count says" not in r.note, r  # proxy and summary agree
    # the backfill reads runs (one query per handle), experiments and the registry
    backfill = next(r for r in counted if r.case.startswith("backfill"))
    assert "runs/search×" in backfill.note and "registered-models/search×1" in backfill.note
    growth = next(r for r in by(rows, "requests") if r.case.startswith("nightly growth"))
    assert growth.value == 0
    paged = next(r for r in counted if "max_results" in r.case)
    assert paged.value > backfill.value  # smaller pages: more requests, each one counted


def test_saas_requests_are_counted_on_the_wire_against_the_minimum(rows):
    for r in by(rows, "saas"):
        assert r.value >= r.floor >= 1, r  # the minimum is a lower bound: below it the harness is wrong
        assert "the harvester's own count says" not in r.note, r
        if "backfill" in r.case:
            assert r.value == r.floor, r
        else:
            assert r.value <= 5, r  # nothing new costs a handful


def test_measured_values_are_sane(rows):
    for r in by(rows, "backfill") + by(rows, "startup") + by(rows, "interactive") + by(rows, "drafting")[:2]:
        assert r.value > 0 and math.isfinite(r.value), r
        assert r.floor > 0 and math.isfinite(r.floor), r
        assert r.verdict in ("met", "MISSED", "info")
    for r in by(rows, "memory") + [r for r in by(rows, "drafting") if r.unit == "MB"]:
        assert 30 < r.value < 4000, r  # MB of a Python process that imported mlflow or pandas
    [changed] = [r for r in by(rows, "drafting") if "incremental" in r.case]
    assert changed.value > 0 and changed.target == 1.0 and changed.verdict in ("met", "MISSED"), changed
    assert "SKIPPED" not in changed.note and " 0 drafts new or refreshed" not in changed.note, changed
    scale = by(rows, "scale")[0]
    assert scale.floor == SMOKE.runs[1] / SMOKE.runs[0] and scale.value > 0
    drafted = by(rows, "drafting")[0]
    assert f"{SMOKE.drafting_records:,} stored runs" in drafted.case
    assert " 0 drafts" not in drafted.note  # the synthetic history gives the rules something to find


def test_results_are_written_and_the_analysis_kept(rows, tmp_path):
    machine = [("CPU", "test cpu"), ("cores", "2")]
    json_path, md_path = write_outputs(tmp_path / "out", rows, machine, "smoke", "python -m bench --scale smoke",
                                       "2026-11-22 10:00 UTC", 12.0)
    assert json_path.exists() and md_path.read_text().count("\n| ") >= len(rows)
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# Results\n\nIntro.\n\n{BEGIN}\nold table\n{END}\n\n## Why targets are missed\nAnalysis.\n")
    update_results_file(results, render_section(rows, machine, "smoke", "python -m bench", "2026-11-22 10:00 UTC", 12.0))
    text = results.read_text()
    assert "old table" not in text and "Intro." in text and "Analysis." in text
    assert "| startup | `harvester drafts list`, empty store |" in text and "test cpu" in text


def test_minimum_pages_follow_the_api_page_sizes():
    assert [pages(0, 50000), pages(50000, 50000), pages(50001, 50000)] == [1, 1, 2]
    data = TrackingData(db=None, experiments={str(i): f"e{i}" for i in range(20)},
                        runs_by_user={"ada": 60000, "bob": 5}, models=10, versions=30, version_run_ids={"r1"})
    # experiments 1 + runs for "ada" 2 + for "ada@example.com" 1 + models 1 + versions 1 + version runs 1
    assert minimum_backfill(data) == 7
    assert minimum_backfill(data, runs_page=10000) == 11  # ada: 6 pages of 10,000
    assert minimum_nightly(data, running_mine=2) == 5


def test_a_target_is_judged_on_the_ratio_when_there_is_a_floor():
    assert Row("x", "y", 3.0, "s", floor=2.0, target=1.5).verdict == "met"
    assert Row("x", "y", 3.1, "s", floor=2.0, target=1.5).verdict == "MISSED"
    assert Row("x", "y", 301, "MB", target=300).verdict == "MISSED"
    assert Row("x", "y", None, "requests", status="pending").verdict == "pending"
