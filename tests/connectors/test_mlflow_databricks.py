"""MLflow on Databricks with the Unity Catalog registry, against a loopback workspace
(tests/support/databricks_server.py) speaking the documented tracking and UC endpoints."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.cli import run_cli, write_config
from tests.support.databricks_server import FakeWorkspace

DAY_MS = 86400000
MODEL = "main.fraud.detector"


@pytest.fixture
def workspace(monkeypatch):
    w = FakeWorkspace()
    monkeypatch.setenv("DATABRICKS_HOST", w.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", w.token)
    monkeypatch.delenv("DATABRICKS_CONFIG_PROFILE", raising=False)
    yield w
    w.stop()


@pytest.fixture
def config(workspace, database_url, tmp_path):
    return write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"
handles = ["ada@example.com"]

[store]
url = "{database_url}"

[connectors.dbx]
type = "mlflow"
tracking_uri = "databricks"
registry_uri = "databricks-uc"
max_retries = 1
""")


def seed(w: FakeWorkspace) -> dict:
    now = int(time.time() * 1000)
    fraud = w.experiment("/Users/ada@example.com/fraud")
    ids = {"mine": w.run(fraud, "ada@example.com", now - 20 * DAY_MS, {"val_auc": 0.81}),
           "theirs": w.run(fraud, "bob@example.com", now - 19 * DAY_MS, {"val_auc": 0.7})}
    w.model(MODEL, now - 20 * DAY_MS)
    for i in range(4):  # more versions than one UC page holds
        ids[f"v{i + 1}"] = w.version(MODEL, ids["mine"], now - (18 - i) * DAY_MS)
    w.alias(MODEL, "Champion", ids["v2"])
    w.model("main.other.ranker", now - 20 * DAY_MS)
    w.alias("main.other.ranker", "Champion", w.version("main.other.ranker", ids["theirs"], now - 10 * DAY_MS))
    return ids


def harvest(config, *extra):
    result = run_cli("--config", str(config), "harvest", "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def records(database_url, kind):
    from harvester.store import open_store

    store = open_store(database_url, "ada@example.com")
    try:
        return store.load_records(kind)
    finally:
        store.close()


def test_versions_are_paged_and_an_alias_move_to_champion_drafts_a_promotion(workspace, config, database_url):
    ids = seed(workspace)
    first = harvest(config, "--since", "90d")
    assert first["ok"], first
    assert workspace.calls("model-versions/search") >= 2  # four versions over pages of two
    [run] = [r for r in records(database_url, "run") if r.external_id == ids["mine"]]
    experiment = run.attributes["experiment_id"]
    assert run.url == f"{workspace.url}/ml/experiments/{experiment}/runs/{ids['mine']}"
    assert run.attributes["experiment_url"] == f"{workspace.url}/ml/experiments/{experiment}"
    [v2] = [r for r in records(database_url, "model_version") if r.external_id == f"{MODEL}/{ids['v2']}"]
    assert v2.url == f"{workspace.url}/explore/data/models/main/fraud/detector/version/{ids['v2']}"
    assert v2.attributes["run_url"] == run.url

    workspace.alias(MODEL, "Champion", ids["v4"])  # UC moves no timestamp for this
    summary = harvest(config)
    assert summary["ok"], summary
    result = run_cli("--config", str(config), "drafts", "list", "--status", "all", "--json")
    found = json.loads(result.output)
    promoted = [d for d in found if d["kind"] == "model_promoted" and f"{MODEL} v{ids['v4']}" in d["statement"]]
    assert len(promoted) == 1, found
    assert f"Shipped {MODEL} v{ids['v4']}, now Champion, replacing v{ids['v2']}" in promoted[0]["statement"], found
    assert "main.other.ranker" not in json.dumps(found)  # someone else's model stays out
    redraft = run_cli("--config", str(config), "redraft", "--json")
    assert json.loads(redraft.output)["new"] == 0


def test_nightly_with_nothing_new_reads_the_models_once_and_my_models_aliases(workspace, config):
    seed(workspace)
    harvest(config, "--since", "90d")
    workspace.log.clear()
    harvest(config)
    assert workspace.calls("registered-models/search") == 1
    assert workspace.calls("registered-models/get") == 1  # only the model holding my versions
    assert workspace.calls("model-versions/search") == 0


def test_a_429_is_waited_out(workspace, config):
    seed(workspace)
    workspace.faults.append(("registered-models/search", 429, {"Retry-After": "1"}))
    started = time.monotonic()
    summary = harvest(config, "--since", "90d")
    assert summary["ok"], summary
    assert time.monotonic() - started >= 1
    assert workspace.calls("registered-models/search") == 2


def test_a_refused_token_is_one_line_naming_the_token_setting(workspace, config, monkeypatch):
    seed(workspace)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    summary = harvest(config, "--since", "90d")
    assert not summary["ok"]
    error = summary["sources"][0]["error"]
    assert "\n" not in error and "DATABRICKS_TOKEN" in error and "token_env" in error, error
    assert "dapi-wrong" not in json.dumps(summary)


def test_a_malformed_version_is_skipped_and_counted(workspace, config, database_url):
    ids = seed(workspace)
    workspace.versions[MODEL].append({"name": MODEL, "version": "", "run_id": ids["mine"], "status": "READY"})
    summary = harvest(config, "--since", "90d")
    assert summary["ok"], summary
    assert summary["sources"][0]["skipped_malformed"] == {"model versions": 1}, summary


def test_a_databrickscfg_profile_gives_the_host_and_token(workspace, database_url, tmp_path, monkeypatch):
    ids = seed(workspace)
    home = tmp_path / "user-home"
    home.mkdir()
    (home / ".databrickscfg").write_text(f"[work]\nhost = {workspace.url}\ntoken = {workspace.token}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(home / ".databrickscfg"))  # mlflow read ~ at import
    monkeypatch.delenv("DATABRICKS_HOST")
    monkeypatch.delenv("DATABRICKS_TOKEN")
    config = write_config(tmp_path / "profile.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"
handles = ["ada@example.com"]

[store]
url = "{database_url}"

[connectors.dbx]
type = "mlflow"
tracking_uri = "databricks"
registry_uri = "databricks-uc"
profile = "work"
max_retries = 0
""")
    summary = harvest(config, "--since", "90d")
    assert summary["ok"], summary
    assert summary["sources"][0]["records"] > 0
    [run] = [r for r in records(database_url, "run") if r.external_id == ids["mine"]]
    assert run.url == f"{workspace.url}/ml/experiments/{run.attributes['experiment_id']}/runs/{ids['mine']}"
    from harvester.redact import redact

    assert workspace.token not in redact(f"server said: Bearer {workspace.token}")


def test_databricks_without_a_host_is_one_line_naming_it(tmp_path, monkeypatch):
    from harvester.connectors.mlflow.settings import MlflowSettings, databricks_env
    from harvester.errors import ConfigError

    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    with pytest.raises(ConfigError, match="DATABRICKS_HOST.*profile"):
        databricks_env(MlflowSettings(tracking_uri="databricks"), "[connectors.dbx]")
    with pytest.raises(ValueError, match="databricks-uc"):
        MlflowSettings(tracking_uri="https://mlflow.example.com", registry_uri="databricks-uc")
