"""A command group that imports a command's module only when that command runs, so a
command pays for its own imports alone. `--help` lists every command from a table of
names, modules and summaries (a test holds the table to the real commands)."""

from __future__ import annotations

import importlib
from typing import Mapping, NamedTuple

import click

from harvester.cli.app import HarvesterGroup


class LazyCommand(NamedTuple):
    module: str  # defines the command in `register(group)`, with the others it registers
    summary: str  # the first paragraph of the command's help, as `--help` lists it


class LazyGroup(HarvesterGroup):
    def __init__(self, *args, lazy_commands: Mapping[str, LazyCommand], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)
        self.loaded_modules: set[str] = set()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.load_module(self.lazy_commands[cmd_name].module)
        return self.commands.get(cmd_name)

    def load_module(self, name: str) -> None:
        if name not in self.loaded_modules:
            self.loaded_modules.add(name)
            importlib.import_module(name).register(self)

    def describe_command(self, name: str) -> click.Command | None:
        """The command if its module is loaded, else a stand-in carrying its summary."""
        if name in self.commands:
            return self.commands[name]
        if name in self.lazy_commands:
            return click.Command(name, help=self.lazy_commands[name].summary)
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, from the table instead of importing every command."""
        commands = [(name, cmd) for name in self.list_commands(ctx)
                    if (cmd := self.describe_command(name)) is not None and not cmd.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in commands])
