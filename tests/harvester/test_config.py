from __future__ import annotations

from pathlib import Path

import pytest

from harvester.config import find_config_path, load_config
from tests.support.cli import run_cli, write_config

MINIMAL = """
[identity]
handles = ["ada"]
[connectors.prod]
type = "mlflow"
tracking_uri = "http://127.0.0.1:9"
"""


def test_lookup_order(tmp_path, monkeypatch, isolated_home):
    home_cfg = write_config(isolated_home / "config.toml", MINIMAL)
    assert find_config_path() == home_cfg
    local = write_config(tmp_path / "harvester.toml", MINIMAL)
    assert find_config_path() == local
    env_cfg = write_config(tmp_path / "env.toml", MINIMAL)
    monkeypatch.setenv("HARVESTER_CONFIG", str(env_cfg))
    assert find_config_path() == env_cfg
    explicit = write_config(tmp_path / "explicit.toml", MINIMAL)
    assert find_config_path(explicit) == explicit


@pytest.mark.parametrize("text,expected", [
    ("[identiti]\nname='x'", "unknown table [identiti]"),
    ("[identity]\nnickname='x'", "[identity]: unknown key 'nickname'"),
    ("[identity]\nhandles='ada'", "key 'handles' must be a list"),
    ("[connectors.prod]\ntracking_uri='x'", "missing key 'type'"),
    ("[connectors.prod]\ntype='mlflw'\ntracking_uri='x'", "unknown connector type 'mlflw'"),
    ("[connectors.prod]\ntype='mlflow'\ntracking_uri='x'\nmax_results='lots'", "key 'max_results' must be an integer"),
    ("[connectors.prod]\ntype='mlflow'\ntracking_url='x'", "unknown key 'tracking_url'"),
    ("[rules.metric_lyft]\nmin_relative_lift=0.1", "[rules.metric_lyft]: unknown rule"),
    ("[rules.metric_lift]\nmin_relative_lift='high'", "key 'min_relative_lift' must be a number"),
    ("[harvest\n", "not valid TOML"),
])
def test_bad_config_exits_2_with_one_line_naming_file_and_key(tmp_path, text, expected):
    cfg = write_config(tmp_path / "bad.toml", "[identity]\nhandles=['ada']\n" + text if "identity" not in text else text)
    result = run_cli("--config", str(cfg), "harvest")
    assert result.exit_code == 2, result.output
    assert expected in result.output and str(cfg) in result.output
    assert len(result.output.strip().splitlines()) <= 2
    assert "Traceback" not in result.output


def test_missing_env_var_exits_2_and_writes_nothing(tmp_path, monkeypatch, isolated_home):
    monkeypatch.delenv("MLFLOW_TOKEN_FOR_TEST", raising=False)
    db = tmp_path / "store.db"
    cfg = write_config(tmp_path / "h.toml", MINIMAL + f'token_env = "MLFLOW_TOKEN_FOR_TEST"\n[store]\nurl = "sqlite:///{db}"\n')
    result = run_cli("--config", str(cfg), "harvest")
    assert result.exit_code == 2
    assert "environment variable MLFLOW_TOKEN_FOR_TEST is not set" in result.output
    assert not db.exists()


def test_unknown_source_name(tmp_path):
    cfg = write_config(tmp_path / "h.toml", MINIMAL)
    result = run_cli("--config", str(cfg), "harvest", "--source", "nope")
    assert result.exit_code == 2 and "no connector named 'nope'" in result.output


def test_no_connectors_configured_says_how_to_start(tmp_path):
    result = run_cli("harvest")
    assert result.exit_code == 2 and "harvester init" in result.output


def test_bad_since_is_a_usage_error(tmp_path):
    cfg = write_config(tmp_path / "h.toml", MINIMAL)
    result = run_cli("--config", str(cfg), "harvest", "--since", "last tuesday")
    assert result.exit_code == 2 and "90d" in result.output


def test_missing_config_file():
    result = run_cli("--config", "/nonexistent/h.toml", "drafts", "list")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_init_writes_a_starter_that_validates(isolated_home):
    result = run_cli("init")
    assert result.exit_code == 0, result.output
    path = isolated_home / "config.toml"
    config = load_config(path)
    assert "mlflow" in config.connectors
    again = run_cli("init")
    assert again.exit_code != 0 and "--force" in again.output


def test_example_config_documents_and_validates_every_connector_and_rule():
    from harvester.registry import build_rules, connector_class, connector_targets, rule_classes
    from harvester.settings import describe_settings

    path = Path(__file__).parents[2] / "config.example.toml"
    config = load_config(path)
    build_rules(dict(config.rules), config.label)
    types = {i.type for i in config.connectors.values()}
    assert types == set(connector_targets()), "every connector type has an example table"
    for inst in config.connectors.values():
        documented = set(inst.table)
        declared = {name for name, _, _ in describe_settings(connector_class(inst.type).settings_class)}
        assert declared <= documented, f"{inst.name} misses {declared - documented}"
    for name, cls in rule_classes().items():
        assert name in config.rules, f"rule {name} has no [rules.{name}] example"
        declared = {p for p, _, _ in describe_settings(cls)}
        assert declared <= set(config.rules[name]), f"[rules.{name}] misses {declared - set(config.rules[name])}"
