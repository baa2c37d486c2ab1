"""`drafts confirm|reject` batches: chosen by id, --kind/--source or --all-pending, shown and
asked about first, and all or nothing."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from harvester.errors import NotFoundError, StateError
from harvester.models import Draft
from harvester.store import open_store
from tests.support.cli import run_cli, write_config

WHEN = datetime(2026, 10, 2, tzinfo=timezone.utc)
OWNER = "ada@example.com"
DRAFTS = [("metric_lift", "mlflow-prod"), ("metric_lift", "mlflow-dev"), ("model_promoted", "mlflow-prod"),
          ("pr_merged", "github")]


@pytest.fixture
def config(database_url, tmp_path):
    """A config on the test's database holding four pending drafts, ids 1 to 4."""
    store = open_store(database_url, OWNER)
    for i, (kind, source) in enumerate(DRAFTS):
        store.save_draft(Draft(id=None, fingerprint=f"fp{i}", status="pending", kind=kind, source=source,
                               subject=f"subject-{i}", occurred_at=WHEN, statement=f"Statement {i}",
                               impact_prompt="What changed?"))
    store.close()
    return str(write_config(tmp_path / "harvester.toml",
                            f'[identity]\nemail = "{OWNER}"\n\n[store]\nurl = "{database_url}"\n'))


def statuses(config) -> dict[int, str]:
    items = json.loads(run_cli("--config", config, "drafts", "list", "--status", "all", "--json").output)
    return {d["id"]: d["status"] for d in items}


def test_confirm_by_kind_and_source_combined(config):
    result = run_cli("--config", config, "drafts", "confirm", "--kind", "metric_lift", "--source", "mlflow-prod",
                     "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "1 draft to confirm:"
    assert statuses(config) == {1: "confirmed", 2: "pending", 3: "pending", 4: "pending"}


def test_reject_by_kind_lists_the_batch_first(config):
    result = run_cli("--config", config, "drafts", "reject", "--kind", "metric_lift", "-y", "--reason", "noise")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2 drafts to reject:" and lines[1].lstrip().startswith("#") and "Rejected #1." in lines
    assert statuses(config) == {1: "rejected", 2: "rejected", 3: "pending", 4: "pending"}


def test_all_pending_with_the_prompt_answered(config, monkeypatch):
    monkeypatch.setattr("harvester.cli.batches.stdin_is_terminal", lambda: True)
    no = run_cli("--config", config, "drafts", "confirm", "--all-pending", input="\n")
    assert no.exit_code == 0 and "Nothing was confirmed." in no.output
    assert set(statuses(config).values()) == {"pending"}
    yes = run_cli("--config", config, "drafts", "confirm", "--all-pending", input="y\n")
    assert yes.exit_code == 0, yes.output
    assert set(statuses(config).values()) == {"confirmed"}
    assert len(json.loads(run_cli("--config", config, "journal", "--json").output)) == 4


def test_a_batch_without_a_terminal_or_yes_is_refused(config):
    result = run_cli("--config", config, "drafts", "reject", "1", "2")
    assert result.exit_code == 1
    error = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1 and "--yes" in error[0]
    assert set(statuses(config).values()) == {"pending"}


def test_one_named_draft_needs_no_prompt(config):
    assert run_cli("--config", config, "drafts", "confirm", "3").exit_code == 0
    assert run_cli("--config", config, "drafts", "confirm", "4", "--text", "Merged the fix").exit_code == 0
    assert statuses(config)[3] == "confirmed" and statuses(config)[4] == "confirmed"


@pytest.mark.parametrize("bad, message", [("99", "No draft with id 99"), ("1", "Draft #1 is rejected")])
def test_a_batch_with_one_bad_id_changes_nothing(config, bad, message):
    assert run_cli("--config", config, "drafts", "reject", "1").exit_code == 0
    result = run_cli("--config", config, "drafts", "confirm", "2", bad, "3", "--yes")
    assert result.exit_code == 2 and message in result.output
    assert statuses(config) == {1: "rejected", 2: "pending", 3: "pending", 4: "pending"}
    assert json.loads(run_cli("--config", config, "journal", "--json").output) == []


def test_ids_and_a_filter_together_are_a_usage_error(config):
    result = run_cli("--config", config, "drafts", "confirm", "1", "--kind", "metric_lift")
    assert result.exit_code == 2 and "not both" in result.output
    assert run_cli("--config", config, "drafts", "reject").exit_code == 2


def test_store_batches_are_all_or_nothing(store):
    for i in range(3):
        store.save_draft(Draft(id=None, fingerprint=f"fp{i}", status="pending", kind="metric_lift", source="s",
                               subject=f"s{i}", occurred_at=WHEN, statement=f"S{i}", impact_prompt="?"))
    store.confirm_draft(3)
    with pytest.raises(StateError, match="Draft #3 is confirmed"):
        store.reject_drafts([1, 2, 3])
    with pytest.raises(NotFoundError):
        store.confirm_drafts([1, 7])
    assert {d.id: d.status for d in store.list_drafts()} == {1: "pending", 2: "pending", 3: "confirmed"}
    entries = store.confirm_drafts([2, 1])
    assert [e.draft_id for e in entries] == [2, 1] and len(store.list_entries()) == 3
