"""Map confirmed journal entries onto the framework in use, e.g. after `[rubric] framework` changed.

An entry confirmed from a draft is tagged the way the drafter tags its finding (its kind, the
families of its metrics, the words a person wrote: PR title and labels, ticket summaries);
a hand-written entry from its own text. Its existing tags that are dimensions of the framework
stay, so a dimension the engineer added by hand survives; the others are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from harvester.drafting.redraft import tag_findings
from harvester.models import Entry, Finding
from harvester.drafting.rubric import Framework


@dataclass(frozen=True)
class Retag:
    entry: Entry
    tags: tuple[str, ...]
    dropped: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.tags != self.entry.tags

    @property
    def unmapped(self) -> bool:
        return not self.tags

    def as_json(self) -> dict[str, Any]:
        return {"id": self.entry.id, "kind": self.entry.kind, "text": self.entry.text,
                "old": list(self.entry.tags), "new": list(self.tags), "dropped": list(self.dropped)}


def map_entry(entry: Entry, facts: Mapping[str, Any], framework: Framework,
              joined_kinds: Sequence[str] = ()) -> tuple[str, ...]:
    """The entry's tags under `framework`: its kept tags in their order, then the mapped ones
    (from its own finding and the kinds of the findings joined into its draft)."""
    if entry.draft_id is None:
        found = framework.tag(entry.kind, entry.text)
    else:
        joined = [replace(origin_finding(entry, {}), kind=kind, metrics=()) for kind in joined_kinds]
        found = tag_findings([origin_finding(entry, facts), *joined], framework)
    kept = [t for t in entry.tags if t in framework.ids]
    return tuple(kept + [t for t in found if t not in kept])


def origin_finding(entry: Entry, facts: Mapping[str, Any]) -> Finding:
    """The finding an entry was confirmed from, as far as tagging reads it."""
    return Finding(rule=entry.kind, kind=entry.kind, source=entry.source, subject=entry.subject,
                   occurred_at=entry.occurred_at, period="", metrics=entry.metrics, facts=dict(facts))


def plan_retag(store, framework: Framework) -> list[Retag]:
    """What re-tagging every journal entry would change; writes nothing."""
    entries = sorted(store.list_entries(), key=lambda e: e.id or 0)
    origins = store.load_entry_origins([e.id for e in entries]) if entries else {}
    plan = []
    for entry in entries:
        origin = origins.get(entry.id, {})
        plan.append(Retag(entry=entry, tags=map_entry(entry, origin.get("facts") or {}, framework,
                                                      origin.get("joined_kinds") or ()),
                          dropped=tuple(t for t in entry.tags if t not in framework.ids)))
    return plan


def apply_retag(store, plan: Sequence[Retag]) -> int:
    changed = [r for r in plan if r.changed]
    for r in changed:
        store.update_entry(r.entry.id, tags=list(r.tags))
    return len(changed)
