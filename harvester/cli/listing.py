"""Lay out `drafts list` for the terminal it prints to: one row of facts per draft, the
statement wrapped beneath it at word boundaries."""

from __future__ import annotations

import shutil
import textwrap

from harvester.safe_text import one_line

INDENT = "      "
MIN_WIDTH = 40


def terminal_width() -> int:
    return max(MIN_WIDTH, shutil.get_terminal_size((100, 24)).columns)


def format_draft_row(d) -> str:
    edited = "  edited" if d.edited else ""
    return f"#{d.id:<4} {d.occurred_at:%Y-%m-%d}  {d.status:<9} {one_line(d.kind)}  {one_line(d.source)}{edited}"


def wrap_words(text: str, width: int, indent: str = INDENT) -> list[str]:
    """Lines of at most `width` characters; a word longer than a line (a URL) stays whole on its own."""
    return textwrap.wrap(one_line(text), width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def format_draft_lines(d, width: int) -> list[str]:
    return [*wrap_words(format_draft_row(d), width, indent=""), *wrap_words(d.statement, width)]
