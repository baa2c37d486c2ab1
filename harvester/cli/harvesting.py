"""`harvest`, `redraft` and `demo`."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, interactive, json_option, pass_app
from harvester.cli.output import say
from harvester.drafting.wording.numbers import join_words, plural


class ProgressLine:
    """A one-line counter on a terminal; silent under cron."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.dirty = False

    def __call__(self, source: str, stream: str, records: int) -> None:
        # `records` counts the whole source so far, as the summary's records column does.
        if self.enabled:
            click.echo(f"\r  {source}: {records:,} records (reading {stream})".ljust(60), nl=False, err=True)
            self.dirty = True

    def done(self) -> None:
        if self.dirty:
            click.echo("\r" + " " * 60 + "\r", nl=False, err=True)


def print_summary(summary, review_hint: bool = True, log_path=None, command: str = "harvester",
                  without_mine: tuple[str, ...] = ()) -> None:
    d = summary.drafts
    starts = {s.since or summary.since for s in summary.sources} or {summary.since}
    if len(starts) == 1:
        say(f"Harvested since {min(starts):%Y-%m-%d %H:%M} UTC")
    else:
        say("Harvested each source from where its last harvest ended:")
    rows = [("source", "type", "since", "records", "requests", "seconds", "new", "updated", "status")]
    for s in summary.sources:
        rows.append((s.source, s.type, f"{s.since or summary.since:%Y-%m-%d %H:%M}", f"{s.records:,}",
                     str(s.requests), f"{s.seconds:.1f}",
                     str(d.by_source.get((s.source, "new"), 0)), str(d.by_source.get((s.source, "updated"), 0)),
                     "ok" if s.ok else "FAILED"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        say("  " + "  ".join(c.ljust(w) if i < 3 or i == 8 else c.rjust(w)
                                    for i, (c, w) in enumerate(zip(row, widths))))
    for s in summary.sources:
        if s.error:
            say(f"  ! {s.error}", err=True)
        if s.skipped:
            # `what` is a plural noun ("runs", "pull requests"); one of them reads in the singular.
            counts = join_words([plural(n, what.removesuffix("s"), what) for what, n in sorted(s.skipped.items())])
            say(f"  ! {s.source}: {counts} skipped as malformed, see the log{f' ({log_path})' if log_path else ''}.", err=True)
    for source in without_mine:
        say(f"  ! {source}: none of its records is yours yet. If that is wrong, see who it knows you as: "
            f"{command} doctor", err=True)
    if d.held:
        say(f"Drafts from {', '.join(d.held)} wait until a harvest of it completes: what this one fetched "
                   "may be partial, so its drafts were neither added nor changed.")
    if d.skipped:
        say("Drafts: nothing new to draft (no record or rule setting changed since the last pass).")
        return
    for key, counts in summary.member_drafts.items():
        say(f"  {key}: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged")
    set_aside = f", {d.superseded} set aside (now part of another draft)" if d.superseded else ""
    say(f"Drafts: {d.new} new, {d.updated} updated, {d.unchanged} unchanged, "
               f"{d.kept} already decided or edited{set_aside}.")
    if review_hint and (d.new or d.updated):
        say(f"Review them with: {command} drafts list")


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--since", help="Start of the window: 90d, 12w, 6m or a date (2026-08-01). "
                                  "Default: from each source's cursor, or [harvest] default_since.")
    @click.option("--source", "sources", multiple=True, help="Only this connector instance (repeatable).")
    @click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: on a terminal).")
    @json_option
    @pass_app
    def harvest(app, since, sources, progress, as_json):
        """Fetch new records from every source and draft accomplishments."""
        from harvester.commands import command_prefix
        from harvester.doctor import sources_without_my_records
        from harvester.harvest import plan_harvest, run_harvest
        from harvester.lock import app_lock_path, harvest_lock

        from harvester.nightly import load_nightly_settings, setup_logging

        config = app.base_config
        plan = plan_harvest(config, since, list(sources) or None)  # config errors surface before any write
        log_path = setup_logging(load_nightly_settings(config))
        line = ProgressLine(interactive() if progress is None else progress)
        with harvest_lock(app_lock_path(config.store_url), store=lambda: app.harvest_store):
            try:
                summary = run_harvest(app.harvest_store, config, progress=line, plan=plan)
            finally:
                line.done()
        without_mine = sources_without_my_records(app.store, summary) if plan.team is None else []
        if as_json:
            echo_json({**summary.as_json(), "sources_without_my_records": list(without_mine)})
        else:
            print_summary(summary, log_path=log_path, command=command_prefix(app.config), without_mine=without_mine)
        if not summary.ok:
            raise SystemExit(1)

    @cli.command()
    @json_option
    @pass_app
    def redraft(app, as_json):
        """Re-run the rules over stored records (no network), e.g. after tuning thresholds.

        Confirmed, rejected and edited drafts stay exactly as they are."""
        from harvester.drafting.redraft import load_rules, redraft as run_redraft

        rules = load_rules(app.base_config)
        if app.team is None:
            counts = run_redraft(app.store, app.config, rules=rules)
        else:
            from harvester.drafting.redraft import DraftCounts
            from harvester.team import member_config

            counts = DraftCounts.combine([run_redraft(app.harvest_store.for_owner(m.key),
                                                      member_config(app.base_config, m), rules=rules)
                                          for m in app.team.members])
        if as_json:
            echo_json({"findings": counts.findings, "new": counts.new, "updated": counts.updated,
                       "unchanged": counts.unchanged, "kept": counts.kept, "superseded": counts.superseded})
        else:
            say(f"{plural(counts.findings, 'finding')}: {plural(counts.new, 'new draft')}, {counts.updated} updated, "
                f"{counts.unchanged} unchanged, {counts.kept} already decided or edited.")

    @cli.command()
    @click.option("--dir", "directory", type=click.Path(file_okay=False),
                  help="Keep the sample MLflow store, config and database here (default: a temporary folder).")
    @json_option
    def demo(directory, as_json):
        """Harvest a built-in sample MLflow store: no account or server needed.

        Seeds a quarter of runs from two people into a local MLflow store, harvests it
        with the real MLflow connector, rules and drafting, and prints the drafts."""
        from pathlib import Path

        from harvester.commands import command_prefix_for
        from harvester.sample import run_demo

        summary, drafts, folder = run_demo(directory)
        if as_json:
            echo_json({"harvest": summary.as_json(), "drafts": [d.as_json() for d in drafts]})
            return
        print_summary(summary, review_hint=False)  # the sample has its own store: the drafts follow here
        say("")
        for d in drafts:
            say(f"#{d.id} [{d.kind}] {d.statement}")
            say(f"    ? {d.impact_prompt}")
            say(f"    tags: {', '.join(d.tags) or '-'}   evidence: {plural(len(d.evidence), 'link')}")
        if directory:
            say(f"\nSample kept in {folder}. Try: {command_prefix_for(Path(folder) / 'harvester.toml')} drafts list")
        else:
            say("\nThe sample lived in a temporary folder and is gone; keep it with `harvester demo --dir DIR`. "
                       "To harvest your own work: harvester init")
