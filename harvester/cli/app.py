"""Shared CLI plumbing: lazy config and store, error handling, output helpers."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from harvester.cli.output import say
from harvester.errors import HarvesterError
from harvester.safe_text import one_line


class HarvesterGroup(click.Group):
    """Turns library errors into one clear line and the right exit code: no traceback
    for anything a user can cause."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarvesterError as exc:
            say(f"Error: {one_line(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; everything committed so far is kept. Re-run to resume.", err=True)
            ctx.exit(130)
        except Exception as exc:
            message = describe_storage_fault(exc, ctx.obj)
            if message is None:
                raise
            say(f"Error: {one_line(message)}", err=True)
            ctx.exit(1)


def describe_storage_fault(exc: Exception, app: Any) -> str | None:
    """One line for a file or database error no code path turned into a HarvesterError
    (None for anything else: a bug keeps its traceback)."""
    if isinstance(exc, OSError) and exc.filename:
        return (f"Cannot use {exc.filename} ({exc.strerror or type(exc).__name__}). Check that it exists and that "
                "you can write to it; harvester's own files live in the app dir (set HARVESTER_HOME to move it).")
    if type(exc).__module__.startswith("sqlalchemy"):
        from harvester.store.faults import hide_password, store_error_from

        config = getattr(app, "_config", None)
        error = store_error_from(exc, hide_password(config.store_url) if config is not None else "(the store)")
        return None if error is None else str(error)
    return None


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
            ctx = click.get_current_context(silent=True)
            if ctx is not None:  # connections end with the command (SQLite tidies its -wal file)
                ctx.find_root().call_on_close(self._store.close)
        return self._store


pass_app = click.make_pass_decorator(App)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def echo_json(value: Any) -> None:
    from harvester.redact import redact

    click.echo(redact(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def interactive() -> bool:
    return sys.stderr.isatty()
