"""What a rule declares about each kind of finding it makes.

A rule lists the kinds it makes in `finding_kinds`; the registry in `harvester.drafting.kinds`
collects them from every registered rule (built-in or plugin), so the digest's groups, the
report's recap, linking's choice of primary, the impact check-ins, the wording and the default
rubric tags all read the same declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any, Callable

# A wording function takes a harvester.drafting.wording.Story and returns (statement, prompt).
Wording = Callable[[Any], tuple[str, str]]

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
    """The wording function named "module:function", imported on first use."""
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)
