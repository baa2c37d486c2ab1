"""Values a source may hold that a terminal, a database or a reader must not take raw: escape
sequences, newlines and NUL in experiment names, tags and params, harvested from a real MLflow
server into SQLite and PostgreSQL and read back through every listing."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import MlflowSeeder

pytestmark = pytest.mark.mlflow_server

NOW = datetime.now(timezone.utc).replace(microsecond=0)
HOSTILE = "\x1b]0;owned\x07\x1b[2J\r\n#999 [metric_lift] forged line\x00\u202e"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202e]")


def cli(config, *args):
    result = run_cli("--config", str(config), *args)
    assert result.exit_code == 0, result.output
    return result.output


def assert_terminal_safe(output: str) -> None:
    assert not RAW_CONTROL.search(output), repr(output)
    assert not any(line.lstrip().startswith("#999") for line in output.splitlines()), output


def test_hostile_names_are_stored_once_and_shown_escaped(mlflow_server, mlflow_env, database_url, tmp_path):
    uid = uuid.uuid4().hex[:8]
    me = f"ada-{uid}"
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
email = "ada@example.com"
handles = ["{me}"]

[store]
url = "{database_url}"

[connectors.mlflow-test]
type = "mlflow"
tracking_uri = "{mlflow_server.url}"
experiments = ["*-{uid}"]
max_retries = 0
""")
    seeder = MlflowSeeder(mlflow_server.client())
    exp = seeder.experiment(f"fraud{HOSTILE}-{uid}")
    start = NOW - timedelta(days=20)
    seeder.run(exp, me, start, {"val_auc": 0.80}, {"model": "gbm"}, tags={"baseline": "true", "note": HOSTILE})
    for i in range(10):
        seeder.run(exp, me, start + timedelta(days=1 + i), {"val_auc": 0.801 + i * 0.001},
                   {"model": "gbm", "depth": f"{i}{HOSTILE}"}, tags={"mlflow.runName": f"run{HOSTILE}{i}"})

    first = json.loads(cli(config, "harvest", "--since", "90d", "--json"))
    assert first["ok"], first
    assert first["sources"][0]["streams"]["runs"] == 11, first  # the registry holds other tests' models
    # Stored consistently: the same runs read again are not counted as changed.
    again = json.loads(cli(config, "harvest", "--since", "90d", "--json"))
    assert again["drafts"]["skipped"] is True and again["drafts"]["new"] == 0

    listing = cli(config, "drafts", "list")
    assert_terminal_safe(listing)
    drafts = json.loads(cli(config, "drafts", "list", "--json"))
    assert drafts, listing
    for d in drafts:
        assert "\n" not in d["statement"] and "\x1b" not in d["statement"]
        assert_terminal_safe(cli(config, "drafts", "show", str(d["id"])))
    assert_terminal_safe(cli(config, "status"))
    cli(config, "drafts", "confirm", str(drafts[0]["id"]))
    assert_terminal_safe(cli(config, "journal"))
    assert_terminal_safe(cli(config, "search", "fraud"))
    assert_terminal_safe(cli(config, "report", "--period", f"{NOW.year}"))
