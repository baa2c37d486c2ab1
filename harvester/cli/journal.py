"""`journal` and `log`."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say
from harvester.safe_text import one_line


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--since", help="Only entries from this time on: 90d, 6m or a date.")
    @json_option
    @pass_app
    def journal(app, since, as_json):
        """Your confirmed journal entries, newest first."""
        from harvester.timeutil import parse_since

        entries = app.store.list_entries(since=parse_since(since) if since else None)
        if as_json:
            echo_json([e.as_json() for e in entries])
            return
        if not entries:
            say("The journal is empty. Confirm drafts (`harvester drafts list`) or add a note with `harvester log`.")
            return
        for e in entries:
            tags = f"  [{one_line(', '.join(e.tags))}]" if e.tags else ""
            say(f"{e.occurred_at:%Y-%m-%d}  #{e.id:<4} {one_line(e.text)}{tags}")
            for ev in e.evidence:
                say(f"              {one_line(ev.url)}")

    @cli.command("log")
    @click.argument("text")
    @click.option("--date", "when", help="When it happened (default: now), e.g. 2026-11-20.")
    @click.option("--tag", "tags", multiple=True, help="Rubric dimension id (repeatable). Default: tagged automatically.")
    @click.option("--link", "links", multiple=True, help="Evidence URL (repeatable).")
    @json_option
    @pass_app
    def log_entry(app, text, when, tags, links, as_json):
        """Add a manual journal entry in thirty seconds: harvester log "Paired with Sam on ..." """
        from harvester.models import Entry, Evidence, utcnow
        from harvester.rubric import load_framework
        from harvester.timeutil import parse_since

        if not text.strip():
            raise click.UsageError("The entry text is empty.")
        framework = load_framework(app.config.rubric.framework or None)
        unknown = [t for t in tags if t not in framework.ids]
        if unknown:
            raise click.UsageError(f"Unknown rubric dimension {unknown[0]!r}. Known: {', '.join(framework.ids)}.")
        entry = app.store.add_entry(Entry(
            id=None, text=text.strip(), occurred_at=parse_since(when) if when else utcnow(),
            tags=tuple(tags) or framework.tag("note", text),
            evidence=tuple(Evidence(url=u, label="link", source="manual") for u in links)))
        if as_json:
            echo_json(entry.as_json())
        else:
            say(f"Logged entry {entry.id} ({', '.join(entry.tags) or 'untagged'}).")
