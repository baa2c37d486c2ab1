"""The CLI's table of lazily loaded commands against the commands themselves, and what a
command imports at start-up."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from datetime import datetime, timezone

import click
import pytest

import harvester.cli
from harvester.cli import COMMANDS, cli
from harvester.models import Draft
from tests.support.cli import run_cli


def registered_commands() -> dict[str, tuple[str, click.Command]]:
    """name -> (module, command) of every command any harvester.cli module registers."""
    found = {}
    for info in pkgutil.iter_modules(harvester.cli.__path__):
        module = importlib.import_module(f"harvester.cli.{info.name}")
        if not callable(getattr(module, "register", None)):
            continue
        group = click.Group()
        module.register(group)
        for name, command in group.commands.items():
            assert name not in found, f"`{name}` is registered by {found[name][0]} and {module.__name__}"
            found[name] = (module.__name__, command)
    return found


def test_the_command_table_names_every_command_and_its_module():
    real = registered_commands()
    assert {name: module for name, (module, _) in real.items()} == {name: c.module for name, c in COMMANDS.items()}


@pytest.mark.parametrize("limit", [20, 45, 60, 80, 200, 1000])
def test_the_command_table_summaries_are_the_commands_short_help(limit):
    for name, (_, command) in registered_commands().items():
        listed = click.Command(name, help=COMMANDS[name].summary)
        assert listed.get_short_help_str(limit) == command.get_short_help_str(limit), name


def test_help_lists_every_command_without_importing_them(isolated_home):
    result = run_cli("--help")
    assert result.exit_code == 0
    listed = result.output.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed, name
    assert "Review drafted accomplishments: list, show, confirm," in listed

    code = ("import sys; from harvester.cli import cli\n"
            "try:\n    cli(['--help'], prog_name='harvester')\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('harvester'))))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True,
                         env={"HARVESTER_HOME": str(isolated_home), "PATH": "/usr/bin:/bin"})
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert not [m for m in loaded if m in {c.module for c in COMMANDS.values()}]


def test_an_unknown_command_is_a_usage_error():
    result = run_cli("draft", "list")
    assert result.exit_code == 2 and "No such command 'draft'" in result.output


def test_a_command_runs_alone_in_a_fresh_group():
    """Each command loads its own module on first use, and only that one."""
    group = type(cli)(name="harvester", lazy_commands=COMMANDS)
    command = group.get_command(click.Context(group), "search")
    assert command is not None and command.name == "search"
    assert group.loaded_modules == {"harvester.cli.search"}
    assert "drafts" not in group.commands


# Imported by some command, and by none of these four: each costs start-up time they do not need.
NOT_AT_START = ("sqlalchemy.dialects.postgresql", "sqlalchemy.orm", "harvester.store.migrations.m001_core_tables",
                "harvester.cli.review", "harvester.cli.harvesting", "harvester.cli.digest", "harvester.drafting.wording",
                "harvester.rules.engineering", "harvester.harvest", "jinja2", "mlflow", "requests")
REPORT_NEEDS = ("harvester.rules.engineering", "harvester.drafting.wording", "jinja2")


@pytest.fixture
def stored(isolated_home):
    """The default store, migrated, with a pending draft and a journal entry."""
    from harvester.config import default_store_url
    from harvester.store import open_store

    store = open_store(default_store_url(), "me")
    for i in range(2):
        store.save_draft(Draft(id=None, fingerprint=f"fp{i}", status="pending", kind="metric_lift",
                               source="mlflow-prod", subject="fraud-detector", occurred_at=datetime.now(timezone.utc),
                               statement=f"Raised latency recall {i}", impact_prompt="What changed?"))
    store.confirm_draft(1)
    store.close()
    return isolated_home


@pytest.mark.parametrize("args", [["drafts", "list"], ["search", "latency"], ["journal"],
                                  ["report", "--period", f"{datetime.now(timezone.utc).year}-H2"]])
def test_interactive_commands_leave_heavy_modules_unimported(args, stored):
    code = ("import json, sys; from harvester.cli import cli\n"
            "try:\n    cli(%r, prog_name='harvester')\nexcept SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            "print(json.dumps(sorted(sys.modules)))" % (args,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"HARVESTER_HOME": str(stored), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "harvester.store.store" in loaded  # it did open the store
    unexpected = [m for m in NOT_AT_START if m in loaded and not (args[0] == "report" and m in REPORT_NEEDS)]
    assert unexpected == []
