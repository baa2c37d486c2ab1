"""`search`: full-text search over journal entries and drafts."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say
from harvester.safe_text import one_line

STATUS_HELP = ("confirmed (journal entries), pending or rejected (drafts), or all; repeatable. "
               "Default: confirmed and pending.")


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("query", nargs=-1, required=True)
    @click.option("--since", help="Only items from this time on: 90d, 6m or a date.")
    @click.option("--until", help="Only items before this time (a date is included whole).")
    @click.option("--tag", "tags", multiple=True, help="Only items tagged with this rubric dimension (repeatable: all must match).")
    @click.option("--source", "sources", multiple=True, help="Only items from this source instance, e.g. mlflow-prod or manual (repeatable).")
    @click.option("--status", "statuses", multiple=True,
                  type=click.Choice(["confirmed", "pending", "rejected", "all"]), help=STATUS_HELP)
    @click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
    @json_option
    @pass_app
    def search(app, query, since, until, tags, sources, statuses, limit, as_json):
        """Find entries and drafts by words, best matches first.

        Every word must appear (stemmed: "improve" also finds "improved").

        \b
        Examples:
          harvester search fraud detector
          harvester search latency --since 2026-07-01 --tag efficiency
          harvester search ruled out --status all --json
        """
        from harvester.store.search import SEARCH_STATUSES, SearchFilters
        from harvester.timeutil import parse_past, parse_until

        end = parse_until(until) if until else None
        chosen = SEARCH_STATUSES if "all" in statuses else (tuple(statuses) or ("confirmed", "pending"))
        filters = SearchFilters(since=parse_past(since) if since else None, until=end, tags=tuple(tags),
                                sources=tuple(sources), statuses=chosen, limit=limit)
        hits = app.store.search(" ".join(query), filters)
        if as_json:
            echo_json([h.as_json() for h in hits])
            return
        if not hits:
            say("No matches. Try fewer words, or widen --status/--since.")
            return
        for h in hits:
            where = f"entry {h.id}" if h.type == "entry" else f"draft {h.id} ({h.status})"
            tags_text = f"  [{', '.join(h.item.tags)}]" if h.item.tags else ""
            say(f"{h.occurred_at:%Y-%m-%d}  {where:<20} {one_line(h.text)}{tags_text}")
