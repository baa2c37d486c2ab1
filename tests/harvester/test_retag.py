"""`harvester retag` after switching `[rubric] framework`: the report counts the unmapped entries,
retag maps them onto the new framework (keeping the hand-added tags it still has), lists what
nothing maps, and a second run or a dry run writes nothing."""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harvester.models import Draft, Evidence, Finding, Metric
from tests.support.cli import run_cli, write_config

EXAMPLE_FRAMEWORK = Path(__file__).parents[2] / "docs" / "example-framework.toml"
ACME = "Acme Applied Science ladder"
BUILTIN_CONFIG = '[identity]\nname = "Ada Example"\n'
ACME_CONFIG = BUILTIN_CONFIG + f'[rubric]\nframework = "{EXAMPLE_FRAMEWORK.as_posix()}"\n'


def day(month: int, d: int) -> datetime:
    return datetime(2026, month, d, 15, tzinfo=timezone.utc)


def confirm(store, framework, kind: str, subject: str, when: datetime, statement: str,
            metrics: tuple[Metric, ...] = (), **facts):
    """A finding drafted and tagged the way the drafter does it, then confirmed."""
    from harvester.drafting.redraft import tag_findings

    finding = Finding(rule=kind, kind=kind, source="src", subject=subject, occurred_at=when, period="2026-Q3",
                      metrics=metrics, record_ids=(f"{kind}-{subject}",),
                      evidence=(Evidence(f"https://example.com/{kind}", "link", "src"),), facts=facts)
    store.save_findings([finding])
    store.save_draft(Draft(id=None, fingerprint=finding.fingerprint, status="pending", kind=kind, source="src",
                           subject=subject, occurred_at=when, statement=statement, impact_prompt="",
                           metrics=metrics, tags=tag_findings([finding], framework)))
    pending = next(d for d in store.list_drafts(["pending"]) if d.fingerprint == finding.fingerprint)
    return store.confirm_draft(pending.id).id


@pytest.fixture
def journal(isolated_home, tmp_path):
    """Entries of several kinds and two manual notes, tagged under the built-in framework."""
    from harvester.config import load_config
    from harvester.drafting.rubric import load_framework
    from harvester.store import open_store

    config = write_config(tmp_path / "harvester.toml", BUILTIN_CONFIG)
    base = ["--config", str(config)]
    cfg = load_config(config)
    store = open_store(cfg.store_url, cfg.identity.owner)
    fw = load_framework()
    ids = {
        "lift": confirm(store, fw, "metric_lift", "fraud-detector", day(8, 3),
                        "Improved val_auc of fraud-detector from 0.81 to 0.87 over 14 runs",
                        (Metric("val_auc", 0.81, 0.87),), runs=14),
        # "revenue" in the generated statement must not tag it: only words people wrote count.
        "latency": confirm(store, fw, "latency_reduction", "ranker-serving", day(8, 10),
                           "Cut p99 latency of ranker-serving, protecting revenue",
                           (Metric("p99_latency_ms", 420.0, 140.0, "ms"),), runs=6),
        "pr": confirm(store, fw, "pr_shipped", "acme/ranker", day(8, 20), "Merged PR #412",
                      title="Refactored the feature pipeline", labels=["performance"]),
        "ticket": confirm(store, fw, "ticket_resolved", "RISK", day(9, 1), "Resolved RISK-91",
                          key="RISK-91", summary="Fix churn alerts for enterprise customers"),
    }
    store.close()
    paired = run_cli(*base, "log", "Paired with a new hire on the drift alert runbook", "--date", "2026-09-10",
                     "--json")
    warehouse = run_cli(*base, "log", "Cleaned up the warehouse schemas", "--date", "2026-09-12",
                        "--tag", "data-features", "--json")
    ids["paired"], ids["warehouse"] = json.loads(paired.output)["id"], json.loads(warehouse.output)["id"]
    return {"config": config, "base": base, "ids": ids}


def entry_tags(journal) -> dict[str, list[str]]:
    data = json.loads(run_cli(*journal["base"], "journal", "--json").output)
    by_id = {e["id"]: e["tags"] for e in data}
    return {name: by_id[i] for name, i in journal["ids"].items()}


def switch_to_acme(journal) -> str:
    write_config(journal["config"], ACME_CONFIG)
    return f"harvester --config {shlex.quote(str(journal['config'].resolve()))}"


BUILTIN_TAGS = {
    "lift": ["model-performance", "experimentation"],
    "latency": ["efficiency"],
    "pr": ["production-mlops", "data-features"],
    "ticket": ["business-impact"],
    "paired": ["partnership-mentorship"],
    "warehouse": ["data-features"],
}
ACME_TAGS = {
    "lift": ["customer-impact", "scientific-rigour"],  # the hand-added tag first, kept
    "latency": ["engineering-craft"],
    "pr": ["engineering-craft"],
    "ticket": ["customer-impact", "operational-excellence"],
    "paired": ["operational-excellence", "team-multiplier"],
    "warehouse": [],
}


def test_retag_maps_the_journal_onto_the_new_framework(journal):
    assert entry_tags(journal) == BUILTIN_TAGS
    command = switch_to_acme(journal)
    base, ids = journal["base"], journal["ids"]

    report = run_cli(*base, "report", "--period", "2026")
    assert report.exit_code == 0, report.output
    assert (f"**6 entries have no dimension of {ACME}: run `{command} retag` to map them onto this framework, "
            f"or tag them with `{command} tag ID +DIM`.**") in report.output

    # A dimension of the new framework added by hand before re-tagging.
    assert run_cli(*base, "tag", str(ids["lift"]), "+customer-impact").exit_code == 0

    result = run_cli(*base, "retag")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:6] == [
        f"Entry {ids['lift']}: model-performance, experimentation, customer-impact"
        " -> customer-impact, scientific-rigour",
        f"Entry {ids['latency']}: efficiency -> engineering-craft",
        f"Entry {ids['pr']}: production-mlops, data-features -> engineering-craft",
        f"Entry {ids['ticket']}: business-impact -> customer-impact, operational-excellence",
        f"Entry {ids['paired']}: partnership-mentorship -> operational-excellence, team-multiplier",
        f"Entry {ids['warehouse']}: data-features -> (none)",
    ]
    assert lines[6] == f"6 entries re-tagged, 0 unchanged, 1 could not be mapped: ids {ids['warehouse']}."
    assert lines[7] == (f"Dropped tags that are not dimensions of {ACME}: business-impact, data-features, "
                        "efficiency, experimentation, model-performance, partnership-mentorship, production-mlops")
    assert lines[8:] == [
        f"No dimension of {ACME} fits these entries:",
        f"  #{ids['warehouse']:<4} 2026-09-12  Cleaned up the warehouse schemas",
        f"Tag them with `{command} tag ID +DIM` (`{command} rubric` lists the dimension ids).",
    ]
    assert entry_tags(journal) == ACME_TAGS

    report = json.loads(run_cli(*base, "report", "--period", "2026", "--format", "json").output)
    assert [x["id"] for x in report["unmapped"]] == [ids["warehouse"]]
    assert report["unmapped_hint"].startswith(f"1 entry has no dimension of {ACME}: run `{command} retag` to map it")


def test_a_second_run_changes_nothing(journal):
    switch_to_acme(journal)
    base, ids = journal["base"], journal["ids"]
    assert run_cli(*base, "retag").exit_code == 0

    again = run_cli(*base, "retag")
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == \
        f"0 entries re-tagged, 6 unchanged, 1 could not be mapped: ids {ids['warehouse']}."
    assert "Dropped" not in again.output
    data = json.loads(run_cli(*base, "retag", "--json").output)
    assert data == {"framework": ACME, "dry_run": False, "retagged": 0, "unchanged": 6, "changes": [],
                    "unmapped": [ids["warehouse"]], "dropped": []}
    assert entry_tags(journal) == {**ACME_TAGS, "lift": ["scientific-rigour"]}


def test_dry_run_shows_the_changes_and_writes_nothing(journal):
    switch_to_acme(journal)
    base, ids = journal["base"], journal["ids"]

    dry = run_cli(*base, "retag", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"Entry {ids['latency']}: efficiency -> engineering-craft" in dry.output
    assert "6 entries would be re-tagged, 0 unchanged, 1 could not be mapped" in dry.output
    assert "(dry run: nothing written)." in dry.output
    assert entry_tags(journal) == BUILTIN_TAGS

    data = json.loads(run_cli(*base, "retag", "--dry-run", "--json").output)
    assert data["dry_run"] is True and data["retagged"] == 6
    change = next(c for c in data["changes"] if c["id"] == ids["ticket"])
    assert change["old"] == ["business-impact"] and change["new"] == ["customer-impact", "operational-excellence"]
    assert change["dropped"] == ["business-impact"]
    assert entry_tags(journal) == BUILTIN_TAGS


def test_under_an_unchanged_framework_retag_keeps_every_tag(journal):
    """Nothing to map: the built-in tags are dimensions of the built-in framework."""
    result = run_cli(*journal["base"], "retag")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "0 entries re-tagged, 6 unchanged."
    assert entry_tags(journal) == BUILTIN_TAGS
