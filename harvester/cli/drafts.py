"""`drafts list|show|confirm|edit|reject`."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say
from harvester.safe_text import one_line
from harvester.models import DRAFT_STATUSES

STATUS_CHOICE = click.Choice([*DRAFT_STATUSES, "all"])


def format_draft_line(d) -> str:
    return f"#{d.id:<4} {d.occurred_at:%Y-%m-%d}  {d.status:<9} {d.kind:<20} {one_line(d.statement)}"


def describe_metric(m) -> str:
    """val_auc (validation AUC): 0.81 -> 0.8641 (+6.7%), exact values as logged."""
    from harvester.wording.names import label_metric
    from harvester.wording.numbers import format_percent, plain_number

    label = one_line(label_metric(m.name))
    name = one_line(m.name) if label == m.name else f"{one_line(m.name)} ({label})"
    unit = f" {m.unit}" if m.unit else ""
    if m.before is None:
        return f"{name}: {plain_number(m.after)}{unit}"
    change = f" ({format_percent(m.relative_change)})" if m.relative_change is not None else ""
    return f"{name}: {plain_number(m.before)} -> {plain_number(m.after)}{unit}{change}"


def show_draft(d) -> None:
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
        say(f"\n  harvester drafts confirm {d.id}   |   drafts edit {d.id}   |   drafts reject {d.id}")


def register(cli: click.Group) -> None:
    @cli.group()
    def drafts():
        """Review drafted accomplishments: list, show, confirm, edit, reject."""

    @drafts.command("list")
    @click.option("--status", type=STATUS_CHOICE, default="pending", show_default=True)
    @json_option
    @pass_app
    def list_drafts(app, status, as_json):
        """List drafts, newest first."""
        items = app.store.list_drafts(None if status == "all" else [status])
        if as_json:
            echo_json([d.as_json() for d in items])
            return
        if not items:
            say(f"No {'' if status == 'all' else status + ' '}drafts. Run `harvester harvest` to look for new work.")
            return
        for d in items:
            say(format_draft_line(d))
        if status == "pending":
            say(f"\n{len(items)} pending. Confirm with `harvester drafts confirm ID`, "
                       "or `harvester drafts show ID` for evidence.")

    @drafts.command("show")
    @click.argument("draft_id", type=int)
    @json_option
    @pass_app
    def show(app, draft_id, as_json):
        """Show one draft with its metrics, evidence and impact prompt."""
        d = app.store.get_draft(draft_id)
        if as_json:
            echo_json(d.as_json())
        else:
            show_draft(d)

    @drafts.command("confirm")
    @click.argument("draft_ids", type=int, nargs=-1, required=True)
    @click.option("--text", help="Your final wording (only with one id). Default: the draft's statement.")
    @pass_app
    def confirm(app, draft_ids, text):
        """Confirm drafts: each becomes a journal entry the tool never rewrites."""
        if text and len(draft_ids) > 1:
            raise click.UsageError("--text applies to one draft; confirm the others separately.")
        for draft_id in draft_ids:
            entry = app.store.confirm_draft(draft_id, text)
            say(f"Confirmed #{draft_id} as journal entry {entry.id}.")

    @drafts.command("edit")
    @click.argument("draft_id", type=int)
    @click.option("--text", help="New wording. Without it, $EDITOR opens the draft.")
    @pass_app
    def edit(app, draft_id, text):
        """Reword a pending draft. Edited drafts are never refreshed by later harvests."""
        draft = app.store.get_draft(draft_id)
        if text is None:
            text = click.edit(draft.statement + "\n")
            if text is None:
                say("No change.")
                return
        if not text.strip():
            raise click.UsageError("The new wording is empty; nothing was changed.")
        app.store.edit_draft(draft_id, text)
        say(f"Draft #{draft_id} updated.")

    @drafts.command("reject")
    @click.argument("draft_ids", type=int, nargs=-1, required=True)
    @click.option("--reason", help="Why (kept for you; the same finding never comes back either way).")
    @pass_app
    def reject(app, draft_ids, reason):
        """Reject drafts. A rejected accomplishment is never drafted again."""
        for draft_id in draft_ids:
            app.store.reject_draft(draft_id, reason)
            say(f"Rejected #{draft_id}.")
