"""Lay out `drafts list` for the terminal it prints to: one row of facts per draft, the
statement wrapped beneath it at word boundaries."""

from __future__ import annotations

from harvester.cli.output import wrap_words
from harvester.safe_text import one_line

INDENT = "      "


def format_draft_row(d) -> str:
    edited = "  edited" if d.edited else ""
    return f"#{d.id:<4} {d.occurred_at:%Y-%m-%d}  {d.status:<9} {one_line(d.kind)}  {one_line(d.source)}{edited}"


def format_draft_lines(d, width: int) -> list[str]:
    return [*wrap_words(format_draft_row(d), width), *wrap_words(one_line(d.statement), width, INDENT)]
