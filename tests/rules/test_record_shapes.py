"""The record shapes of harvester/records.py: constructors fill every key, readers complete
records stored before a key existed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from harvester import records
from harvester.models import Record
from harvester.rules.run_table import runs_frame

WHEN = datetime(2026, 11, 2, tzinfo=timezone.utc)
SHAPES = {"run": records.RunAttributes, "model_version": records.ModelVersionAttributes,
          "model_promotion": records.ModelPromotionAttributes, "pull_request": records.PullRequestAttributes,
          "review": records.ReviewAttributes, "release": records.ReleaseAttributes,
          "deployment": records.DeploymentAttributes, "issue": records.IssueAttributes,
          "hub_repo": records.HubRepoAttributes}


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_the_defaults_of_a_kind_hold_every_key_of_its_shape(kind):
    assert set(records.attribute_defaults()[kind]) == SHAPES[kind].__required_keys__


def test_a_complete_record_is_read_as_it_is():
    attributes = records.make_run_attributes(status="finished", metrics={"auc": 0.8})
    record = records.make_run_record("mlflow", "r1", WHEN, "fraud", attributes)
    assert record.kind == "run" and records.read_run_attributes(record) is record.attributes


def test_a_record_stored_before_a_key_existed_reads_with_its_default():
    old = Record(source="mlflow", kind="run", external_id="r1", occurred_at=WHEN, subject="fraud",
                 attributes={"status": "finished", "metrics": {"auc": 0.8}, "params": {}, "name": "r1"})
    run = records.read_run_attributes(old)
    assert run["description"] == "" and run["run_type"] == "" and run["metrics"] == {"auc": 0.8}
    run["tags"]["baseline"] = "true"  # a default filled in is the record's own: the next read starts empty
    assert records.read_run_attributes(old)["tags"] == {} and records.attribute_defaults()["run"]["tags"] == {}
    assert "description" not in old.attributes


def test_rules_read_old_records_through_the_reader():
    old = Record(source="mlflow", kind="run", external_id="r1", occurred_at=WHEN, subject="fraud", mine=True,
                 attributes={"status": "finished", "metrics": {"auc": 0.8}})
    frame = runs_frame([old], gap_days=14)
    assert list(frame["description"]) == [""] and list(frame["m:auc"]) == [0.8]
