"""Text from sources made safe to show: no control character reaches a terminal, a mail or a
report raw, and no source value can start a line of its own (a newline in an experiment name
must not forge a row of `drafts list`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text
# (bidirectional overrides and isolates, zero-width joiners, the BOM).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_LINE_BREAKS = re.compile("[\r\n\u2028\u2029\x0b\x0c\x85]+")
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def escape_control(match: re.Match) -> str:
    ch = match.group()
    if ch == "\t":
        return " "
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: object) -> str:
    """The value on one line: line breaks become a space, other controls a visible escape."""
    value = text if isinstance(text, str) else str(text)
    if not _CONTROLS.search(value) and "\u2028" not in value and "\u2029" not in value:
        return value
    return _CONTROLS.sub(escape_control, _LINE_BREAKS.sub(" ", value))


def printable(text: object) -> str:
    """Text of several lines kept as lines; every other control character escaped."""
    value = text if isinstance(text, str) else str(text)
    value = value.replace("\r\n", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _CONTROLS_BUT_NEWLINE.sub(escape_control, value)


def safe_url(url: str | None) -> str | None:
    """The URL, without surrounding whitespace, if it is http(s) with a host; None for anything
    else: javascript:, data: and file: never link, nor does a URL with whitespace or a control
    character inside it (browsers drop those characters, so a split `javascript:` would still run)."""
    url = (url or "").strip()
    if not url or _UNSAFE_IN_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
