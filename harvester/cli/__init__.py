"""The `harvester` command line. Commands live in one module per topic; heavy libraries
are imported inside the commands that need them, so `--help` and `drafts list` start fast."""

from __future__ import annotations

import sys

import click

from harvester.cli.app import App, HarvesterGroup


@click.group(cls=HarvesterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar=None,
              help="Config file (default: $HARVESTER_CONFIG, ./harvester.toml, then the app dir).")
@click.option("--member", "member_name", metavar="EMAIL", default=None,
              help="Team mode: act as this member (default: $HARVESTER_MEMBER, then your login's os_user in [team]).")
@click.version_option(package_name="harvester")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, member_name: str | None) -> None:
    """Harvest MLflow, W&B, GitHub, GitLab, Jira and Linear into draft accomplishments you confirm.

    \b
    Start:   harvester init        (writes a starter config)
             harvester harvest --since 90d
             harvester drafts list
    Sample:  harvester demo        (no account or server needed)
    """
    ctx.obj = App(config_path, member_name)


def register_commands() -> None:
    from harvester.cli import assistant, digest, doctor, drafts, harvesting, journal, nightly, setup
    from harvester.cli import report, retag, review, search, serve, tags, team

    for module in (harvesting, drafts, journal, setup, nightly, doctor, digest, report, search, tags, retag, review,
                   serve, team, assistant):
        module.register(cli)


register_commands()


def main() -> None:
    cli(prog_name="harvester")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
