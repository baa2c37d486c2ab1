"""Pieces of MLflow search filters: string literals, and id lists cut to a size a filter takes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

ID_CHUNK = 100  # ids or names in one `IN (...)` filter


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def quote_value(value: str) -> str:
    """A string literal for an MLflow filter."""
    value = str(value)
    return f'"{value}"' if "'" in value else f"'{value}'"
