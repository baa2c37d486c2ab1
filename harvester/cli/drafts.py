"""`drafts list|show|confirm|edit|reject|restore`."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say
from harvester.cli.paging import limit_options, more_line, resolve_limit
from harvester.commands import command_prefix
from harvester.safe_text import one_line
from harvester.models import DRAFT_STATUSES

STATUS_CHOICE = click.Choice([*DRAFT_STATUSES, "all"])


def describe_metric(m) -> str:
    """val_auc (validation AUC): 0.81 -> 0.8641 (+6.7%), exact values as logged."""
    from harvester.drafting.wording.names import label_metric
    from harvester.drafting.wording.numbers import format_percent, plain_number

    label = one_line(label_metric(m.name))
    name = one_line(m.name) if label == m.name else f"{one_line(m.name)} ({label})"
    unit = f" {m.unit}" if m.unit else ""
    if m.before is None:
        return f"{name}: {plain_number(m.after)}{unit}"
    change = f" ({format_percent(m.relative_change)})" if m.relative_change is not None else ""
    return f"{name}: {plain_number(m.before)} -> {plain_number(m.after)}{unit}{change}"


def show_draft(d, command: str = "harvester") -> None:
    say(f"Draft #{d.id} · {d.status}{' · edited' if d.edited else ''}")
    say(f"  {d.kind} on {one_line(d.subject)} ({d.source}), {d.occurred_at:%Y-%m-%d %H:%M} UTC")
    say(f"\n  {one_line(d.statement)}\n")
    say(f"  ? {one_line(d.impact_prompt)}")
    if d.metrics:
        say("  metrics (logged key: before -> after):")
        for m in d.metrics:
            say(f"    {describe_metric(m)}")
    if d.evidence:
        say("  evidence:")
        for e in d.evidence:
            say(f"    {one_line(e.label)}: {one_line(e.url)}")
    say(f"  tags: {one_line(', '.join(d.tags)) or '-'}")
    if d.reason:
        say(f"  rejected because: {one_line(d.reason)}")
    if d.status == "pending":
        say(f"\n  {command} drafts confirm {d.id}   |   {command} drafts edit {d.id}   |   "
            f"{command} drafts reject {d.id}")
    elif d.status in ("confirmed", "rejected"):
        say(f"\n  {command} drafts restore {d.id}   (back to pending)")


def batch_options(fn):
    for option in reversed((
            click.option("--kind", "kinds", multiple=True, help="Every pending draft of this kind (repeatable)."),
            click.option("--source", "sources", multiple=True,
                         help="Every pending draft of this source instance (repeatable; combines with --kind)."),
            click.option("--all-pending", is_flag=True, help="Every pending draft."),
            click.option("--yes", "-y", is_flag=True, help="Do not ask before changing a batch."))):
        fn = option(fn)
    return fn


def register(cli: click.Group) -> None:
    @cli.group()
    def drafts():
        """Review drafted accomplishments: list, show, confirm, edit, reject, restore."""

    @drafts.command("list")
    @click.option("--status", type=STATUS_CHOICE, default="pending", show_default=True)
    @click.option("--kind", "kinds", multiple=True, help="Only this kind, e.g. metric_lift (repeatable).")
    @click.option("--source", "sources", multiple=True, help="Only this source instance, e.g. mlflow-prod (repeatable).")
    @click.option("--since", help="Only drafts of work from this time on: 30d, 6m or a date.")
    @limit_options("drafts")
    @json_option
    @pass_app
    def list_drafts(app, status, kinds, sources, since, limit, show_all, as_json):
        """List drafts, newest first; `edited` marks wording you changed.

        Shows the newest 50 and says how many more there are; --limit N or --all
        shows more. With --json every draft is printed unless --limit is given.

        \b
        Examples:
          harvester drafts list --kind metric_lift --since 30d
          harvester drafts list --status all --source mlflow-prod --limit 200"""
        from harvester.cli.listing import format_draft_lines
        from harvester.cli.output import terminal_width
        from harvester.timeutil import parse_past

        limit = resolve_limit(limit, show_all, as_json)
        start = parse_past(since, "--since") if since else None
        filters = dict(statuses=None if status == "all" else [status], since=start, kinds=kinds, sources=sources)
        items = app.store.list_drafts(**filters, limit=limit)
        if as_json:
            echo_json([d.as_json() for d in items])
            return
        if not items:
            filtered = " matching --kind/--source/--since" if kinds or sources or since else ""
            say(f"No {'' if status == 'all' else status + ' '}drafts{filtered}. Run `{command_prefix(app.config)} "
                "harvest` to look for new work.")
            return
        total = app.store.count_drafts(**filters) if len(items) == limit else len(items)
        width = terminal_width()
        for d in items:
            for line in format_draft_lines(d, width):
                say(line)
        command = command_prefix(app.config)
        more = more_line(len(items), total, "drafts" if status == "all" else f"{status} drafts", limit)
        if more:
            say(f"\n{more}")
        if status == "pending":
            # Not wrapped: the commands stay whole, to copy.
            opening = "Confirm" if total > len(items) else f"\n{total:,} pending. Confirm"
            say(f"{opening} with `{command} drafts confirm ID`, or `{command} drafts show ID` for evidence.")

    @drafts.command("show")
    @click.argument("draft_id", type=int)
    @json_option
    @pass_app
    def show(app, draft_id, as_json):
        """Show one draft with its metrics, evidence and impact prompt."""
        from harvester.cli.history import format_history_lines

        d = app.store.get_draft(draft_id)
        events = app.store.history("draft", draft_id)
        if as_json:
            from harvester.documents import describe_draft

            echo_json(describe_draft(d, events))
        else:
            show_draft(d, command_prefix(app.config))
            for line in format_history_lines(events):
                say(line)

    @drafts.command("confirm")
    @click.argument("draft_ids", type=int, nargs=-1)
    @click.option("--text", help="Your final wording (only with one id). Default: the draft's statement.")
    @batch_options
    @pass_app
    def confirm(app, draft_ids, text, kinds, sources, all_pending, yes):
        """Confirm drafts: each becomes a journal entry the tool never rewrites.

        A batch (several ids, --kind/--source or --all-pending) is listed and asked about
        first, and is all or nothing: one wrong id and no draft changes.

        \b
        Examples:
          harvester drafts confirm 12 --text "Raised fraud recall to 0.87"
          harvester drafts confirm --kind metric_lift --source mlflow-prod"""
        from harvester.cli.batches import approve_batch, select_drafts

        if text and (len(draft_ids) != 1 or kinds or sources or all_pending):
            raise click.UsageError("--text applies to one draft; confirm the others separately.")
        if text is not None:
            from harvester.journal_input import EMPTY_CONFIRMATION, check_wording

            entry = app.store.confirm_draft(draft_ids[0], check_wording(text, EMPTY_CONFIRMATION))
            say(f"Confirmed #{draft_ids[0]} as journal entry {entry.id}.")
            return
        drafts, named = select_drafts(app.store, draft_ids, kinds, sources, all_pending)
        if not drafts:
            say("No pending drafts match; nothing was confirmed.")
            return
        if not approve_batch(drafts, "confirm", named, yes):
            say("Nothing was confirmed.")
            return
        for entry in app.store.confirm_drafts([d.id for d in drafts]):
            say(f"Confirmed #{entry.draft_id} as journal entry {entry.id}.")

    @drafts.command("edit")
    @click.argument("draft_id", type=int)
    @click.option("--text", help="New wording. Without it, $EDITOR opens the draft.")
    @pass_app
    def edit(app, draft_id, text):
        """Reword a pending draft. Edited drafts are never refreshed by later harvests."""
        from harvester.cli.wording_input import read_new_wording

        draft = app.store.get_draft(draft_id)
        text = read_new_wording(draft.statement, text)
        if text is None:
            say("No change.")
            return
        app.store.edit_draft(draft_id, text)
        say(f"Draft #{draft_id} updated.")

    @drafts.command("reject")
    @click.argument("draft_ids", type=int, nargs=-1)
    @click.option("--reason", help="Why (kept for you; the same finding never comes back either way).")
    @batch_options
    @pass_app
    def reject(app, draft_ids, reason, kinds, sources, all_pending, yes):
        """Reject drafts. A rejected accomplishment is never drafted again (unless you restore it).

        A batch (several ids, --kind/--source or --all-pending) is listed and asked about
        first, and is all or nothing: one wrong id and no draft changes."""
        from harvester.cli.batches import approve_batch, select_drafts

        drafts, named = select_drafts(app.store, draft_ids, kinds, sources, all_pending)
        if not drafts:
            say("No pending drafts match; nothing was rejected.")
            return
        if not approve_batch(drafts, "reject", named, yes):
            say("Nothing was rejected.")
            return
        for d in app.store.reject_drafts([d.id for d in drafts], reason):
            say(f"Rejected #{d.id}.")

    @drafts.command("restore")
    @click.argument("draft_ids", type=int, nargs=-1, required=True)
    @pass_app
    def restore(app, draft_ids):
        """Undo a confirm or a reject: the draft is pending again.

        Restoring a confirmed draft takes its entry out of the journal (the entry is kept,
        marked deleted, and its text stays in `drafts show` history). A restored draft is
        like any pending one: unless you edited it, the next harvest may reword it."""
        before = {i: app.store.get_draft(i).status for i in dict.fromkeys(draft_ids)}
        for d in app.store.restore_drafts(list(before)):  # all or none
            removed = " (its journal entry is deleted)" if before[d.id] == "confirmed" else ""
            say(f"Restored #{d.id} to pending{removed}.")
