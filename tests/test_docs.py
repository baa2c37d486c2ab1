"""The README documents every command; the example config is checked in test_config."""

from __future__ import annotations

from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def command_paths():
    from harvester.cli import cli

    for name, cmd in cli.commands.items():
        subs = getattr(cmd, "commands", None)
        if subs:
            for sub in subs:
                yield f"{name} {sub}"
        else:
            yield name


def test_every_command_appears_in_the_readme():
    missing = [p for p in command_paths() if f"harvester {p}" not in README]
    assert not missing, f"README does not mention: {missing}"


def test_readme_starts_with_the_two_commands():
    head = README.split("## ", 1)[0]
    assert "pip install -e . && .venv/bin/harvester demo" in head
    assert "pip install -e '.[test]' && .venv/bin/python -m pytest" in head


def test_every_rule_is_in_the_readme_rule_table():
    from harvester.registry import rule_classes

    missing = [name for name in rule_classes() if f"| `{name}` |" not in README]
    assert not missing, f"README's rule table does not describe: {missing}"
