"""Render the digest as plain text and as e-mail-safe HTML from the templates in templates/.
Everything that came from a source is untrusted: HTML autoescapes it, the text collapses its
whitespace and escapes control characters, and only http(s) URLs become links."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from harvester.digest.model import Digest
from harvester.drafting.wording.numbers import plural
from harvester.models import Entry
from harvester.safe_text import one_line, safe_url
from harvester.templating import load_environment


def collapse_whitespace(text: object) -> str:
    """The value on one line, every run of whitespace one space, every other control character
    (an escape sequence, a bidi override) escaped visibly."""
    return " ".join(one_line(text).split())


def format_day(when: datetime) -> str:
    return f"{when:%Y-%m-%d}"


def describe_confirmed(entry: Entry) -> str:
    return f"confirmed {entry.created_at:%Y-%m-%d}" if entry.created_at else "confirmed"


@cache
def digest_environment(html: bool):
    return load_environment("harvester.digest", autoescape=html,
                            filters={"collapse_whitespace": collapse_whitespace, "day": format_day,
                                     "safe_url": safe_url},
                            globals={"plural": plural, "describe_confirmed": describe_confirmed})


def render_text(digest: Digest) -> str:
    return digest_environment(False).get_template("digest.txt.j2").render(digest=digest)


def render_html(digest: Digest) -> str:
    return digest_environment(True).get_template("digest.html.j2").render(digest=digest)
