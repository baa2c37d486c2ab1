"""`retag`: map the journal's rubric tags onto the framework in use."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say
from harvester.safe_text import one_line
from harvester.drafting.wording.numbers import plural


def format_tags(tags) -> str:
    return ", ".join(tags) or "(none)"


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
    @json_option
    @pass_app
    def retag(app, dry_run, as_json):
        """Map confirmed journal entries onto the rubric framework in use.

        Run it after pointing `[rubric] framework` at another file. Entries from
        drafts are tagged from their kind, their metrics and the words people
        wrote (PR titles and labels, ticket summaries); your own notes from their
        text. Tags that are dimensions of the framework stay, including the ones
        you added with `harvester tag`; the others are dropped. A dimension you
        removed by hand comes back if the entry's kind maps to it.

        Safe to re-run: a second run changes nothing. Pending drafts are not
        touched here; the next drafting pass (`harvester harvest` or
        `harvester nightly`) tags them with the framework in use.

        \b
        Examples:
          harvester retag --dry-run
          harvester retag
        """
        from harvester.commands import command_prefix
        from harvester.drafting.retag import apply_retag, plan_retag
        framework = app.config.framework
        plan = plan_retag(app.store, framework)
        if not dry_run:
            apply_retag(app.store, plan)
        changed = [r for r in plan if r.changed]
        unmapped = [r for r in plan if r.unmapped]
        dropped = sorted({t for r in plan for t in r.dropped})
        if as_json:
            echo_json({"framework": framework.name, "dry_run": dry_run, "retagged": len(changed),
                       "unchanged": len(plan) - len(changed), "changes": [r.as_json() for r in changed],
                       "unmapped": [r.entry.id for r in unmapped], "dropped": dropped})
            return
        for r in changed:
            say(f"Entry {r.entry.id}: {format_tags(r.entry.tags)} -> {format_tags(r.tags)}")
        verb = "would be re-tagged" if dry_run else "re-tagged"
        summary = f"{plural(len(changed), 'entry', 'entries')} {verb}, {len(plan) - len(changed)} unchanged"
        if unmapped:
            summary += f", {len(unmapped)} could not be mapped: ids {', '.join(str(r.entry.id) for r in unmapped)}"
        say(summary + (" (dry run: nothing written)." if dry_run else "."))
        if dropped:
            say(f"Dropped tags that are not dimensions of {framework.name}: {', '.join(dropped)}")
        if unmapped:
            command = command_prefix(app.config)
            say(f"No dimension of {framework.name} fits these entries:")
            for r in unmapped:
                say(f"  #{r.entry.id:<4} {r.entry.occurred_at:%Y-%m-%d}  {one_line(r.entry.text)}")
            say(f"Tag them with `{command} tag ID +DIM` (`{command} rubric` lists the dimension ids).")
