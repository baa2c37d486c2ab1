from __future__ import annotations

from datetime import datetime, timezone

from harvester.records import make_model_promotion_attributes, make_model_promotion_record, make_registry_attributes
from harvester.rules.base import DetectContext, RecordGroup
from harvester.rules.model_promoted import ModelPromotedRule

WHEN = datetime(2026, 10, 5, tzinfo=timezone.utc)


def promotion(version, target, mine=True, previous=None):
    attributes = make_model_promotion_attributes(
        make_registry_attributes(model="fraud", version=version, run_metrics={"val_auc": 0.87, "train_loss": 0.1,
                                                                               "epoch": 9}),
        target=target, via="alias", previous_version=previous)
    return make_model_promotion_record("mlflow", f"fraud/{version}/{target}", WHEN, "fraud", attributes,
                                       actor="ada" if mine else "bob", mine=mine,
                                       url=f"http://m/#/models/fraud/versions/{version}")


def test_one_draft_per_promoted_version_with_the_key_metric():
    records = [promotion("7", "staging"), promotion("7", "champion", previous="6"), promotion("8", "champion", mine=False)]
    [f] = ModelPromotedRule().detect(RecordGroup("mlflow", "model_promotion", "fraud", records), DetectContext())
    assert f.facts["version"] == "7" and f.facts["target"] == "champion" and f.facts["previous_version"] == "6"
    assert [(m.name, m.after) for m in f.metrics] == [("val_auc", 0.87)]
    assert f.evidence[0].url.endswith("/versions/7")


def test_every_declared_kind_names_a_wording_that_exists():
    from harvester.drafting.kinds import kind_registry

    for name, kind in kind_registry().items():
        assert kind.wording and callable(kind.wording_function()), name
