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
    """What a command works with, read when first asked for: the config, the team (when a
    [team] table names one), the member a command acts as, and the store."""

    def __init__(self, config_path: str | None, member_name: str | None = None):
        self.config_path = config_path
        self.member_name = member_name
        self._config = None
        self._team = False  # not read yet
        self._stores: dict[str, Any] = {}

    @property
    def base_config(self):
        if self._config is None:
            from harvester.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def team(self):
        if self._team is False:
            from harvester.team import load_team

            self._team = load_team(self.base_config)
        return self._team

    @property
    def member(self):
        """The member this command acts as (team mode), resolved on first use; None alone."""
        if self.team is None:
            return None
        from harvester.team import resolve_member

        return resolve_member(self.team, self.member_name)

    @property
    def config(self):
        """The config, with [identity] the member's in team mode, once that member is known."""
        if self.team is None:
            return self.base_config
        from harvester.errors import ConfigError
        from harvester.team import member_config

        try:
            return member_config(self.base_config, self.member)
        except ConfigError:
            return self.base_config  # commands that need a member say so through `store`

    @property
    def store(self):
        """The store as the one user, or as the member this command acts as."""
        team = self.team
        if team is None:
            return self.open_store(self.base_config.identity.owner)
        return self.open_store(self.member.key, harvest_owner=team.key)

    @property
    def harvest_store(self):
        """The store a harvest writes to: in team mode the team's, which files every record
        under the member it belongs to."""
        team = self.team
        if team is None:
            return self.store
        from harvester.team import record_owners

        return self.open_store(team.key, record_owners=record_owners(team))

    def open_store(self, owner: str, **scope):
        if owner not in self._stores:
            from harvester.store import open_store

            store = open_store(self.base_config.store_url, owner, **scope)
            self._stores[owner] = store
            ctx = click.get_current_context(silent=True)
            if ctx is not None:  # connections end with the command (SQLite tidies its -wal file)
                ctx.find_root().call_on_close(store.close)
        return self._stores[owner]


pass_app = click.make_pass_decorator(App)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def echo_json(value: Any) -> None:
    from harvester.redact import redact

    click.echo(redact(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def interactive() -> bool:
    return sys.stderr.isatty()
