"""What the engineer writes into the journal (new wording, a manual entry), checked the same
way whichever front end it came from: the CLI or the MCP server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from harvester.errors import InputError
from harvester.models import Entry, Evidence, utcnow

if TYPE_CHECKING:
    from harvester.drafting.rubric import Framework

EMPTY_CONFIRMATION = "The final wording is empty; nothing was confirmed."


def check_wording(text: str, refusal: str = "The new wording is empty; nothing was changed.") -> str:
    """The wording stripped; empty is refused with `refusal`."""
    if not text.strip():
        raise InputError(refusal)
    return text.strip()


def check_dimensions(tags: Sequence[str], framework: Framework) -> tuple[str, ...]:
    unknown = [t for t in tags if t not in framework.ids]
    if unknown:
        raise InputError(f"Unknown rubric dimension {unknown[0]!r}. Known: {', '.join(framework.ids)}.")
    return tuple(tags)


def log_manual_entry(store, framework: Framework, text: str, when: str | None = None, tags: Sequence[str] = (),
                     links: Sequence[str] = (), via: str = "cli") -> Entry:
    """Add a hand-written journal entry, dated `when` (a date or a span; default now) and tagged
    with `tags`, or automatically from its words when none are given."""
    from harvester.timeutil import parse_since

    text = check_wording(text, "The entry text is empty.")
    tags = check_dimensions(tags, framework)
    return store.add_entry(Entry(
        id=None, text=text, occurred_at=parse_since(when) if when else utcnow(),
        tags=tags or framework.tag("note", text),
        evidence=tuple(Evidence(url=u, label="link", source="manual") for u in links)), via=via)
