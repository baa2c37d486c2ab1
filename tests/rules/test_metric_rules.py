from __future__ import annotations

import pytest

from harvester.rules.base import DetectContext, RecordGroup
from harvester.rules.efficiency import CostReductionRule, LatencyReductionRule
from harvester.rules.experiment_campaign import ExperimentCampaignRule
from harvester.rules.metric_lift import MetricLiftRule
from harvester.rules.metric_names import metric_direction, metric_family
from harvester.drafting.wording import word_finding
from tests.rules.factories import run


def group(records, subject="fraud"):
    return RecordGroup(source="mlflow", kind="run", subject=subject, records=records)


def detect(rule, records, serving=frozenset()):
    return list(rule.detect(group(records), DetectContext(serving_runs=serving)))


@pytest.mark.parametrize("name,direction", [
    ("val_auc", "up"), ("accuracy", "up"), ("ndcg_at_10", "up"), ("f1_score", "up"), ("val_loss", "down"),
    ("rmse", "down"), ("mape", "down"), ("error_rate", "down"), ("p99_latency_ms", "down"),
    ("throughput_qps", "up"), ("cost_per_1k_usd", "down"), ("epoch", None)])
def test_metric_direction_is_known_by_name(name, direction):
    assert metric_direction(name) == direction


def test_direction_override_from_config():
    assert metric_direction("my_score", {"my_score": "down"}) == "down"


def test_metric_families():
    assert metric_family("p95_latency_ms") == "latency"
    assert metric_family("gpu_memory_mb") == "memory"
    assert metric_family("val_auc") == "quality"


def test_lift_over_tagged_baseline_is_one_finding_for_many_runs():
    records = [run(0, {"val_auc": 0.81}, tags={"baseline": "true"})]
    records += [run(1 + i, {"val_auc": 0.81 + 0.005 * i}) for i in range(13)]
    [f] = detect(MetricLiftRule(), records)
    assert f.kind == "metric_lift"
    assert (f.metrics[0].before, f.metrics[0].after) == (0.81, pytest.approx(0.87))
    assert f.facts["runs"] == 14 and f.facts["baseline_kind"] == "tagged baseline"
    assert records[-1].url in [e.url for e in f.evidence]


def test_a_better_run_keeps_the_fingerprint_of_the_same_accomplishment():
    records = [run(0, {"val_auc": 0.80}), run(1, {"val_auc": 0.84})]
    [first] = detect(MetricLiftRule(), records)
    [later] = detect(MetricLiftRule(), records + [run(2, {"val_auc": 0.86})])
    assert first.fingerprint == later.fingerprint
    assert later.metrics[0].after == 0.86


def test_noise_level_change_drafts_nothing():
    records = [run(0, {"val_auc": 0.800}), run(1, {"val_auc": 0.805}), run(2, {"val_auc": 0.809})]
    assert detect(MetricLiftRule(min_relative_lift=0.02), records) == []


def test_other_peoples_failed_and_killed_runs_do_not_count():
    records = [run(0, {"val_auc": 0.80}), run(1, {"val_auc": 0.99}, mine=False),
               run(2, {"val_auc": 0.99}, status="failed"), run(3, {"val_auc": 0.98}, status="killed"),
               run(4, {"val_auc": 0.801})]
    assert detect(MetricLiftRule(), records) == []


def test_only_other_people_beating_the_baseline_is_not_my_lift():
    records = [run(0, {"val_auc": 0.80}), run(1, {"val_auc": 0.80}), run(2, {"val_auc": 0.9}, mine=False)]
    assert detect(MetricLiftRule(), records) == []


def test_baseline_is_previous_best_before_the_campaign():
    old = [run(0, {"val_auc": 0.70}), run(1, {"val_auc": 0.82}, mine=False)]
    new = [run(60, {"val_auc": 0.81}), run(61, {"val_auc": 0.86})]
    findings = detect(MetricLiftRule(), old + new)
    latest = [f for f in findings if f.facts["best_run"] == new[-1].external_id]
    assert latest[0].facts["baseline_kind"] == "previous best"
    assert latest[0].metrics[0].before == 0.82


def test_serving_model_run_is_the_baseline():
    champion = run(0, {"val_auc": 0.84}, mine=False)
    records = [champion, run(40, {"val_auc": 0.80}), run(41, {"val_auc": 0.88})]
    [f] = detect(MetricLiftRule(), records, serving=frozenset({("mlflow", champion.external_id)}))
    assert f.facts["baseline_kind"] == "serving model" and f.metrics[0].before == 0.84


def test_lower_is_better_metric_lift():
    records = [run(0, {"val_rmse": 12.0}), run(1, {"val_rmse": 10.0})]
    [f] = detect(MetricLiftRule(), records)
    assert f.metrics[0].after == 10.0 and f.facts["direction"] == "down"


def test_configured_key_metric_wins():
    records = [run(0, {"val_auc": 0.8, "val_recall": 0.5}), run(1, {"val_auc": 0.8, "val_recall": 0.6})]
    [f] = detect(MetricLiftRule(key_metrics={"fraud": "val_recall"}), records)
    assert f.metrics[0].name == "val_recall"


def test_a_pause_longer_than_the_gap_starts_a_new_accomplishment():
    first = [run(0, {"val_auc": 0.80}), run(2, {"val_auc": 0.84})]
    second = [run(90, {"val_auc": 0.84}), run(92, {"val_auc": 0.88})]
    findings = detect(MetricLiftRule(campaign_gap_days=30), first + second)
    assert len(findings) == 2
    assert len({f.fingerprint for f in findings}) == 2


def test_campaign_that_never_beat_the_baseline_is_a_negative_result():
    records = [run(0, {"val_ndcg": 0.64}, tags={"baseline": "true"}, params={"dim": 64})]
    records += [run(1 + i, {"val_ndcg": 0.635}, params={"dim": 32 * (i + 1), "lr": 0.1}) for i in range(9)]
    [f] = detect(ExperimentCampaignRule(min_runs=8), records)
    assert f.kind == "experiment_campaign" and f.facts["runs"] == 10
    assert f.facts["explored"] == ["dim"]
    assert detect(MetricLiftRule(), records) == []


def test_too_few_runs_is_not_a_campaign():
    records = [run(i, {"val_ndcg": 0.64}) for i in range(5)]
    assert detect(ExperimentCampaignRule(min_runs=8), records) == []


def test_a_campaign_that_lifted_is_not_a_negative_result():
    records = [run(i, {"val_auc": 0.8 + 0.01 * i}) for i in range(10)]
    assert detect(ExperimentCampaignRule(), records) == []


def test_latency_and_throughput_wins_are_one_finding():
    records = [run(0, {"p99_latency_ms": 400, "throughput_qps": 100}),
               run(1, {"p99_latency_ms": 250, "throughput_qps": 180})]
    [f] = detect(LatencyReductionRule(), records)
    assert [m.name for m in f.metrics] == ["throughput_qps", "p99_latency_ms"]
    assert f.metrics[1].unit == "ms"
    statement, _ = word_finding(f)
    assert statement == ("Raised throughput of fraud from 100 qps to 180 qps (+80%) over 2 runs; also p99 latency "
                         "fell from 400 ms to 250 ms (\u221238%).")


def test_latency_win_is_worded_as_a_cut():
    records = [run(0, {"p99_latency_ms": 400}), run(1, {"p99_latency_ms": 250})]
    [f] = detect(LatencyReductionRule(), records)
    assert word_finding(f)[0] == "Cut p99 latency of fraud from 400 ms to 250 ms (\u221238%) over 2 runs."


def test_small_latency_change_is_noise():
    records = [run(0, {"p99_latency_ms": 400}), run(1, {"p99_latency_ms": 380})]
    assert detect(LatencyReductionRule(min_relative_improvement=0.10), records) == []


def test_cost_reduction():
    records = [run(0, {"cost_per_1k_usd": 0.42}), run(1, {"cost_per_1k_usd": 0.30})]
    [f] = detect(CostReductionRule(), records)
    assert f.kind == "cost_reduction" and f.metrics[0].unit == "USD"


def test_the_run_rules_share_one_frame_per_group(monkeypatch):
    import harvester.rules.run_table as run_table

    built = []
    original = run_table.runs_frame
    monkeypatch.setattr(run_table, "runs_frame", lambda records, gap: built.append(gap) or original(records, gap))
    records = [run(i, {"val_auc": 0.8 + 0.01 * i, "p99_latency_ms": 400 - 20 * i}) for i in range(10)]
    g, ctx = group(records), DetectContext()
    for rule in (MetricLiftRule(), ExperimentCampaignRule(), LatencyReductionRule(), CostReductionRule()):
        list(rule.detect(g, ctx))
    assert built == [30.0]
    list(LatencyReductionRule(campaign_gap_days=7).detect(g, ctx))  # other parameters, another frame
    assert built == [30.0, 7]
