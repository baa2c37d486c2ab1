"""The `harvester` command line. Commands live in one module per topic, imported only when
one of its commands runs; heavy libraries are imported inside the commands that need them,
so `--help` and `drafts list` start fast."""

from __future__ import annotations

import sys

import click

from harvester.cli.app import App
from harvester.cli.lazy import LazyCommand, LazyGroup


# name -> the module that registers it, and its summary for `--help`. Each command's module
# is imported only when it runs; tests/test_cli_commands.py holds this table to the commands.
COMMANDS = {name: LazyCommand(f"harvester.cli.{module}", summary) for name, (module, summary) in {
    "connectors": ("setup", "The sources harvester can read."),
    "demo": ("harvesting", "Harvest a built-in sample MLflow store: no account or server needed."),
    "digest": ("digest", "The weekly digest: pending drafts to confirm, edit or reject, and impact check-ins."),
    "doctor": ("doctor", "Check the config, store and sources: is each source reachable, whom does it know you as, "
                         "and do your handles match your records of the last 90 days?"),
    "drafts": ("drafts", "Review drafted accomplishments: list, show, confirm, edit, reject, restore."),
    "harvest": ("harvesting", "Fetch new records from every source and draft accomplishments."),
    "init": ("setup", "Write a commented starter config to edit."),
    "journal": ("journal", "Your confirmed journal entries, newest first; show, edit, delete or restore one."),
    "log": ("journal", 'Add a manual journal entry in thirty seconds: harvester log "Paired with Sam on ..."'),
    "mcp": ("assistant", "Serve the journal to an AI assistant over MCP (stdio); read-only unless [mcp] allow_writes."),
    "nightly": ("nightly", "Harvest every source under a lock, then send the weekly digest on its weekday."),
    "outcome": ("digest", "Record the online or business result of a journal entry."),
    "redraft": ("harvesting", "Re-run the rules over stored records (no network), e.g. after tuning thresholds."),
    "report": ("report", "Write the Performance Report and Period Recap from your confirmed journal."),
    "retag": ("retag", "Map confirmed journal entries onto the rubric framework in use."),
    "review": ("review", "Go through pending drafts one at a time, oldest first, with single keys."),
    "rubric": ("tags", "Show the career framework in use: dimension ids, what maps to them, and levels."),
    "rules": ("setup", "The rules that recognise reportable work."),
    "search": ("search", "Find entries and drafts by words, best matches first."),
    "serve": ("serve", "Review drafts in the browser: inbox, draft pages, journal and report."),
    "status": ("nightly", "Per source: the last harvest, its status, records, requests and error; pending drafts; "
                          "the last digest sent."),
    "tag": ("tags", "Add (+DIM) or remove (-DIM) rubric dimensions of a journal entry or a draft."),
    "team": ("team", "Team mode: list members, grant or remove their database roles."),
}.items()}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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


def main() -> None:
    cli(prog_name="harvester")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
