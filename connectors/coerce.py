"""Reading loosely typed values from source payloads: what a parser may take as a number or
an id, whatever the server sent."""

from __future__ import annotations

import math
from typing import Any


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
