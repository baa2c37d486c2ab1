"""A year of varied journal entries, built the way the tool builds them: findings worded and
tagged by the drafter then confirmed, plus entries logged by hand."""

from __future__ import annotations

from datetime import datetime, timezone

from harvester.drafting.redraft import draft_from_group
from harvester.drafting.linking import FindingGroup
from harvester.models import Entry, Evidence, Finding, Metric
from harvester.drafting.rubric import Framework, load_framework
from harvester.timeutil import quarter_of

INJECTION = "**bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)> <script>alert(3)</script>"


def day(month: int, d: int, year: int = 2026) -> datetime:
    return datetime(year, month, d, 15, 30, tzinfo=timezone.utc)


def confirm_finding(store, framework: Framework, finding: Finding) -> Entry:
    store.save_findings([finding])
    store.save_draft(draft_from_group(FindingGroup((finding,)), framework))
    draft = next(d for d in store.list_drafts(["pending"]) if d.fingerprint == finding.fingerprint)
    return store.confirm_draft(draft.id)


def ml_finding(kind: str, subject: str, when: datetime, metrics: tuple[Metric, ...], runs: int,
               source: str = "mlflow-prod", **facts) -> Finding:
    run = f"https://mlflow.example.com/#/experiments/3/runs/{kind}{when:%m%d}"
    return Finding(rule=kind, kind=kind, source=source, subject=subject, occurred_at=when, period=quarter_of(when),
                   metrics=metrics, record_ids=(f"{kind}{when:%m%d}",),
                   evidence=(Evidence(run, "best run", source),),
                   facts={"runs": runs, "baseline_kind": "baseline run", **facts}, identity=(subject, kind))


def log(store, framework: Framework, text: str, when: datetime, kind: str = "note", source: str = "manual",
        tags: tuple[str, ...] | None = None, evidence: tuple[Evidence, ...] = (),
        metrics: tuple[Metric, ...] = (), outcome: str | None = None) -> Entry:
    return store.add_entry(Entry(id=None, text=text, occurred_at=when, kind=kind, source=source,
                                 tags=framework.tag(kind, text) if tags is None else tags,
                                 evidence=evidence, metrics=metrics, outcome=outcome))


def seed_year(store, framework: Framework | None = None) -> dict[str, Entry]:
    """2026 in one engineer's journal (plus one entry either side of the year)."""
    fw = framework or load_framework()
    gh = "https://github.com/acme/ranker/pull/"
    e: dict[str, Entry] = {}
    e["before"] = log(store, fw, "Wrapped up the 2025 fraud model retrospective", day(12, 30, 2025))
    e["pairing"] = log(store, fw, "Paired with Priya on her first feature pipeline", day(1, 20))
    e["lift"] = confirm_finding(store, fw, ml_finding(
        "metric_lift", "fraud-detector", day(2, 12), (Metric("val_auc", 0.81, 0.87),), runs=14))
    e["campaign"] = confirm_finding(store, fw, ml_finding(
        "experiment_campaign", "fraud-detector", day(3, 20), (Metric("val_auc", 0.84, 0.835),), runs=12,
        explored=["learning_rate", "dropout"]))
    e["promotion"] = confirm_finding(store, fw, ml_finding(
        "model_promoted", "fraud-detector", day(4, 8), (Metric("val_auc", None, 0.87),), runs=0,
        version="7", target="production"))
    e["promotion"] = store.update_entry(e["promotion"].id, outcome="Chargeback losses fell 9% in the first month")
    e["latency"] = confirm_finding(store, fw, ml_finding(
        "latency_reduction", "ranker-serving", day(5, 15), (Metric("p99_latency_ms", 420.0, 140.0, "ms"),), runs=6))
    e["cost"] = confirm_finding(store, fw, ml_finding(
        "cost_reduction", "ranker-training", day(6, 3), (Metric("gpu_hours_per_day", 96.0, 60.0),), runs=5))
    e["pr_backfill"] = log(store, fw, "Merged PR #412: streaming feature backfill for the ranker dataset", day(7, 9),
                           kind="pr_shipped", source="github", evidence=(Evidence(gh + "412", "PR #412", "github"),))
    e["review_1"] = log(store, fw, "Reviewed the embedding refresh design for the search team", day(7, 30),
                        kind="review_given", source="github", evidence=(Evidence(gh + "418", "PR #418", "github"),))
    e["wandb_lift"] = log(store, fw, "Lifted ndcg@10 of search-ranker from 0.412 to 0.431", day(8, 5),
                          kind="metric_lift", source="wandb-team", metrics=(Metric("ndcg@10", 0.412, 0.431),))
    e["pr_alerts"] = log(store, fw, "Merged PR #433: drift monitoring alerts for the fraud model", day(8, 21),
                         kind="pr_shipped", source="github", evidence=(Evidence(gh + "433", "PR #433", "github"),))
    e["pr_cleanup"] = log(store, fw, "Merged PR #440: removed the legacy scoring path", day(9, 2),
                          kind="pr_shipped", source="github")
    e["ticket"] = log(store, fw, "Resolved RISK-91: label delay in the chargeback dataset", day(9, 18),
                      kind="ticket_resolved", source="jira")
    e["review_2"] = log(store, fw, "Reviewed the feature store migration plan", day(10, 14),
                        kind="review_given", source="github")
    e["docs"] = log(store, fw, "Wrote the offline evaluation guide now used by three teams", day(10, 28),
                    kind="docs_written", source="github")
    e["epic"] = log(store, fw, "Completed epic RISK-88: real-time scoring for card-not-present payments", day(11, 5),
                    kind="epic_completed", source="jira", outcome="Manual review queue down 30%, saving 2 analyst FTEs")
    e["incident"] = log(store, fw, "Resolved the ranker rollback incident within 40 minutes", day(12, 2),
                        kind="incident_resolved", source="jira")
    e["injection"] = log(store, fw, INJECTION, day(12, 15), tags=("partnership-mentorship",),
                         evidence=(Evidence("javascript:alert(2)", "<b>click</b>", "manual"),
                                   Evidence("https://example.com/a b)(<x>", "ok [link](y)", "manual")),
                         outcome="**also** <i>this</i>")
    e["after"] = log(store, fw, "Kicked off the 2027 roadmap for fraud models", day(1, 2, 2027))
    return e
