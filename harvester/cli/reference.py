"""The README's reference tables, built from the code so they cannot drift from it: the
commands, the rules and the settings tables. `cog -r README.md` rewrites them; a test fails
when the README differs from what the code says."""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

import click

from harvester.cli.toml_text import format_toml_value


def markdown_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def walk_commands(group: click.Group, prefix: str = "harvester") -> Iterable[tuple[str, click.Command]]:
    """(full name, command) for every command, sub-commands under their group's name."""
    ctx = click.Context(group, info_name=prefix)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        if isinstance(command, click.Group):
            yield from walk_commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", command


def command_table() -> str:
    from harvester.cli import cli

    rows = [(f"`{name}`", command.get_short_help_str(limit=200)) for name, command in walk_commands(cli)]
    return markdown_table(("command", "what it does"), rows)


def format_default(value: object) -> str:
    if value == "(required)":
        return "required"
    if isinstance(value, (list, tuple)) and len(value) > 3:
        shown = format_toml_value(list(value[:2]))
        return f"`{shown[:-1]}, …]` ({len(value)} in all)"
    text = format_toml_value(value)
    return "unset" if text is None else f"`{text}`"


def rule_table() -> str:
    from harvester.registry import rule_classes
    from harvester.settings import describe_settings

    rows = []
    for name, cls in sorted(rule_classes().items()):
        params = ", ".join(f"`{p}` {format_default(d)}" for p, _, d in describe_settings(cls) if p != "enabled")
        rows.append((f"`{name}`", cls.description, params or "none"))
    return markdown_table(("rule", "drafts", "parameters (defaults)"), rows)


def format_table() -> str:
    from harvester.report.formats import OUTPUT_FORMATS

    rows = [(f"`{f.name}`", ", ".join(f"`{s}`" for s in f.suffixes), f.description) for f in OUTPUT_FORMATS.values()]
    return markdown_table(("format", "`-o` suffixes", "for"), rows)


def settings_table(cls: type, toml_names: Mapping[str, str] | None = None) -> str:
    """One row per setting of a settings dataclass: its TOML key, default and the `help` its
    field declares (`field(metadata={"help": ...})`)."""
    from harvester.settings import describe_settings

    helps = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
    names = toml_names or {}
    rows = [(f"`{names.get(n, n)}`", format_default(d), helps.get(n, "")) for n, _, d in describe_settings(cls)]
    return markdown_table(("key", "default", "meaning"), rows)
