"""One story across sources: a PR naming a run, a model version or a ticket joins that accomplishment."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from harvester.config import parse_config
from harvester.connectors.jira.connector import JiraSettings
from harvester.connectors.jira.parse import parse_issue
from harvester.drafting.redraft import redraft
from harvester.drafting.linking import link_findings
from harvester.rules.references import find_references
from harvester.models import Evidence, Finding, Record
from harvester.settings import build_settings
from tests.support.cli import run_cli, write_config
from tests.support.jira import CLOUD, ME_ACCOUNT, cloud_user, issue

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
RUN_IDS = [f"{i:02x}" + "7c2f0e4b9a1d4c3e8f6a5b2c1d0e9f" for i in range(4)]  # 32 hex characters each
BEST_RUN = RUN_IDS[3]


def test_find_references():
    text = (f"Closes FRAUD-12 and ML-7. Trained in run {BEST_RUN} "
            f"(http://mlflow.internal/#/experiments/3/runs/{RUN_IDS[0]}); ships fraud-detector v7 and "
            "models:/churn-model/3. W&B: https://wandb.ai/acme/fraud/runs/3kq9x7ab. "
            "Unrelated: UTF-8, SHA-256, ISO-8601, commit a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d.")
    refs = find_references(text)
    assert refs["jira"] == ["FRAUD-12", "ML-7"]
    assert refs["runs"] == [BEST_RUN, RUN_IDS[0]]
    assert refs["models"] == [["churn-model", "3"], ["fraud-detector", "7"]]
    assert refs["wandb"] == ["3kq9x7ab"]
    assert find_references(None, "") == {"jira": [], "runs": [], "models": [], "wandb": []}


def finding(kind, subject, source="github-work", record_ids=(), facts=None, days=0, url=None) -> Finding:
    return Finding(rule=kind, kind=kind, source=source, subject=subject, occurred_at=NOW - timedelta(days=days),
                   period="2026-Q4", record_ids=tuple(record_ids), facts=facts or {},
                   evidence=(Evidence(url or f"https://example.com/{kind}/{subject}", kind, source),))


def test_link_findings_orders_ml_then_ticket_then_pr_and_leaves_others_alone():
    pr = finding("pr_shipped", "acme/fraud", facts={"references": {"jira": ["FRAUD-12"], "runs": [BEST_RUN]},
                                                    "prs": [{"number": 42}]})
    lift = finding("metric_lift", "fraud", source="mlflow-prod", record_ids=RUN_IDS, days=3)
    ticket = finding("ticket_resolved", "FRAUD-12", source="jira", facts={"key": "FRAUD-12"}, days=1)
    promoted = finding("model_promoted", "fraud-detector", source="mlflow-prod",
                       facts={"model": "fraud-detector", "version": "7"})
    other_pr = finding("pr_shipped", "acme/serving", facts={"references": {"models": [["Fraud-Detector", "7"]]}})
    alone = finding("pr_shipped", "acme/docs", facts={"references": {"jira": ["NOPE-1"]}})
    groups = link_findings([pr, lift, ticket, promoted, other_pr, alone])
    kinds = sorted([tuple(f.kind for f in g.findings) for g in groups])
    assert kinds == [("metric_lift", "ticket_resolved", "pr_shipped"), ("model_promoted", "pr_shipped"),
                     ("pr_shipped",)]


def test_a_pr_naming_two_accomplishments_joins_them():
    pr = finding("pr_shipped", "acme/fraud", facts={"references": {"jira": ["FRAUD-12", "FRAUD-13"]}})
    a = finding("ticket_resolved", "FRAUD-12", source="jira", facts={"key": "FRAUD-12"})
    b = finding("epic_completed", "FRAUD-1", source="jira", facts={"key": "FRAUD-1", "keys": ["FRAUD-13"]})
    [group] = link_findings([a, pr, b])
    assert [f.kind for f in group.findings] == ["epic_completed", "ticket_resolved", "pr_shipped"]


# end to end: records in a real store -> rules -> one draft --------------------------------------------


def run_record(i: int, auc: float, day: int) -> Record:
    when = NOW - timedelta(days=20 - day)
    rid = RUN_IDS[i]
    return Record(source="mlflow-prod", kind="run", external_id=rid, occurred_at=when, subject="fraud",
                  actor="ada", mine=True, title=f"run-{i}", url=f"http://mlflow.internal/#/experiments/3/runs/{rid}",
                  attributes={"status": "finished", "metrics": {"val_auc": auc}, "params": {}, "tags": {},
                              "name": f"run-{i}", "experiment_id": "3",
                              "experiment_url": "http://mlflow.internal/#/experiments/3",
                              "started_at": when.isoformat(), "ended_at": when.isoformat()})


def pr_record(number: int, title: str, body: str, days_ago: float = 2) -> Record:
    merged = NOW - timedelta(days=days_ago)
    return Record(source="github-work", kind="pull_request", external_id=str(900000 + number), occurred_at=merged,
                  subject="acme/fraud", actor="ada", mine=True, title=title,
                  url=f"https://github.com/acme/fraud/pull/{number}",
                  attributes={"title": title, "number": number, "repo": "acme/fraud", "merged_at": merged.isoformat(),
                              "updated_at": merged.isoformat(), "labels": [], "body": body, "author_id": 101,
                              "author_login": "ada", "is_bot": False})


def jira_record(key: str, summary: str) -> Record:
    settings = build_settings(JiraSettings, {"url": CLOUD}, "t")
    raw = issue(key, summary, resolved=NOW - timedelta(days=1), assignee=cloud_user(),
                created=NOW - timedelta(days=12))
    return parse_issue(raw, "jira", CLOUD, frozenset({ME_ACCOUNT}), settings)


ML_RECORDS = [run_record(0, 0.80, 0), run_record(1, 0.82, 2), run_record(2, 0.84, 4), run_record(3, 0.87, 6)]
PR = pr_record(42, "Add focal loss to the fraud model",
               f"Implements FRAUD-12.\n\nBest run: http://mlflow.internal/#/experiments/3/runs/{BEST_RUN}")
TICKET = jira_record("FRAUD-12", "Reduce false negatives on card-not-present fraud")


@pytest.fixture
def config():
    return parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]}}, None)


def pending(store):
    return store.list_drafts(["pending"])


def test_pr_run_and_ticket_become_one_draft_with_every_source(store, config):
    store.save_page(ML_RECORDS + [PR, TICKET], None)
    redraft(store, config, now=NOW)
    [draft] = pending(store)
    assert draft.kind == "metric_lift"
    assert draft.statement.startswith("Improved validation AUC of fraud from 0.80 to 0.87 (+8.7%) over 4 runs")
    assert draft.statement.endswith('Merged in PR acme/fraud#42 "Add focal loss to the fraud model" for ticket FRAUD-12.')
    urls = [e.url for e in draft.evidence]
    assert f"http://mlflow.internal/#/experiments/3/runs/{BEST_RUN}" in urls
    assert "https://github.com/acme/fraud/pull/42" in urls and f"{CLOUD}/browse/FRAUD-12" in urls
    assert [(x["source"], x["kind"], x["subject"]) for x in draft.linked] == [
        ("jira", "ticket_resolved", "FRAUD-12"), ("github-work", "pr_shipped", "acme/fraud")]
    again = redraft(store, config, now=NOW)
    assert again.new == 0 and again.updated == 0 and len(pending(store)) == 1


def test_a_later_link_sets_aside_the_earlier_pending_pr_draft(store, config):
    store.save_page([PR], None)
    redraft(store, config, now=NOW)
    [pr_draft] = pending(store)
    assert pr_draft.kind == "pr_shipped"
    store.save_page(ML_RECORDS + [TICKET], None)
    redraft(store, config, now=NOW)
    [draft] = pending(store)
    assert draft.kind == "metric_lift" and "acme/fraud#42" in draft.statement
    old = store.get_draft(pr_draft.id)
    assert old.status == "superseded" and old.reason == f"linked into draft #{draft.id}"
    # the rules it was linked through are turned off: the PR's own draft comes back
    tuned = parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]},
                          "rules": {"metric_lift": {"enabled": False}, "ticket_resolved": {"enabled": False}}}, None)
    redraft(store, tuned, now=NOW)
    assert store.get_draft(pr_draft.id).status == "pending" and store.get_draft(pr_draft.id).reason is None
    assert pr_draft.id in [d.id for d in pending(store)]


def test_confirmed_and_edited_drafts_are_never_set_aside(store, config):
    other = pr_record(43, "Serve fraud model behind a flag", f"Serves the model of run {BEST_RUN}", days_ago=3)
    store.save_page([PR, other], None)
    redraft(store, config, now=NOW)
    first, second = sorted(pending(store), key=lambda d: d.statement)
    store.confirm_draft(first.id)
    store.edit_draft(second.id, "Shipped the flag that let us roll out the fraud model safely.")
    store.save_page(ML_RECORDS + [TICKET], None)
    redraft(store, config, now=NOW)
    assert store.get_draft(first.id).status == "confirmed"
    assert store.get_draft(second.id).status == "pending" and store.get_draft(second.id).edited
    assert [d.kind for d in pending(store)] == ["metric_lift", "pr_shipped"]  # the group, and the edited PR


def test_drafts_list_json_shows_the_linked_evidence(store, config, database_url, tmp_path):
    store.save_page(ML_RECORDS + [PR, TICKET], None)
    redraft(store, config, now=NOW)
    path = write_config(tmp_path / "harvester.toml",
                        f'[identity]\nemail = "ada@example.com"\nhandles = ["ada"]\n[store]\nurl = "{database_url}"\n')
    result = run_cli("--config", str(path), "drafts", "list", "--json")
    assert result.exit_code == 0, result.output
    [item] = json.loads(result.output)
    assert {x["kind"] for x in item["linked"]} == {"ticket_resolved", "pr_shipped"}
    assert {e["source"] for e in item["evidence_detail"]} == {"mlflow-prod", "github-work", "jira"}
