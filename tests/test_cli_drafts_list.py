"""`drafts list` shows a page: --limit, --all, --json and the closing line."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from harvester.cli.paging import DEFAULT_LIMIT
from harvester.models import Draft
from tests.support.cli import run_cli

NEWEST = datetime(2026, 10, 2, tzinfo=timezone.utc)
COUNT = DEFAULT_LIMIT + 25


@pytest.fixture
def many(isolated_home):
    """COUNT pending drafts, draft i one hour older than draft i-1; the last five confirmed."""
    from harvester.config import default_store_url
    from harvester.store import open_store

    store = open_store(default_store_url(), "me")
    store.save_drafts([Draft(id=None, fingerprint=f"fp{i:03d}", status="pending",
                             kind="metric_lift" if i % 2 else "model_promoted", source="mlflow-prod",
                             subject="fraud-detector", occurred_at=NEWEST - timedelta(hours=i),
                             statement=f"Statement {i:03d}", impact_prompt="What changed?") for i in range(COUNT)])
    store.confirm_drafts([d.id for d in store.list_drafts(["pending"])][-5:])
    store.close()


def listed_statements(output: str) -> list[str]:
    return re.findall(r"Statement \d{3}", output)


def test_the_default_page_is_the_newest_drafts_with_how_many_more(many):
    result = run_cli("drafts", "list")
    assert result.exit_code == 0
    pending = COUNT - 5
    assert listed_statements(result.output) == [f"Statement {i:03d}" for i in range(DEFAULT_LIMIT)]
    assert (f"Showing {DEFAULT_LIMIT} of {pending} pending drafts; `--limit {DEFAULT_LIMIT * 4}` or `--all` "
            "for more.") in result.output
    assert "Confirm with `harvester drafts confirm ID`" in result.output


def test_limit_and_all(many):
    three = run_cli("drafts", "list", "--limit", "3", "--status", "all")
    assert listed_statements(three.output) == ["Statement 000", "Statement 001", "Statement 002"]
    assert f"Showing 3 of {COUNT} drafts; `--limit 12` or `--all` for more." in three.output

    every = run_cli("drafts", "list", "--all")
    assert every.exit_code == 0
    assert listed_statements(every.output) == [f"Statement {i:03d}" for i in range(COUNT - 5)]
    assert "Showing" not in every.output and f"\n{COUNT - 5} pending. Confirm with" in every.output


def test_the_limit_applies_after_the_filters(many):
    result = run_cli("drafts", "list", "--kind", "metric_lift", "--limit", "2")
    assert listed_statements(result.output) == ["Statement 001", "Statement 003"]
    assert "Showing 2 of 35 pending drafts" in result.output
    confirmed = run_cli("drafts", "list", "--status", "confirmed", "--limit", "5")
    assert len(listed_statements(confirmed.output)) == 5 and "Showing" not in confirmed.output


def test_json_lists_every_draft_unless_limited(many):
    assert len(json.loads(run_cli("drafts", "list", "--json").output)) == COUNT - 5
    limited = json.loads(run_cli("drafts", "list", "--json", "--limit", "4").output)
    assert [d["statement"] for d in limited] == [f"Statement {i:03d}" for i in range(4)]


@pytest.mark.parametrize("args, message", [
    (["--limit", "0"], "0 is not in the range x>=1"),
    (["--limit", "-3"], "-3 is not in the range x>=1"),
    (["--limit", "many"], "'many' is not a valid integer"),
    (["--limit", "5", "--all"], "--limit and --all contradict each other"),
])
def test_a_bad_limit_is_one_usage_line(many, args, message):
    result = run_cli("drafts", "list", *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_help_names_the_default_page(isolated_home):
    text = run_cli("drafts", "list", "--help").output
    assert f"Shows the newest {DEFAULT_LIMIT}" in text and "--json every draft is printed unless --limit" in text


def test_the_store_limits_in_sql(many):
    from sqlalchemy import event

    from harvester.config import default_store_url
    from harvester.store import open_store

    store = open_store(default_store_url(), "me")
    statements = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        assert len(store.list_drafts(["pending"], limit=7)) == 7
        assert store.count_drafts(["pending"]) == COUNT - 5
        assert store.count_drafts(kinds=["model_promoted"]) == (COUNT + 1) // 2
    finally:
        store.close()
    assert "LIMIT" in statements[0] and "count(" in statements[1]


def test_the_journal_pages_the_same_way(many):
    two = run_cli("journal", "--limit", "2")
    assert two.exit_code == 0
    assert len(listed_statements(two.output)) == 2
    assert "Showing 2 of 5 entries; `--limit 8` or `--all` for more." in two.output
    every = run_cli("journal", "--all")
    assert len(listed_statements(every.output)) == 5 and "Showing" not in every.output
    assert len(listed_statements(run_cli("journal").output)) == 5  # fewer than a page: all of them
    assert len(json.loads(run_cli("journal", "--json").output)) == 5
    assert len(json.loads(run_cli("journal", "--json", "--limit", "2").output)) == 2
    both = run_cli("journal", "--limit", "2", "--all")
    assert both.exit_code == 2 and "--limit and --all contradict each other" in both.output
