"""Shared CLI plumbing: lazy config and store, error handling, output helpers."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from harvester.errors import HarvesterError


class HarvesterGroup(click.Group):
    """Turns library errors into one clear line and the right exit code: no traceback
    for anything a user can cause."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarvesterError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; everything committed so far is kept. Re-run to resume.", err=True)
            ctx.exit(130)


class App:
    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config = None
        self._store = None

    @property
    def config(self):
        if self._config is None:
            from harvester.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self):
        if self._store is None:
            from harvester.store import open_store

            self._store = open_store(self.config.store_url, self.config.identity.owner)
        return self._store


pass_app = click.make_pass_decorator(App)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def interactive() -> bool:
    return sys.stderr.isatty()
