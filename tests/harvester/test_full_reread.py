"""The weekly full re-read: runs logged with a start time older than the cursor (imports,
migrations, clock skew beyond the overlap) are missed by incremental harvests and picked up
by the nightly job's weekly re-read of the whole window, on a real MLflow tracking server."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from harvester.nightly import FULL_REREAD_KEY, NightlySettings, full_reread_due
from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import MlflowSeeder

NOW = datetime.now(timezone.utc).replace(microsecond=0)
TUESDAY, WEDNESDAY, NEXT_MONDAY, NEXT_TUESDAY = "2026-11-24", "2026-11-25", "2026-11-30", "2026-12-01"


def nightly(config, day: str) -> dict:
    result = run_cli("--config", str(config), "nightly", "--today", day, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.mlflow_server
def test_a_run_logged_late_is_picked_up_by_the_weekly_full_reread(mlflow_server, mlflow_env, tmp_path):
    uid = uuid.uuid4().hex[:8]
    me = f"ada-{uid}"
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
email = "ada@example.com"
handles = ["{me}"]

[connectors.mlflow-test]
type = "mlflow"
tracking_uri = "{mlflow_server.url}"
experiments = ["late-{uid}"]
max_retries = 0
""")
    seeder = MlflowSeeder(mlflow_server.client())
    exp = seeder.experiment(f"late-{uid}")
    for i in range(3):
        seeder.run(exp, me, NOW - timedelta(days=3 - i), {"val_auc": 0.8 + i / 100})

    first = nightly(config, TUESDAY)
    assert not first["full_reread"] and stored_runs(config) == 3

    seeder.run(exp, me, NOW - timedelta(days=10), {"val_auc": 0.79})  # imported today, dated ten days back
    incremental = nightly(config, WEDNESDAY)
    assert not incremental["full_reread"]
    assert stored_runs(config) == 3  # before the cursor: not seen
    requests = incremental["harvest"]["sources"][0]["requests"]

    weekly = nightly(config, NEXT_MONDAY)  # the default re-read day: the digest weekday, monday
    assert weekly["full_reread"] is True
    assert weekly["harvest"]["sources"][0]["records"] == 4  # the whole window read again
    assert stored_runs(config) == 4

    again = nightly(config, NEXT_MONDAY)
    assert not again["full_reread"]
    assert again["harvest"]["sources"][0]["requests"] == requests  # back to incremental cost
    assert stored_runs(config) == 4


def stored_runs(config) -> int:
    from harvester.config import load_config
    from harvester.store import open_store

    cfg = load_config(str(config))
    store = open_store(cfg.store_url, cfg.identity.owner)
    try:
        return store.count_records("mlflow-test", "run")
    finally:
        store.close()


class StateStore:
    def __init__(self, state=None):
        self.state = state or {}

    def get_state(self, key, default=None):
        return self.state.get(key, default)


@pytest.mark.parametrize("settings, last, today, due", [
    (NightlySettings(), None, NEXT_MONDAY, True),
    (NightlySettings(), None, NEXT_TUESDAY, False),
    (NightlySettings(), {"week": "2026-W49", "date": NEXT_MONDAY}, NEXT_MONDAY, False),
    (NightlySettings(), {"week": "2026-W47", "date": "2026-11-16"}, NEXT_TUESDAY, True),  # monday missed
    (NightlySettings(), {"week": "2026-W48", "date": "2026-11-23"}, NEXT_TUESDAY, True),  # monday missed, 8 days
    (NightlySettings(), {"week": "2026-W48", "date": "2026-11-26"}, NEXT_TUESDAY, False),  # caught up 5 days ago
    (NightlySettings(digest_weekday="friday"), None, "2026-12-04", True),
    (NightlySettings(digest_weekday="never"), None, NEXT_MONDAY, True),
    (NightlySettings(full_reread="sunday"), None, "2026-11-29", True),
    (NightlySettings(full_reread="never"), None, NEXT_MONDAY, False),
])
def test_the_full_reread_is_due_weekly_on_its_day_and_catches_up_a_missed_week(settings, last, today, due):
    store = StateStore({FULL_REREAD_KEY: last} if last else {})
    assert full_reread_due(store, settings, date.fromisoformat(today)) is due


def test_a_bad_full_reread_setting_names_the_choices():
    with pytest.raises(ValueError, match="full_reread must be"):
        NightlySettings(full_reread="fortnightly")


def test_log_rotation_settings_are_still_checked():
    with pytest.raises(ValueError, match="log_max_bytes must be at least 1024"):
        NightlySettings(log_max_bytes=10)
