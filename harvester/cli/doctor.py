"""`doctor`: check the config, the store and every source before (or after) a harvest."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say


def register(cli: click.Group) -> None:
    @cli.command()
    @json_option
    @pass_app
    def doctor(app, as_json):
        """Check the config, store and sources: is each source reachable, whom does it know
        you as, and do your handles match your records of the last 90 days?

        \b
        Prints the config file, store, app dir, log and lock in use; per source, the
        account the credentials belong to, how many of your records it holds, and the
        owners on the server that look like you but are not in your handles. Exit 1
        when something is wrong, each problem with its fix."""
        from harvester.doctor import render_report, run_doctor

        report = run_doctor(app.config)
        if as_json:
            echo_json(report.as_json())
        else:
            for line in render_report(report):
                say(line)
        if not report.ok:
            raise SystemExit(1)
