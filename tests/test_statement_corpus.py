"""The statement corpus: hand-written scenarios, records in their real shapes -> the exact
drafts an engineer reads (statement, metrics, tags). Each expected statement was read as a
reader would: the specific work, plain names, numbers equal to the evidence, nothing false.

A scenario's records go through the connectors' parsers, a real store, the rules, linking and
wording, as in a harvest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from harvester.config import parse_config
from harvester.drafting.redraft import redraft
from harvester.models import Record
from harvester.store import open_store
from harvester.drafting.wording.names import MetricNames
from tests.support.corpus import (NOW, jira_issue, mlflow_run, promotion, pull_request, ungrounded_numbers)



@dataclass
class Scenario:
    name: str
    records: Callable[[], list[Record]]
    drafts: list[tuple[str, str, list[tuple], tuple[str, ...]]]  # kind, statement, metrics, tags
    config: dict = field(default_factory=dict)


def campaign(experiment: str, values: list[dict], params: list[dict] | None = None, start: float = 0,
             step: float = 2, baseline: bool = True, tags: dict[int, dict] | None = None,
             names: dict[int, str] | None = None) -> list[Record]:
    """My runs on an experiment, the first tagged as the baseline."""
    out = []
    for i, metrics in enumerate(values):
        run_tags = dict((tags or {}).get(i, {}))
        if i == 0 and baseline:
            run_tags["baseline"] = "true"
        out.append(mlflow_run(experiment, start + i * step, metrics, (params or [{}] * len(values))[i],
                              tags=run_tags, name=(names or {}).get(i)))
    return out


def lift_with_params():
    return campaign("churn-model", [{"val_auc": 0.78}, {"val_auc": 0.79}, {"val_auc": 0.82}],
                    [{"model": "xgboost", "max_depth": 6, "seed": 1},
                     {"model": "xgboost", "max_depth": 8, "seed": 2},
                     {"model": "lightgbm", "max_depth": 10, "seed": 3}])


def lift_with_description():
    return campaign("fraud-detector", [{"val_auc": 0.81}, {"val_auc": 0.83}, {"val_auc": 0.8641}],
                    tags={2: {"mlflow.note.content": "Added merchant-history features (30-day spend)\n\nmore"}})


def lift_and_promotion():
    runs = campaign("fraud-detector", [{"val_auc": 0.81}, {"val_auc": 0.84}, {"val_auc": 0.8641}],
                    [{"features": "base"}, {"features": "base+merchant"}, {"features": "base+merchant+device"}])
    return runs + [promotion("fraud-detector", 7, runs[-1], day=10, previous=6)]


def latency_and_cost_one_pair():
    return campaign("ranker-serving",
                    [{"p99_latency_ms": 420, "p50_latency_ms": 95, "cost_per_1k_requests_usd": 0.42},
                     {"p99_latency_ms": 300, "p50_latency_ms": 70, "cost_per_1k_requests_usd": 0.36},
                     {"p99_latency_ms": 140, "p50_latency_ms": 50, "cost_per_1k_requests_usd": 0.30}],
                    [{"quantization": "none", "batch_size": 8, "backend": "torch"},
                     {"quantization": "int8", "batch_size": 16, "backend": "torch"},
                     {"quantization": "int8", "batch_size": 48, "backend": "onnx"}])


def throughput_rising():
    return campaign("embedder-serving", [{"throughput_rps": 800}, {"throughput_rps": 1250}],
                    [{"replicas": 2, "dynamic_batching": "off"}, {"replicas": 2, "dynamic_batching": "on"}])


def genai_lift():
    genai = {"mlflow.runType": "genai_evaluate"}
    return campaign("support-bot", [{"correctness/mean": 0.72, "safety/mean": 0.97, "relevance_to_query/mean": 0.80},
                                    {"correctness/mean": 0.79, "safety/mean": 0.98, "relevance_to_query/mean": 0.84},
                                    {"correctness/mean": 0.86, "safety/mean": 0.99, "relevance_to_query/mean": 0.88}],
                    [{"prompt_version": "v3", "model": "gpt-4o-mini"}, {"prompt_version": "v4", "model": "gpt-4o-mini"},
                     {"prompt_version": "v5", "model": "gpt-4o-mini"}], tags={0: genai, 1: genai, 2: genai})


def negative_under_bar():
    values = [{"val_f1": 0.700}] + [{"val_f1": 0.690 + i * 0.002} for i in range(8)] + [{"val_f1": 0.7106}]
    params = [{"features": "v1", "max_depth": 6}] + [{"features": f"v{2 + i % 2}", "max_depth": 6 + i % 3}
                                                    for i in range(9)]
    return campaign("churn-model", values, params)


def negative_never_beat():
    values = [{"val_ndcg_at_10": 0.642}] + [{"val_ndcg_at_10": 0.640 - i * 0.001} for i in range(11)]
    params = [{"embedding_dim": 64, "num_negatives": 4}] + [
        {"embedding_dim": [64, 128, 256][i % 3], "num_negatives": [4, 8, 16, 32][i % 4]} for i in range(11)]
    return campaign("ranking-v3", values, params)


def negative_only_matched():
    values = [{"val_accuracy": 0.91}] + [{"val_accuracy": 0.91 - (i % 2) * 0.01} for i in range(8)]
    params = [{"augment": "none"}] + [{"augment": ["flip", "crop"][i % 2]} for i in range(8)]
    return campaign("defect-classifier", values, params)


def lift_with_two_metrics():
    return campaign("ctr-model", [{"val_auc": 0.750, "val_loss": 0.52}, {"val_auc": 0.761, "val_loss": 0.50},
                                  {"val_auc": 0.772, "val_loss": 0.47}],
                    [{"lr": 0.1}, {"lr": 0.05}, {"lr": 0.03}])


def lift_on_a_loss():
    return campaign("demand-forecast", [{"val_rmse": 41.3}, {"val_rmse": 38.0}, {"val_rmse": 35.9}],
                    [{"lags": 7}, {"lags": 14}, {"lags": 28}])


def lift_with_run_name():
    return campaign("fraud-detector", [{"val_auc": 0.81}, {"val_auc": 0.85}], names={1: "focal-loss-gamma2"})


def lift_nothing_known():
    return campaign("fraud-detector", [{"val_auc": 0.81}, {"val_auc": 0.85}])


def lift_with_pr():
    runs = lift_nothing_known()
    pr = pull_request(42, "Train with focal loss to catch rare fraud",
                      body=f"Best run: http://mlflow.internal/#/experiments/100/runs/{runs[-1].external_id}")
    return runs + [pr]


def epic_with_linked_lift():
    runs = campaign("fraud-detector", [{"val_auc": 0.81}, {"val_auc": 0.86}], [{"loss": "bce"}, {"loss": "focal"}])
    epic = ("FRAUD-1", "Fraud model v2")
    issues = [jira_issue("FRAUD-1", "Fraud model v2", type="Epic", day=59),
              jira_issue("FRAUD-12", "Try focal loss on card-not-present fraud", epic=epic, points=5, day=56),
              jira_issue("FRAUD-13", "Backfill chargeback labels for 2025", epic=epic, points=3, day=57)]
    pr = pull_request(42, "Focal loss for the fraud model",
                      body=f"Fixes FRAUD-12. Run {runs[-1].external_id}")
    return runs + issues + [pr]


def gpu_memory_cut():
    return campaign("llm-finetune", [{"gpu_mem_gb": 38.0, "train_loss": 1.21}, {"gpu_mem_gb": 21.5, "train_loss": 1.22}],
                    [{"gradient_checkpointing": "false", "precision": "fp32"},
                     {"gradient_checkpointing": "true", "precision": "bf16"}])


def cost_only():
    return campaign("batch-scoring", [{"cost_per_run_usd": 184.0}, {"cost_per_run_usd": 61.0}],
                    [{"instance_type": "p3.2xlarge"}, {"instance_type": "g5.xlarge"}])


def promotion_alone():
    run = mlflow_run("fraud-detector", 1, {"val_auc": 0.8712})
    return [run, promotion("fraud-detector", 9, run, day=5, target="Production", via="stage", previous=8)]


def promotion_to_staging():
    run = mlflow_run("fraud-detector", 1, {"val_auc": 0.8712})
    return [run, promotion("fraud-detector", 9, run, day=5, target="Staging", via="stage")]


def others_runs_only():
    return [mlflow_run("fraud-detector", i, {"val_auc": 0.80 + i / 50}, user="bob") for i in range(5)]


def noise_level_change():
    return campaign("fraud-detector", [{"val_auc": 0.810}, {"val_auc": 0.812}, {"val_auc": 0.813}])


def named_by_the_team():
    return campaign("fraud-detector", [{"val_auc": 0.81}, {"val_auc": 0.85}], [{"window": 7}, {"window": 30}])


def ticket_alone():
    return [jira_issue("ML-60", "Add drift alerts to the scoring service", points=5, labels=["monitoring"])]


def pr_alone():
    return [pull_request(77, "Add a feature-store backfill job for the ranking dataset", repo="acme/features",
                         additions=310, deletions=12)]


def incident():
    return [jira_issue("OPS-7", "Scores are NaN for new merchants", type="Incident", priority="Highest", day=58)]


def genai_never_beat():
    genai = {"mlflow.runType": "genai_evaluate"}
    values = [{"correctness/mean": 0.80}] + [{"correctness/mean": 0.78 - i * 0.01} for i in range(8)]
    params = [{"retriever_k": 5}] + [{"retriever_k": [3, 10][i % 2]} for i in range(8)]
    return campaign("support-bot", values, params, tags={i: genai for i in range(9)})


SCENARIOS = [
    Scenario("lift with params", lift_with_params, [
        ('metric_lift',
         'Improved validation AUC of churn-model from 0.78 to 0.82 (+5.1%) over 3 runs by raising max depth from 6 to 10 and changing model from xgboost to lightgbm.',
         [('val_auc', 0.78, 0.82)], ('model-performance', 'experimentation')),
    ]),
    Scenario("lift with description", lift_with_description, [
        ('metric_lift',
         'Improved validation AUC of fraud-detector from 0.81 to 0.86 (+6.7%) over 3 runs (best run: "Added merchant-history features (30-day spend)").',
         [('val_auc', 0.81, 0.8641)], ('model-performance', 'experimentation')),
    ]),
    Scenario("lift and promotion", lift_and_promotion, [
        ('metric_lift',
         'Improved validation AUC of fraud-detector from 0.81 to 0.86 (+6.7%) over 3 runs by changing features from base to base+merchant+device, and shipped it as fraud-detector v7, now champion, replacing v6.',
         [('val_auc', 0.81, 0.8641)], ('model-performance', 'production-mlops', 'experimentation')),
    ]),
    Scenario("latency and cost one pair", latency_and_cost_one_pair, [
        ('latency_reduction',
         'Cut p99 latency of ranker-serving from 420 ms to 140 ms (−67%) over 3 runs by changing quantization from none to int8 and backend from torch to onnx, and raising batch size from 8 to 48; also p50 latency fell from 95 ms to 50 ms (−47%) and cost per 1k requests fell from $0.42 to $0.30 (−29%).',
         [('p99_latency_ms', 420.0, 140.0), ('p50_latency_ms', 95.0, 50.0), ('cost_per_1k_requests_usd', 0.42, 0.3)], ('efficiency',)),
    ]),
    Scenario("throughput rising", throughput_rising, [
        ('latency_reduction',
         'Raised throughput of embedder-serving from 800 rps to 1,250 rps (+56%) over 2 runs by turning on dynamic batching.',
         [('throughput_rps', 800.0, 1250.0)], ('efficiency',)),
    ]),
    Scenario("genai lift", genai_lift, [
        ('metric_lift',
         'Improved correctness of the support-bot LLM application from 0.72 to 0.86 (+19%) over 3 evaluation runs by changing prompt version from v3 to v5; also relevance to query rose from 0.80 to 0.88 (+10%) and safety rose from 0.97 to 0.99 (+2.1%).',
         [('correctness/mean', 0.72, 0.86), ('relevance_to_query/mean', 0.8, 0.88), ('safety/mean', 0.97, 0.99)], ('model-performance', 'experimentation')),
    ]),
    Scenario("negative under bar", negative_under_bar, [
        ('experiment_campaign',
         'Tested changes to features and max depth on churn-model over 10 runs: the best validation F1 (0.71) was only 1.5% above the 0.70 baseline, under the 2% bar, so the baseline stands.',
         [('val_f1', 0.7, 0.7106)], ('experimentation',)),
    ]),
    Scenario("negative never beat", negative_never_beat, [
        ('experiment_campaign',
         'Ruled out changes to embedding dimension and number of negatives on ranking-v3 after 12 runs: none beat the baseline validation NDCG@10 of 0.642 (best 0.640).',
         [('val_ndcg_at_10', 0.642, 0.64)], ('experimentation',)),
    ]),
    Scenario("negative only matched", negative_only_matched, [
        ('experiment_campaign',
         'Ruled out changes to augment on defect-classifier after 9 runs: the best validation accuracy only matched the baseline of 0.91.',
         [('val_accuracy', 0.91, 0.91)], ('experimentation',)),
    ]),
    Scenario("lift with two metrics", lift_with_two_metrics, [
        ('metric_lift',
         'Improved validation AUC of ctr-model from 0.75 to 0.77 (+2.9%) over 3 runs by lowering learning rate from 0.1 to 0.03; also validation loss fell from 0.52 to 0.47 (−9.6%).',
         [('val_auc', 0.75, 0.772), ('val_loss', 0.52, 0.47)], ('model-performance', 'experimentation')),
    ]),
    Scenario("lift on a loss", lift_on_a_loss, [
        ('metric_lift',
         'Reduced validation RMSE of demand-forecast from 41.3 to 35.9 (−13%) over 3 runs by raising lags from 7 to 28.',
         [('val_rmse', 41.3, 35.9)], ('model-performance', 'experimentation')),
    ]),
    Scenario("lift with run name", lift_with_run_name, [
        ('metric_lift',
         'Improved validation AUC of fraud-detector from 0.81 to 0.85 (+4.9%) over 2 runs (best run: focal-loss-gamma2).',
         [('val_auc', 0.81, 0.85)], ('model-performance', 'experimentation')),
    ]),
    Scenario("lift nothing known", lift_nothing_known, [
        ('metric_lift',
         'Improved validation AUC of fraud-detector from 0.81 to 0.85 (+4.9%) over 2 runs.',
         [('val_auc', 0.81, 0.85)], ('model-performance', 'experimentation')),
    ]),
    Scenario("lift with pr", lift_with_pr, [
        ('metric_lift',
         'Improved validation AUC of fraud-detector from 0.81 to 0.85 (+4.9%) over 2 runs. Merged in PR acme/fraud#42 "Train with focal loss to catch rare fraud".',
         [('val_auc', 0.81, 0.85)], ('model-performance', 'experimentation')),
    ]),
    Scenario("epic with linked lift", epic_with_linked_lift, [
        ('epic_completed',
         'Completed epic FRAUD-1 "Fraud model v2" in 9 days, resolving 2 issues of it myself (8 story points). Includes the validation AUC lift on fraud-detector (ticket FRAUD-12).',
         [], ('model-performance', 'business-impact')),
        ('metric_lift',
         'Improved validation AUC of fraud-detector from 0.81 to 0.86 (+6.2%) over 2 runs by changing loss from bce to focal. Merged in PR acme/fraud#42 "Focal loss for the fraud model". Part of epic FRAUD-1 "Fraud model v2" through ticket FRAUD-12.',
         [('val_auc', 0.81, 0.86)], ('model-performance', 'experimentation')),
    ]),
    Scenario("gpu memory cut", gpu_memory_cut, [
        ('cost_reduction',
         'Reduced GPU memory of llm-finetune from 38.0 GB to 21.5 GB (−43%) over 2 runs by turning on gradient checkpointing and changing precision from fp32 to bf16.',
         [('gpu_mem_gb', 38.0, 21.5)], ('efficiency',)),
    ]),
    Scenario("cost only", cost_only, [
        ('cost_reduction',
         'Reduced cost per run of batch-scoring from $184 to $61 (−67%) over 2 runs by changing instance type from p3.2xlarge to g5.xlarge.',
         [('cost_per_run_usd', 184.0, 61.0)], ('efficiency',)),
    ]),
    Scenario("promotion alone", promotion_alone, [
        ('model_promoted',
         'Shipped fraud-detector v9, now in Production, replacing v8, with validation AUC 0.871 on its source run.',
         [('val_auc', None, 0.8712)], ('model-performance', 'production-mlops')),
    ]),
    Scenario("promotion to staging", promotion_to_staging, [
        ('model_promoted',
         'Promoted fraud-detector v9 to Staging, with validation AUC 0.871 on its source run.',
         [('val_auc', None, 0.8712)], ('model-performance', 'production-mlops')),
    ]),
    Scenario("others runs only", others_runs_only, [
    ]),
    Scenario("noise level change", noise_level_change, [
    ]),
    Scenario("ticket alone", ticket_alone, [
        ('ticket_resolved',
         'Resolved ML-60 "Add drift alerts to the scoring service" (Story, 5 story points) in 9 days.',
         [], ('production-mlops',)),
    ]),
    Scenario("pr alone", pr_alone, [
        ('pr_shipped',
         'Shipped "Add a feature-store backfill job for the ranking dataset" in acme/features (PR #77), +310/-12 lines across 4 files, reviewed by grace.',
         [('lines changed', None, 322.0)], ('data-features',)),
    ]),
    Scenario("incident", incident, [
        ('incident_resolved',
         'Resolved Highest-priority incident OPS-7 "Scores are NaN for new merchants" within 9 days of it being raised.',
         [], ('production-mlops',)),
    ]),
    Scenario("genai never beat", genai_never_beat, [
        ('experiment_campaign',
         'Ruled out changes to retriever k on the support-bot LLM application after 9 evaluation runs: none beat the baseline correctness of 0.80 (best 0.78).',
         [('correctness/mean', 0.8, 0.78)], ('experimentation',)),
    ]),

    Scenario("names the team's own way", named_by_the_team, [
        ('metric_lift',
         'Improved holdout AUC of fraud-detector from 0.81 to 0.85 (+4.9%) over 2 runs by raising lookback window '
         '(days) from 7 to 30.',
         [('val_auc', 0.81, 0.85)], ('model-performance', 'experimentation')),
    ], config={"wording": {"metric_names": {"val_auc": "holdout AUC", "window": "lookback window (days)"}}}),
]


def run_scenario(scenario: Scenario, tmp_path) -> tuple[list, object]:
    store = open_store(f"sqlite:///{tmp_path / 'corpus.db'}", "ada@example.com")
    config = parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]}, **scenario.config}, None)
    store.save_page(scenario.records(), None)
    redraft(store, config, now=NOW)
    return store.list_drafts(["pending"]), store


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_scenario_drafts_exactly_what_a_reader_signs(scenario, tmp_path):
    drafts, store = run_scenario(scenario, tmp_path)
    got = sorted((d.kind, d.statement, [(m.name, m.before, m.after) for m in d.metrics], d.tags) for d in drafts)
    assert got == sorted(scenario.drafts)
    store.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_number_a_statement_states_is_in_its_evidence(scenario, tmp_path):
    drafts, store = run_scenario(scenario, tmp_path)
    facts = {f["fingerprint"]: f for f in store.load_finding_identities(
        {(d.kind, d.source, d.subject) for d in drafts})}
    names = MetricNames(scenario.config.get("wording", {}).get("metric_names", {}))
    for d in drafts:
        bodies = finding_facts(store)
        labels = [names.label(m.name) for m in d.metrics]
        assert ungrounded_numbers(d, bodies, labels) == [], d.statement
    assert facts is not None
    store.close()


def finding_facts(store) -> list[dict]:
    import sqlalchemy as sa

    from harvester.store import schema

    with store.engine.connect() as conn:
        return [dict(row.body.get("facts") or {}) for row in conn.execute(sa.select(schema.findings.c.body))]


def test_the_number_check_catches_a_misstated_number(tmp_path):
    drafts, store = run_scenario(SCENARIOS[0], tmp_path)
    [d] = drafts
    wrong = d.statement.replace("0.82", "0.83")
    from dataclasses import replace

    assert ungrounded_numbers(replace(d, statement=wrong), finding_facts(store), ["validation AUC"]) == ["0.83"]
    store.close()


def config_for(extra: dict | None = None):
    return parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]}, **(extra or {})}, None)


def test_a_back_dated_run_keeps_a_rejected_accomplishment_rejected(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'corpus.db'}", "ada@example.com")
    runs = negative_never_beat()
    store.save_page(runs, None)
    redraft(store, config_for(), now=NOW)
    [draft] = store.list_drafts(["pending"])
    store.reject_draft(draft.id, "a known dead end")
    late = mlflow_run("ranking-v3", -0.5, {"val_ndcg_at_10": 0.639}, {"embedding_dim": 32, "num_negatives": 4})
    assert late.occurred_at < runs[0].occurred_at  # logged later, started before the campaign's first run
    store.save_page([late], None)
    counts = redraft(store, config_for(), now=NOW)
    assert counts.new == 0
    assert store.list_drafts(["pending"]) == []
    [rejected] = store.list_drafts(["rejected"])
    assert rejected.id == draft.id and rejected.statement == draft.statement
    store.close()


def test_a_source_that_failed_mid_harvest_drafts_nothing_from_its_partial_records(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'corpus.db'}", "ada@example.com")
    runs = negative_never_beat()
    run_id = store.start_harvest_run("mlflow")
    store.save_page(runs[:9], None)  # the server went away after nine runs
    store.finish_harvest_run(run_id, "failed", 9, 1, "mlflow: cannot reach the tracking server")
    counts = redraft(store, config_for(), now=NOW)
    assert counts.held == ("mlflow",) and counts.new == 0
    assert store.list_drafts(["pending"]) == []  # no "ruled out after 9 runs" from a partial page
    run_id = store.start_harvest_run("mlflow")
    store.save_page(runs, None)
    store.finish_harvest_run(run_id, "ok", len(runs), 1, None)
    counts = redraft(store, config_for(), now=NOW)
    [draft] = store.list_drafts(["pending"])
    assert counts.held == () and "after 12 runs" in draft.statement
    store.close()


def test_the_recap_counts_experiments_runs_and_the_model_a_lift_shipped(tmp_path):
    from harvester.report.build import build_report
    from harvester.drafting.rubric import load_framework

    drafts, store = run_scenario(SCENARIOS[2], tmp_path)  # a lift and its promotion, one draft
    [lift] = drafts
    store.confirm_draft(lift.id)
    report = build_report(store, load_framework(), until=NOW)
    counts = report.recap.counts
    assert (counts["experiments"], counts["runs_tracked"], counts["models_shipped"]) == (1, 3, 1)
    store.close()


def test_a_campaign_boundary_moved_by_one_run_keeps_the_rejection(tmp_path):
    from dataclasses import replace

    store = open_store(f"sqlite:///{tmp_path / 'corpus.db'}", "ada@example.com")
    runs = negative_never_beat()
    store.save_page(runs, None)
    redraft(store, config_for(), now=NOW)
    [draft] = store.list_drafts(["pending"])
    store.reject_draft(draft.id)
    # the campaign's first run is marked failed afterwards: the campaign now starts one run later
    first = runs[0]
    store.save_page([replace(first, attributes={**first.attributes, "status": "failed"})], None)
    counts = redraft(store, config_for(), now=NOW)
    assert counts.new == 0 and store.list_drafts(["pending"]) == []
    store.close()


def test_retag_maps_the_promotion_joined_into_a_lift(tmp_path):
    from harvester.drafting.retag import apply_retag, plan_retag
    from harvester.drafting.rubric import load_framework

    drafts, store = run_scenario(SCENARIOS[2], tmp_path)
    entry = store.confirm_draft(drafts[0].id)
    store.update_entry(entry.id, tags=[])
    apply_retag(store, plan_retag(store, load_framework()))
    assert store.get_entry(entry.id).tags == ("model-performance", "production-mlops", "experimentation")
    store.close()
