"""Every line the CLI prints passes through `say`: what sources wrote can hold escape
sequences that clear a screen or set a window title, and those must arrive escaped."""

from __future__ import annotations

import click

from harvester.redact import redact
from harvester.safe_text import printable


def say(message: object = "", err: bool = False, nl: bool = True) -> None:
    click.echo(printable(redact(message if isinstance(message, str) else str(message))), err=err, nl=nl)
