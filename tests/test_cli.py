"""The CLI as a user meets it: drafts, journal, log, rules and connectors, help and start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from harvester.models import Draft, Evidence, Metric
from tests.support.cli import run_cli

WHEN = datetime(2026, 10, 2, tzinfo=timezone.utc)
HEAVY = ("mlflow", "wandb", "github", "jira", "pandas", "mcp")


@pytest.fixture
def seeded(isolated_home):
    """The default store (in the app dir) with two pending drafts."""
    from harvester.config import default_store_url
    from harvester.store import open_store

    store = open_store(default_store_url(), "me")
    for i, kind in enumerate(["metric_lift", "model_promoted"]):
        store.save_draft(Draft(id=None, fingerprint=f"fp{i}", status="pending", kind=kind, source="mlflow-prod",
                               subject="fraud-detector", occurred_at=WHEN, statement=f"Statement {i}",
                               impact_prompt="What changed?", metrics=(Metric("val_auc", 0.81, 0.87),),
                               evidence=(Evidence("http://mlflow/#/runs/1", "best run"),),
                               tags=("model-performance",)))
    store.close()
    return [d for d in range(1, 3)]


def test_drafts_list_json_has_the_documented_fields(seeded):
    result = run_cli("drafts", "list", "--json")
    assert result.exit_code == 0
    items = json.loads(result.output)
    assert len(items) == 2
    for item in items:
        assert {"id", "status", "kind", "source", "subject", "occurred_at", "statement", "metrics", "evidence",
                "tags"} <= set(item)
        assert item["metrics"] == [{"name": "val_auc", "before": 0.81, "after": 0.87, "unit": ""}]
        assert item["evidence"] == ["http://mlflow/#/runs/1"]
        assert datetime.fromisoformat(item["occurred_at"]) == WHEN


def test_confirm_edit_reject_and_journal(seeded):
    assert run_cli("drafts", "edit", "1", "--text", "Raised fraud recall").exit_code == 0
    confirmed = run_cli("drafts", "confirm", "1")
    assert confirmed.exit_code == 0 and "journal entry" in confirmed.output
    rejected = run_cli("drafts", "reject", "2", "--reason", "not mine")
    assert rejected.exit_code == 0
    assert json.loads(run_cli("drafts", "list", "--json").output) == []
    statuses = {d["id"]: d["status"] for d in json.loads(run_cli("drafts", "list", "--status", "all", "--json").output)}
    assert statuses == {1: "confirmed", 2: "rejected"}
    journal = json.loads(run_cli("journal", "--json").output)
    assert [e["text"] for e in journal] == ["Raised fraud recall"]
    assert journal[0]["tags"] == ["model-performance"]


def test_confirm_with_text_and_confirming_twice(seeded):
    assert run_cli("drafts", "confirm", "2", "--text", "Shipped v7").exit_code == 0
    again = run_cli("drafts", "confirm", "2")
    assert again.exit_code == 2 and "already" not in again.output.lower() or "confirmed" in again.output
    assert json.loads(run_cli("journal", "--json").output)[0]["text"] == "Shipped v7"


def test_edit_through_editor(seeded, monkeypatch):
    import click

    monkeypatch.setattr(click, "edit", lambda text: "Edited in the editor\n")
    assert run_cli("drafts", "edit", "1").exit_code == 0
    assert json.loads(run_cli("drafts", "show", "1", "--json").output)["statement"] == "Edited in the editor"


def test_unknown_draft_id_is_one_line(seeded):
    result = run_cli("drafts", "show", "99")
    assert result.exit_code == 2 and "No draft with id 99" in result.output


def test_log_is_dated_and_tagged():
    result = run_cli("log", "Cut p99 latency of the ranker by paired profiling with the platform team",
                     "--date", "2026-11-01", "--json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output)
    assert entry["occurred_at"].startswith("2026-11-01")
    assert "efficiency" in entry["tags"] and "partnership-mentorship" in entry["tags"]
    bad = run_cli("log", "x", "--tag", "heroics")
    assert bad.exit_code == 2 and "Unknown rubric dimension 'heroics'" in bad.output


def test_rules_list_shows_parameters_and_config_values(tmp_path):
    cfg = tmp_path / "h.toml"
    cfg.write_text("[rules.metric_lift]\nmin_relative_lift = 0.05\n")
    result = run_cli("--config", str(cfg), "rules", "list", "--json")
    rules = {r["name"]: r for r in json.loads(result.output)}
    assert {"metric_lift", "model_promoted", "latency_reduction", "cost_reduction", "experiment_campaign"} <= set(rules)
    lift = {p["name"]: p for p in rules["metric_lift"]["parameters"]}
    assert lift["min_relative_lift"]["default"] == 0.02 and lift["min_relative_lift"]["value"] == 0.05


def test_connectors_list():
    items = json.loads(run_cli("connectors", "list", "--json").output)
    mlflow = next(i for i in items if i["type"] == "mlflow")
    assert "tracking_uri" in {s["name"] for s in mlflow["settings"]}


@pytest.mark.parametrize("args", [["--help"], ["drafts", "list"]])
def test_fast_commands_import_no_heavy_library(args, isolated_home):
    code = ("import sys; from harvester.cli import cli\n"
            "try:\n    cli(%r, prog_name='harvester')\nexcept SystemExit:\n    pass\n"
            "print('HEAVY:' + ','.join(sorted(m for m in %r if m in sys.modules)))" % (args, HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"HARVESTER_HOME": str(isolated_home), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_every_command_has_help():
    import click

    from harvester.cli import cli

    def walk(group, prefix=()):
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None, f"`harvester {' '.join(prefix + (name,))}` is listed but cannot be loaded"
            yield prefix + (name,), cmd
            if isinstance(cmd, click.Group):
                yield from walk(cmd, prefix + (name,))

    paths = [path for path, _ in walk(cli)]
    assert ("drafts", "list") in paths and ("report",) in paths and len(paths) > 30
    for path, cmd in walk(cli):
        assert (cmd.help or "").strip(), f"`harvester {' '.join(path)}` has no help text"
        result = run_cli(*path, "--help")
        assert result.exit_code == 0


def test_demo_runs_the_real_pipeline_on_the_sample(tmp_path):
    result = run_cli("demo", "--dir", str(tmp_path / "sample"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["harvest"]["ok"]
    kinds = sorted(d["kind"] for d in data["drafts"])
    assert kinds == ["experiment_campaign", "latency_reduction", "metric_lift"]  # cost joins latency, the promotion its lift
    assert all(d["subject"] != "" and d["evidence"] for d in data["drafts"])
    again = run_cli("demo", "--dir", str(tmp_path / "sample"), "--json")
    assert json.loads(again.output)["harvest"]["drafts"]["new"] == 0


def test_demo_without_a_folder_does_not_point_at_drafts_that_are_gone(isolated_home):
    result = run_cli("demo")
    assert result.exit_code == 0, result.output
    assert "harvester drafts list" not in result.output  # its drafts were in a temporary store
    assert "harvester demo --dir DIR" in result.output and "harvester init" in result.output


def test_harvest_waits_for_no_one_while_another_harvest_holds_the_lock(tmp_path, isolated_home):
    import fcntl
    import os

    from harvester.lock import LOCK_FILENAME, LOCK_HELD_EXIT

    cfg = tmp_path / "h.toml"
    cfg.write_text('[identity]\nhandles = ["ada"]\n[connectors.m]\ntype = "mlflow"\n'
                   f'tracking_uri = "{(tmp_path / "mlruns").as_uri()}"\n')
    (tmp_path / "mlruns").mkdir()
    fd = os.open(isolated_home / LOCK_FILENAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = run_cli("--config", str(cfg), "harvest")
    finally:
        os.close(fd)
    assert result.exit_code == LOCK_HELD_EXIT and "Another harvest is running" in result.output
    assert run_cli("--config", str(cfg), "harvest", "--json").exit_code == 0
