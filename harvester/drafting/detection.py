"""Detect findings by what changed: the rules re-run over the record groups saved pages marked
changed since the last pass, and the last pass's findings stand for every other group.

What a group's findings rest on besides its own records is re-checked each time: a rollup
rule (a period's reviews, a repository's releases) re-gathers all records of its kinds when a
group of one of them changed, and a change in which runs sit behind a serving model version
re-runs the groups of that source. Linking and wording then see every finding, as in a full
pass. Both passes put the findings in one order (group key, then rollup rule) and draft from
them as stored (a JSON round trip), so a pass over what changed drafts exactly what a full
pass would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from harvester.drafting.identity import carry_identities
from harvester.models import Finding
from harvester.rules.base import DetectContext, Detected, RecordGroup, RollupRule, Rule, detect_by_group
from harvester.store import Store
from harvester.store.changes import GroupKey
from harvester.store.rows import finding_from_json, finding_json
from harvester.store.values import dump_json


@dataclass
class Detection:
    findings: list[Finding]  # every finding, in the order any pass gives them
    fresh: list[Finding]  # those this pass detected (the rest stand from the last pass)
    groups: dict[GroupKey, list[Finding]] = field(default_factory=dict)
    rollups: dict[int, list[Finding]] = field(default_factory=dict)
    consumed: dict[GroupKey, str] = field(default_factory=dict)  # the change marks this pass covered

    def state(self, rules: Sequence[Rule], inputs: str, context: DetectContext) -> dict[str, Any]:
        """What the next pass over what changed starts from."""
        return {"inputs": inputs, "serving": sorted(list(run) for run in context.serving_runs),
                "groups": [[*key, [finding_json(f) for f in found]] for key, found in sorted(self.groups.items())],
                "rollups": [[i, rules[i].rule_name(), [finding_json(f) for f in found]]
                            for i, found in sorted(self.rollups.items())]}


def detect_findings(store: Store, rules: Sequence[Rule], context: DetectContext, inputs: str, full: bool = True,
                    on_group: Callable[[], None] | None = None) -> Detection:
    """Findings of every group and rollup: all detected afresh (`full`, or when the last pass
    was computed from other rules, rubric or code), else only where records changed."""
    marks = store.changed_groups()  # read before the records: a mark saved later stays for the next pass
    last = None if full else store.load_detected()
    if last is None or last.get("inputs") != inputs:
        detected = detect_by_group(rules, record_groups(store, kinds_of(rules)), context, on_group)
        groups, rollups = as_saved_groups(detected.groups), as_saved_groups(detected.rollups)
        fresh_keys, fresh_rules = set(groups), set(rollups)
    else:
        groups, rollups, fresh_keys, fresh_rules = detect_changed(store, rules, context, last, set(marks), on_group)
    return assemble(store, groups, rollups, fresh_keys, fresh_rules, marks)


def detect_changed(store: Store, rules: Sequence[Rule], context: DetectContext, last: dict[str, Any],
                   changed: set[GroupKey], on_group: Callable[[], None] | None):
    serving_moved = {tuple(run) for run in last.get("serving") or ()} ^ set(context.serving_runs)
    if serving_moved:
        changed |= store.record_group_keys({source for source, _ in serving_moved})
    per_group = [r for r in rules if not isinstance(r, RollupRule)]
    stale = [i for i, r in enumerate(rules) if isinstance(r, RollupRule)
             and (serving_moved or any(kind in r.kinds for _, kind, _ in changed))]
    fresh = detect_by_group(per_group, record_groups(store, kinds_of(per_group), changed), context, on_group)
    rolled = detect_by_group([rules[i] for i in stale], record_groups(store, kinds_of([rules[i] for i in stale])),
                             context) if stale else Detected()
    groups = {(s, k, subj): [finding_from_json(f) for f in found] for s, k, subj, found in last["groups"]
              if (s, k, subj) not in changed}
    groups.update(as_saved_groups(fresh.groups))
    kept = {i: [finding_from_json(f) for f in found] for i, name, found in last["rollups"]
            if i < len(rules) and rules[i].rule_name() == name}
    rollups = {i: kept.get(i, []) for i, r in enumerate(rules) if isinstance(r, RollupRule)}
    rollups.update(as_saved_groups({stale[j]: found for j, found in rolled.rollups.items()}))
    return groups, rollups, set(fresh.groups), set(stale)


def assemble(store: Store, groups: dict, rollups: dict, fresh_keys: set, fresh_rules: set,
             marks: dict[GroupKey, str]) -> Detection:
    """Every finding in one order, identities carried over from stored findings."""
    order = [("group", key) for key in sorted(groups)] + [("rollup", i) for i in sorted(rollups)]
    tables = {"group": groups, "rollup": rollups}
    flat = [f for where, key in order for f in tables[where][key]]
    carried = iter(carry_identities(flat, store))
    out: dict[str, dict] = {"group": {}, "rollup": {}}
    for where, key in order:
        out[where][key] = [next(carried) for _ in tables[where][key]]
    findings = [f for where, key in order for f in out[where][key]]
    fresh = [f for key in sorted(fresh_keys & set(groups)) for f in out["group"][key]] + \
        [f for i in sorted(fresh_rules & set(rollups)) for f in out["rollup"][i]]
    return Detection(findings=findings, fresh=fresh, groups=out["group"], rollups=out["rollup"], consumed=marks)


def as_saved_groups(found: dict) -> dict:
    """Findings as they come back from the store (a JSON round trip: tuples in facts become
    lists, non-finite numbers None), so fresh and kept findings draft alike."""
    return {key: as_saved(findings) for key, findings in found.items()}


def as_saved(findings: Sequence[Finding]) -> list[Finding]:
    return [finding_from_json(d) for d in json.loads(dump_json([finding_json(f) for f in findings]))]


def kinds_of(rules: Sequence[Rule]) -> set[str]:
    return {k for rule in rules for k in rule.kinds}


def record_groups(store: Store, kinds: set[str], only: Iterable[GroupKey] | None = None) -> Iterator[RecordGroup]:
    if not kinds or (only is not None and not only):
        return iter(())
    return (RecordGroup(source=source, kind=kind, subject=subject, records=records)
            for source, kind, subject, records in store.iter_record_groups(kinds, only))
