"""Drafts follow the findings: refreshed while pending, set aside when their finding goes,
back when it returns; the engineer's decisions and edits are never touched."""

from __future__ import annotations

from harvester.config import parse_config
from harvester.drafting.redraft import redraft
from tests.rules.factories import run

LIFT = [run(0, {"val_auc": 0.80}), run(1, {"val_auc": 0.86})]
LATENCY = [run(0, {"p99_latency_ms": 400}, subject="ranker"), run(1, {"p99_latency_ms": 200}, subject="ranker")]


def config(**rules):
    return parse_config({"identity": {"handles": ["ada"]}, "rules": rules}, None)


def test_a_draft_whose_finding_goes_is_set_aside_and_comes_back(store):
    store.save_page(LIFT + LATENCY, None)
    assert redraft(store, config()).new == 2
    off = redraft(store, config(metric_lift={"enabled": False}))
    assert off.superseded == 1
    statuses = {d.kind: d.status for d in store.list_drafts()}
    assert statuses == {"metric_lift": "superseded", "latency_reduction": "pending"}
    assert "no longer found" in next(d.reason for d in store.list_drafts() if d.kind == "metric_lift")
    back = redraft(store, config())
    assert back.updated == 1 and back.new == 0
    assert {d.status for d in store.list_drafts()} == {"pending"}


def test_decided_and_edited_drafts_stay_when_their_finding_goes(store):
    store.save_page(LIFT + LATENCY, None)
    redraft(store, config())
    drafts = {d.kind: d for d in store.list_drafts()}
    store.confirm_draft(drafts["metric_lift"].id)
    store.edit_draft(drafts["latency_reduction"].id, "Halved p99 of the ranker")
    result = redraft(store, config(metric_lift={"enabled": False}, latency_reduction={"enabled": False}))
    assert result.superseded == 0
    after = {d.kind: d for d in store.list_drafts()}
    assert after["metric_lift"].status == "confirmed"
    assert after["latency_reduction"].status == "pending"
    assert after["latency_reduction"].statement == "Halved p99 of the ranker"


def test_drafting_is_skipped_only_when_nothing_it_reads_changed(store):
    from dataclasses import replace

    from harvester.drafting.redraft import redraft_if_changed

    assert store.save_page(LIFT + LATENCY, None) == 4
    assert redraft_if_changed(store, config()).new == 2
    assert redraft_if_changed(store, config()).skipped

    # the same records fetched again (a nightly overlap): still nothing to do
    assert store.save_page(LIFT, None) == 0
    assert redraft_if_changed(store, config()).skipped

    # a rule setting changed: a real pass
    tuned = redraft_if_changed(store, config(latency_reduction={"min_relative_improvement": 0.9}))
    assert not tuned.skipped and tuned.superseded == 1

    # a record changed in what rules read: a real pass
    better = replace(LIFT[1], attributes={**LIFT[1].attributes, "metrics": {"val_auc": 0.9}})
    assert store.save_page([better], None) == 1
    counts = redraft_if_changed(store, config())
    assert not counts.skipped and counts.updated >= 1
    assert redraft_if_changed(store, config()).skipped


def test_a_change_saved_while_drafting_runs_is_drafted_next_time(store, monkeypatch):
    import harvester.drafting.redraft as drafting

    store.save_page(LIFT, None)
    original = drafting.detect_findings
    late = run(2, {"val_auc": 0.95})

    def detect_then_harvest(*args, **kwargs):
        found = original(*args, **kwargs)
        store.save_page([late], None)  # committed by a harvest after the rules read the records
        return found

    monkeypatch.setattr(drafting, "detect_findings", detect_then_harvest)
    drafting.redraft_if_changed(store, config())
    monkeypatch.setattr(drafting, "detect_findings", original)
    again = drafting.redraft_if_changed(store, config())
    assert not again.skipped and again.updated == 1
    [lift] = store.list_drafts()
    assert lift.metrics[0].after == 0.95
