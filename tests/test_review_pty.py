"""`harvester review` through a real pseudo-terminal: keystrokes in, the screen and the store checked."""

from __future__ import annotations

import shlex
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from harvester.models import Draft, Evidence, Metric, utcnow
from harvester.store import open_store
from tests.support.cli import run_cli
from tests.support.pty_session import Terminal

LONG_STATEMENT = ("Improved validation AUC of fraud-detector from 0.81 to 0.86 (+6.7%) over 14 runs by changing "
                  "features from base to base+merchant_history (best run: \"Added merchant-history features "
                  "(30-day spend, chargeback rate)\"); also validation loss fell from 0.41 to 0.32 (-21%).")
EDITED = "Cut p99 latency of ranker-serving by two thirds, from 420 ms to 140 ms."
EDITOR_SCRIPT = """\
import pathlib, sys
path = pathlib.Path(sys.argv[-1])
pathlib.Path(sys.argv[1]).write_text(path.read_text())
path.write_text({text!r} + "\\n# a comment the engineer left\\n")
"""


@pytest.fixture
def seeded(tmp_path):
    """Five pending drafts, a day apart; `ids` oldest first, the order review shows them in."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "harvester.toml"
    config.write_text(f'[identity]\nname = "Ada"\nemail = "ada@example.com"\nhandles = ["ada"]\n\n'
                      f'[store]\nurl = "{url}"\n', encoding="utf-8")
    store = open_store(url, "ada@example.com")
    specs = [
        ("metric_lift", LONG_STATEMENT, ("model-performance",)),
        ("latency_reduction", "Cut p99_latency_ms from 420 ms to 140 ms (-66.7%) on ranker-serving.", ("efficiency",)),
        ("pr_merged", "Merged the feature-store backfill (#412) in ml-platform.", ()),
        ("experiment_campaign", "Ruled out embedding dimension changes on ranking-v3 after 12 runs.", ()),
        ("model_promoted", "Promoted fraud-detector v3 to champion.", ("production-mlops",)),
    ]
    ids = []
    for n, (kind, statement, tags) in enumerate(specs):
        store.save_draft(Draft(
            id=None, fingerprint=f"f-{n}", status="pending", kind=kind, source="mlflow-prod",
            subject="fraud-detector", occurred_at=utcnow() - timedelta(days=10 - n), statement=statement,
            impact_prompt=("What did this validation AUC lift translate to: an online or system metric (CTR, "
                           "conversion, fraud caught) or a business number (revenue, cost, hours saved)?"),
            metrics=(Metric("val_auc", 0.81, 0.8641),),
            evidence=(Evidence("https://mlflow.example.com/#/experiments/1/runs/abc123",
                               "best run: Added merchant-history features (30-day spend, chargeback rate)"),
                      Evidence("https://github.com/acme/ml/pull/45", "PR #45")),
            tags=tags))
        ids.append(next(d.id for d in store.list_drafts() if d.fingerprint == f"f-{n}"))
    yield store, config, ids
    store.close()


def start_review(config: Path, tmp_path: Path, columns: int = 80) -> Terminal:
    """The editor is a script that records what it was shown in seen.txt and saves EDITED."""
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR_SCRIPT.format(text=EDITED), encoding="utf-8")
    command = shlex.join([sys.executable, str(editor), str(tmp_path / "seen.txt")])
    return Terminal(["--config", str(config), "review"], columns=columns, env={"EDITOR": command})


def test_a_session_confirms_edits_rejects_undoes_skips_and_tags(seeded, tmp_path):
    store, config, ids = seeded
    term = start_review(config, tmp_path)
    term.expect(f"Draft 1 of 5 · #{ids[0]} [metric_lift]")
    term.expect("[?]help")
    term.press("c")
    term.expect(f"Confirmed #{ids[0]} as journal entry")

    term.expect(f"Draft 2 of 5 · #{ids[1]} [latency_reduction]")
    term.expect("[?]help")
    term.press("x")  # not a key: a beep, nothing else
    term.press("e")
    term.expect(f"Edited #{ids[1]}")
    term.expect("two thirds")
    term.expect("[?]help")
    term.press("c")
    term.expect(f"Confirmed #{ids[1]}")

    term.expect(f"Draft 3 of 5 · #{ids[2]}")
    term.expect("[?]help")
    term.press("r")
    term.expect("Reason (Enter for none): ")
    term.type_line("already counted in the Q3 entry")
    term.expect(f"Rejected #{ids[2]}: already counted in the Q3 entry.")
    term.expect(f"Draft 4 of 5 · #{ids[3]}")
    term.expect("[?]help")
    term.press("u")
    term.expect(f"Undone: #{ids[2]} is pending again")
    term.expect(f"Draft 3 of 5 · #{ids[2]}")
    term.expect("[?]help")
    term.press("s")

    term.expect(f"Draft 4 of 5 · #{ids[3]}")
    term.expect("[?]help")
    term.press("t")
    term.expect("Changes (+dim -dim, Enter for none): ")
    term.type_line("+experimentation +nonsense")
    term.expect("Unknown rubric dimension 'nonsense'")
    term.press("t")
    term.expect("Changes (+dim -dim, Enter for none): ")
    term.type_line("+experimentation")
    term.expect(f"Draft #{ids[3]} tags: experimentation")
    term.expect("[?]help")
    term.press("q")
    term.expect("2 confirmed, 0 rejected, 1 edited, 1 skipped, 1 tagged; 3 still pending")
    assert term.finish() == 0
    assert "\a" in term.transcript

    drafts = {d.id: d for d in store.list_drafts(["pending", "confirmed", "rejected"])}
    assert [drafts[i].status for i in ids] == ["confirmed", "confirmed", "pending", "pending", "pending"]
    assert drafts[ids[2]].reason is None
    assert drafts[ids[3]].tags == ("experimentation",)
    entries = {e.draft_id: e for e in store.list_entries()}
    assert set(entries) == {ids[0], ids[1]}
    assert entries[ids[1]].text == EDITED
    assert entries[ids[0]].text == LONG_STATEMENT
    seen = (tmp_path / "seen.txt").read_text()
    assert seen.startswith("Cut p99_latency_ms from 420 ms")
    assert "# evidence:" in seen and "#   PR #45: https://github.com/acme/ml/pull/45" in seen
    assert "# metrics (logged key: before -> after):" in seen and "#   val_auc" in seen


def test_ctrl_c_keeps_what_was_done_and_undo_takes_back_confirm_edit_and_tag(seeded, tmp_path):
    store, config, ids = seeded
    term = start_review(config, tmp_path)
    term.expect("[?]help")
    term.press("o")
    term.expect("Outcome (Enter to cancel): ")
    term.type_line("fraud caught +12% in the two-week shadow test")
    term.expect(f"Confirmed #{ids[0]} as journal entry")
    term.expect(f"Draft 2 of 5 · #{ids[1]}")
    term.expect("[?]help")
    term.press("c")
    term.expect(f"Draft 3 of 5 · #{ids[2]}")
    term.expect("[?]help")
    term.press("u")
    term.expect(f"Undone: #{ids[1]} is pending again")
    term.expect(f"Draft 2 of 5 · #{ids[1]}")
    term.expect("[?]help")
    term.press("e")
    term.expect("two thirds")
    term.expect("[?]help")
    term.press("u")
    term.expect(f"Undone: #{ids[1]} has its previous wording back.")
    term.expect("[?]help")
    term.press("t")
    term.expect("Changes (+dim -dim, Enter for none): ")
    term.type_line("-efficiency +business-impact")
    term.expect(f"Draft #{ids[1]} tags: business-impact")
    term.expect("[?]help")
    term.press("u")
    term.expect(f"Undone: #{ids[1]} has its previous tags back.")
    term.expect("[?]help")
    term.press("\x03")
    term.expect("1 confirmed, 0 rejected, 0 edited, 0 skipped; 4 still pending")
    assert term.finish() == 0
    assert "Traceback" not in term.screen()

    assert [d.status for d in map(store.get_draft, ids)] == ["confirmed", "pending", "pending", "pending",
                                                             "pending"]
    latency = store.get_draft(ids[1])
    assert latency.statement.startswith("Cut p99_latency_ms") and latency.tags == ("efficiency",)
    assert latency.edited is False  # an undone edit leaves the draft to the rules again
    assert [e.action for e in store.history("draft", ids[1])][-4:] == ["edited", "reverted", "tagged", "tagged"]
    (entry,) = store.list_entries()
    assert entry.draft_id == ids[0]
    assert entry.outcome == "fraud caught +12% in the two-week shadow test"


@pytest.mark.parametrize("columns, width", [(120, 80), (60, 60)])
def test_cards_fit_the_terminal_and_never_exceed_80_columns(seeded, tmp_path, columns, width):
    _store, config, ids = seeded
    term = start_review(config, tmp_path, columns=columns)
    card = term.expect("[?]help")
    term.press("q")
    term.finish()
    lines = card.replace("\r\n", "\n").split("\n")
    assert any("validation AUC" in line for line in lines)
    assert "https://mlflow.example.com/#/experiments/1/runs/abc123" in card  # a URL is never broken
    assert max(len(line) for line in lines) <= width
    assert max(len(line) for line in lines) > width - 15  # the wrap uses the width it has


def test_without_a_terminal_review_points_at_the_drafts_commands(seeded):
    _store, config, _ids = seeded
    result = run_cli("--config", str(config), "review")
    assert result.exit_code == 2
    assert "needs a terminal" in result.output and "drafts confirm" in result.output
    assert len(result.output.strip().splitlines()) == 1
