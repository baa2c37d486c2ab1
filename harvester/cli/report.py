"""`report`: the Performance Report and Period Recap for a review period."""

from __future__ import annotations

from pathlib import Path

import click

from harvester.cli.app import pass_app
from harvester.cli.output import say
from harvester.drafting.wording.numbers import plural
from harvester.report.formats import (DEFAULT_FORMAT, OUTPUT_FORMATS, describe_formats, format_for_suffix,
                                      render_report)


def resolve_window(period: str | None, since: str | None, until: str | None):
    """(label, since, until) in UTC; `until` is exclusive. Default: the current half-year."""
    from harvester.models import utcnow
    from harvester.report.period import period_window
    from harvester.timeutil import parse_past, parse_until

    if period and (since or until):
        raise click.UsageError("Use either --period or --since/--until, not both.")
    if since or until:
        start = parse_past(since) if since else None
        end = parse_until(until) if until else utcnow()
        if start and start >= end:
            raise click.UsageError("--since must be before --until.")
        return "", start, end
    return period_window(period)


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--period", help="A review period: 2026, 2026-H2, 2026-Q3 or 2026-07. Default: the current half-year.")
    @click.option("--since", help="Start instead of --period: a date (2026-07-01) or a span (6m, 26w).")
    @click.option("--until", help="End of the window (a date is included whole). Default: now.")
    @click.option("--format", "fmt", type=click.Choice(list(OUTPUT_FORMATS)),
                  help=f"Output format: {describe_formats()}. Default: from the -o suffix, else {DEFAULT_FORMAT}.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
                  help="Write to this file instead of standard output.")
    @click.option("--level", help="Show each dimension's expectation at this framework level (e.g. senior). "
                                  "Default: [rubric] level.")
    @pass_app
    def report(app, period, since, until, fmt, output, level):
        """Write the Performance Report and Period Recap from your confirmed journal.

        \b
        Per rubric dimension: your entries as impact statements, with dates and
        evidence links, measured results before activity; dimensions without
        evidence are called out. The recap counts models shipped, experiments and
        the runs behind them, negative results, PRs, reviews and tickets, lists the
        top outcomes and a month-by-month timeline. Entries still missing their
        business outcome are listed with the `harvester outcome ID "..."` command
        that adds it; entries with no dimension of the framework, with the fix.

        \b
        Examples:
          harvester report --period 2026-H2
          harvester report --period 2026-Q3 -o q3.html        (print to PDF from a browser)
          harvester report --since 2026-01-01 --until 2026-06-30 --format json
        """
        from harvester.report.period import build_config_report

        label, start, end = resolve_window(period, since, until)
        if output and Path(output).suffix.lower() == ".pdf":
            raise click.UsageError(f"harvester does not write PDF. Write HTML (-o {Path(output).with_suffix('.html')}), "
                                   "open it in a browser and print it to PDF.")
        if fmt is None:
            fmt = format_for_suffix(Path(output).suffix).name if output else DEFAULT_FORMAT
        built = build_config_report(app.store, app.config, since=start, until=end, period=label, level_id=level)
        text = render_report(built, fmt)
        if output:
            Path(output).expanduser().write_text(text, encoding="utf-8")
            gaps = len(built.empty_dimensions)
            say(f"Wrote {output}: {plural(built.total, 'entry', 'entries')}, "
                f"{plural(gaps, 'dimension')} without evidence, "
                f"{plural(len(built.missing_outcomes), 'entry', 'entries')} missing their outcome.", err=True)
            if built.unmapped:
                say(built.unmapped_hint(), err=True)
        else:
            say(text, nl=False)
