"""The registry of finding kinds, collected from every registered rule's `finding_kinds`."""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from harvester.rules.kinds import FindingKind


@lru_cache(maxsize=1)
def kind_registry() -> dict[str, FindingKind]:
    """Every declared kind by name, in display order (family, rank, name)."""
    from harvester.registry import rule_classes

    found: dict[str, FindingKind] = {}
    for cls in rule_classes().values():
        for kind in getattr(cls, "finding_kinds", ()):
            found.setdefault(kind.name, kind)
    return dict(sorted(found.items(), key=lambda item: (*item[1].link_rank(), item[0])))


def kind_of(name: str) -> FindingKind:
    """The declared kind, or a plain one for a kind nobody declared (an old store's, a removed plugin's)."""
    found = kind_registry().get(name)
    if found is not None:
        return found
    return FindingKind(name=name, title=name.replace("_", " ").capitalize(), rank=99)


def kinds_where(predicate: Callable[[FindingKind], bool]) -> tuple[str, ...]:
    return tuple(name for name, kind in kind_registry().items() if predicate(kind))
