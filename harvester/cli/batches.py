"""Choosing the drafts a `drafts confirm|reject` batch applies to, and asking before it runs."""

from __future__ import annotations

import sys

import click

from harvester.cli.listing import format_draft_row
from harvester.cli.output import say
from harvester.drafting.wording.numbers import plural


def select_drafts(store, draft_ids, kinds, sources, all_pending: bool) -> tuple[list, bool]:
    """(drafts, named): the pending drafts chosen by id, by --kind/--source or --all-pending;
    `named` when the engineer listed the ids. Ids are checked later, in the store's one transaction."""
    filtered = bool(kinds or sources or all_pending)
    if draft_ids and filtered:
        raise click.UsageError("Give draft ids, or --kind/--source/--all-pending, not both.")
    if not draft_ids and not filtered:
        raise click.UsageError("Name the drafts: ids, --kind K, --source S or --all-pending.")
    if draft_ids:
        return [store.get_draft(i) for i in dict.fromkeys(draft_ids)], True
    return store.list_drafts(["pending"], kinds=kinds, sources=sources), False


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def approve_batch(drafts, verb: str, named: bool, yes: bool) -> bool:
    """Show the batch and ask; one explicitly named draft needs no question. False: the engineer said no."""
    if named and len(drafts) == 1:
        return True
    say(f"{plural(len(drafts), 'draft')} to {verb}:")
    for d in drafts:
        say(f"  {format_draft_row(d)}")
    if yes:
        return True
    if not stdin_is_terminal():
        raise click.ClickException(f"Not a terminal, so nothing was asked and nothing changed: add --yes to {verb} "
                                   f"these {len(drafts)} drafts.")
    return click.confirm(f"{verb.capitalize()} {len(drafts)} drafts?", default=False)
