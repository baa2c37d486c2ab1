"""New wording for a draft or an entry: from --text, else from $EDITOR."""

from __future__ import annotations

import click


def read_new_wording(current: str, text: str | None) -> str | None:
    """The new wording, or None when the editor was closed without saving. Empty is refused:
    nothing is changed."""
    if text is None:
        text = click.edit(current + "\n")
        if text is None:
            return None
    from harvester.journal_input import check_wording

    return check_wording(text)
