"""Listing commands show a page of the newest items (`--limit N`, `--all`), as `gh` does: a
long history neither floods the terminal nor costs its printing on every look."""

from __future__ import annotations

from typing import Callable

import click

DEFAULT_LIMIT = 50


def limit_options(noun: str) -> Callable:
    """`--limit N` and `--all` for a command listing `noun` (plural)."""
    def decorate(fn: Callable) -> Callable:
        fn = click.option("--all", "show_all", is_flag=True, help=f"Show every one of the {noun} that match.")(fn)
        return click.option("--limit", type=click.IntRange(min=1), metavar="N",
                            help=f"Show the newest N. Default: {DEFAULT_LIMIT}, or all {noun} with --json.")(fn)
    return decorate


def resolve_limit(limit: int | None, show_all: bool, as_json: bool) -> int | None:
    """How many to read: None for every one (--all, or --json without --limit)."""
    if show_all and limit is not None:
        raise click.UsageError("--limit and --all contradict each other; give one.")
    if show_all or (as_json and limit is None):
        return None
    return DEFAULT_LIMIT if limit is None else limit


def more_line(shown: int, total: int, what: str, limit: int | None) -> str | None:
    """The closing line of a page that is not everything, naming how to see more."""
    if limit is None or total <= shown:
        return None
    return f"Showing {shown:,} of {total:,} {what}; `--limit {limit * 4}` or `--all` for more."
