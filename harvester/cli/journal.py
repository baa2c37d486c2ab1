"""`journal` (list, show, edit, delete, restore) and `log`."""

from __future__ import annotations

import click

from harvester.cli.app import App, echo_json, json_option, pass_app
from harvester.cli.paging import limit_options, more_line, resolve_limit
from harvester.cli.output import say
from harvester.safe_text import one_line


def register(cli: click.Group) -> None:
    @cli.group(invoke_without_command=True)
    @click.option("--since", help="Only entries from this time on: 90d, 6m or a date.")
    @limit_options("entries")
    @json_option
    @click.pass_context
    def journal(ctx, since, limit, show_all, as_json):
        """Your confirmed journal entries, newest first; show, edit, delete or restore one.

        Shows the newest 50 and says how many more there are; --limit N or --all
        shows more. With --json every entry is printed unless --limit is given.

        \b
        Examples:
          harvester journal --since 90d
          harvester journal --all
          harvester journal show 12
          harvester journal edit 12 --text "Raised fraud recall to 0.87"
          harvester journal delete 12        (kept, and back with: journal restore 12)"""
        if ctx.invoked_subcommand is not None:
            return
        app = ctx.find_object(App)
        from harvester.timeutil import parse_past

        limit = resolve_limit(limit, show_all, as_json)
        start = parse_past(since) if since else None
        entries = app.store.list_entries(since=start, limit=limit)
        if as_json:
            echo_json([e.as_json() for e in entries])
            return
        if not entries:
            from harvester.commands import command_prefix

            command = command_prefix(app.config)
            say(f"The journal is empty. Confirm drafts (`{command} drafts list`) or add a note with `{command} log`.")
            return
        for e in entries:
            tags = f"  [{one_line(', '.join(e.tags))}]" if e.tags else ""
            say(f"{e.occurred_at:%Y-%m-%d}  #{e.id:<4} {one_line(e.text)}{tags}")
            if e.outcome:
                say(f"              outcome: {one_line(e.outcome)}")
            for ev in e.evidence:
                say(f"              {one_line(ev.url)}")
        total = app.store.count_entries(since=start) if len(entries) == limit else len(entries)
        more = more_line(len(entries), total, "entries", limit)
        if more:
            say(f"\n{more}")

    @journal.command("show")
    @click.argument("entry_id", type=int)
    @json_option
    @pass_app
    def show(app, entry_id, as_json):
        """Show one entry: text, date, tags, outcome, evidence and its history (deleted ones too)."""
        from harvester.cli.history import format_history_lines

        entry = app.store.get_entry(entry_id, include_deleted=True)
        events = app.store.history("entry", entry_id)
        if as_json:
            from harvester.documents import describe_entry

            echo_json(describe_entry(entry, events))
            return
        for line in format_entry(entry):
            say(line)
        for line in format_history_lines(events):
            say(line)

    @journal.command("edit")
    @click.argument("entry_id", type=int)
    @click.option("--text", help="New wording. Without it, $EDITOR opens the entry.")
    @pass_app
    def edit(app, entry_id, text):
        """Reword a journal entry; the earlier wording stays in its history."""
        from harvester.cli.wording_input import read_new_wording

        entry = app.store.get_entry(entry_id)
        text = read_new_wording(entry.text, text)
        if text is None or text == entry.text:
            say("No change.")
            return
        app.store.edit_entry(entry_id, text)
        say(f"Entry {entry_id} updated.")

    @journal.command("delete")
    @click.argument("entry_id", type=int)
    @pass_app
    def delete(app, entry_id):
        """Take an entry out of the journal and the report. It is kept: `journal restore ID` brings it back."""
        from harvester.commands import command_prefix

        app.store.delete_entry(entry_id)
        say(f"Deleted entry {entry_id}; undo with `{command_prefix(app.config)} journal restore {entry_id}`.")

    @journal.command("restore")
    @click.argument("entry_id", type=int)
    @pass_app
    def restore(app, entry_id):
        """Put a deleted entry back in the journal."""
        app.store.restore_entry(entry_id)
        say(f"Restored entry {entry_id} to the journal.")

    @cli.command("log")
    @click.argument("text")
    @click.option("--date", "when", help="When it happened (default: now), e.g. 2026-11-20.")
    @click.option("--tag", "tags", multiple=True, help="Rubric dimension id (repeatable). Default: tagged automatically.")
    @click.option("--link", "links", multiple=True, help="Evidence URL (repeatable).")
    @json_option
    @pass_app
    def log_entry(app, text, when, tags, links, as_json):
        """Add a manual journal entry in thirty seconds: harvester log "Paired with Sam on ..." """
        from harvester.journal_input import log_manual_entry

        entry = log_manual_entry(app.store, app.config.framework, text, when, tags, links)
        if as_json:
            echo_json(entry.as_json())
        else:
            say(f"Logged entry {entry.id} ({', '.join(entry.tags) or 'untagged'}).")


def format_entry(e) -> list[str]:
    deleted = f" · deleted {e.deleted_at:%Y-%m-%d %H:%M} UTC" if e.deleted_at else ""
    draft = f", from draft #{e.draft_id}" if e.draft_id is not None else ""
    lines = [f"Entry #{e.id}{deleted}",
             f"  {one_line(e.kind)} on {one_line(e.subject) or '-'} ({one_line(e.source)}{draft}), "
             f"{e.occurred_at:%Y-%m-%d %H:%M} UTC",
             "", f"  {one_line(e.text)}", "",
             f"  tags: {one_line(', '.join(e.tags)) or '-'}",
             f"  outcome: {one_line(e.outcome) if e.outcome else '-'}"]
    if e.evidence:
        lines.append("  evidence:")
        lines += [f"    {one_line(ev.label)}: {one_line(ev.url)}" for ev in e.evidence]
    return lines
