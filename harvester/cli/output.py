"""Every line the CLI prints passes through `say`: what sources wrote can hold escape
sequences that clear a screen or set a window title, and those must arrive escaped."""

from __future__ import annotations

import shutil
import textwrap

import click

from harvester.redact import redact
from harvester.safe_text import printable


def say(message: object = "", err: bool = False, nl: bool = True) -> None:
    click.echo(printable(redact(message if isinstance(message, str) else str(message))), err=err, nl=nl)


def terminal_width(minimum: int = 40, maximum: int | None = None, fallback: int = 100) -> int:
    columns = shutil.get_terminal_size((fallback, 24)).columns
    return max(minimum, min(maximum, columns) if maximum else columns)


def wrap_words(text: str, width: int, indent: str = "", hanging: str | None = None) -> list[str]:
    """Lines of at most `width` characters, broken between words only: a word longer than a
    line (a URL) stays whole on a line of its own."""
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent if hanging is None else hanging,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]
