"""Evidence links in the form each MLflow UI serves, and where a Databricks workspace's host comes from."""

from __future__ import annotations

import pytest

from harvester.connectors.mlflow.links import UiLinks, build_ui_links
from harvester.connectors.mlflow.settings import MlflowSettings

HOST = "https://adb-1234567890.11.azuredatabricks.net"


@pytest.fixture
def databrickscfg(tmp_path, monkeypatch):
    path = tmp_path / ".databrickscfg"
    path.write_text("[DEFAULT]\nhost = https://default.cloud.databricks.com\ntoken = dapi-default\n\n"
                    f"[work]\nhost = {HOST}/\ntoken = dapi-work\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(path))
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    return path


def test_an_open_source_server_keeps_its_fragment_links():
    links = build_ui_links(MlflowSettings(tracking_uri="https://mlflow.example.com/"))
    assert links.run("12", "abc") == "https://mlflow.example.com/#/experiments/12/runs/abc"
    assert links.experiment("12") == "https://mlflow.example.com/#/experiments/12"
    assert links.model_version("fraud detector", "3") == "https://mlflow.example.com/#/models/fraud%20detector/versions/3"
    assert build_ui_links(MlflowSettings(tracking_uri="file:///tmp/mlruns")).run("1", "abc") is None


def test_databricks_links_are_the_workspace_ui_forms(databrickscfg):
    uc = build_ui_links(MlflowSettings(tracking_uri="databricks", registry_uri="databricks-uc", profile="work"))
    assert uc.run("4242", "abc") == f"{HOST}/ml/experiments/4242/runs/abc"
    assert uc.experiment("4242") == f"{HOST}/ml/experiments/4242"
    assert uc.model_version("main.fraud.detector", "7") == f"{HOST}/explore/data/models/main/fraud/detector/version/7"
    workspace = build_ui_links(MlflowSettings(tracking_uri="databricks", profile="work"))
    assert workspace.model_version("fraud-detector", "7") == f"{HOST}#mlflow/models/fraud-detector/versions/7"


def test_the_workspace_host_is_ui_url_then_profile_then_env_then_default_profile(databrickscfg, monkeypatch):
    def base(**table) -> str:
        return build_ui_links(MlflowSettings(tracking_uri=table.pop("tracking_uri", "databricks"), **table)).base

    monkeypatch.setenv("DATABRICKS_HOST", "https://env.cloud.databricks.com")
    assert base(ui_url="https://ui.example.com/", profile="work") == "https://ui.example.com"
    assert base(profile="work") == HOST
    assert base(tracking_uri="databricks://work") == HOST
    assert base() == "https://env.cloud.databricks.com"
    monkeypatch.delenv("DATABRICKS_HOST")
    assert base() == "https://default.cloud.databricks.com"
    assert UiLinks().run("1", "abc") is None
