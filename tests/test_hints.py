"""Every `harvester ...` command the CLI prints runs as printed: with a config that is not the
default one it carries `--config PATH`; with the default config it does not."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from harvester.models import Draft
from tests.support.cli import run_cli, write_config
from tests.support.steady_source import SteadyConnector

OWNER = "ada@example.com"
WHEN = datetime.now(timezone.utc) - timedelta(days=1)
SUBCOMMANDS = ("drafts", "harvest", "doctor", "log", "tag", "rubric", "outcome", "journal", "init", "report")
BARE = re.compile(rf"\bharvester (?:{'|'.join(SUBCOMMANDS)})\b")


def config_text(db) -> str:
    return f"""
[identity]
email = "{OWNER}"

[store]
url = "sqlite:///{db}"

[connectors.strangers]
type = "strangers"
count = 2

[digest]
to = ["{OWNER}"]
from = "harvester@example.com"
"""


def seed_draft(db) -> None:
    from harvester.store import open_store

    store = open_store(f"sqlite:///{db}", OWNER)
    try:
        store.save_draft(Draft(id=None, fingerprint="fp1", status="pending", kind="metric_lift", source="steady",
                               subject="fraud-detector", occurred_at=WHEN, statement="Improved validation AUC",
                               impact_prompt="What changed?"))
    finally:
        store.close()


def hint_outputs(*config_args: str) -> dict[str, str]:
    """The output of each command that prints hints, by a short name."""
    def run(*args):
        result = run_cli(*config_args, *args)
        assert result.exit_code in (0, 1), result.output
        return result.output

    return {"drafts list": run("drafts", "list"), "drafts list (none)": run("drafts", "list", "--status", "rejected"),
            "drafts show": run("drafts", "show", "1"), "status": run("status"),
            "report": run("report", "--since", "30d"), "digest": run("digest"), "journal": run("journal"),
            "harvest": run("harvest")}  # last: its drafting pass sets the seeded draft aside


class StrangersConnector(SteadyConnector):
    """Records of someone else: the harvest summary points at `doctor`."""

    type_name = "strangers"

    def fetch(self, stream, cursor, window):
        for record in super().fetch(stream, cursor, window):
            yield replace(record, mine=False)


@pytest.fixture
def steady(monkeypatch):
    from harvester import registry

    builtin = registry.connector_targets()
    monkeypatch.setattr(registry, "connector_targets",
                        lambda: {**builtin, "strangers": "tests.test_hints:StrangersConnector"})


def test_every_hint_carries_a_config_that_is_not_the_default_one(tmp_path, isolated_home, steady):
    cfg = write_config(tmp_path / "work config.toml", config_text(tmp_path / "store.db"))
    seed_draft(tmp_path / "store.db")
    prefix = f"harvester --config '{cfg.resolve()}'"  # quoted: the path has a space
    for name, output in hint_outputs("--config", str(cfg)).items():
        assert prefix in output, f"{name}: {output}"
        assert not BARE.search(output), f"{name} prints a command without --config: {output}"


def test_no_hint_carries_the_default_config(tmp_path, isolated_home, steady):
    from harvester.config import HOME_CONFIG_FILENAME

    write_config(isolated_home / HOME_CONFIG_FILENAME, config_text(tmp_path / "store.db"))
    seed_draft(tmp_path / "store.db")
    for name, output in hint_outputs().items():
        assert "--config" not in output, f"{name}: {output}"
        assert BARE.search(output), f"{name} prints no command: {output}"


def test_init_and_demo_hints_name_the_config_they_wrote(tmp_path, isolated_home):
    target = tmp_path / "elsewhere.toml"
    init = run_cli("init", "--path", str(target))
    assert f"`harvester --config {target.resolve()} doctor`" in init.output
    assert f"`harvester --config {target.resolve()} harvest --since 90d`" in init.output
    assert "--config" not in run_cli("init").output

    demo = run_cli("demo", "--dir", str(tmp_path / "sample"))
    assert demo.exit_code == 0, demo.output
    assert f"harvester --config {(tmp_path / 'sample' / 'harvester.toml').resolve()} drafts list" in demo.output
