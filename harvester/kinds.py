"""Finding kinds, each declared once on the rule that produces it.

A rule lists the kinds it makes in `finding_kinds`; the registry collects them from every
registered rule (built-in or plugin), so the digest's groups, the report's recap, linking's
choice of primary, the impact check-ins, the wording and the default rubric tags all read the
same declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from harvester.wording.story import Story

Wording = Callable[["Story"], tuple[str, str]]

# Families, in the order linking picks a draft's primary finding: an ML result tells the story,
# else a ticket or epic, else the engineering work.
FAMILIES = ("ml", "ticket", "engineering")


@dataclass(frozen=True)
class FindingKind:
    """What every part of harvester needs to know about one kind of finding.

    `rank` orders kinds within a family when several findings make one draft (lower leads);
    `recap` names the Period Recap counters the kind adds to; `dimensions` are the rubric
    dimension ids tagged when the framework in use does not map the kind itself; `wording` is
    "module:function" of the function that words a draft led by this kind (a `Story` in,
    statement and prompt out), named rather than imported so rules never load the wording."""

    name: str
    title: str
    family: str = "engineering"
    rank: int = 50
    check_in: bool = False
    needs_outcome: bool = False
    recap: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    noun: str = ""
    wording: str = ""

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"finding kind {self.name!r}: family must be one of {', '.join(FAMILIES)}")

    @property
    def is_ml(self) -> bool:
        return self.family == "ml"

    @property
    def is_ticket(self) -> bool:
        return self.family == "ticket"

    def link_rank(self) -> tuple[int, int]:
        return FAMILIES.index(self.family), self.rank

    def wording_function(self) -> Wording | None:
        return load_wording(self.wording) if self.wording else None


@lru_cache(maxsize=None)
def load_wording(target: str) -> Wording:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


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
