"""Reading loosely typed values from source payloads: what a parser may take as a number or
an id, whatever the server sent."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from harvester.models import ensure_utc


def finite_number(value: Any) -> float | None:
    """A finite number that is not a bool (metric values, estimates); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def id_text(value: Any) -> str | None:
    """An id or key as text: a number, or a non-empty string without NUL; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip() and "\x00" not in value:
        return value.strip()
    return None


def parse_time(value: Any) -> datetime | None:
    """An ISO time ('2026-11-20T14:03:12.345Z', '+02:00', or naive meaning UTC) as an aware UTC
    datetime; None for anything else, a zone that pushes year 1 or 9999 out of range included."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return ensure_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        return None


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def text_or_none(value: Any) -> str | None:
    return value or None if isinstance(value, str) else None


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def clip(text: Any, limit: int) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def api_time(value: datetime) -> str:
    """A time as GitHub's search syntax and GitLab's datetime filters take it: 2026-08-24T09:00:00Z."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
