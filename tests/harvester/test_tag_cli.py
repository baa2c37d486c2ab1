"""`harvester tag ID +dim -dim` on journal entries and drafts, and the report following it."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from harvester.models import Draft, Entry
from tests.support.cli import run_cli

WHEN = datetime(2026, 8, 3, 12, tzinfo=timezone.utc)


@pytest.fixture
def home_store(isolated_home):
    from harvester.config import default_store_url
    from harvester.store import open_store

    store = open_store(default_store_url(), "me")
    yield store
    store.close()


def add_entry(store, text="Cut p99 latency of the ranker by 280 ms", tags=("efficiency",)) -> Entry:
    return store.add_entry(Entry(id=None, text=text, occurred_at=WHEN, kind="latency_reduction",
                                 source="mlflow-prod", tags=tags))


def add_draft(store, fingerprint="fp1") -> Draft:
    store.save_draft(Draft(id=None, fingerprint=fingerprint, status="pending", kind="metric_lift",
                           source="mlflow-prod", subject="fraud-detector", occurred_at=WHEN,
                           statement="Improved val_auc of fraud-detector", impact_prompt="?",
                           tags=("model-performance",)))
    return next(d for d in store.list_drafts(["pending"]) if d.fingerprint == fingerprint)


def report_sections(period="2026-Q3") -> dict[str, list[int]]:
    data = json.loads(run_cli("report", "--period", period, "--format", "json").output)
    return {s["dimension"]: [x["id"] for x in s["results"] + s["activity"]] for s in data["performance"]}


def test_tagging_an_entry_moves_it_in_the_report(home_store):
    entry = add_entry(home_store)
    before = report_sections()
    assert before["efficiency"] == [entry.id] and before["business-impact"] == []

    result = run_cli("tag", str(entry.id), "+business-impact", "-efficiency")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Entry {entry.id} tags: business-impact"
    assert home_store.get_entry(entry.id).tags == ("business-impact",)

    after = report_sections()
    assert after["efficiency"] == [] and after["business-impact"] == [entry.id]


def test_dimension_ids_containing_h_are_not_read_as_help(home_store):
    entry = add_entry(home_store, tags=("partnership-mentorship", "efficiency"))
    result = run_cli("tag", str(entry.id), "-partnership-mentorship", "+production-mlops", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"type": "entry", "id": entry.id, "tags": ["efficiency", "production-mlops"],
                                         "added": ["production-mlops"], "removed": ["partnership-mentorship"]}


def test_tagging_a_pending_draft_carries_into_the_confirmed_entry(home_store):
    draft = add_draft(home_store)
    result = run_cli("tag", "--draft", str(draft.id), "+experimentation")
    assert result.exit_code == 0, result.output
    assert home_store.get_draft(draft.id).tags == ("model-performance", "experimentation")
    entry = home_store.confirm_draft(draft.id)
    assert entry.tags == ("model-performance", "experimentation")
    assert report_sections()["experimentation"] == [entry.id]

    again = run_cli("tag", "--draft", str(draft.id), "+efficiency")
    assert again.exit_code == 2
    assert f"Draft {draft.id} is confirmed; tag journal entry {entry.id}" in again.output


def test_unknown_dimension_is_a_usage_error_listing_valid_ones(home_store):
    entry = add_entry(home_store)
    result = run_cli("tag", str(entry.id), "+heroics")
    assert result.exit_code == 2
    assert "Unknown rubric dimension 'heroics'" in result.output
    assert "model-performance, production-mlops, data-features" in result.output
    assert home_store.get_entry(entry.id).tags == ("efficiency",)


@pytest.mark.parametrize("args,message", [
    (["efficiency"], "write each change as +DIMENSION or -DIMENSION"),
    (["+efficiency", "-efficiency"], "both added and removed"),
    (["+"], "write each change as +DIMENSION or -DIMENSION"),
])
def test_malformed_changes_are_rejected(home_store, args, message):
    entry = add_entry(home_store)
    result = run_cli("tag", str(entry.id), *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_missing_ids_and_no_changes(home_store):
    entry = add_entry(home_store)
    shown = run_cli("tag", str(entry.id))
    assert shown.exit_code == 0 and shown.output.strip() == f"Entry {entry.id} tags: efficiency"
    missing = run_cli("tag", "999", "+efficiency")
    assert missing.exit_code == 2 and "No journal entry with id 999" in missing.output
    missing_draft = run_cli("tag", "--draft", "999", "+efficiency")
    assert missing_draft.exit_code == 2 and "No draft with id 999" in missing_draft.output


def test_a_tag_from_an_older_framework_can_be_removed(home_store):
    entry = add_entry(home_store, tags=("efficiency", "old-ladder-dim"))
    assert run_cli("tag", str(entry.id), "+old-ladder-dim").exit_code == 2  # cannot be added
    result = run_cli("tag", str(entry.id), "-old-ladder-dim")
    assert result.exit_code == 0 and home_store.get_entry(entry.id).tags == ("efficiency",)


def test_help_documents_addressing_and_rubric_lists_ids(home_store):
    text = run_cli("tag", "--help").output
    assert "--draft" in text and "harvester tag 12 +efficiency -model-performance" in text
    listing = json.loads(run_cli("rubric", "--json").output)
    assert [d["id"] for d in listing["dimensions"]][:2] == ["model-performance", "production-mlops"]
    assert [lv["id"] for lv in listing["levels"]] == ["mle", "senior", "staff"]
