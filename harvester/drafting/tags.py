"""Tag arithmetic: `+dimension` / `-dimension` changes applied to an entry's or draft's tags."""

from __future__ import annotations

from harvester.errors import HarvesterError


class TagChangeError(HarvesterError):
    """A change that cannot be read or names a dimension the framework lacks."""

    exit_code = 2


def parse_changes(changes: tuple[str, ...], current: tuple[str, ...], known: tuple[str, ...]):
    """('+a', '-b') -> (added, removed), checking every dimension id against the framework."""
    added, removed = [], []
    for change in changes:
        sign, dim = change[:1], change[1:]
        if sign not in "+-" or not dim or not sign:
            raise TagChangeError(f"Cannot read {change!r}: write each change as +DIMENSION or -DIMENSION.")
        # Removing a tag the current framework no longer knows is allowed (after switching frameworks).
        if dim not in known and not (sign == "-" and dim in current):
            raise TagChangeError(f"Unknown rubric dimension {dim!r}. Valid dimensions: {', '.join(known)}.")
        (added if sign == "+" else removed).append(dim)
    both = set(added) & set(removed)
    if both:
        raise TagChangeError(f"{sorted(both)[0]!r} is both added and removed; pick one.")
    return added, removed


def apply_changes(current: tuple[str, ...], added: list[str], removed: list[str]) -> list[str]:
    tags = [t for t in current if t not in removed]
    return tags + [t for t in added if t not in tags]
