"""Undo and correction: restoring drafts, editing, deleting and restoring journal entries, and the
audit trail every change the engineer makes leaves behind."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from harvester.errors import StateError
from harvester.models import Draft, Entry
from harvester.store import open_store
from harvester.store.migrations import latest_version
from tests.support.cli import run_cli, write_config

WHEN = datetime(2026, 10, 2, tzinfo=timezone.utc)
OWNER = "ada@example.com"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-0.1.0-decided.db"


def add_draft(store, i: int, kind: str = "metric_lift") -> int:
    store.save_draft(Draft(id=None, fingerprint=f"fp{i}", status="pending", kind=kind, source="mlflow-prod",
                           subject=f"model-{i}", occurred_at=WHEN, statement=f"Statement {i}",
                           impact_prompt="What changed?", tags=("model-performance",)))
    return max(d.id for d in store.list_drafts())


def actions(store, item_type: str, item_id: int) -> list[str]:
    return [e.action for e in store.history(item_type, item_id)]


def test_every_correction_is_in_the_audit_trail(store):
    first, second = add_draft(store, 1), add_draft(store, 2)
    store.edit_draft(first, "Raised recall", via="web")
    store.set_draft_tags(first, ["efficiency"])
    entry = store.confirm_draft(first)
    store.update_entry(entry.id, tags=["efficiency", "experimentation"])
    store.update_entry(entry.id, outcome="CTR +5%", via="assistant")
    store.edit_entry(entry.id, "Raised recall to 0.87")
    store.reject_draft(second, "not mine")
    store.restore_draft(second)

    assert actions(store, "draft", first) == ["edited", "tagged", "confirmed"]
    assert actions(store, "entry", entry.id) == ["created", "tagged", "outcome", "entry-edited"]
    assert actions(store, "draft", second) == ["rejected", "restored"]
    edited = store.history("draft", first)[0]
    assert edited.before == {"statement": "Statement 1"} and edited.after == {"statement": "Raised recall"}
    assert edited.via == "web" and store.history("entry", entry.id)[2].via == "assistant"
    assert store.history("entry", entry.id)[3].before == {"text": "Raised recall"}
    assert store.get_draft(second).status == "pending" and store.get_draft(second).reason is None


def test_restoring_a_confirmed_draft_keeps_its_entry_row_out_of_the_journal(store):
    draft_id = add_draft(store, 1)
    entry = store.confirm_draft(draft_id, "My wording")
    store.restore_draft(draft_id)

    assert store.get_draft(draft_id).status == "pending"
    assert store.list_entries() == [] and store.search("wording") == []
    kept = store.get_entry(entry.id, include_deleted=True)
    assert kept.text == "My wording" and kept.deleted_at is not None
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM entries")).scalar() == 1
    deleted = store.history("entry", entry.id)[-1]
    assert deleted.action == "deleted" and deleted.before == {"text": "My wording"}
    with pytest.raises(StateError, match="drafts confirm"):
        store.restore_entry(entry.id)
    again = store.confirm_draft(draft_id)
    assert [e.id for e in store.list_entries()] == [again.id] and again.id != entry.id


def test_restore_refuses_drafts_that_are_not_decided(store):
    draft_id = add_draft(store, 1)
    with pytest.raises(StateError, match=f"Draft #{draft_id} is pending; only confirmed or rejected"):
        store.restore_draft(draft_id)


def test_a_restored_draft_is_drafted_like_any_pending_one(store):
    """Rejected findings are held back; once restored, the next pass refreshes the draft instead."""

    draft_id = add_draft(store, 1)
    store.reject_draft(draft_id)
    store.restore_draft(draft_id)
    assert store.draft_states()["fp1"] == ("pending", False)
    refreshed = Draft(id=None, fingerprint="fp1", status="pending", kind="metric_lift", source="mlflow-prod",
                      subject="model-1", occurred_at=WHEN, statement="Reworded", impact_prompt="?")
    assert store.save_draft(refreshed) == "updated"
    assert store.get_draft(draft_id).statement == "Reworded"
    assert "fp1" not in store.covered_by_decisions()


def test_deleting_and_restoring_a_manual_note(store):
    note = store.add_entry(Entry(id=None, text="Paired with Sam", occurred_at=WHEN))
    store.delete_entry(note.id)
    assert store.list_entries() == []
    with pytest.raises(StateError, match=f"journal restore {note.id}"):
        store.get_entry(note.id)
    with pytest.raises(StateError):
        store.edit_entry(note.id, "changed")
    store.restore_entry(note.id)
    assert [e.text for e in store.list_entries()] == ["Paired with Sam"]
    assert actions(store, "entry", note.id) == ["created", "deleted", "restored"]


@pytest.fixture
def config(database_url, tmp_path):
    store = open_store(database_url, OWNER)
    add_draft(store, 1)
    add_draft(store, 2, kind="model_promoted")
    store.close()
    return str(write_config(tmp_path / "harvester.toml",
                            f'[identity]\nemail = "{OWNER}"\n\n[store]\nurl = "{database_url}"\n'))


def test_cli_restore_show_edit_delete_with_history(config):
    def cli(*args):
        result = run_cli("--config", config, *args)
        assert result.exit_code == 0, result.output
        return result.output

    assert "journal entry 1" in cli("drafts", "confirm", "1")
    cli("outcome", "1", "CTR +5%")
    cli("journal", "edit", "1", "--text", "Raised\nrecall")
    shown = cli("journal", "show", "1")
    assert "Raised recall" in shown and "outcome: CTR +5%" in shown
    history = shown.split("history:")[1].splitlines()[1:]
    assert [line.split()[3] for line in history] == ["created", "outcome", "entry-edited"]
    assert all(line.split()[2] == "UTC" for line in history)
    assert "Restored #1 to pending (its journal entry is deleted)." in cli("drafts", "restore", "1")
    assert json.loads(cli("journal", "--json")) == []
    deleted = cli("journal", "show", "1")
    assert "deleted" in deleted.splitlines()[0]
    draft = json.loads(cli("drafts", "show", "1", "--json"))
    assert draft["status"] == "pending" and [e["action"] for e in draft["history"]] == ["confirmed", "restored"]
    assert "history:" in cli("drafts", "show", "1")

    cli("log", "Paired with Sam")
    [note] = json.loads(cli("journal", "--json"))
    assert "journal restore" in cli("journal", "delete", str(note["id"]))
    assert json.loads(cli("journal", "--json")) == []
    refused = run_cli("--config", config, "journal", "edit", str(note["id"]), "--text", "x")
    assert refused.exit_code == 2 and "was deleted on" in refused.output
    cli("journal", "restore", str(note["id"]))
    assert [e["text"] for e in json.loads(cli("journal", "--json"))] == ["Paired with Sam"]
    entry = json.loads(cli("journal", "show", str(note["id"]), "--json"))
    assert [e["action"] for e in entry["history"]] == ["created", "deleted", "restored"]

    bad = run_cli("--config", config, "drafts", "restore", "2")
    assert bad.exit_code == 2 and "only confirmed or rejected drafts can be restored" in bad.output


def test_tag_command_is_recorded(config):
    run_cli("--config", config, "tag", "--draft", "2", "+efficiency")
    shown = json.loads(run_cli("--config", config, "drafts", "show", "2", "--json").output)
    [event] = shown["history"]
    assert event["action"] == "tagged" and event["after"] == {"tags": ["model-performance", "efficiency"]}


def test_migration_8_upgrades_the_0_1_0_store_keeping_its_data(tmp_path):
    path = tmp_path / "store.db"
    shutil.copy(FIXTURE, path)
    with sqlite3.connect(path) as conn:
        entries = conn.execute("SELECT id, text FROM entries ORDER BY id").fetchall()
        drafts = conn.execute("SELECT id, status, statement FROM drafts ORDER BY id").fetchall()
    store = open_store(f"sqlite:///{path}", OWNER)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT max(version) FROM harvester_schema")).scalar() == latest_version() >= 8
        assert sorted((e.id, e.text) for e in store.list_entries()) == entries
        assert [(d.id, d.status, d.statement) for d in sorted(store.list_drafts(), key=lambda d: d.id)] == drafts
        confirmed = next(d for d in store.list_drafts(["confirmed"]))
        store.restore_draft(confirmed.id)
        assert actions(store, "draft", confirmed.id) == ["restored"]
        assert len(store.list_entries()) == len(entries) - 1
    finally:
        store.close()


def test_restoring_several_drafts_is_all_or_nothing(store):
    confirmed, rejected, pending = (add_draft(store, i) for i in (71, 72, 73))
    store.confirm_draft(confirmed)
    store.reject_draft(rejected, "dup")
    with pytest.raises(StateError, match=f"Draft #{pending} is pending.*Nothing was restored"):
        store.restore_drafts([confirmed, rejected, pending])
    assert [store.get_draft(i).status for i in (confirmed, rejected)] == ["confirmed", "rejected"]
    assert len(store.list_entries()) == 1
    restored = store.restore_drafts([confirmed, rejected])
    assert [d.status for d in restored] == ["pending", "pending"] and store.list_entries() == []
