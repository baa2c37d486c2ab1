"""Who each record of a team's harvest belongs to: the member whose handle logged it, else
the team as a whole (a colleague outside the team)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from harvester.models import Record


@dataclass(frozen=True)
class RecordOwners:
    team_key: str
    by_handle: Mapping[str, str] = field(default_factory=dict)  # lowercase handle -> member key

    @property
    def owners(self) -> tuple[str, ...]:
        return (self.team_key, *sorted(set(self.by_handle.values())))

    def owner_of(self, record: Record) -> str:
        return self.by_handle.get((record.actor or "").strip().lower(), self.team_key)
